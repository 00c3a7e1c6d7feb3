"""Serveur Streamlit réel et Chromium (Playwright) pour les tests navigateur.

Sans Chromium, les tests sont ignorés, sauf sous ``CI=true`` où ils échouent. En cas d'échec, une
capture d'écran est rangée dans ``tests/sorties/`` (ignoré par git).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

RACINE = Path(__file__).resolve().parents[2]
SORTIES = RACINE / "tests" / "sorties"
CHROMIUM = os.environ.get("DESIMPER_CHROMIUM", "/usr/bin/chromium")
OPTIONS_CHROMIUM = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage"]


def _manque(raison: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{raison} (obligatoire sous CI=true)")
    pytest.skip(raison)


def _port_libre() -> int:
    with socket.socket() as prise:
        prise.bind(("127.0.0.1", 0))
        return prise.getsockname()[1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    resultat = yield
    rapport = resultat.get_result()
    if rapport.when == "call":
        item.echec_appel = rapport.failed


def _lancer_serveur(dossier: Path, journal_chemin: Path):
    port = _port_libre()
    environnement = dict(os.environ, DESIMPER_DONNEES=str(dossier))
    environnement.pop("DESIMPER_BASE_URL", None)
    journal = open(journal_chemin, "w")
    processus = subprocess.Popen(
        [sys.executable, "cli.py", "serveur", "--port", str(port), "--adresse", "127.0.0.1",
         "--server.headless", "true"],
        cwd=RACINE, env=environnement, stdout=journal, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    limite = time.monotonic() + 60
    while time.monotonic() < limite:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reponse:
                if reponse.status == 200:
                    return processus, journal, url
        except OSError:
            time.sleep(0.3)
    processus.terminate()
    journal.close()
    pytest.fail(f"Le serveur Streamlit n'a pas démarré (voir {journal_chemin}).")


@pytest.fixture(scope="session")
def demarrer_serveur():
    """Fabrique : ``demarrer_serveur(dossier) -> url`` lance `desimper serveur` sur un port libre."""
    SORTIES.mkdir(parents=True, exist_ok=True)
    lances = []

    def demarrer(dossier: Path) -> str:
        processus, journal, url = _lancer_serveur(dossier, SORTIES / f"serveur-{len(lances)}.log")
        lances.append((processus, journal))
        return url

    yield demarrer
    for processus, journal in lances:
        processus.terminate()
        try:
            processus.wait(timeout=10)
        except subprocess.TimeoutExpired:
            processus.kill()
        journal.close()


@pytest.fixture(scope="session")
def serveur_app(dossier_demo, demarrer_serveur):
    """URL de l'application lancée sur la démonstration."""
    return demarrer_serveur(dossier_demo)


@pytest.fixture(scope="session")
def navigateur():
    """Chromium de Debian piloté par Playwright."""
    if not Path(CHROMIUM).exists():
        _manque(f"Chromium introuvable ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _manque("Playwright n'est pas installé")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=OPTIONS_CHROMIUM)
        yield instance
        instance.close()


@pytest.fixture
def page_app(request, navigateur, serveur_app):
    """Ouvre une page de l'application ; capture d'écran dans tests/sorties/ si le test échoue."""
    contexte = navigateur.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    page = contexte.new_page()
    erreurs: list[str] = []
    page.on("pageerror", lambda exc: erreurs.append(str(exc)))

    def ouvrir(chemin: str = "/"):
        page.goto(serveur_app + chemin, wait_until="domcontentloaded")
        return page

    ouvrir.erreurs = erreurs
    yield ouvrir
    if getattr(request.node, "echec_appel", False):
        SORTIES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SORTIES / f"{request.node.name}.png"), full_page=True)
    contexte.close()
