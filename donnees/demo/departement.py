"""Démonstration à la taille d'un département : les 343 communes réelles de l'Hérault, générées par paquets.

Mêmes générateurs que les autres tailles (:func:`decouper_cellules`, :func:`generer_parcelles`,
:func:`generer_occupation`, :func:`generer_operations`, objectifs), appliqués à un paquet de communes voisines
à la fois (ordre de Morton) : chaque paquet écrit ses partitions (une par commune, :mod:`donnees.partitions`) et
envoie ses opérations au magasin avant que le suivant commence ; seules les communes (343 contours), les
surfaces désimperméabilisées par commune et les comptes restent en mémoire. Pas de lagune : le territoire n'en a
pas. Populations : INSEE pour les 25 communes du bassin de Thau, règle synthétique documentée ailleurs
(``sources_demo.json``, ``communes_departement``). Paramètres : section ``departement`` de
``parametres_demo.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from donnees.demo.communes import calculer_rayons_urbains
from donnees.demo.occupation import generer_occupation
from donnees.demo.operations import generer_operations, repartir_operations
from donnees.demo.parametres import DOSSIER_DEMO, lire_communes_demo
from donnees.demo.parcellaire import decouper_cellules, generer_parcelles
from donnees.geometrie import CRS_CALCUL, CRS_STOCKAGE, en_wgs84, extraire_polygones, transformateur
from donnees.partitions import ecrire_partitions


def lire_communes_departement(parametres: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """Communes du département (table ``code_insee``, ``nom``, ``population``, ``lon``, ``lat`` du bourg) et
    leurs contours en Lambert-93, redécoupés au pas ``bassin.densification_m``, triés par code INSEE."""
    pd_ = parametres["departement"]
    brutes = gpd.read_file(DOSSIER_DEMO / pd_["fichier_contours"]).to_crs(CRS_CALCUL)
    brutes = brutes.rename(columns={"code": "code_insee"}).sort_values("code_insee").reset_index(drop=True)
    contours = np.array([shapely.make_valid(g) if not g.is_valid else g for g in brutes.geometry.values],
                        dtype=object)
    contours = shapely.segmentize(contours, parametres["bassin"]["densification_m"])
    bourgs = shapely.point_on_surface(contours)
    lon, lat = transformateur(CRS_CALCUL, CRS_STOCKAGE).transform(shapely.get_x(bourgs), shapely.get_y(bourgs))
    table = pd.DataFrame({"code_insee": brutes["code_insee"].astype(str), "nom": brutes["nom"].astype(str),
                          "lon": lon, "lat": lat})
    table["population"] = calculer_populations(table["code_insee"].to_numpy(), contours, parametres)
    return table, contours


def calculer_populations(codes_insee: np.ndarray, contours: np.ndarray, parametres: dict) -> np.ndarray:
    """Population de chaque commune : INSEE si la commune est du bassin de Thau (``communes_bassin_thau.csv``),
    sinon surface (km²) × (max sur les pôles de densite_pole × exp(−distance / portee) + densite_rurale),
    la distance (km) allant du point intérieur de la commune à celui du pôle ; au moins ``population_min``."""
    pd_ = parametres["departement"]
    points = shapely.point_on_surface(contours)
    rang = {c: i for i, c in enumerate(codes_insee)}
    densite = np.zeros(len(codes_insee))
    for pole in pd_["poles"]:
        distance_km = shapely.distance(points, points[rang[pole["code_insee"]]]) / 1000
        densite = np.maximum(densite, pole["densite_par_km2"] * np.exp(-distance_km / pd_["portee_km"]))
    synthetique = shapely.area(contours) / 1e6 * (densite + pd_["densite_rurale"])
    population = np.maximum(np.round(synthetique), pd_["population_min"]).astype(np.int64)
    reelles = lire_communes_demo().set_index("code_insee")["population"]
    connues = pd.Series(codes_insee).isin(reelles.index).to_numpy()
    population[connues] = reelles.loc[codes_insee[connues]].to_numpy()
    return population


def former_paquets(contours: np.ndarray, taille: int, pas_m: float) -> list[np.ndarray]:
    """Paquets de ``taille`` communes voisines : rangs triés selon l'ordre de Morton (maille ``pas_m``) de leur
    point intérieur, puis coupés en tranches."""
    points = shapely.point_on_surface(contours)
    x, y = shapely.get_x(points), shapely.get_y(points)
    ix = np.floor((x - x.min()) / pas_m).astype(np.int64)
    iy = np.floor((y - y.min()) / pas_m).astype(np.int64)
    cle = np.zeros(len(points), dtype=np.int64)
    for bit in range(16):
        cle |= ((ix >> bit) & 1) << (2 * bit) | ((iy >> bit) & 1) << (2 * bit + 1)
    ordre = np.argsort(cle, kind="stable")
    return [ordre[i:i + taille] for i in range(0, len(ordre), taille)]


def repartir_entre_paquets(population: np.ndarray, paquets: list[np.ndarray], total: int,
                           exposant: float) -> np.ndarray:
    """Opérations visées par paquet : ∝ somme des population^exposant de ses communes (plus forts restes)."""
    poids = np.array([float((population[p].astype(float) ** exposant).sum()) for p in paquets])
    return repartir_operations(poids, np.full(len(paquets), total), total, 0, 1.0)


def generer_paquet(rangs: np.ndarray, table: pd.DataFrame, contours: np.ndarray, noyaux: pd.DataFrame,
                   nb_operations: int, parametres: dict, config: dict,
                   rng: np.random.Generator) -> tuple[dict, dict, list[dict], list[list], dict]:
    """Parcelles, occupation et opérations d'un paquet de communes (mêmes générateurs que le bassin) ; renvoie
    ``parc``, ``occupation``, opérations, zones Lambert-93 et le découpage (noms des vocations)."""
    communes = contours[rangs]
    terre = shapely.union_all(communes)
    emprise = tuple(float(v) for v in terre.bounds)
    marge = parametres["departement"]["marge_noyaux_m"]
    proches = ((noyaux["x"] >= emprise[0] - marge) & (noyaux["x"] <= emprise[2] + marge)
               & (noyaux["y"] >= emprise[1] - marge) & (noyaux["y"] <= emprise[3] + marge)).to_numpy()
    rayons = calculer_rayons_urbains(noyaux["population"].to_numpy()[proches], parametres,
                                     config["facteur_rayon_urbain"])
    decoupe = decouper_cellules(emprise, terre, (noyaux["x"].to_numpy()[proches], noyaux["y"].to_numpy()[proches]),
                                rayons, parametres, config, rng)
    codes = table["code_insee"].to_numpy()[rangs]
    parc = generer_parcelles(decoupe, communes, codes, emprise, parametres)
    occupation, disposition = generer_occupation(parc, decoupe, communes, parametres, rng)
    table_paquet = table.iloc[rangs].reset_index(drop=True).assign(littorale=False)
    operations, zones = generer_operations(parc, disposition, table_paquet, decoupe["noms_vocations"], parametres,
                                           {**config, "nb_operations": int(nb_operations)}, rng)
    return parc, occupation, operations, zones, decoupe


def ecrire_paquet(dossier: Path, codes: np.ndarray, parc: dict, occupation: dict,
                  couche_occupation: Callable) -> tuple[pd.Series, pd.Series]:
    """Écrit les partitions (une par commune) des parcelles et de l'occupation d'un paquet, validées à
    l'écriture ; renvoie les nombres de parcelles et de polygones par commune."""
    ordre = np.argsort(parc["attributs"]["id"].to_numpy(), kind="stable")
    parcelles = gpd.GeoDataFrame(parc["attributs"].iloc[ordre].reset_index(drop=True),
                                 geometry=parc["geometrie"][ordre], crs=CRS_CALCUL)
    parcelles = reparer_geometries(en_wgs84(parcelles))
    ecrire_partitions("parcelles", parcelles, dossier, communes=codes)
    polygones = reparer_geometries(en_wgs84(couche_occupation(occupation, codes)))
    ecrire_partitions("occupation", polygones, dossier, communes=codes)
    return (parcelles["commune"].value_counts().reindex(codes, fill_value=0),
            polygones["code_insee"].value_counts().reindex(codes, fill_value=0))


def reparer_geometries(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rares polygones devenus invalides par la reprojection en WGS84 (lamelle de quelques millimètres) : réparés
    (``make_valid``, partie surfacique gardée) ; ceux qu'il ne reste rien sont retirés. Les valides sont
    inchangés."""
    invalides = np.flatnonzero(~shapely.is_valid(table.geometry.values))
    if not len(invalides):
        return table
    geometries = table.geometry.values.copy()
    geometries[invalides] = extraire_polygones(shapely.make_valid(geometries[invalides]))
    garder = ~(shapely.is_missing(geometries) | shapely.is_empty(geometries))
    return table.set_geometry(geometries)[garder].reset_index(drop=True)
