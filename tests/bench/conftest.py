"""Bancs (make bench) : une seule démonstration complète pour tous, et l'écriture des mesures."""

import os
from pathlib import Path

import pytest

from donnees.demo import generer_demo
from donnees.referentiel import lire_territoire

@pytest.fixture(scope="session")
def demo_complete(tmp_path_factory) -> Path:
    """Démonstration complète (graine 42) : celle de ``$DESIMPER_DEMO_COMPLETE`` si elle y est, sinon générée
    une fois pour tous les bancs de la session."""
    dossier = os.environ.get("DESIMPER_DEMO_COMPLETE")
    if dossier and (Path(dossier) / "territoire.json").exists():
        territoire = lire_territoire(Path(dossier))
        if territoire.get("taille") == "complete" and territoire.get("graine") == 42:
            return Path(dossier)
    dossier = tmp_path_factory.mktemp("demo_complete")
    generer_demo(dossier, taille="complete", graine=42)
    return dossier
