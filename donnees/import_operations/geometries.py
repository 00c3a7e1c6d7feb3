"""Géométries des zones : projections, parties surfaciques, WKT ou GeoJSON d'une cellule."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from donnees.import_operations.valeurs import _Probleme
from donnees.lecture_vecteur import entites_en_degres
from donnees.schemas import CRS_CALCUL, CRS_STOCKAGE

CRS_L93 = CRS_CALCUL


# ------------------------------------------------------------------------------- géométries


_local_transformateurs: dict[tuple[str, str], Transformer] = {}


def _transformateur(source: str, cible: str) -> Transformer:
    cle = (source, cible)
    if cle not in _local_transformateurs:
        _local_transformateurs[cle] = Transformer.from_crs(source, cible, always_xy=True)
    return _local_transformateurs[cle]


def _projeter(geometrie: BaseGeometry, source: str, cible: str) -> BaseGeometry:
    transformateur = _transformateur(source, cible)

    def appliquer(coords: np.ndarray) -> np.ndarray:
        x, y = transformateur.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometrie, appliquer)


def _vers_l93(geometrie: BaseGeometry) -> BaseGeometry:
    return _projeter(geometrie, CRS_STOCKAGE, CRS_L93)


def _depuis_l93(geometrie: BaseGeometry) -> BaseGeometry:
    return _projeter(geometrie, CRS_L93, CRS_STOCKAGE)


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
        geometrie = _projeter(geometrie, crs, CRS_STOCKAGE)
    return geometrie
