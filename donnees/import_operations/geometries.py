"""Géométries des zones : projections, parties surfaciques, WKT ou GeoJSON d'une cellule."""

from __future__ import annotations

import re
from typing import Any

import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from donnees.import_operations.valeurs import _Probleme
from donnees.lecture_vecteur import entites_en_degres
from donnees.geometrie import CRS_STOCKAGE, projeter

# ------------------------------------------------------------------------------- géométries
# Projections : donnees.geometrie (vers_lambert93, vers_wgs84), une seule règle.


def _parties_polygonales(geometrie: BaseGeometry) -> BaseGeometry | None:
    if geometrie is None or geometrie.is_empty:
        return None
    if geometrie.geom_type in ("Polygon", "MultiPolygon"):
        return geometrie
    if geometrie.geom_type == "GeometryCollection":
        parties = [p for g in geometrie.geoms if (p := _parties_polygonales(g)) is not None]
        if not parties:
            return None
        union = shapely.union_all(parties)
        return union if union.geom_type in ("Polygon", "MultiPolygon") else None
    return None


def _lire_wkt(valeur: Any, crs_wkt: str) -> BaseGeometry:
    """Géométrie WKT ou GeoJSON d'une cellule (préfixe « SRID=…; » accepté), reprojetée en WGS84."""
    texte = str(valeur).strip()
    crs = crs_wkt
    if m := re.match(r"^SRID=(\d+);(.*)$", texte, flags=re.IGNORECASE | re.DOTALL):
        crs, texte = f"EPSG:{m[1]}", m[2]
    try:
        geometrie = shapely.from_geojson(texte) if texte.startswith("{") else shapely.from_wkt(texte)
    except (shapely.errors.ShapelyError, ValueError, TypeError):  # WKT ou GeoJSON illisible
        debut = texte[:40] + ("…" if len(texte) > 40 else "")
        raise _Probleme(f"géométrie « {debut} » illisible. Attendu : WKT, "
                        "par exemple POLYGON((3.69 43.40, 3.70 43.40, 3.70 43.41, 3.69 43.40))") from None
    if geometrie is None:
        raise _Probleme("géométrie illisible")
    if shapely.has_z(geometrie):
        geometrie = shapely.force_2d(geometrie)
    if not geometrie.is_empty and not CRS.from_user_input(crs).equals(CRS_STOCKAGE):
        systeme = CRS.from_user_input(crs)
        if systeme.is_projected and entites_en_degres([geometrie])[0]:
            raise _Probleme(f"coordonnées en degrés alors que le système de coordonnées indiqué "
                            f"({systeme.to_string()}) est en mètres. Indiquez EPSG:4326 (WGS84) lors de la lecture "
                            "du fichier, ou écrivez « SRID=4326; » devant le WKT")
        geometrie = projeter(geometrie, crs, CRS_STOCKAGE)
    return geometrie
