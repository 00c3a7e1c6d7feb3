"""Géométrie du territoire de démonstration : lagune, contour du bassin, communes et tissu urbain.

Tout se calcule en Lambert-93 (EPSG:2154).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_CALCUL, CRS_STOCKAGE, extraire_polygones, transformateur


def construire_lagune(parametres: dict) -> shapely.Polygon:
    """Lagune de Thau : ellipse allongée sud-ouest – nord-est (Lambert-93)."""
    p = parametres["lagune"]
    cx, cy = transformateur(CRS_STOCKAGE, CRS_CALCUL).transform(p["centre_lon"], p["centre_lat"])
    angle = np.linspace(0, 2 * np.pi, int(p["nb_sommets"]), endpoint=False)
    ex, ey = p["demi_grand_axe_m"] * np.cos(angle), p["demi_petit_axe_m"] * np.sin(angle)
    azimut = np.radians(p["azimut_deg"])
    x = cx + ex * np.cos(azimut) - ey * np.sin(azimut)
    y = cy + ex * np.sin(azimut) + ey * np.cos(azimut)
    return shapely.Polygon(np.column_stack([x, y]))


def construire_bassin(x: np.ndarray, y: np.ndarray, lagune: shapely.Polygon, parametres: dict) -> shapely.Polygon:
    """Contour du bassin : disques autour des centres et lagune élargie, unis puis lissés."""
    p = parametres["bassin"]
    disques = shapely.buffer(shapely.points(x, y), p["rayon_autour_centres_m"], quad_segs=16)
    forme = shapely.union_all(np.append(disques, lagune.buffer(p["marge_lagune_m"], quad_segs=16)))
    forme = forme.buffer(p["lissage_m"], quad_segs=16).buffer(-p["lissage_m"], quad_segs=16)
    parties = shapely.get_parts(forme)
    forme = parties[np.argmax(shapely.area(parties))]
    forme = shapely.Polygon(forme.exterior).simplify(p["tolerance_contour_m"])
    return shapely.make_valid(forme) if not forme.is_valid else forme


def generer_communes(table: pd.DataFrame, x: np.ndarray, y: np.ndarray, bassin: shapely.Polygon) -> np.ndarray:
    """Contours synthétiques des communes : cellules de Voronoï des centres, découpées par le bassin."""
    cellules = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(np.column_stack([x, y])), extend_to=bassin.buffer(5000), ordered=True))
    if len(cellules) != len(table) or not shapely.contains_xy(cellules, x, y).all():
        raise ErreurDonnees("Démonstration : cellules de Voronoï inattendues (centres en double ?).",
                            "communes")
    communes = extraire_polygones(shapely.intersection(cellules, bassin))
    return np.array([shapely.make_valid(g) if not g.is_valid else g for g in communes], dtype=object)


def calculer_rayons_urbains(population: np.ndarray, parametres: dict, facteur: float) -> np.ndarray:
    """Rayon urbain de chaque commune (m) : base + facteur × √population."""
    p = parametres["parcellaire"]
    return (p["rayon_urbain_base_m"] + p["rayon_urbain_facteur_m"] * np.sqrt(population)) * facteur


def calculer_distance_relative(px: np.ndarray, py: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                               rayons: np.ndarray, qx: np.ndarray | None = None,
                               qy: np.ndarray | None = None) -> np.ndarray:
    """Distance au centre-bourg le plus « proche », rapportée à son rayon urbain (min sur les communes).

    Avec ``qx``, ``qy`` (coins opposés), distance au point le plus proche de chaque rectangle
    (px, py)–(qx, qy) : nulle si le rectangle contient le centre.
    """
    resultat = np.full(len(px), np.inf)
    for xc, yc, r in zip(cx, cy, rayons):  # 25 communes : boucle courte, calcul vectoriel
        if qx is None:
            dx, dy = px - xc, py - yc
        else:
            dx = np.maximum(np.maximum(px - xc, xc - qx), 0)
            dy = np.maximum(np.maximum(py - yc, yc - qy), 0)
        np.minimum(resultat, np.hypot(dx, dy) / r, out=resultat)
    return resultat


def calculer_surface_cible(u: np.ndarray, parametres: dict, taille: dict) -> np.ndarray:
    """Surface cible d'une parcelle (m²) selon la distance relative, interpolation log-linéaire."""
    p = parametres["parcellaire"]
    points = np.asarray(p["surfaces_cibles_m2"], dtype=float)
    facteurs = np.where(points[:, 0] < p["distance_relative_rurale"], taille["facteur_surface_urbaine"],
                        taille["facteur_surface_rurale"])
    return np.exp(np.interp(u, points[:, 0], np.log(points[:, 1] * facteurs)))
