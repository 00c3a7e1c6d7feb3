"""Couches de critères du potentiel de la démonstration (synthétiques) : sols, nappe, sites pollués, captages,
cavités, quelques objets par commune posés sur des parcelles pour que la carte du potentiel montre des contraintes.
Les couches de ``couches_absentes`` (les captages, qui ne sont pas des données ouvertes) ne sont pas rendues : la
carte montre aussi l'effet d'une couche manquante sur la confiance du score.

Nombres dans la section ``criteres`` de ``parametres_demo.json`` ; générateur à part (graine
``[graine, graine_decalage]``) : les autres couches de la démonstration ne changent pas. Calculs en Lambert-93,
couches rendues en WGS84 aux colonnes de :mod:`donnees.schemas` (``id`` = ``<code INSEE>-<rang>``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from donnees.geometrie import CRS_CALCUL, en_wgs84, extraire_polygones

SEGMENTS_QUART_CERCLE = 8


def _numeroter(code_insee: list[str]) -> np.ndarray:
    codes = pd.Series(code_insee, dtype=object)
    return (codes + "-" + (codes.groupby(codes).cumcount() + 1).astype(str).str.zfill(6)).to_numpy()


def _couche(lignes: list[dict], geometries: list) -> gpd.GeoDataFrame:
    """Couche WGS84 numérotée par commune ; lignes déjà dans l'ordre des communes."""
    table = pd.DataFrame(lignes)
    table.insert(0, "id", _numeroter(table["code_insee"].tolist()))
    return en_wgs84(gpd.GeoDataFrame(table, geometry=geometries, crs=CRS_CALCUL))


def _quartiers(commune, n: int) -> list:
    """La commune découpée en ``n`` × ``n`` quartiers (boîte englobante coupée à pas égaux), parties surfaciques."""
    xmin, ymin, xmax, ymax = commune.bounds
    xs, ys = np.linspace(xmin, xmax, n + 1), np.linspace(ymin, ymax, n + 1)
    boites = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(n) for i in range(n)]
    morceaux = extraire_polygones(shapely.intersection(np.array(boites, dtype=object), commune))
    return [m for m in morceaux if m is not None and m.area > 1.0]


def _tirer(rng: np.random.Generator, centres: np.ndarray, n: int) -> list:
    """``n`` points tirés parmi ``centres`` (avec remise s'il y en a moins)."""
    return list(centres[rng.choice(len(centres), size=n, replace=len(centres) < n)]) if n else []


def _disque(centre, rayon: float, commune):
    """Disque de ``rayon`` (m) autour de ``centre``, limité à la commune (None s'il n'en reste rien)."""
    zone = shapely.intersection(shapely.buffer(centre, rayon, quad_segs=SEGMENTS_QUART_CERCLE), commune)
    return extraire_polygones(np.array([zone], dtype=object))[0]


def generer_criteres(communes: np.ndarray, codes_insee: np.ndarray, parcelles: np.ndarray,
                     commune_parcelle: np.ndarray, parametres: dict, graine: int) -> dict[str, gpd.GeoDataFrame]:
    """Couches ``sol``, ``nappe``, ``sites_pollues``, ``captages``, ``cavites`` (WGS84) sauf celles de
    ``couches_absentes`` ; ``communes`` et ``parcelles`` en Lambert-93, ``commune_parcelle`` : rang de la commune de
    chaque parcelle."""
    p = parametres["criteres"]
    rng = np.random.default_rng([int(graine), int(p["graine_decalage"])])
    points = shapely.point_on_surface(np.asarray(parcelles, dtype=object))
    lignes: dict[str, list] = {nom: [] for nom in ("sol", "nappe", "sites_pollues", "captages", "cavites")}
    geoms: dict[str, list] = {nom: [] for nom in lignes}

    def ajouter(couche: str, geometrie, **attributs) -> None:
        lignes[couche].append(attributs)
        geoms[couche].append(geometrie)

    for rang, (code, commune) in enumerate(zip(codes_insee, communes)):
        code = str(code)
        for quartier in _quartiers(commune, int(p["quartiers_sol"])):
            ajouter("sol", quartier, code_insee=code, groupe=str(rng.choice(list("ABCD"), p=p["probabilites_sol"])))
        centres = points[np.flatnonzero(commune_parcelle == rang)]
        if not len(centres):
            continue

        for k, centre in enumerate(_tirer(rng, centres, int(p["nappes_par_commune"]))):
            zone = _disque(centre, rng.uniform(*p["rayons_nappe_m"]), commune)
            if zone is not None:
                ajouter("nappe", zone, code_insee=code, classe="debordement" if k % 2 == 0 else "cave")
        sis = _disque(_tirer(rng, centres, 1)[0], rng.uniform(*p["rayons_sis_m"]), commune)
        if sis is not None:
            ajouter("sites_pollues", sis, code_insee=code, type="SIS", nom=f"Secteur de démonstration {code}")
        for k, centre in enumerate(_tirer(rng, centres, int(p["casias_par_commune"]))):
            ajouter("sites_pollues", centre, code_insee=code, type="CASIAS", nom=f"Ancien atelier {code}-{k + 1}")
        if rng.random() < p["part_communes_captage"]:
            centre = _tirer(rng, centres, 1)[0]
            for perimetre, rayon in zip(("immediat", "rapproche", "eloigne"), p["rayons_captage_m"]):
                zone = _disque(centre, rayon, commune)
                if zone is not None:
                    ajouter("captages", zone, code_insee=code, perimetre=perimetre)
        for centre in _tirer(rng, centres, int(rng.integers(0, int(p["cavites_max_par_commune"]) + 1))):
            ajouter("cavites", centre, code_insee=code, nature=str(rng.choice(["naturelle", "carrière", "cave"])))
    colonnes = {"sol": ["code_insee", "groupe"], "nappe": ["code_insee", "classe"],
                "sites_pollues": ["code_insee", "type", "nom"], "captages": ["code_insee", "perimetre"],
                "cavites": ["code_insee", "nature"]}
    resultat = {}
    for nom in (n for n in lignes if n not in p["couches_absentes"]):
        if lignes[nom]:
            resultat[nom] = _couche(lignes[nom], geoms[nom])
        else:  # aucune commune tirée (captages) : couche vide, valide
            vide = pd.DataFrame({c: pd.Series([], dtype=object) for c in ["id", *colonnes[nom]]})
            resultat[nom] = gpd.GeoDataFrame(vide, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    return resultat
