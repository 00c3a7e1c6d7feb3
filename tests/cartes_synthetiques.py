"""Registre synthétique en mémoire pour les cartes bornées : les opérations de la démonstration « petite »
recopiées à des positions décalées (test rapide et banc des cartes ; pas de magasin)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

# Écart type du décalage de chaque copie (degrés) : ≈ 1 km, les copies restent dans le bassin.
ECART_DEGRES = 0.01


def multiplier_operations(operations: gpd.GeoDataFrame, nombre: int, graine: int = 7) -> gpd.GeoDataFrame:
    """``nombre`` opérations : celles de ``operations`` recopiées en boucle, chaque copie déplacée d'un décalage
    aléatoire (loi normale, ``ECART_DEGRES``), identifiants 1…``nombre``."""
    generateur = np.random.default_rng(graine)
    copie = operations.iloc[np.arange(nombre) % len(operations)].reset_index(drop=True)
    decalages = generateur.normal(0.0, ECART_DEGRES, size=(nombre, 2))
    geometries = np.array(copie.geometry.to_numpy(), dtype=object)
    coordonnees, rangs = shapely.get_coordinates(geometries, return_index=True)
    geometries = shapely.set_coordinates(geometries, coordonnees + decalages[rangs])
    resultat = gpd.GeoDataFrame(copie.drop(columns="geometry"), geometry=geometries, crs=operations.crs)
    resultat["id"] = np.arange(1, nombre + 1)
    return resultat


def choisir_quartier(operations: gpd.GeoDataFrame, largeur: float = 0.043, hauteur: float = 0.022
                     ) -> tuple[float, float, float, float]:
    """Emprise d'un quartier (par défaut la vue d'une carte de 1 000 × 680 px au zoom 15, ≈ 3,5 × 2,4 km)
    centrée sur l'opération qui a le plus de voisines : le cas le plus chargé."""
    points = operations.geometry.representative_point()
    x, y = points.x.to_numpy(), points.y.to_numpy()
    cases = np.floor(x / largeur).astype(int) * 100_000 + np.floor(y / hauteur).astype(int)
    valeurs, comptes = np.unique(cases, return_counts=True)
    dedans = cases == valeurs[np.argmax(comptes)]
    cx, cy = float(np.median(x[dedans])), float(np.median(y[dedans]))
    return cx - largeur / 2, cy - hauteur / 2, cx + largeur / 2, cy + hauteur / 2
