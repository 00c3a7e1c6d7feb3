"""Outils communs des tests : composants facultatifs, dossier partagé, serveur Streamlit réel, Chromium.

Un composant absent (Chromium, Playwright, ../shared, PostgreSQL…) fait ignorer le test, sauf sous
``CI=true`` où il le fait échouer.
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

RACINE = Path(__file__).resolve().parents[1]
DOSSIER_PARTAGE = RACINE.parent / "shared"
CHROMIUM = os.environ.get("DESIMPER_CHROMIUM", "/usr/bin/chromium")
OPTIONS_CHROMIUM = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage"]
DELAI_DEMARRAGE_SERVEUR_S = 60


def sous_ci() -> bool:
    """Vrai sous ``CI=true`` : tout composant manquant est alors une erreur."""
    return os.environ.get("CI", "").strip().lower() == "true"


def manquer(raison: str):
    """Ignore le test faute d'un composant, ou le fait échouer sous ``CI=true``."""
    if sous_ci():
        pytest.fail(f"{raison} (obligatoire sous CI=true)", pytrace=False)
    pytest.skip(raison)


def chemin_partage(*parties: str) -> Path:
    """Chemin dans ``../shared`` (données réelles, sorties InVEST) ; test ignoré s'il manque."""
    chemin = DOSSIER_PARTAGE.joinpath(*parties)
    if not chemin.exists():
        manquer(f"fichier partagé absent : {chemin}")
    return chemin


def port_libre() -> int:
    with socket.socket() as prise:
        prise.bind(("127.0.0.1", 0))
        return prise.getsockname()[1]


def lancer_serveur(dossier: Path, journal_chemin: Path):
    """`desimper serveur` sur un port libre avec ce dossier de données ; renvoie (processus, journal, url).

    ``sys.executable`` : le Python de .venv quand `make` lance pytest.
    """
    port = port_libre()
    environnement = dict(os.environ, DESIMPER_DONNEES=str(dossier))
    environnement.pop("DESIMPER_BASE_URL", None)
    journal_chemin.parent.mkdir(parents=True, exist_ok=True)
    journal = open(journal_chemin, "w")
    processus = subprocess.Popen(
        [sys.executable, "cli.py", "serveur", "--port", str(port), "--adresse", "127.0.0.1",
         "--server.headless", "true"],
        cwd=RACINE, env=environnement, stdout=journal, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    limite = time.monotonic() + DELAI_DEMARRAGE_SERVEUR_S
    while time.monotonic() < limite:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reponse:
                if reponse.status == 200:
                    return processus, journal, url
        except OSError:
            time.sleep(0.3)
    arreter_serveur(processus, journal)
    pytest.fail(f"Le serveur Streamlit n'a pas démarré (voir {journal_chemin}).")


def arreter_serveur(processus: subprocess.Popen, journal) -> None:
    processus.terminate()
    try:
        processus.wait(timeout=10)
    except subprocess.TimeoutExpired:
        processus.kill()
    journal.close()


def importer_playwright():
    """``sync_playwright`` après vérification de Chromium et de Playwright."""
    if not Path(CHROMIUM).exists():
        manquer(f"Chromium introuvable ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        manquer("Playwright n'est pas installé")
    return sync_playwright


def enregistrer_mesure(fichier: str, cle: str, valeur) -> None:
    """Ajoute une mesure de banc à ``tests/sorties/<fichier>`` (JSON), sans effacer les autres."""
    import json

    sorties = RACINE / "tests" / "sorties"
    sorties.mkdir(parents=True, exist_ok=True)
    chemin = sorties / fichier
    mesures = json.loads(chemin.read_text()) if chemin.exists() else {}
    mesures[cle] = valeur
    chemin.write_text(json.dumps(mesures, indent=2, ensure_ascii=False))


APP = str(RACINE / "app.py")


def connecter_appli(appli, utilisateur, dossier: Path | None = None) -> str:
    """Session AppTest ouverte au nom de ``utilisateur`` (comme après la page Connexion) : une vraie session est
    créée dans le magasin du dossier de données (``DESIMPER_DONNEES`` par défaut) ; renvoie son jeton.

    Le compte doit exister dans ce magasin : à chaque exécution, l'application relit la session et le compte.
    """
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from donnees.sessions import ouvrir_session

    magasin = Magasin(url_base(dossier))
    try:
        jeton = ouvrir_session(magasin, utilisateur, agent="AppTest")
    finally:
        magasin.fermer()
    appli.session_state["jeton_session"] = jeton
    appli.session_state["utilisateur"] = utilisateur
    return jeton


def lancer_appli(monkeypatch, dossier: Path, utilisateur=None, delai_s: int = 120):
    """AppTest de ``app.py`` sur le dossier de données ``dossier`` (magasin SQLite du dossier), exécutée une fois,
    au nom de ``utilisateur`` s'il est donné."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier))
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    appli = AppTest.from_file(APP, default_timeout=delai_s)
    if utilisateur is not None:
        connecter_appli(appli, utilisateur)
    appli.run()
    return appli


def resumer_profil(statistiques, nombre: int = 15) -> list[dict]:
    """Les ``nombre`` fonctions du projet (hors .venv et tests) au temps cumulé le plus long d'un profil pstats."""
    lignes = []
    for (fichier, ligne, fonction), (_, appels, _, cumul, _) in statistiques.stats.items():
        chemin = Path(fichier)
        if chemin.is_absolute() and RACINE in chemin.parents and ".venv" not in chemin.parts \
                and "tests" not in chemin.relative_to(RACINE).parts:
            lignes.append({"fonction": f"{chemin.relative_to(RACINE)}:{ligne}:{fonction}", "appels": appels,
                           "cumul_s": round(cumul, 3)})
    return sorted(lignes, key=lambda e: -e["cumul_s"])[:nombre]
