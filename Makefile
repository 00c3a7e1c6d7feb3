# Désimper — installation, démonstration, application, tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLE := $(VENV)/.installe
ACTIFS := static/node_modules/.installe
PYTEST_OPTIONS ?=
# Tests sur deux processus (pytest-xdist, répartition « worksteal » : un processus libre reprend des tests en
# attente chez l'autre, la suite ne finit pas sur un seul) ; `make test PARALLELE=` pour un seul. Jamais pour les bancs.
PARALLELE ?= -n 2 --dist worksteal

.PHONY: run test bench demo installer actifs

$(PY):
	@echo "==> Création de l'environnement Python $(VENV)"
	$(PYTHON) -m venv $(VENV)

# Installation visible (pip affiche chaque paquet téléchargé) : 2 à 5 minutes la première fois selon le réseau.
$(INSTALLE): pyproject.toml | $(PY)
	@echo "==> Installation des dépendances Python dans $(VENV) (2 à 5 minutes la première fois)"
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install --progress-bar on -e '.[test]'
	touch $@
	@echo "==> Dépendances Python installées"

$(ACTIFS): static/package.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "==> Installation de Leaflet et de ses extensions (npm, cartes hors ligne ; moins d'une minute)"; \
		cd static && npm install --no-audit --no-fund --loglevel=error && touch node_modules/.installe; \
	else \
		echo "npm est introuvable : les cartes chargeront Leaflet depuis les CDN (pas de carte hors ligne)."; \
	fi

installer: $(INSTALLE)
	-@$(MAKE) --no-print-directory $(ACTIFS)

actifs: $(ACTIFS)

demo: installer
	$(VENV)/bin/desimper demo --taille complete

# Premier lancement : génération de la démonstration complète et des modèles (barre de progression),
# puis affichage, une seule fois, des mots de passe des comptes de démonstration.
run: installer
	@echo "==> Territoire de démonstration (généré au premier lancement seulement)"
	$(VENV)/bin/desimper demo --taille complete --si-absent
	@echo "==> Application sur http://localhost:8501 (Ctrl+C pour arrêter)"
	$(VENV)/bin/desimper serveur

# Garde-fous d'abord : ruff (règles et imports bannis hors des couches d'interface, voir pyproject.toml),
# puis les tests (dont tests/test_architecture.py, l'ordre des couches).
test: installer
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(PARALLELE) $(PYTEST_OPTIONS)

bench: installer
	$(VENV)/bin/pytest tests/bench -o addopts="" -p no:cacheprovider $(PYTEST_OPTIONS)
