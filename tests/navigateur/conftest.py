"""Serveur Streamlit réel et Chromium (Playwright) pour les tests navigateur.

Sans Chromium, les tests sont ignorés, sauf sous ``CI=true`` où ils échouent. En cas d'échec, une
capture d'écran est rangée dans ``tests/sorties/`` (ignoré par git).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from outils import CHROMIUM, OPTIONS_CHROMIUM, RACINE, arreter_serveur, importer_playwright, lancer_serveur

SORTIES = RACINE / "tests" / "sorties"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    resultat = yield
    rapport = resultat.get_result()
    if rapport.when == "call":
        item.echec_appel = rapport.failed


@pytest.fixture(scope="session")
def demarrer_serveur():
    """Fabrique : ``demarrer_serveur(dossier) -> url`` lance `desimper serveur` sur un port libre."""
    SORTIES.mkdir(parents=True, exist_ok=True)
    lances = []

    def demarrer(dossier: Path) -> str:
        processus, journal, url = lancer_serveur(dossier, SORTIES / f"serveur-{len(lances)}.log")
        lances.append((processus, journal))
        return url

    yield demarrer
    for processus, journal in lances:
        arreter_serveur(processus, journal)


@pytest.fixture(scope="session")
def serveur_app(dossier_demo, demarrer_serveur):
    """URL de l'application lancée sur la démonstration."""
    return demarrer_serveur(dossier_demo)


@pytest.fixture(scope="session")
def navigateur():
    """Chromium de Debian piloté par Playwright."""
    with importer_playwright()() as pw:
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
