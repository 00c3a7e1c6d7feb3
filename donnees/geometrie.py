"""Systèmes de coordonnées, projections et aides de polygones, à un seul endroit.

Les couches sont stockées en WGS84 (:data:`CRS_STOCKAGE`, EPSG:4326) ; surfaces et distances se
calculent en Lambert-93 (:data:`CRS_CALCUL`, EPSG:2154). Les transformateurs pyproj sont gardés par fil
d'exécution (un objet pyproj ne se partage pas entre fils).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from donnees.erreurs import ErreurDonnees, message

CRS_STOCKAGE = "EPSG:4326"
CRS_CALCUL = "EPSG:2154"

_TYPES_POLYGONE = (shapely.GeometryType.POLYGON.value, shapely.GeometryType.MULTIPOLYGON.value)
_local = threading.local()


# ------------------------------------------------------------------------------------ projections


def transformateur(source: Any = CRS_STOCKAGE, cible: Any = CRS_CALCUL) -> Transformer:
    """Transformateur pyproj ``source`` → ``cible`` (x = longitude ou est), gardé pour le fil courant."""
    cache = _local.__dict__.setdefault("transformateurs", {})
    cle = (str(source), str(cible))
    if cle not in cache:
        cache[cle] = Transformer.from_crs(source, cible, always_xy=True)
    return cache[cle]


def projeter(geometries, source: Any, cible: Any):
    """Reprojette une géométrie shapely ou un tableau de géométries (en lot) de ``source`` vers ``cible``."""
    transfo = transformateur(source, cible)

    def appliquer(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(transfo.transform(coords[:, 0], coords[:, 1]))

    return shapely.transform(geometries, appliquer)


def vers_lambert93(geometries):
    """Géométrie(s) WGS84 → Lambert-93."""
    return projeter(geometries, CRS_STOCKAGE, CRS_CALCUL)


def vers_wgs84(geometries):
    """Géométrie(s) Lambert-93 → WGS84."""
    return projeter(geometries, CRS_CALCUL, CRS_STOCKAGE)


def reprojeter(table, crs: Any, crs_defaut: Any | None = None, copier: bool = False):
    """GeoDataFrame ou GeoSeries dans ``crs`` (rendue telle quelle si elle y est déjà).

    Une table sans système de coordonnées reçoit ``crs_defaut`` s'il est donné ; sinon elle n'est pas
    reprojetée. ``copier`` : toujours rendre une nouvelle table (que l'appelant peut modifier).
    """
    if table.crs is None and crs_defaut is not None:
        table = table.set_crs(crs_defaut)
    if table.crs is not None and not table.crs.equals(crs):
        return table.to_crs(crs)
    return table.copy() if copier else table


def en_lambert93(table, crs_defaut: Any | None = None, copier: bool = False):
    """GeoDataFrame ou GeoSeries en Lambert-93 (EPSG:2154), pour les surfaces et distances.

    Lève :class:`ErreurDonnees` si la table n'a pas de système de coordonnées ni de ``crs_defaut`` : des
    mètres ne se calculent pas depuis des coordonnées d'unité inconnue.
    """
    if table.crs is None and crs_defaut is None:
        raise ErreurDonnees("Géométries sans système de coordonnées : surfaces et distances incalculables "
                            f"(attendu {CRS_STOCKAGE} ou {CRS_CALCUL}).", None, "geometry")
    return reprojeter(table, CRS_CALCUL, crs_defaut, copier)


def en_wgs84(table, crs_defaut: Any | None = None, copier: bool = False):
    """GeoDataFrame ou GeoSeries en WGS84 (EPSG:4326), pour le stockage et l'affichage."""
    return reprojeter(table, CRS_STOCKAGE, crs_defaut, copier)


def surfaces_m2(table) -> np.ndarray:
    """Surfaces en m² des géométries d'une GeoDataFrame ou GeoSeries, calculées en Lambert-93."""
    geometries = table.geometry if hasattr(table, "geometry") else table
    return en_lambert93(geometries).area.to_numpy(float)


def aires_lambert93(geometries: np.ndarray) -> np.ndarray:
    """Surfaces en m² d'un tableau de géométries WGS84, calculées en Lambert-93 (en lot).

    Lève :class:`ErreurDonnees` si une géométrie sort du domaine de la projection (surface infinie).
    """
    if len(geometries) == 0:
        return np.zeros(0)
    surfaces = shapely.area(vers_lambert93(geometries))
    if not np.isfinite(surfaces).all():
        raise ErreurDonnees(message("surface_hors_projection"), "zone", "geometrie")
    return surfaces


def lire_geometrie(valeur: Any) -> BaseGeometry | None:
    """Géométrie shapely d'une valeur (objet shapely, GeoJSON en dictionnaire ou WKT), ou None si illisible."""
    from shapely.geometry import shape

    try:
        if isinstance(valeur, Mapping):
            valeur = shape(valeur)
        elif isinstance(valeur, str):
            valeur = shapely.from_wkt(valeur)
    except (shapely.errors.ShapelyError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return valeur if isinstance(valeur, BaseGeometry) else None


def geometrie_l93(valeur: Any) -> BaseGeometry | None:
    """Géométrie d'une zone (shapely, GeoJSON ou WKT, en WGS84) projetée en Lambert-93, ou None."""
    geometrie = lire_geometrie(valeur)
    if geometrie is None or geometrie.is_empty:
        return None
    return vers_lambert93(geometrie)


# ------------------------------------------------------------------------------------ polygones


def extraire_polygones(geometries: np.ndarray) -> np.ndarray:
    """Ne garde que la partie surfacique de chaque géométrie (None si rien) : résultats d'overlay."""
    geometries = np.asarray(geometries, dtype=object)
    resultat = geometries.copy()
    types = shapely.get_type_id(geometries)
    resultat[~np.isin(types, _TYPES_POLYGONE)] = None
    collections = np.flatnonzero(types == shapely.GeometryType.GEOMETRYCOLLECTION.value)
    if len(collections):
        parties, rang = shapely.get_parts(geometries[collections], return_index=True)
        parties, rang = _eclater_multipolygones(parties, rang)
        garder = shapely.get_type_id(parties) == shapely.GeometryType.POLYGON.value
        parties, rang = parties[garder], rang[garder]
        if len(parties):
            presents, compact = np.unique(rang, return_inverse=True)
            groupes = shapely.multipolygons(parties, indices=compact)
            simples = shapely.get_num_geometries(groupes) == 1
            groupes[simples] = shapely.get_geometry(groupes[simples], 0)
            resultat[collections[presents]] = groupes
    vides = shapely.is_empty(resultat) & ~shapely.is_missing(resultat)
    resultat[vides] = None
    return resultat


def _eclater_multipolygones(parties: np.ndarray, rang: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    multi = shapely.get_type_id(parties) == shapely.GeometryType.MULTIPOLYGON.value
    if not multi.any():
        return parties, rang
    sous, position = shapely.get_parts(parties[multi], return_index=True)
    return (np.concatenate([parties[~multi], sous]),
            np.concatenate([rang[~multi], rang[multi][position]]))


def repartir_par_commune(geometries: np.ndarray, communes: np.ndarray, surface_min: float
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Affecte chaque géométrie à la commune qui la contient ; découpe celles qui sont à cheval.

    Renvoie (géométries, rang de la géométrie source, rang de la commune, entière ?), triés par source
    puis commune ; les morceaux plus petits que ``surface_min`` sont écartés.
    """
    arbre = shapely.STRtree(communes)
    source, commune = arbre.query(geometries, predicate="within")
    dedans = np.zeros(len(geometries), dtype=bool)
    dedans[source] = True
    reste = np.flatnonzero(~dedans)
    source2, commune2 = arbre.query(geometries[reste], predicate="intersects")
    source2 = reste[source2]
    morceaux = extraire_polygones(shapely.intersection(geometries[source2], communes[commune2]))
    garder = shapely.area(morceaux) >= surface_min  # NaN (None) → False
    geoms = np.concatenate([geometries[source], morceaux[garder]])
    sources = np.concatenate([source, source2[garder]])
    rangs = np.concatenate([commune, commune2[garder]])
    entieres = np.concatenate([np.ones(len(source), bool), np.zeros(int(garder.sum()), bool)])
    ordre = np.lexsort((rangs, sources))
    return geoms[ordre], sources[ordre], rangs[ordre], entieres[ordre]
