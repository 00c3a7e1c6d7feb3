"""Changement réel d'une opération : une modification qui ne change rien ne la renvoie pas « à valider »."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry

from donnees.magasin import CHAMPS_CREATION, CHAMPS_LECTURE_SEULE


def normaliser_valeur(valeur: Any) -> Any:
    """Valeur comparable : vide → None, nombres en float, dates ISO, listes en tuples."""
    if valeur is None or valeur is pd.NA or valeur is pd.NaT:
        return None
    if isinstance(valeur, np.generic):
        valeur = valeur.item()
    if isinstance(valeur, float) and math.isnan(valeur):
        return None
    if isinstance(valeur, str):
        return valeur.strip() or None
    if isinstance(valeur, bool):
        return valeur
    if isinstance(valeur, (int, float, Decimal)):
        return float(valeur)
    if isinstance(valeur, pd.Timestamp):
        valeur = valeur.to_pydatetime()
    if isinstance(valeur, datetime):
        return valeur.date().isoformat()
    if isinstance(valeur, date):
        return valeur.isoformat()
    if isinstance(valeur, (list, tuple, np.ndarray, pd.Series)):
        return tuple(normaliser_valeur(v) for v in list(valeur))
    return valeur


def _meme_geometrie(a: Any, b: Any) -> bool:
    if not isinstance(a, BaseGeometry) or not isinstance(b, BaseGeometry):
        return False
    try:
        return shapely.to_wkb(a) == shapely.to_wkb(b)
    except ShapelyError:  # géométrie douteuse : on la tient pour changée
        return False


def _meme_liste(nouvelle: Any, actuelle: list[dict], cles: tuple[str, ...]) -> bool:
    if not isinstance(nouvelle, (list, tuple)) or len(nouvelle) != len(actuelle):
        return False
    for element, existant in zip(nouvelle, actuelle):
        if not isinstance(element, Mapping):
            return False
        for cle in cles:
            if cle == "geometrie":
                if not _meme_geometrie(element.get(cle), existant.get(cle)):
                    return False
            elif normaliser_valeur(element.get(cle)) != normaliser_valeur(existant.get(cle)):
                return False
    return True


def detecter_changement(actuelle: Mapping, modifications: Mapping) -> bool:
    """Vrai si ``modifications`` change l'opération (en cas de doute : vrai, ce qui est prudent)."""
    for champ, valeur in modifications.items():
        if champ in CHAMPS_LECTURE_SEULE or champ in CHAMPS_CREATION or champ in (
                "validation", "commentaire_validation"):
            continue
        if champ == "zones":
            identique = _meme_liste(valeur, actuelle["zones"], ("geometrie", "revetement_avant", "revetement_apres"))
        elif champ == "financements":
            identique = _meme_liste(valeur, actuelle["financements"], ("financeur", "montant_eur"))
        elif champ == "photos":
            identique = _meme_liste(valeur, actuelle["photos"], ("moment", "chemin", "legende"))
        elif champ == "parcelles":
            identique = (isinstance(valeur, (list, tuple, np.ndarray))
                         and [str(p).strip().upper() for p in valeur] == list(actuelle["parcelles"]))
        elif champ in actuelle:
            identique = normaliser_valeur(valeur) == normaliser_valeur(actuelle[champ])
        else:
            identique = False
        if not identique:
            return True
    return False
