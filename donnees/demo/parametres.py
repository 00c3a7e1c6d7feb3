"""Paramètres, textes et communes réelles de la démonstration (fichiers de ce paquet)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

DOSSIER_DEMO = Path(__file__).resolve().parent
TAILLES = ("petite", "complete", "departement")


@lru_cache(maxsize=None)
def lire_parametres() -> dict:
    """Paramètres de la démonstration : ``{section: {clé: valeur}}`` (notes retirées)."""
    brut = json.loads((DOSSIER_DEMO / "parametres_demo.json").read_text(encoding="utf-8"))
    return {section: {cle: entree["valeur"] for cle, entree in contenu.items()}
            for section, contenu in brut.items() if not section.startswith("_")}


@lru_cache(maxsize=None)
def lire_textes() -> dict:
    """Textes de la démonstration (modèles de noms, descriptions, retours d'expérience)."""
    return json.loads((DOSSIER_DEMO / "textes_demo.json").read_text(encoding="utf-8"))


def lire_communes_demo() -> pd.DataFrame:
    """Les 25 communes réelles du bassin : code INSEE, nom, population, bourg principal (position approximative)."""
    return pd.read_csv(DOSSIER_DEMO / "communes_bassin_thau.csv", dtype={"code_insee": str})


@lru_cache(maxsize=None)
def lire_sources_demo() -> dict[str, dict]:
    """Sources des données réelles embarquées (``sources_demo.json``) : ``{couche: fiche}``."""
    brut = json.loads((DOSSIER_DEMO / "sources_demo.json").read_text(encoding="utf-8"))
    return {couche: fiche for couche, fiche in brut.items() if not couche.startswith("_")}
