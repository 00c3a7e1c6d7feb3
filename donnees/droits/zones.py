"""Contrôle géographique des écritures d'un référent : ses zones doivent être dans la commune déclarée."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry

from donnees.droits.communes import nommer_commune
from donnees.droits.politique import ErreurDroits
from donnees.schemas import CRS_CALCUL, CRS_STOCKAGE

# Erreurs de lecture d'une géométrie GeoJSON ou WKT mal formée (type inconnu, coordonnées absentes…).
_ERREURS_GEOMETRIE = (ShapelyError, ValueError, TypeError, KeyError, IndexError, AttributeError)


def _geometrie_l93(valeur: Any) -> BaseGeometry | None:
    """Géométrie d'une zone (objet shapely, GeoJSON ou WKT, en WGS84) projetée en Lambert-93, ou None."""
    from pyproj import Transformer
    from shapely.geometry import shape

    try:
        if isinstance(valeur, Mapping):
            valeur = shape(valeur)
        elif isinstance(valeur, str):
            valeur = shapely.from_wkt(valeur)
    except _ERREURS_GEOMETRIE:  # géométrie illisible : le magasin la refusera avec son message
        return None
    if not isinstance(valeur, BaseGeometry) or valeur.is_empty:
        return None
    transformateur = Transformer.from_crs(CRS_STOCKAGE, CRS_CALCUL, always_xy=True)
    return shapely.transform(valeur, lambda xy: np.column_stack(transformateur.transform(xy[:, 0], xy[:, 1])))


def verifier_zones_dans_commune(code_insee: str, zones: Any, contours: Mapping[str, BaseGeometry],
                                noms: Mapping[str, str] | None = None) -> None:
    """Lève :class:`ErreurDroits` si une zone est en majorité hors de la commune de l'opération.

    Seuil : plus de ``PART_MAX_HORS_COMMUNE`` (50 %) de la surface hors du contour, comme à l'import et au
    formulaire ; un référent ne peut pas saisir chez le voisin en déclarant sa propre commune.
    """
    from donnees.import_operations import PART_MAX_HORS_COMMUNE

    contour = contours.get(str(code_insee))
    if contour is None or not isinstance(zones, (list, tuple)):
        return
    for rang, zone in enumerate(zones, start=1):
        geometrie = _geometrie_l93(zone.get("geometrie") if isinstance(zone, Mapping) else None)
        if geometrie is None or geometrie.area <= 0:
            continue
        hors = 1 - geometrie.intersection(contour).area / geometrie.area
        if hors > PART_MAX_HORS_COMMUNE:
            raise ErreurDroits(f"Zone {rang} : {hors * 100:.0f}\u00a0% de sa surface est hors de la commune "
                               f"{nommer_commune(str(code_insee), noms)}. Un référent ne saisit que dans ses "
                               "communes : redessinez la zone, ou demandez au syndicat de bassin.", "creer")
