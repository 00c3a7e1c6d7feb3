"""Territoire de démonstration : les 25 communes du bassin de Thau, synthétiques mais plausibles.

Écrit dans un dossier de données les couches du référentiel (communes, communes simplifiées,
parcelles, occupation du sol, objectifs, nouvelles surfaces imperméabilisées), le fichier du territoire,
des photos générées et environ 1 000 opérations dans le magasin.

Les noms, codes INSEE et populations des communes sont réels ; toutes les géométries sont inventées
(cellules de Voronoï autour des centres-bourgs, lagune elliptique, parcellaire par découpage k-d).
Tout est reproductible : même graine, mêmes couches et mêmes opérations (seul ``genere_le`` change).
Les calculs se font en Lambert-93 (EPSG:2154) ; les couches sont écrites en WGS84 (EPSG:4326).
Les nombres du modèle sont dans ``donnees/demo/parametres_demo.json``, les textes dans
``donnees/demo/textes_demo.json``.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from donnees.config import SOUS_DOSSIER_PHOTOS, dossier_photos
from donnees.config import url_base as url_base_config
from donnees.referentiel import construire_communes_affichage, ecrire_couche, ecrire_territoire
from donnees.schemas import CRS_CALCUL, CRS_STOCKAGE, ErreurDonnees
from donnees.sources import enregistrer_sources, fiches_demo

DOSSIER_DEMO = Path(__file__).resolve().parent / "demo"
TAILLES = ("petite", "complete")
_LETTRES = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
_TYPES_POLYGONE = (shapely.GeometryType.POLYGON.value, shapely.GeometryType.MULTIPOLYGON.value)


# ------------------------------------------------------------------------------------ paramètres


@lru_cache(maxsize=None)
def lire_parametres() -> dict:
    """Paramètres de la démonstration : ``{section: {clé: valeur}}`` (notes retirées)."""
    brut = json.loads((DOSSIER_DEMO / "parametres_demo.json").read_text(encoding="utf-8"))
    return {section: {cle: entree["valeur"] for cle, entree in contenu.items()}
            for section, contenu in brut.items() if not section.startswith("_")}


@lru_cache(maxsize=None)
def lire_textes() -> dict:
    """Textes de la démonstration (modèles de noms, descriptions, retours d'expérience)."""
    return json.loads((DOSSIER_DEMO / "textes_demo.json").read_text(encoding="utf-8"))


def lire_communes_demo() -> pd.DataFrame:
    """Les 25 communes réelles du bassin : code INSEE, nom, population, centre approximatif."""
    return pd.read_csv(DOSSIER_DEMO / "communes_bassin_thau.csv", dtype={"code_insee": str})


@lru_cache(maxsize=None)
def _vers_lambert93() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(CRS_STOCKAGE, CRS_CALCUL, always_xy=True)


@lru_cache(maxsize=None)
def _vers_wgs84() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(CRS_CALCUL, CRS_STOCKAGE, always_xy=True)


def projeter_wgs84(geometries: np.ndarray) -> np.ndarray:
    """Reprojette en lot des géométries Lambert-93 en WGS84."""
    transformateur = _vers_wgs84()

    def projeter(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(transformateur.transform(coords[:, 0], coords[:, 1]))

    return shapely.transform(geometries, projeter)


# ------------------------------------------------------------------------------- outils géométriques


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


def _interpoler(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """a + f (b − a), exact aux bornes (f = 0 → a, f = 1 → b) pour des bords communs identiques."""
    return np.where(f <= 0, a, np.where(f >= 1, b, a + f * (b - a)))


def _boites_relatives(emprise: tuple, long_x: np.ndarray, inverse: np.ndarray, s0, s1, t0, t1) -> np.ndarray:
    """Rectangles donnés en fractions (s le long du grand côté, t en travers) de chaque emprise."""
    x0, y0, x1, y1 = emprise
    s0, s1, t0, t1 = (np.broadcast_to(np.asarray(v, dtype=float), x0.shape) for v in (s0, s1, t0, t1))
    debut = np.where(inverse, 1 - s1, s0)
    fin = np.where(inverse, 1 - s0, s1)
    bx0 = np.where(long_x, _interpoler(x0, x1, debut), _interpoler(x0, x1, t0))
    bx1 = np.where(long_x, _interpoler(x0, x1, fin), _interpoler(x0, x1, t1))
    by0 = np.where(long_x, _interpoler(y0, y1, t0), _interpoler(y0, y1, debut))
    by1 = np.where(long_x, _interpoler(y0, y1, t1), _interpoler(y0, y1, fin))
    return shapely.box(bx0, by0, bx1, by1)


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


# ------------------------------------------------------------------------------ communes et lagune


def construire_lagune(parametres: dict) -> shapely.Polygon:
    """Lagune de Thau : ellipse allongée sud-ouest – nord-est (Lambert-93)."""
    p = parametres["lagune"]
    cx, cy = _vers_lambert93().transform(p["centre_lon"], p["centre_lat"])
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


# ------------------------------------------------------------------------------------- parcellaire


def decouper_cellules(emprise: tuple, terre: shapely.Polygon, centres: tuple, rayons: np.ndarray,
                      parametres: dict, taille: dict, rng: np.random.Generator) -> dict:
    """Découpage k-d vectorisé de l'emprise en parcelles rectangulaires, groupées en îlots.

    À chaque niveau, toute cellule plus grande que la plus petite surface cible de son emprise (celle du
    point le plus proche d'un centre-bourg) est coupée le long de son grand côté. Une cellule qui passe sous ``facteur_ilot`` × cible devient un îlot : elle
    est rétrécie de la demi-largeur des voies (l'espace libéré forme les rues et chemins). Certaines
    cellules du tissu urbain deviennent des îlots d'équipement (écoles, parkings, places…) découpés en
    grandes parcelles. Les cellules hors de la terre (lagune, hors bassin) sont abandonnées.
    """
    pp, pe = parametres["parcellaire"], parametres["equipements"]
    vocations = pe["vocations"]
    noms_vocations = list(vocations)
    poids = np.array([vocations[v]["poids"] for v in noms_vocations], dtype=float)
    poids /= poids.sum()
    bornes_voc = np.array([vocations[v]["surface_parcelle_m2"] for v in noms_vocations], dtype=float)
    cx, cy = centres
    cote = pp["cote_cellule_initiale_m"]
    xmin, ymin, xmax, ymax = emprise
    gx, gy = np.meshgrid(np.arange(xmin, xmax, cote), np.arange(ymin, ymax, cote))
    x0, y0 = gx.ravel().astype(float), gy.ravel().astype(float)
    x1, y1 = x0 + cote, y0 + cote
    n = len(x0)
    ilot = np.full(n, -1, dtype=np.int64)
    cible_equip = np.full(n, np.nan)
    interieur = np.zeros(n, dtype=bool)
    shapely.prepare(terre)
    sorties, ilots = [], []
    nb_ilots = 0
    r_min, r_max = pp["ratio_decoupe"]
    a_min_eq, a_max_eq = pe["surface_ilot_m2"]
    for _niveau in range(80):
        if n == 0:
            break
        # 1. abandon des cellules hors de la terre ferme du bassin
        a_tester = np.flatnonzero(~interieur)
        if len(a_tester):
            boites = shapely.box(x0[a_tester], y0[a_tester], x1[a_tester], y1[a_tester])
            touche = shapely.intersects(terre, boites)
            interieur[a_tester] = shapely.contains_properly(terre, boites)
            garder = np.ones(n, dtype=bool)
            garder[a_tester] = touche
            x0, y0, x1, y1, ilot, cible_equip, interieur = (
                v[garder] for v in (x0, y0, x1, y1, ilot, cible_equip, interieur))
            n = len(x0)
            if n == 0:
                break
        # 2. surfaces cibles
        u = calculer_distance_relative((x0 + x1) / 2, (y0 + y1) / 2, cx, cy, rayons)
        u_min = calculer_distance_relative(x0, y0, cx, cy, rayons, x1, y1)
        cible = calculer_surface_cible(u_min, parametres, taille) * np.exp(
            pp["bruit_cible_sigma"] * rng.standard_normal(n))
        aire = (x1 - x0) * (y1 - y0)
        # 3. nouveaux îlots (équipements d'abord)
        libre = ilot < 0
        tirage = rng.random(n)
        equipement = (libre & (u <= pe["distance_relative_max"]) & (aire >= a_min_eq) & (aire <= a_max_eq)
                      & (tirage < taille.get("probabilite_equipement", pe["probabilite_par_niveau"])))
        nouveaux = np.flatnonzero(libre & (equipement | (aire <= pp["facteur_ilot"] * cible)))
        if len(nouveaux):
            urbain = u[nouveaux] < pp["distance_relative_rurale"]
            demi = np.where(urbain, pp["demi_largeur_voie_urbaine_m"], pp["demi_largeur_chemin_rural_m"])
            demi = np.minimum(demi, 0.2 * np.minimum(x1[nouveaux] - x0[nouveaux], y1[nouveaux] - y0[nouveaux]))
            vocation = np.full(len(nouveaux), -1, dtype=np.int64)
            est_eq = equipement[nouveaux]
            vocation[est_eq] = rng.choice(len(noms_vocations), size=int(est_eq.sum()), p=poids)
            bornes = bornes_voc[vocation[est_eq]]
            cible_equip[nouveaux[est_eq]] = rng.uniform(bornes[:, 0], bornes[:, 1])
            ilots.append({"x0": x0[nouveaux], "y0": y0[nouveaux], "x1": x1[nouveaux], "y1": y1[nouveaux],
                          "demi": demi, "u": u[nouveaux], "vocation": vocation})
            ilot[nouveaux] = nb_ilots + np.arange(len(nouveaux))
            nb_ilots += len(nouveaux)
            x0[nouveaux] += demi
            y0[nouveaux] += demi
            x1[nouveaux] -= demi
            y1[nouveaux] -= demi
            aire[nouveaux] = (x1[nouveaux] - x0[nouveaux]) * (y1[nouveaux] - y0[nouveaux])
        cible = np.where(np.isnan(cible_equip), cible, cible_equip)
        # 4. parcelles terminées
        fini = (ilot >= 0) & (aire <= cible)
        if fini.any():
            sorties.append({"x0": x0[fini], "y0": y0[fini], "x1": x1[fini], "y1": y1[fini],
                            "ilot": ilot[fini], "u": u[fini]})
        # 5. découpe des autres le long du grand côté
        reste = ~fini
        x0, y0, x1, y1, ilot, cible_equip, interieur = (
            v[reste] for v in (x0, y0, x1, y1, ilot, cible_equip, interieur))
        n = len(x0)
        if n == 0:
            break
        ratio = rng.uniform(r_min, r_max, n)
        sur_x = (x1 - x0) >= (y1 - y0)
        xm, ym = x0 + ratio * (x1 - x0), y0 + ratio * (y1 - y0)
        x0, y0, x1, y1 = (np.concatenate([x0, np.where(sur_x, xm, x0)]),
                          np.concatenate([y0, np.where(sur_x, y0, ym)]),
                          np.concatenate([np.where(sur_x, xm, x1), x1]),
                          np.concatenate([np.where(sur_x, y1, ym), y1]))
        ilot, cible_equip, interieur = (np.concatenate([v, v]) for v in (ilot, cible_equip, interieur))
        n = len(x0)
    else:
        raise ErreurDonnees("Démonstration : le découpage parcellaire ne converge pas.", "parcelles")
    parcelles = {k: np.concatenate([s[k] for s in sorties]) for k in sorties[0]}
    ilots_tout = {k: np.concatenate([s[k] for s in ilots]) for k in ilots[0]}
    parcelles["vocation"] = ilots_tout["vocation"][parcelles["ilot"]]
    return {"parcelles": parcelles, "ilots": ilots_tout, "noms_vocations": noms_vocations}


def numeroter_parcelles(geometries: np.ndarray, rang_commune: np.ndarray, codes_insee: np.ndarray,
                        emprise: tuple, parametres: dict) -> pd.DataFrame:
    """Sections (mailles d'une grille, lettrées AA, AB… par commune) et numéros dans chaque section."""
    pp = parametres["parcellaire"]
    pas = pp["cote_section_m"]
    point = shapely.point_on_surface(geometries)
    px, py = shapely.get_x(point), shapely.get_y(point)
    table = pd.DataFrame({"commune": rang_commune, "ligne": np.floor((emprise[3] - py) / pas).astype(np.int64),
                          "colonne": np.floor((px - emprise[0]) / pas).astype(np.int64),
                          "px": px, "py": py})
    mailles = table[["commune", "ligne", "colonne"]].drop_duplicates().sort_values(["commune", "ligne", "colonne"])
    mailles["rang_section"] = mailles.groupby("commune").cumcount()
    if mailles["rang_section"].max() >= len(_LETTRES) ** 2:
        raise ErreurDonnees("Démonstration : trop de sections dans une commune (augmentez cote_section_m).",
                            "parcelles", "section")
    table = table.merge(mailles, on=["commune", "ligne", "colonne"], how="left")
    table["ordre"] = np.arange(len(table))
    table = table.sort_values(["commune", "rang_section", "py", "px", "ordre"], ascending=[True, True, False, True, True])
    table["numero"] = table.groupby(["commune", "rang_section"]).cumcount() + 1
    table = table.sort_values("ordre")
    if table["numero"].max() > 9999:
        raise ErreurDonnees("Démonstration : plus de 9 999 parcelles dans une section (réduisez cote_section_m).",
                            "parcelles", "numero")
    rang = table["rang_section"].to_numpy()
    section = pd.Series(_LETTRES[rang // 26]) + pd.Series(_LETTRES[rang % 26])
    numero = table["numero"].astype(str).reset_index(drop=True)
    commune = pd.Series(codes_insee[rang_commune])
    resultat = pd.DataFrame({
        "id": commune + pp["prefixe"] + section + numero.str.zfill(4),
        "commune": commune,
        "prefixe": pp["prefixe"],
        "section": section,
        "numero": numero,
        "contenance": np.round(shapely.area(geometries)).astype(np.int64),
    })
    return resultat


def generer_parcelles(decoupe: dict, communes_terre: np.ndarray, codes_insee: np.ndarray, emprise: tuple,
                      parametres: dict) -> dict:
    """Parcelles : cellules découpées par les communes, numérotées façon Etalab (Lambert-93)."""
    p = decoupe["parcelles"]
    boites = shapely.box(p["x0"], p["y0"], p["x1"], p["y1"])
    geoms, source, rang, entiere = repartir_par_commune(boites, communes_terre,
                                                        parametres["parcellaire"]["surface_min_morceau_m2"])
    attributs = numeroter_parcelles(geoms, rang, codes_insee, emprise, parametres)
    return {
        "geometrie": geoms, "commune": rang, "entiere": entiere, "attributs": attributs,
        "x0": p["x0"][source], "y0": p["y0"][source], "x1": p["x1"][source], "y1": p["y1"][source],
        "u": p["u"][source], "ilot": p["ilot"][source], "vocation": p["vocation"][source],
    }


# ----------------------------------------------------------------------------------- occupation du sol


def _tirer_categories(probabilites: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tirage d'une catégorie par ligne selon une matrice de probabilités (lignes normalisées)."""
    cumul = np.cumsum(probabilites / probabilites.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((cumul < rng.random(len(probabilites))[:, None]).sum(axis=1), probabilites.shape[1] - 1)


def _champ_relief(x: np.ndarray, y: np.ndarray, longueur_onde: float, contraste: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Champ lisse dans ]0, 1[ (somme d'ondes planes, sigmoïde) : 0 plaine, 1 colline."""
    champ = np.zeros(len(x))
    for _ in range(4):
        angle, phase = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
        onde = longueur_onde * rng.uniform(0.7, 1.4)
        champ += np.cos(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / onde + phase)
    return 1 / (1 + np.exp(-contraste * champ))


def generer_occupation(parc: dict, decoupe: dict, communes_terre: np.ndarray, communes: np.ndarray,
                       lagune: shapely.Polygon, parametres: dict, rng: np.random.Generator) -> tuple[dict, dict]:
    """Occupation du sol OCS GE cohérente avec le parcellaire.

    Parcelles urbaines : bâti, cour ou allée imperméable, jardin ; emprises d'équipement : bâti, espace
    minéral, un peu de végétal ; parcelles rurales : vignes, garrigue, bois, friches (regroupés par un
    champ lisse et par îlot), quelques mas ; voies : espace entre îlots ; lagune : eau.
    Renvoie les polygones et, pour les emprises d'équipement, leur disposition (pour les opérations).
    """
    pp, po, pe = parametres["parcellaire"], parametres["occupation"], parametres["equipements"]
    surface_min = pp["surface_min_occupation_m2"]
    n = len(parc["geometrie"])
    emprise = (parc["x0"], parc["y0"], parc["x1"], parc["y1"])
    long_x = (parc["x1"] - parc["x0"]) >= (parc["y1"] - parc["y0"])
    inverse = rng.random(n) < 0.5
    u, vocation, entiere = parc["u"], parc["vocation"], parc["entiere"]
    equipement = vocation >= 0
    noyau = ~equipement & (u < pp["distance_relative_noyau"])
    couronne = ~equipement & ~noyau & (u < pp["distance_relative_rurale"])
    rural = ~equipement & ~noyau & ~couronne
    morceaux: list[tuple] = []  # (géométries, rang parcelle, code_cs, code_us)

    def ajouter(geoms, rangs, code_cs, code_us=None):
        geoms = np.asarray(geoms, dtype=object)
        rangs = np.asarray(rangs)
        decoupees = ~entiere[rangs]
        if decoupees.any():  # parcelles découpées par une limite : on recoupe par leur contour réel
            geoms = geoms.copy()
            geoms[decoupees] = extraire_polygones(
                shapely.intersection(geoms[decoupees], parc["geometrie"][rangs[decoupees]]))
        garder = shapely.area(geoms) >= surface_min
        cs = np.broadcast_to(np.asarray(code_cs, dtype=object), geoms.shape)[garder]
        us = np.broadcast_to(np.asarray(code_us, dtype=object), geoms.shape)[garder]
        morceaux.append((geoms[garder], rangs[garder], cs, us))

    def sous_emprise(rangs):
        return tuple(v[rangs] for v in emprise), long_x[rangs], inverse[rangs]

    # --- parcelles urbaines (noyau dense et couronne pavillonnaire)
    urb = np.flatnonzero(noyau | couronne)
    est_noyau = noyau[urb]
    k = len(urb)
    mineral = np.where(est_noyau, rng.uniform(*po["noyau_part_minerale"], k), rng.uniform(*po["couronne_part_minerale"], k))
    bati = np.where(est_noyau, rng.uniform(*po["noyau_part_bati"], k), rng.uniform(*po["couronne_part_bati"], k))
    largeur = np.where(est_noyau, 1.0, rng.uniform(*po["couronne_largeur_bati"], k))
    longueur = np.minimum(bati / largeur, 1 - mineral)
    libre = 1 - mineral - longueur
    longueur = np.where(libre < po["part_jardin_min"], 1 - mineral, longueur)
    libre = 1 - mineral - longueur
    debut = mineral + np.where(est_noyau, 0.0, libre * rng.uniform(*po["couronne_recul_bati"], k))
    t0 = np.where(est_noyau, 0.0, (1 - largeur) * rng.uniform(*po["couronne_position_laterale_bati"], k))
    e, lx, inv = sous_emprise(urb)
    boite = shapely.box(*e)
    b_mineral = _boites_relatives(e, lx, inv, 0.0, mineral, 0.0, 1.0)
    b_bati = _boites_relatives(e, lx, inv, debut, debut + longueur, t0, t0 + largeur)
    jardin = extraire_polygones(shapely.difference(shapely.difference(boite, b_mineral), b_bati))
    arbore = rng.random(k) < po["part_jardins_arbores"]
    ajouter(b_bati, urb, po["code_cs_bati"])
    ajouter(b_mineral, urb, po["code_cs_mineral"])
    ajouter(jardin, urb, np.where(arbore, po["code_cs_jardin_arbore"], po["code_cs_jardin"]))

    # --- emprises d'équipement : bâti en bout, minéral au milieu, végétal à l'autre bout
    eq = np.flatnonzero(equipement)
    voc = pe["vocations"]
    noms = decoupe["noms_vocations"]
    bornes_bati = np.array([voc[v]["part_bati"] for v in noms])[vocation[eq]]
    bornes_veg = np.array([voc[v]["part_vegetale"] for v in noms])[vocation[eq]]
    part_bati = rng.uniform(bornes_bati[:, 0], bornes_bati[:, 1])
    part_veg = rng.uniform(bornes_veg[:, 0], bornes_veg[:, 1])
    e, lx, inv = sous_emprise(eq)
    ajouter(_boites_relatives(e, lx, inv, 0.0, part_bati, 0.0, 1.0), eq, po["code_cs_bati"])
    ajouter(_boites_relatives(e, lx, inv, part_bati, 1 - part_veg, 0.0, 1.0), eq, po["code_cs_mineral"])
    ajouter(_boites_relatives(e, lx, inv, 1 - part_veg, 1.0, 0.0, 1.0), eq,
            np.where(rng.random(len(eq)) < po["part_equipements_arbores"], po["code_cs_jardin_arbore"],
                     po["code_cs_jardin"]))
    disposition = {"rang": eq, "part_bati": part_bati, "part_vegetale": part_veg,
                   "long_x": long_x[eq], "inverse": inverse[eq]}

    # --- parcelles rurales : couvert tiré selon le relief et l'îlot ; quelques mas
    ru = np.flatnonzero(rural)
    classes = po["rural_classes"]
    noms_classes = list(classes)
    plaine = np.array([classes[c]["poids_plaine"] for c in noms_classes])
    colline = np.array([classes[c]["poids_colline"] for c in noms_classes])
    ilots = decoupe["ilots"]
    ix = (ilots["x0"] + ilots["x1"]) / 2
    iy = (ilots["y0"] + ilots["y1"]) / 2
    relief_ilot = _champ_relief(ix, iy, po["relief_longueur_onde_m"], po["relief_contraste"],
                                np.random.default_rng(rng.integers(2**32)))
    classe_ilot = _tirer_categories(np.outer(1 - relief_ilot, plaine) + np.outer(relief_ilot, colline), rng)
    relief = relief_ilot[parc["ilot"][ru]]
    classe = _tirer_categories(np.outer(1 - relief, plaine) + np.outer(relief, colline), rng)
    classe = np.where(rng.random(len(ru)) < po["probabilite_meme_classe_ilot"], classe_ilot[parc["ilot"][ru]], classe)
    code_cs = np.array([classes[c]["code_cs"] for c in noms_classes], dtype=object)[classe]
    code_us = np.array([classes[c]["code_us"] for c in noms_classes], dtype=object)[classe]
    e, lx, inv = sous_emprise(ru)
    cote = np.sqrt(rng.uniform(*po["surface_mas_m2"], len(ru)))
    longueur_p = np.where(lx, e[2] - e[0], e[3] - e[1])
    largeur_p = np.where(lx, e[3] - e[1], e[2] - e[0])
    mas = (entiere[ru] & (rng.random(len(ru)) < po["probabilite_mas"])
           & (longueur_p > 6 * cote) & (largeur_p > 3 * cote))
    reste = parc["geometrie"][ru].copy()
    if mas.any():
        m = np.flatnonzero(mas)
        em = tuple(v[m] for v in e)
        s_bati, t_bati = cote[m] / longueur_p[m], cote[m] / largeur_p[m]
        ajouter(_boites_relatives(em, lx[m], inv[m], 0.0, s_bati, 0.0, t_bati), ru[m], po["code_cs_bati"])
        ajouter(_boites_relatives(em, lx[m], inv[m], s_bati, 2 * s_bati, 0.0, t_bati), ru[m], po["code_cs_mineral"])
        cour = _boites_relatives(em, lx[m], inv[m], 0.0, 2 * s_bati, 0.0, t_bati)
        reste[m] = extraire_polygones(shapely.difference(reste[m], cour))
    ajouter(reste, ru, code_cs, code_us)

    geoms = np.concatenate([m[0] for m in morceaux])
    rang_parcelle = np.concatenate([m[1] for m in morceaux])
    cs = np.concatenate([m[2] for m in morceaux])
    us = np.concatenate([m[3] for m in morceaux])
    rang_commune = parc["commune"][rang_parcelle]

    # --- voies : anneau entre chaque îlot et son retrait, découpé par les communes
    anneaux = shapely.difference(
        shapely.box(ilots["x0"], ilots["y0"], ilots["x1"], ilots["y1"]),
        shapely.box(ilots["x0"] + ilots["demi"], ilots["y0"] + ilots["demi"],
                    ilots["x1"] - ilots["demi"], ilots["y1"] - ilots["demi"]))
    voies, source, rang_voie, _ = repartir_par_commune(anneaux, communes_terre, pp["surface_min_morceau_m2"])
    urbaine = ilots["u"][source] < pp["distance_relative_rurale"]
    cs_voie = np.where(urbaine, po["code_cs_mineral"], po["code_cs_chemin_rural"]).astype(object)

    # --- lagune : eau, découpée par commune
    eau = extraire_polygones(shapely.intersection(communes, lagune))
    avec_eau = np.flatnonzero(shapely.area(eau) >= surface_min)

    occupation = {
        "geometrie": np.concatenate([geoms, voies, eau[avec_eau]]),
        "commune": np.concatenate([rang_commune, rang_voie, avec_eau]),
        "code_cs": np.concatenate([cs, cs_voie, np.full(len(avec_eau), po["code_cs_eau"], dtype=object)]),
        "code_us": np.concatenate([us, np.full(len(voies) + len(avec_eau), None, dtype=object)]),
    }
    return occupation, disposition


# -------------------------------------------------------------------------- objectifs et surfaces


def generer_objectifs(codes_insee: np.ndarray, population: np.ndarray, parametres: dict, taille: dict) -> pd.DataFrame:
    """Objectifs cumulés de désimperméabilisation : bassin linéaire, communes au prorata de la population."""
    po = parametres["objectifs"]
    premiere, derniere = po["annees"]
    annees = np.arange(premiere, derniere + 1)
    reference = po["annee_reference"]
    bassin = taille["objectif_bassin_m2"] * (annees - (premiere - 1)) / (reference - (premiere - 1))
    lignes = [pd.DataFrame({"territoire": "bassin", "annee": annees, "surface_m2": np.round(bassin, 0)})]
    part = population / population.sum()
    for code, p in zip(codes_insee, part):
        lignes.append(pd.DataFrame({"territoire": code, "annee": annees, "surface_m2": np.round(bassin * p, 0)}))
    return pd.concat(lignes, ignore_index=True)


def generer_nouvelles_surfaces(codes_insee: np.ndarray, population: np.ndarray, desimpermeabilise: np.ndarray,
                               parametres: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Surfaces nouvellement imperméabilisées par commune et par an.

    Chaque commune reçoit un ratio de compensation SDAGE visé (log-normal autour de 1,5) : le total
    imperméabilisé est la surface désimperméabilisée divisée par ce ratio, avec un plancher par habitant,
    réparti sur les années avec une variation aléatoire.
    """
    pn = parametres["nouvelles_surfaces"]
    premiere, derniere = pn["annees"]
    annees = np.arange(premiere, derniere + 1)
    ratio = pn["ratio_sdage_median"] * np.exp(pn["ratio_sdage_sigma"] * rng.standard_normal(len(codes_insee)))
    annuel = np.maximum(desimpermeabilise / ratio / len(annees), population * pn["m2_par_habitant_min"])
    variation = rng.uniform(*pn["variation_annuelle"], (len(codes_insee), len(annees)))
    variation /= variation.mean(axis=1, keepdims=True)
    surfaces = np.round(annuel[:, None] * variation, 0)
    return pd.DataFrame({
        "code_insee": np.repeat(codes_insee, len(annees)),
        "annee": np.tile(annees, len(codes_insee)),
        "surface_m2": surfaces.ravel(),
        "source": parametres["territoire"]["source_nouvelles_surfaces"],
    })


# ----------------------------------------------------------------------------------------- opérations


def _simplifier_texte(texte: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")


def _de(nom: str) -> str:
    """« de Sète », « d'Agde »."""
    return f"d'{nom}" if unicodedata.normalize("NFKD", nom[0])[0].upper() in "AEIOUYH" else f"de {nom}"


def _separer_milliers(valeur: float) -> str:
    return f"{round(valeur):,}".replace(",", "\u202f")


def _lister(elements: list[str]) -> str:
    return elements[0] if len(elements) == 1 else ", ".join(elements[:-1]) + " et " + elements[-1]


def repartir_operations(population: np.ndarray, disponibles: np.ndarray, total: int, minimum: int,
                        exposant: float) -> np.ndarray:
    """Nombre d'opérations par commune : un minimum chacune, le reste selon la population (plus forts restes),
    sans dépasser les emprises disponibles."""
    nombre = np.minimum(minimum, disponibles)
    poids = population.astype(float) ** exposant
    for _ in range(50):
        manque = total - int(nombre.sum())
        place = disponibles - nombre
        if manque <= 0 or not (place > 0).any():
            break
        w = np.where(place > 0, poids, 0.0)
        voulu = manque * w / w.sum()
        ajout = np.floor(voulu).astype(np.int64)
        restes = manque - int(ajout.sum())
        if restes > 0:
            ajout[np.argsort(-(voulu - ajout), kind="stable")[:restes]] += 1
        nombre += np.minimum(ajout, place)
    return nombre


def _decouper_zones(x0: float, y0: float, x1: float, y1: float, aire: float, nb: int, espace: float,
                    poids_relatifs: list[float], rng: np.random.Generator) -> list[shapely.Polygon]:
    """Rectangle minéral → ``nb`` zones rectangulaires disjointes couvrant environ ``aire`` m²."""
    w, h = x1 - x0, y1 - y0
    phi = min(1.0, aire / (w * h))
    if w >= h:
        debut = x0 + rng.uniform(0, w * (1 - phi))
        x0, x1 = debut, debut + w * phi
    else:
        debut = y0 + rng.uniform(0, h * (1 - phi))
        y0, y1 = debut, debut + h * phi
    w, h = x1 - x0, y1 - y0
    poids = rng.uniform(*poids_relatifs, nb)
    coupes = np.concatenate([[0.0], np.cumsum(poids) / poids.sum()])
    zones = []
    for i in range(nb):
        a = coupes[i] + (espace / 2 / max(w, h) if i > 0 else 0.0)
        b = coupes[i + 1] - (espace / 2 / max(w, h) if i < nb - 1 else 0.0)
        if w >= h:
            zones.append(shapely.box(x0 + a * w, y0, x0 + b * w, y1))
        else:
            zones.append(shapely.box(x0, y0 + a * h, x1, y0 + b * h))
    return zones


def _rectangle_mineral(parc: dict, disposition: dict, j: int, marge: float) -> tuple[float, float, float, float]:
    """Rectangle de l'espace minéral d'une emprise d'équipement (rang j dans la disposition), en retrait."""
    r = disposition["rang"][j]
    x0, y0, x1, y1 = (float(parc[k][r]) for k in ("x0", "y0", "x1", "y1"))
    s0, s1 = float(disposition["part_bati"][j]), 1.0 - float(disposition["part_vegetale"][j])
    if disposition["inverse"][j]:
        s0, s1 = 1 - s1, 1 - s0
    if disposition["long_x"][j]:
        x0, x1 = x0 + s0 * (x1 - x0), x0 + s1 * (x1 - x0)
    else:
        y0, y1 = y0 + s0 * (y1 - y0), y0 + s1 * (y1 - y0)
    return x0 + marge, y0 + marge, x1 - marge, y1 - marge


def _tirer_poids(options: dict, rng: np.random.Generator, nombre: int, remise: bool = False) -> list[str]:
    codes = list(options)
    poids = np.array([options[c] for c in codes], dtype=float)
    return [codes[i] for i in rng.choice(len(codes), size=nombre, replace=remise or nombre > len(codes),
                                         p=poids / poids.sum())]


def _tirer_dict(options: dict, rng: np.random.Generator) -> str:
    return _tirer_poids(options, rng, 1)[0]


def _date_aleatoire(debut: date, fin: date, rng: np.random.Generator) -> date:
    jours = max(0, (fin - debut).days)
    return debut + timedelta(days=int(rng.integers(0, jours + 1)))


def _horodatage(jour: date, rng: np.random.Generator) -> datetime:
    return datetime(jour.year, jour.month, jour.day, int(rng.integers(8, 18)), int(rng.integers(0, 60)),
                    int(rng.integers(0, 60)))


def _maitre_ouvrage(moa: str, commune: dict, epci: str | None, valeurs: dict, proba_epci: float,
                    rng: np.random.Generator) -> tuple[str, bool]:
    """Maître d'ouvrage et indicateur « commune » (pour le contact)."""
    ville = ("Ville " if commune["population"] >= 5000 else "Commune ") + _de(commune["nom"])
    if moa == "commune":
        return ville, True
    if moa == "commune_ou_epci":
        if epci and rng.random() < proba_epci:
            return epci, False
        return ville, True
    return moa.format(**valeurs), False


def generer_operations(parc: dict, disposition: dict, communes: pd.DataFrame, noms_vocations: list[str],
                       parametres: dict, taille: dict, rng: np.random.Generator) -> tuple[list[dict], list[list]]:
    """Opérations de démonstration sur les emprises d'équipement (zones en Lambert-93 à reprojeter).

    Renvoie les opérations (dictionnaires du contrat du magasin, zones en Lambert-93) et, pour chacune,
    la liste des zones (géométrie Lambert-93, avant, après) pour les calculs de surface.
    """
    po = parametres["operations"]
    textes = lire_textes()
    reference = date.fromisoformat(po["date_reference"])
    premiere, derniere = po["annees"]
    annees = np.arange(premiere, derniere + 1)
    poids_annees = np.asarray(po["poids_annees"], dtype=float)
    poids_annees /= poids_annees.sum()
    epci_de = {code: nom for nom, codes in textes["intercommunalites"].items() for code in codes}
    codes_insee = communes["code_insee"].to_numpy()
    ids = parc["attributs"]["id"].to_numpy()

    # emprises candidates : parcelles d'équipement entières (rectangulaires)
    j_candidats = np.flatnonzero(parc["entiere"][disposition["rang"]])
    rang_cand = disposition["rang"][j_candidats]
    commune_cand = parc["commune"][rang_cand]
    disponibles = np.bincount(commune_cand, minlength=len(communes))
    nombre = repartir_operations(communes["population"].to_numpy(), disponibles, int(taille["nb_operations"]),
                                 int(taille["minimum_par_commune"]), po["exposant_population"])
    # emprises d'un même îlot, pour les opérations sur deux parcelles
    ilot_cand = parc["ilot"][rang_cand]
    par_ilot: dict[int, list[int]] = {}
    for j, i in zip(j_candidats.tolist(), ilot_cand.tolist()):
        par_ilot.setdefault(i, []).append(j)

    operations, zones_l93 = [], []
    utilisees: set[int] = set()
    for c, code in enumerate(codes_insee):
        commune = communes.iloc[c].to_dict()
        candidats = rng.permutation(j_candidats[commune_cand == c]).tolist()
        par_type = {t: [j for j in candidats if noms_vocations[int(parc["vocation"][disposition["rang"][j]])] == t]
                    for t in noms_vocations}
        noms_pris: set[str] = set()
        voulus = _tirer_poids(po["parts_types"], rng, int(nombre[c]), remise=True) if nombre[c] else []
        for rang_op, voulu in enumerate(voulus):
            j = next((j for j in par_type.get(voulu, []) if j not in utilisees), None)
            if j is None:
                j = next((j for j in candidats if j not in utilisees), None)
            if j is None:
                break
            utilisees.add(j)
            groupe = [j]
            freres = [f for f in par_ilot[int(parc["ilot"][disposition["rang"][j]])] if f not in utilisees]
            libres = sum(f not in utilisees for f in candidats)
            if freres and rng.random() < po["probabilite_deux_parcelles"] and libres > len(voulus) - rang_op - 1:
                groupe.append(freres[0])
                utilisees.add(freres[0])
            type_site = noms_vocations[int(parc["vocation"][disposition["rang"][j]])]
            operation, zones = _composer_operation(parc, disposition, groupe, type_site, commune,
                                                   epci_de.get(code), noms_pris, annees, poids_annees,
                                                   reference, ids, parametres, textes, rng)
            operations.append(operation)
            zones_l93.append(zones)
    ordre = sorted(range(len(operations)), key=lambda i: (operations[i]["cree_le"], operations[i]["code_insee"],
                                                           operations[i]["nom"]))
    return [operations[i] for i in ordre], [zones_l93[i] for i in ordre]


def _composer_operation(parc, disposition, groupe, type_site, commune, epci, noms_pris, annees, poids_annees,
                        reference, ids, parametres, textes, rng) -> tuple[dict, list]:
    """Une opération complète : nom, maître d'ouvrage, zones, coûts, aides, statut, dates, textes."""
    po = parametres["operations"]
    # --- nom (unique dans la commune) et maître d'ouvrage
    modeles = [m for m in textes["modeles_noms"][type_site] if commune["littorale"] or not m.get("littoral")]
    for _essai in range(12):
        modele = modeles[int(rng.integers(len(modeles)))]
        valeurs = {"personne": textes["personnes"][int(rng.integers(len(textes["personnes"])))],
                   "lieu": textes["lieux"][int(rng.integers(len(textes["lieux"])))],
                   "voie": textes["voies"][int(rng.integers(len(textes["voies"])))],
                   "residence": textes["residences"][int(rng.integers(len(textes["residences"])))],
                   "commune": commune["nom"]}
        nom = modele["modele"].format(**valeurs)
        if nom not in noms_pris:
            break
    base, tranche = nom, 2
    while nom in noms_pris:
        nom, tranche = f"{base} (tranche {tranche})", tranche + 1
    noms_pris.add(nom)
    maitre_ouvrage, par_commune = _maitre_ouvrage(modele["moa"], commune, epci, valeurs,
                                                  po["probabilite_moa_intercommunale"], rng)

    # --- zones
    lo, hi = po["surface_max_m2"][type_site]
    rectangles = [_rectangle_mineral(parc, disposition, j, po["marge_zone_m"]) for j in groupe]
    aires = np.array([max(0.0, (r[2] - r[0]) * (r[3] - r[1])) for r in rectangles])
    cible = rng.uniform(*po["part_desimpermeabilisee"]) * aires.sum()
    cible = min(hi, max(cible, min(lo, 0.95 * aires.sum())))
    nb_zones = max(len(groupe), int(rng.integers(po["nb_zones"][0], po["nb_zones"][1] + 1)))
    repartition = [1] * len(groupe)
    for _ in range(nb_zones - len(groupe)):
        repartition[int(rng.integers(len(groupe)))] += 1
    avant = "beton" if rng.random() < po["part_beton_avant"] else "enrobe"
    apres = _tirer_poids(po["revetements_apres"][type_site], rng, nb_zones)
    if nb_zones >= 3 and rng.random() < po["probabilite_zone_conservee"]:
        apres[int(rng.integers(nb_zones))] = avant
    geometries = []
    for rect, aire, k in zip(rectangles, aires, repartition):
        geometries += _decouper_zones(*rect, cible * aire / aires.sum(), k, po["espace_entre_zones_m"],
                                      po["poids_relatifs_zones"], rng)
    zones = [(g, avant, a) for g, a in zip(geometries, apres)]
    surfaces = np.array([g.area for g in geometries])
    surface_totale = float(surfaces.sum())
    gagnee = float(sum(s for s, a in zip(surfaces, apres) if a != avant))

    # --- année, statut, dates
    annee = int(rng.choice(annees, p=poids_annees))
    if annee < reference.year - 1:
        statut = "realisee"
    elif annee == reference.year - 1:
        statut = _tirer_dict(po["statuts_annee_precedente"], rng)
    else:
        statut = _tirer_dict(po["statuts_annee_courante"], rng)
    debut_annee = date(annee, 1, 1)
    if statut == "realisee":
        fin = _date_aleatoire(debut_annee, min(date(annee, 12, 31), reference - timedelta(days=3)), rng)
        delai = int(rng.integers(po["delai_saisie_jours"][0], po["delai_saisie_jours"][1] + 1))
        saisie = min(fin + timedelta(days=delai), reference)
    else:
        bornes = po["delai_fin_programmee_jours"] if statut == "programmee" else po["delai_fin_en_travaux_jours"]
        fin = reference + timedelta(days=int(rng.integers(bornes[0], bornes[1] + 1)))
        saisie = _date_aleatoire(debut_annee, min(date(annee, 12, 31), reference), rng)
    cree_le = _horodatage(saisie, rng)
    validation = _tirer_dict(po["validations_realisees"] if statut == "realisee" else po["validations_en_cours"], rng)
    commentaire = (textes["commentaires_correction"][int(rng.integers(len(textes["commentaires_correction"])))]
                   if validation == "a_corriger" else None)

    # --- coûts et financements
    cout = round(rng.uniform(*po["cout_m2_eur"][type_site]) * surface_totale, -2)
    financements, total = [], 0.0
    prive = type_site == "prive"
    for financeur in po["financeurs"]:
        if rng.random() < (financeur["probabilite_prive"] if prive else financeur["probabilite"]):
            financements.append([financeur["nom"], rng.uniform(*financeur["taux"]) * cout])
    plafond = po["plafond_aides"] * cout
    total = sum(f[1] for f in financements)
    echelle = min(1.0, plafond / total) if total > 0 else 1.0
    financements = [{"financeur": f, "montant_eur": float(np.floor(m * echelle / 10) * 10)} for f, m in financements]

    # --- eau, arbres
    deconnexion = bool(rng.random() < po["probabilite_deconnexion"])
    permeables = sum(s for s, a in zip(surfaces, apres) if a != avant)
    volume = None
    if (deconnexion or "noue" in apres) and rng.random() < po["probabilite_stockage"]:
        volume = float(round(permeables * rng.uniform(*po["profondeur_stockage_m"])))
    arbres = sum(s / rng.uniform(*po["m2_par_arbre"]) for s, a in zip(surfaces, apres) if a == "arbres")
    arbres += sum(int(rng.integers(po["arbres_autres_zones"][0], po["arbres_autres_zones"][1] + 1))
                  for a in apres if a in ("pelouse", "massif", "noue", "paillage"))
    arbres = int(round(arbres))

    # --- textes
    libelles = textes["libelles_revetements_apres"]
    nouveaux = [libelles[a] for a in dict.fromkeys(apres) if a != avant]
    description = (f"Désimperméabilisation de {_separer_milliers(gagnee)} m² "
                   f"{textes['libelles_revetements_avant'][avant]}, remplacés par {_lister(nouveaux)}. "
                   f"{textes['descriptions'][type_site]}")
    difficulte = textes["difficultes"][int(rng.integers(len(textes["difficultes"])))]
    conseil = textes["conseils"][int(rng.integers(len(textes["conseils"])))]
    retour = f"Difficulté : {difficulte}. Conseil : {conseil}."
    role = textes["contacts"][int(rng.integers(len(textes["contacts"])))]
    if par_commune:
        domaine = textes["domaine_contact"].format(slug=_simplifier_texte(commune["nom"]))
    elif type_site == "prive":
        role, domaine = textes["contact_prive"], textes["domaine_contact_autre"].format(
            slug=_simplifier_texte(nom)[:40].strip("-"))
    else:
        domaine = textes["domaine_contact_autre"].format(slug=_simplifier_texte(maitre_ouvrage)[:40].strip("-"))
    operation = {
        "code_insee": commune["code_insee"], "nom": nom, "type_site": type_site, "statut": statut,
        "validation": validation, "commentaire_validation": commentaire, "date_fin_travaux": fin,
        "maitre_ouvrage": maitre_ouvrage, "description": description, "retour_experience": retour,
        "contact": f"{role}@{domaine}", "cout_ht_eur": float(cout), "arbres_plantes": arbres,
        "deconnexion_reseau": deconnexion, "volume_stockage_m3": volume,
        "parcelles": [str(ids[disposition["rang"][j]]) for j in groupe],
        "surface_declaree_m2": None, "localisation_approximative": False, "source": None,
        "zones": [], "financements": financements, "photos": [], "cree_le": cree_le,
        "cree_par": parametres["territoire"]["auteur"],
    }
    return operation, zones


# --------------------------------------------------------------------------------------------- photos


POLICES_PHOTO = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf", "arial.ttf",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                 "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")


def _choisir_police(module_police) -> tuple:
    """Première police système disponible (avec accents), sinon la police intégrée de Pillow."""
    for nom in POLICES_PHOTO:
        try:
            return module_police.truetype(nom, 16), True
        except OSError:
            continue
    return module_police.load_default(size=16), False


def dessiner_photo(moment: str, legende: str, chemin: Path, parametres: dict, rng: np.random.Generator) -> None:
    """Photo de démonstration : enrobé marqué (avant) ou pleine terre plantée (après), avec légende."""
    from PIL import Image, ImageDraw, ImageFont

    p = parametres["operations"]["photos"]
    largeur, hauteur = int(p["largeur"]), int(p["hauteur"])
    if moment == "avant":
        base = np.array([92, 94, 98], dtype=float)
        bruit = rng.normal(0, 14, (hauteur, largeur, 1)) + rng.normal(0, 4, (hauteur, largeur, 3))
    else:
        base = np.array([88, 140, 62], dtype=float)
        bruit = rng.normal(0, 18, (hauteur, largeur, 1)) * np.array([0.6, 1.0, 0.5]) + rng.normal(0, 6, (hauteur, largeur, 3))
    pixels = np.clip(base + bruit, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    dessin = ImageDraw.Draw(image)
    if moment == "avant":
        for i in range(int(rng.integers(5, 9))):  # marquages de stationnement ou de jeux
            x = 40 + i * 75
            dessin.line([(x, 40), (x + 30, 250)], fill=(235, 235, 225), width=5)
        dessin.ellipse([400, 260, 520, 340], outline=(240, 220, 90), width=5)
        for _ in range(6):  # fissures
            x, y = rng.integers(0, largeur), rng.integers(0, hauteur - 60)
            dessin.line([(x, y), (x + rng.integers(-60, 60), y + rng.integers(10, 60))], fill=(55, 55, 58), width=2)
    else:
        dessin.polygon([(0, 300), (largeur, 230), (largeur, 270), (0, 345)], fill=(176, 132, 84))  # allée paillée
        for _ in range(int(rng.integers(4, 8))):  # arbres
            x, y, r = int(rng.integers(30, largeur - 30)), int(rng.integers(40, 260)), int(rng.integers(28, 55))
            dessin.ellipse([x - r, y - r, x + r, y + r], fill=(34, 92, 40))
            dessin.ellipse([x - r // 2, y - r // 2, x + r // 4, y + r // 4], fill=(60, 125, 55))
        couleurs = [(230, 80, 90), (250, 210, 70), (190, 120, 220), (250, 250, 245)]
        for _ in range(160):  # fleurs
            x, y = int(rng.integers(0, largeur)), int(rng.integers(0, hauteur - 40))
            dessin.ellipse([x - 3, y - 3, x + 3, y + 3], fill=couleurs[int(rng.integers(len(couleurs)))])
    dessin.rectangle([0, hauteur - 36, largeur, hauteur], fill=(20, 20, 20))
    police, accents = _choisir_police(ImageFont)
    if not accents:  # police intégrée de Pillow : pas de lettres accentuées
        legende = unicodedata.normalize("NFKD", legende).encode("ascii", "ignore").decode("ascii")
    dessin.text((10, hauteur - 28), legende[:90], fill=(255, 255, 255), font=police)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    image.save(chemin, "JPEG", quality=int(p["qualite_jpeg"]))


def generer_photos(operations: list[dict], dossier: Path, nombre: int, parametres: dict,
                   rng: np.random.Generator) -> int:
    """Photos avant/après pour quelques opérations réalisées et validées ; renvoie le nombre de fichiers."""
    textes = lire_textes()
    preferes = ("cour_ecole", "place", "parking", "parvis", "espace_public", "cour_etablissement")
    eligibles = [i for i, o in enumerate(operations) if o["statut"] == "realisee" and o["validation"] == "validee"
                 and o["type_site"] in preferes]
    choisis = sorted(rng.choice(eligibles, size=min(nombre, len(eligibles)), replace=False).tolist()) if eligibles else []
    fichiers = 0
    for i in choisis:
        operation = operations[i]
        for moment in ("avant", "apres"):
            relatif = f"{SOUS_DOSSIER_PHOTOS}/op{i + 1:04d}_{moment}.jpg"
            revetement = textes["revetements_photos"].get(operation["zones"][0]["revetement_avant"], "")
            legende = textes["legendes_photos"][moment].format(nom=operation["nom"], revetement=revetement)
            dessiner_photo(moment, legende, dossier / relatif, parametres, rng)
            operation["photos"].append({"moment": moment, "chemin": relatif, "legende": legende,
                                        "ajoutee_le": operation["cree_le"]})
            fichiers += 1
    return fichiers


# --------------------------------------------------------------------------------------- orchestration


def _vider_demo(dossier: Path, url: str) -> None:
    """Efface la base SQLite et les photos d'une démonstration précédente."""
    shutil.rmtree(dossier_photos(dossier), ignore_errors=True)
    if url.startswith("sqlite:///"):
        base = Path(url.removeprefix("sqlite:///"))
        for suffixe in ("", "-wal", "-shm", "-journal"):
            Path(f"{base}{suffixe}").unlink(missing_ok=True)


def generer_demo(dossier: Path, taille: str = "complete", graine: int = 42, url_base: str | None = None,
                 progression: Callable[[str, float], None] | None = None) -> dict:
    """Génère le territoire de démonstration dans ``dossier`` et les opérations dans le magasin.

    ``taille`` : ``"petite"`` (tests, quelques secondes) ou ``"complete"`` (CONCEPTION §7).
    ``url_base`` : URL du magasin (défaut : SQLite du dossier). Une base SQLite et les photos existantes
    sont effacées ; une base PostgreSQL qui contient déjà des opérations est refusée.
    ``progression(étape, fraction)`` est appelée à chaque étape. Renvoie un résumé (comptes, durées).
    """
    from donnees.magasin import Magasin  # import local : le magasin n'est utile qu'à la fin

    if taille not in TAILLES:
        raise ErreurDonnees(f"Taille de démonstration « {taille} » inconnue : {', '.join(TAILLES)}.", "demo")
    debut = time.perf_counter()
    durees: dict[str, float] = {}
    top = [debut]

    def etape(libelle: str, fraction: float, nom: str | None = None) -> None:
        maintenant = time.perf_counter()
        if nom:
            durees[nom] = round(maintenant - top[0], 2)
        top[0] = maintenant
        if progression is not None:
            progression(libelle, fraction)

    parametres = lire_parametres()
    config = parametres["tailles"][taille]
    dossier = Path(dossier)
    dossier.mkdir(parents=True, exist_ok=True)
    url = url_base or url_base_config(dossier)
    rng = np.random.default_rng(graine)
    if not url.startswith("sqlite"):
        magasin = Magasin(url)
        magasin.creer_tables()
        deja = magasin.compter().get("operation", 0)
        magasin.fermer()
        if deja:
            raise ErreurDonnees("La base du magasin contient déjà des opérations : la démonstration ne les "
                                "écrase pas. Utilisez une base neuve ou videz-la.", "demo")
    _vider_demo(dossier, url)

    # 1. communes, lagune, bassin
    etape("Communes et lagune", 0.02)
    table = lire_communes_demo()
    codes_insee = table["code_insee"].to_numpy()
    population = table["population"].to_numpy()
    cx, cy = _vers_lambert93().transform(table["lon"].to_numpy(), table["lat"].to_numpy())
    pas = parametres["bassin"]["densification_m"]
    lagune = shapely.segmentize(construire_lagune(parametres), pas)
    bassin = construire_bassin(cx, cy, lagune, parametres)
    communes = shapely.segmentize(generer_communes(table, cx, cy, bassin), pas)
    communes_terre = extraire_polygones(shapely.difference(communes, lagune))
    terre = bassin.difference(lagune)

    # 2. parcelles
    etape("Découpage parcellaire", 0.08, "communes")
    rayons = calculer_rayons_urbains(population, parametres, config["facteur_rayon_urbain"])
    emprise = tuple(float(v) for v in bassin.bounds)
    decoupe = decouper_cellules(emprise, terre, (cx, cy), rayons, parametres, config, rng)
    parc = generer_parcelles(decoupe, communes_terre, codes_insee, emprise, parametres)

    # 3. occupation du sol
    etape("Occupation du sol", 0.3, "parcelles")
    occupation, disposition = generer_occupation(parc, decoupe, communes_terre, communes, lagune, parametres, rng)

    # 4. opérations
    etape("Opérations", 0.45, "occupation")
    table["littorale"] = shapely.intersects(communes, lagune)
    operations, zones_l93 = generer_operations(parc, disposition, table, decoupe["noms_vocations"],
                                               parametres, config, rng)
    toutes = np.array([z[0] for zs in zones_l93 for z in zs], dtype=object)
    en_wgs84 = iter(projeter_wgs84(toutes))
    desimpermeabilise = np.zeros(len(codes_insee))
    rang_de = {c: i for i, c in enumerate(codes_insee)}
    for operation, zones in zip(operations, zones_l93):
        operation["zones"] = [{"geometrie": next(en_wgs84), "revetement_avant": av, "revetement_apres": ap}
                              for _g, av, ap in zones]
        if operation["statut"] == "realisee":
            desimpermeabilise[rang_de[operation["code_insee"]]] += sum(g.area for g, av, ap in zones if ap != av)
    nb_photos = generer_photos(operations, dossier, int(config["nb_photos"]), parametres, rng)

    # 5. objectifs et nouvelles surfaces
    objectifs = generer_objectifs(codes_insee, population, parametres, config)
    nouvelles = generer_nouvelles_surfaces(codes_insee, population, desimpermeabilise, parametres, rng)

    # 6. écriture des couches
    etape("Écriture des couches", 0.55, "operations")
    source = parametres["territoire"]["source_geometrie"]
    couche_communes = gpd.GeoDataFrame(
        {"code_insee": codes_insee, "nom": table["nom"].to_numpy(), "population": population.astype(np.int64),
         "source_geometrie": source}, geometry=communes, crs=CRS_CALCUL)
    ecrire_couche("communes", couche_communes.to_crs(CRS_STOCKAGE), dossier)
    ecrire_couche("communes_affichage", construire_communes_affichage(
        couche_communes, parametres["bassin"]["tolerance_affichage_m"]), dossier)
    ordre = np.argsort(parc["attributs"]["id"].to_numpy(), kind="stable")
    couche_parcelles = gpd.GeoDataFrame(parc["attributs"].iloc[ordre].reset_index(drop=True),
                                        geometry=parc["geometrie"][ordre], crs=CRS_CALCUL)
    ecrire_couche("parcelles", couche_parcelles.to_crs(CRS_STOCKAGE), dossier)
    etape("Écriture de l'occupation du sol", 0.7)
    ordre = np.argsort(occupation["commune"], kind="stable")
    rang_commune = occupation["commune"][ordre]
    numero = pd.Series(rang_commune).groupby(rang_commune).cumcount() + 1
    couche_occupation = gpd.GeoDataFrame({
        "id": pd.Series(codes_insee[rang_commune]) + "-" + numero.astype(str).str.zfill(6),
        "code_insee": codes_insee[rang_commune],
        "code_cs": occupation["code_cs"][ordre],
        "code_us": pd.Series(occupation["code_us"][ordre], dtype=object),
    }, geometry=occupation["geometrie"][ordre], crs=CRS_CALCUL)
    ecrire_couche("occupation", couche_occupation.to_crs(CRS_STOCKAGE), dossier)
    ecrire_couche("objectifs", objectifs, dossier)
    ecrire_couche("nouvelles_surfaces", nouvelles, dossier)
    (dossier / "batiments.parquet").unlink(missing_ok=True)  # couche d'un import réel : pas de la démo

    def compter(serie: pd.Series) -> tuple[int, dict[str, int]]:
        return len(serie), {str(k): int(v) for k, v in serie.value_counts().items() if k != "bassin"}

    enregistrer_sources(fiches_demo({
        "communes": compter(pd.Series(codes_insee)), "communes_affichage": compter(pd.Series(codes_insee)),
        "parcelles": compter(couche_parcelles["commune"]), "occupation": compter(couche_occupation["code_insee"]),
        "objectifs": compter(objectifs["territoire"]), "nouvelles_surfaces": compter(nouvelles["code_insee"]),
    }), dossier, remplacer_tout=True)

    # 7. magasin
    etape("Enregistrement des opérations", 0.85, "ecriture_couches")
    magasin = Magasin(url)
    magasin.creer_tables()

    def suivre(faites: int, total: int) -> None:
        if progression is not None:
            progression("Enregistrement des opérations", 0.85 + 0.14 * faites / max(total, 1))

    magasin.importer_lot(operations, auteur=parametres["territoire"]["auteur"], progression=suivre)
    comptes = magasin.compter()
    magasin.fermer()

    # 8. territoire
    ecrire_territoire({
        "nom": parametres["territoire"]["nom"], "demo": True, "codes_insee": [str(c) for c in codes_insee],
        "graine": int(graine), "taille": taille,
        "genere_le": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }, dossier)
    etape("Terminé", 1.0, "magasin")
    return {
        "taille": taille, "graine": int(graine), "communes": len(codes_insee),
        "parcelles": len(couche_parcelles), "occupation": len(couche_occupation),
        "operations": len(operations), "zones": int(sum(len(o["zones"]) for o in operations)),
        "financements": int(sum(len(o["financements"]) for o in operations)), "photos": nb_photos,
        "emprises_equipement": int(len(disposition["rang"])),
        "magasin": comptes, "durees_s": durees, "duree_totale_s": round(time.perf_counter() - debut, 2),
    }
