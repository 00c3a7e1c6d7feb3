# Désimper — installation, démonstration, application, tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLE := $(VENV)/.installe
ACTIFS := static/node_modules/.installe
PYTEST_OPTIONS ?=

.PHONY: run test bench demo installer actifs

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLE): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

$(ACTIFS): static/package.json
	@if command -v npm >/dev/null 2>&1; then \
		cd static && npm install --no-audit --no-fund --loglevel=error && touch node_modules/.installe; \
	else \
		echo "npm est introuvable : les cartes chargeront Leaflet depuis les CDN (pas de carte hors ligne)."; \
	fi

installer: $(INSTALLE)
	-@$(MAKE) --no-print-directory $(ACTIFS)

actifs: $(ACTIFS)

demo: installer
	$(VENV)/bin/desimper demo --taille complete

run: installer
	$(VENV)/bin/desimper demo --taille complete --si-absent
	$(VENV)/bin/desimper serveur

# Garde-fous d'abord : ruff (règles et imports bannis hors des couches d'interface, voir pyproject.toml),
# puis les tests (dont tests/test_architecture.py, l'ordre des couches).
test: installer
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(PYTEST_OPTIONS)

bench: installer
	$(VENV)/bin/pytest tests/bench -o addopts="" -p no:cacheprovider $(PYTEST_OPTIONS)
