"""Noms et contours des communes, pour les messages de refus et le contrôle géographique des écritures.

Lus dans la couche « communes » du dossier de données (mis en cache par date de modification) ; les noms
se replient sur la liste de démonstration du bassin de Thau si la couche manque.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import en_lambert93

logger = logging.getLogger(__name__)

_CSV_COMMUNES_DEMO = Path(__file__).resolve().parents[1] / "demo" / "communes_bassin_thau.csv"
# Couche absente (fichier manquant), illisible (ErreurDonnees de lire_couche) ou sans système de coordonnées.
_ERREURS_COUCHE = (OSError, ErreurDonnees, ValueError, KeyError)


@lru_cache(maxsize=8)
def _noms_depuis(chemin: str, _date_modification: float) -> dict[str, str]:
    from donnees.referentiel import lire_couche

    table = lire_couche("communes", Path(chemin).parent, colonnes=["code_insee", "nom"], valider=False)
    return dict(zip(table["code_insee"].astype(str), table["nom"].astype(str)))


@lru_cache(maxsize=4)
def _contours_depuis(chemin: str, _date_modification: float) -> dict[str, BaseGeometry]:
    from donnees.referentiel import lire_couche

    table = lire_couche("communes", Path(chemin).parent, colonnes=["code_insee", "geometry"], valider=False)
    table = en_lambert93(table)
    return dict(zip(table["code_insee"].astype(str), shapely.make_valid(table.geometry.to_numpy())))


def lire_contours_communes(dossier: Path | None = None) -> dict[str, BaseGeometry]:
    """Code INSEE → contour de la commune en Lambert-93 ; ``{}`` si la couche manque ou est illisible.

    Sans contours, le contrôle géographique de la façade est sauté (le magasin vérifie le reste).
    """
    from donnees.referentiel import chemin_couche

    chemin = chemin_couche("communes", dossier)
    try:
        return _contours_depuis(str(chemin), chemin.stat().st_mtime)
    except FileNotFoundError:
        return {}
    except _ERREURS_COUCHE as exc:
        logger.warning("Contours des communes illisibles (%s) : contrôle géographique des zones sauté. %s",
                       chemin, exc)
        return {}


@lru_cache(maxsize=1)
def _noms_demo() -> dict[str, str]:
    table = pd.read_csv(_CSV_COMMUNES_DEMO, dtype={"code_insee": str}, usecols=["code_insee", "nom"])
    return dict(zip(table["code_insee"], table["nom"]))


def lire_noms_communes(dossier: Path | None = None) -> dict[str, str]:
    """Code INSEE → nom : couche « communes » du dossier de données, sinon la liste de démonstration."""
    from donnees.referentiel import chemin_couche

    chemin = chemin_couche("communes", dossier)
    try:
        return _noms_depuis(str(chemin), chemin.stat().st_mtime)
    except FileNotFoundError:
        pass
    except _ERREURS_COUCHE as exc:
        logger.warning("Noms des communes illisibles (%s) : liste de démonstration utilisée. %s", chemin, exc)
    try:
        return _noms_demo()
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("Liste des communes de démonstration illisible (%s) : codes INSEE sans nom. %s",
                       _CSV_COMMUNES_DEMO, exc)
        return {}


def nommer_commune(code: str, noms: Mapping[str, str] | None) -> str:
    """« Sète (34301) », ou le code seul si son nom est inconnu."""
    nom = (noms or {}).get(code)
    return f"{nom} ({code})" if nom else code


def enumerer_communes(elements: list[str]) -> str:
    """« A », « A et B », « A, B et C » ; « aucune commune » pour une liste vide."""
    if not elements:
        return "aucune commune"
    return elements[0] if len(elements) == 1 else ", ".join(elements[:-1]) + " et " + elements[-1]
