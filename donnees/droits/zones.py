"""Contrôle géographique des écritures d'un référent : ses zones doivent être dans la commune déclarée.

Les règles et les seuils sont ceux de :mod:`donnees.zones` (mêmes constats qu'au formulaire et à l'import).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shapely.geometry.base import BaseGeometry

from donnees.droits.communes import nommer_commune
from donnees.droits.politique import ErreurDroits
from donnees.geometrie import lire_geometrie
from donnees.zones import Constat, controler_geometries


def controler_zones_ecrites(code_insee: str, zones: Any, contours: Mapping[str, BaseGeometry],
                            noms: Mapping[str, str] | None = None, existantes=None,
                            operation_exclue: int | None = None) -> list[Constat]:
    """Constats de :mod:`donnees.zones` sur les zones d'une écriture (« Zone 1 », « Zone 2 »…).

    ``zones`` : liste de dictionnaires dont la clé ``geometrie`` est un objet shapely, un GeoJSON ou un WKT
    en WGS84 ; ``contours`` : code INSEE → contour en Lambert-93 (sans contour, pas de contrôle « hors
    commune ») ; ``existantes`` : zones déjà enregistrées, pour les chevauchements.
    """
    if not isinstance(zones, (list, tuple)):
        return []
    geometries = [lire_geometrie(z.get("geometrie")) if isinstance(z, Mapping) else None for z in zones]
    libelles = [f"Zone {rang}" for rang in range(1, len(zones) + 1)]
    return controler_geometries(geometries, libelles, contours.get(str(code_insee)),
                                nommer_commune(str(code_insee), noms), existantes, operation_exclue, "facade")


def verifier_zones_dans_commune(code_insee: str, zones: Any, contours: Mapping[str, BaseGeometry],
                                noms: Mapping[str, str] | None = None) -> list[Constat]:
    """Lève :class:`ErreurDroits` si une zone est en majorité hors de la commune de l'opération.

    Seuil : plus de ``PART_MAX_HORS_COMMUNE`` (50 %) de la surface hors du contour, comme à l'import et au
    formulaire ; un référent ne peut pas saisir chez le voisin en déclarant sa propre commune. Les autres
    erreurs (géométrie vide, point, contour invalide, hors degrés) sont refusées par le magasin ; renvoie
    les constats (avertissements compris) quand rien n'est refusé ici.
    """
    if str(code_insee) not in contours:
        return []
    constats = controler_zones_ecrites(code_insee, zones, contours, noms)
    for constat in constats:
        if constat.code == "hors_commune":
            raise ErreurDroits(str(constat), "creer")
    return constats
