"""Modèles chaleur et eau sur fichiers : entrées et sorties au format d'InVEST, territoire du projet.

- Mode « InVEST » : lit un GeoTIFF d'occupation du sol (``lucode``), une table biophysique CSV aux noms de
  colonnes d'InVEST (``lucode``, ``kc``, ``green_area``, ``shade``, ``albedo`` ; ``rc_a``…``rc_d`` ou ``rc``,
  ``pe_a``…``pe_d`` ou ``pe``), un GeoTIFF d'ET0 (ou de groupe de sol et de pluie pour l'eau), un vecteur de
  zones et un JSON de paramètres ; écrit les GeoTIFF (``T_air``, ``hm``, ``cc`` ; volumes de rétention, de
  ruissellement et de percolation) et la table par zone aux colonnes d'InVEST (``avg_cc``, ``avg_tmp_v``,
  ``avg_tmp_an`` ; ``total_retention_volume``…).
- Territoire du projet : couches ``occupation`` et ``communes`` du dossier de données, zones du magasin ;
  grille rastérisée et résultats du modèle de chaleur gardés dans ``<dossier>/cache/``.

Un fichier absent, illisible ou incohérent lève :class:`ErreurDonnees` avec un message qui nomme le fichier
et dit comment corriger.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from rasterio.warp import Resampling, reproject, transform_bounds

from donnees.schemas import ErreurDonnees
from indicateurs.chaleur import (
    ChaleurTerritoire,
    ModeleChaleur,
    ParametresChaleur,
    agreger_chaleur_communes,
    calculer_chaleur_territoire,
    calculer_cle_chaleur,
    ecrire_cache_memoire,
    lire_cache_memoire,
)
from indicateurs.communs import ecarter_zones_approximatives
from indicateurs.eau_grille import calculer_eau_territoire, modeliser_eau
from indicateurs.grille import (
    SCENARIOS,
    Grille,
    OccupationGrille,
    indexer_cellules_geometries,
    preparer_occupation_grille,
)
from indicateurs.parametres import FICHIERS_PARAMETRES, lire_parametres

SOUS_DOSSIER_CACHE = "cache"
NB_FICHIERS_CACHE = 3  # fichiers de résultats gardés par type (les plus récents)
NODATA_FLOTTANT = -1.0  # nodata des GeoTIFF cc/hm/volumes écrits (InVEST : TARGET_NODATA = −1)
NODATA_T_AIR = float(np.finfo(np.float32).min)  # nodata de T_air (InVEST/pygeoprocessing : float32 min)
GROUPES_SOL = ("a", "b", "c", "d")
COLONNES_CHALEUR = ("kc", "green_area", "shade", "albedo")
CLES_PARAMETRES = {  # clé du JSON → (clé InVEST équivalente, champ de ParametresChaleur)
    "green_area_cooling_distance_m": ("green_area_cooling_distance", "d_cool_m"),
    "t_air_average_radius_m": ("t_air_average_radius", "r_mix_m"),
    "t_ref_c": ("t_ref", "t_ref_c"),
    "uhi_max_c": ("uhi_max", "uhi_max_c"),
    "cc_weight_shade": ("cc_weight_shade", "poids_ombre"),
    "cc_weight_albedo": ("cc_weight_albedo", "poids_albedo"),
    "cc_weight_eti": ("cc_weight_eti", "poids_eti"),
}


# ------------------------------------------------------------------------------------ lecture


@dataclass
class RasterLu:
    """Bande 1 d'un GeoTIFF : valeurs, masque des valeurs valides, transformation, CRS, chemin."""

    valeurs: np.ndarray
    valide: np.ndarray
    transform: Affine
    crs: object
    chemin: Path
    nodata: float | None

    @property
    def forme(self) -> tuple[int, int]:
        return self.valeurs.shape


def lire_raster(chemin, role: str) -> RasterLu:
    """Lit la bande 1 d'un GeoTIFF projeté en mètres à pixels carrés (``role`` : libellé pour les messages)."""
    chemin = Path(chemin)
    if not chemin.is_file():
        raise ErreurDonnees(f"Fichier {chemin} introuvable : donnez le chemin d'un GeoTIFF de {role}.", role)
    try:
        with rasterio.open(chemin) as source:
            valeurs = source.read(1)
            transform, crs, nodata = source.transform, source.crs, source.nodata
    except rasterio.RasterioIOError as exc:
        raise ErreurDonnees(f"Fichier {chemin.name} illisible comme GeoTIFF de {role} ({exc}). Donnez un "
                            "GeoTIFF (.tif) valide.", role) from None
    if crs is None or not crs.is_projected:
        raise ErreurDonnees(f"Fichier {chemin.name} ({role}) : système de coordonnées absent ou géographique. "
                            "Reprojetez-le dans un système métrique, par exemple Lambert-93 "
                            "(gdalwarp -t_srs EPSG:2154).", role, "crs")
    if abs(abs(transform.a) - abs(transform.e)) > 1e-6 * abs(transform.a) or transform.b or transform.d:
        raise ErreurDonnees(f"Fichier {chemin.name} ({role}) : pixels non carrés ou grille tournée "
                            f"({transform.a} × {transform.e}). Rééchantillonnez-le à pixels carrés.", role)
    valide = np.ones(valeurs.shape, dtype=bool)
    if nodata is not None:
        valide &= ~(np.isnan(valeurs) if np.isnan(nodata) else valeurs == nodata)
    if np.issubdtype(valeurs.dtype, np.floating):
        valide &= np.isfinite(valeurs)
    return RasterLu(valeurs, valide, transform, crs, chemin, nodata)


def lire_table_biophysique(chemin, modele: str) -> pd.DataFrame:
    """Table biophysique d'InVEST indexée par ``lucode`` (noms de colonnes en minuscules).

    ``modele = "chaleur"`` : ``kc``, ``green_area``, ``shade``, ``albedo`` obligatoires.
    ``modele = "eau"`` : ``rc_a``…``rc_d`` (ou ``rc`` pour tous les groupes de sol), facultatif
    ``pe_a``…``pe_d`` (ou ``pe``) ; les colonnes sont complétées en ``rc_a``…``rc_d`` / ``pe_a``…``pe_d``.
    """
    chemin = Path(chemin)
    if not chemin.is_file():
        raise ErreurDonnees(f"Table biophysique {chemin} introuvable : donnez le chemin d'un CSV avec une "
                            "colonne « lucode ».", "biophysique")
    try:
        table = pd.read_csv(chemin)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ErreurDonnees(f"Table biophysique {chemin.name} illisible ({exc}). Enregistrez-la en CSV "
                            "(séparateur virgule, UTF-8).", "biophysique") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    if modele == "chaleur":
        requises = ("lucode",) + COLONNES_CHALEUR
    elif modele == "eau":
        requises = ("lucode",)
        for prefixe, obligatoire in (("rc", True), ("pe", False)):
            groupes = [f"{prefixe}_{g}" for g in GROUPES_SOL]
            if all(c in table.columns for c in groupes):
                continue
            if prefixe in table.columns:
                for colonne in groupes:
                    table[colonne] = table[prefixe]
            elif obligatoire:
                raise ErreurDonnees(f"Table biophysique {chemin.name} : colonnes « rc_a » à « rc_d » "
                                    "(ou « rc ») manquantes : ajoutez le coefficient de ruissellement de "
                                    "chaque classe.",
                                    "biophysique", "rc_a")
    else:
        raise ErreurDonnees(f"Modèle inconnu « {modele} » (chaleur ou eau).", "biophysique")
    manquantes = [c for c in requises if c not in table.columns]
    if manquantes:
        raise ErreurDonnees(f"Table biophysique {chemin.name} : colonne(s) {', '.join(manquantes)} manquante(s) "
                            f"(attendues : {', '.join(requises)}).", "biophysique", manquantes[0])
    numeriques = [c for c in table.columns if c == "lucode" or c in COLONNES_CHALEUR
                  or c.startswith(("rc_", "pe_", "emc_")) or c in ("rc", "pe", "is_connected")]
    for colonne in numeriques:
        valeurs = pd.to_numeric(table[colonne], errors="coerce")
        fautives = valeurs.isna() & table[colonne].notna()
        if colonne in requises or colonne.startswith(("rc_", "pe_")):
            fautives |= valeurs.isna()
        if fautives.any():
            lignes = ", ".join(str(i + 2) for i in table.index[fautives][:5])
            raise ErreurDonnees(f"Table biophysique {chemin.name} : colonne « {colonne} », valeur non numérique "
                                f"ou vide (lignes {lignes}). Corrigez ces cellules.", "biophysique", colonne)
        table[colonne] = valeurs
    if table["lucode"].duplicated().any():
        double = table.loc[table["lucode"].duplicated(), "lucode"].iloc[0]
        raise ErreurDonnees(f"Table biophysique {chemin.name} : lucode {double:g} en double. Gardez une ligne "
                            "par classe.", "biophysique", "lucode")
    table["lucode"] = table["lucode"].astype(np.int64)
    return table.set_index("lucode").sort_index()


def lire_parametres_invest(chemin) -> dict:
    """JSON de paramètres (clés de ``parametres.json`` du cas de référence ou noms d'arguments d'InVEST).

    Renvoie ``{"chaleur": ParametresChaleur, "pluie_mm_an": float | None, "cc_method": str}``. Les clés
    absentes prennent les valeurs de ``indicateurs/parametres/modele.csv``.
    """
    chemin = Path(chemin)
    if not chemin.is_file():
        raise ErreurDonnees(f"Fichier de paramètres {chemin} introuvable : donnez un JSON comme "
                            "shared/reference/invest-cas-ville/entrees/parametres.json.", "parametres")
    try:
        brut = json.loads(chemin.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ErreurDonnees(f"Fichier de paramètres {chemin.name} illisible ({exc}). Vérifiez la syntaxe JSON "
                            "(guillemets doubles, virgules).", "parametres") from None
    if not isinstance(brut, dict):
        raise ErreurDonnees(f"Fichier de paramètres {chemin.name} : un objet JSON {{clé: valeur}} est attendu.",
                            "parametres")
    defaut = ParametresChaleur.depuis_parametres(lire_parametres())
    valeurs = dict(defaut.__dict__)
    for cle, (cle_invest, champ) in CLES_PARAMETRES.items():
        for nom in (cle, cle_invest):
            if nom in brut:
                try:
                    valeurs[champ] = float(brut[nom])
                except (TypeError, ValueError):
                    raise ErreurDonnees(f"Fichier de paramètres {chemin.name} : « {nom} » = {brut[nom]!r} n'est "
                                        "pas un nombre.", "parametres", nom) from None
                break
    methode = str(brut.get("cc_method", "factors"))
    if methode != "factors":
        raise ErreurDonnees(f"Fichier de paramètres {chemin.name} : cc_method « {methode} » non pris en charge "
                            "(seule la méthode « factors », de jour, est implémentée).", "parametres", "cc_method")
    pluie = brut.get("precipitation_mm_per_year")
    return {"chaleur": ParametresChaleur(**valeurs), "cc_method": methode,
            "pluie_mm_an": None if pluie is None else float(pluie)}


def lire_zones_invest(chemin) -> gpd.GeoDataFrame:
    """Vecteur des zones d'agrégation (GeoJSON, GeoPackage, Shapefile) : polygones avec CRS."""
    chemin = Path(chemin)
    if not chemin.exists():
        raise ErreurDonnees(f"Fichier de zones {chemin} introuvable : donnez un GeoJSON ou un GeoPackage de "
                            "polygones.", "zones")
    try:
        zones = gpd.read_file(chemin)
    except Exception as exc:  # pyogrio lève plusieurs types selon le format
        raise ErreurDonnees(f"Fichier de zones {chemin.name} illisible ({exc}). Donnez un GeoJSON ou un "
                            "GeoPackage valide.", "zones") from None
    if not len(zones):
        raise ErreurDonnees(f"Fichier de zones {chemin.name} vide : ajoutez au moins un polygone.", "zones")
    if zones.crs is None:
        raise ErreurDonnees(f"Fichier de zones {chemin.name} sans système de coordonnées : déclarez-le "
                            "(par exemple EPSG:2154).", "zones", "geometry")
    types = set(zones.geometry.geom_type.dropna())
    if not types or not types <= {"Polygon", "MultiPolygon"}:
        raise ErreurDonnees(f"Fichier de zones {chemin.name} : géométries {', '.join(sorted(types)) or 'absentes'}"
                            " ; des polygones sont attendus.", "zones", "geometry")
    return zones


# ------------------------------------------------------------------------------------ écriture


def ecrire_raster(chemin, valeurs: np.ndarray, transform: Affine, crs, nodata: float) -> Path:
    """GeoTIFF à une bande (``NaN`` → ``nodata``), compressé, tuilé."""
    chemin = Path(chemin)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    donnees = np.where(np.isnan(valeurs), nodata, valeurs).astype(valeurs.dtype, copy=False)
    profil = {"driver": "GTiff", "height": valeurs.shape[0], "width": valeurs.shape[1], "count": 1,
              "dtype": str(valeurs.dtype), "crs": crs, "transform": transform, "nodata": nodata,
              "compress": "deflate", "tiled": True, "blockxsize": 256, "blockysize": 256}
    with rasterio.open(chemin, "w", **profil) as cible:
        cible.write(donnees, 1)
    return chemin


def ecrire_table(chemin, table: pd.DataFrame) -> Path:
    """CSV UTF-8 (séparateur virgule, point décimal), écrit d'un coup."""
    chemin = Path(chemin)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    descripteur, temporaire = tempfile.mkstemp(prefix=f".{chemin.stem}-", suffix=".csv", dir=chemin.parent)
    os.close(descripteur)
    try:
        table.to_csv(temporaire, index=False)
        os.replace(temporaire, chemin)
    except BaseException:
        Path(temporaire).unlink(missing_ok=True)
        raise
    return chemin


# ------------------------------------------------------------------------------------ alignement


def _fenetre_intersection(reference: RasterLu, emprises: list) -> tuple[slice, slice]:
    """Lignes et colonnes de ``reference`` dans l'intersection des emprises (x_min, y_min, x_max, y_max)."""
    t = reference.transform
    x_min, y_max = t.c, t.f
    x_max, y_min = x_min + t.a * reference.forme[1], y_max + t.e * reference.forme[0]
    for ex_min, ey_min, ex_max, ey_max in emprises:
        x_min, y_min, x_max, y_max = max(x_min, ex_min), max(y_min, ey_min), min(x_max, ex_max), min(y_max, ey_max)
    if x_max <= x_min or y_max <= y_min:
        raise ErreurDonnees(f"Les entrées ne se recouvrent pas ({reference.chemin.name} et les autres fichiers) : "
                            "vérifiez leurs emprises et leurs systèmes de coordonnées.", "emprise")
    col0 = int(np.floor((x_min - t.c) / t.a + 1e-9))
    col1 = int(np.ceil((x_max - t.c) / t.a - 1e-9))
    lig0 = int(np.floor((t.f - y_max) / -t.e + 1e-9))
    lig1 = int(np.ceil((t.f - y_min) / -t.e - 1e-9))
    return slice(max(lig0, 0), min(lig1, reference.forme[0])), slice(max(col0, 0), min(col1, reference.forme[1]))


def _emprise(raster: RasterLu) -> tuple[float, float, float, float]:
    t = raster.transform
    return (t.c, t.f + t.e * raster.forme[0], t.c + t.a * raster.forme[1], t.f)


def aligner_raster(source: RasterLu, reference: RasterLu, methode: Resampling, role: str) -> RasterLu:
    """``source`` sur la grille de ``reference`` (même CRS et pixels : simple découpe ; sinon rééchantillonnage)."""
    if source.crs != reference.crs or source.transform.a != reference.transform.a or (
            (source.transform.c - reference.transform.c) % reference.transform.a
            or (source.transform.f - reference.transform.f) % reference.transform.a):
        valeurs = np.full(reference.forme, np.nan, dtype=np.float64)
        reproject(np.where(source.valide, source.valeurs, np.nan).astype(np.float64), valeurs,
                  src_transform=source.transform, src_crs=source.crs, dst_transform=reference.transform,
                  dst_crs=reference.crs, resampling=methode, src_nodata=np.nan, dst_nodata=np.nan)
        return RasterLu(valeurs, ~np.isnan(valeurs), reference.transform, reference.crs, source.chemin, np.nan)
    dc = int(round((reference.transform.c - source.transform.c) / source.transform.a))
    dl = int(round((source.transform.f - reference.transform.f) / source.transform.a))
    valeurs = np.zeros(reference.forme, dtype=source.valeurs.dtype)
    valide = np.zeros(reference.forme, dtype=bool)
    l0, c0 = max(dl, 0), max(dc, 0)
    l1, c1 = min(dl + reference.forme[0], source.forme[0]), min(dc + reference.forme[1], source.forme[1])
    if l1 <= l0 or c1 <= c0:
        raise ErreurDonnees(f"Fichier {source.chemin.name} ({role}) : ne recouvre pas l'occupation du sol.", role)
    valeurs[l0 - dl:l1 - dl, c0 - dc:c1 - dc] = source.valeurs[l0:l1, c0:c1]
    valide[l0 - dl:l1 - dl, c0 - dc:c1 - dc] = source.valide[l0:l1, c0:c1]
    return RasterLu(valeurs, valide, reference.transform, reference.crs, source.chemin, source.nodata)


def _decouper(raster: RasterLu, lignes: slice, colonnes: slice) -> RasterLu:
    t = raster.transform
    transform = Affine(t.a, 0.0, t.c + colonnes.start * t.a, 0.0, t.e, t.f + lignes.start * t.e)
    return RasterLu(raster.valeurs[lignes, colonnes], raster.valide[lignes, colonnes], transform, raster.crs,
                    raster.chemin, raster.nodata)


def _reclasser(occupation: RasterLu, table: pd.DataFrame, colonne: str, chemin_table: Path) -> np.ndarray:
    """Valeur de ``colonne`` pour chaque lucode (``NaN`` hors données) ; lucode absent → ErreurDonnees."""
    codes = occupation.valeurs[occupation.valide].astype(np.int64)
    presents = np.unique(codes)
    absents = sorted(set(presents.tolist()) - set(table.index.tolist()))
    if absents:
        raise ErreurDonnees(f"Occupation {occupation.chemin.name} : lucode(s) {', '.join(map(str, absents[:10]))} "
                            f"absent(s) de la table biophysique {chemin_table.name}. Ajoutez-y une ligne par "
                            "code.", "biophysique", "lucode")
    sortie = np.full(occupation.forme, np.nan, dtype=np.float32)
    position = np.searchsorted(table.index.to_numpy(), codes)
    sortie[occupation.valide] = table[colonne].to_numpy(dtype=np.float32)[position]
    return sortie


def _zones_sur_grille(zones: gpd.GeoDataFrame, crs, grille_transform: Affine, forme) -> tuple:
    """Paires (zone, cellule) au centre des cellules, sur la grille du raster (zones reprojetées)."""
    zones = zones.to_crs(crs)
    t = grille_transform
    grille = Grille(t.c, t.f, t.a, forme[1], forme[0], str(crs))
    return indexer_cellules_geometries(zones.geometry.values, grille)


def _moyenne_zones(numeros, cellules, valeurs, nombre) -> np.ndarray:
    v = valeurs.ravel()[cellules].astype(np.float64)
    garde = ~np.isnan(v)
    somme = np.bincount(numeros[garde], weights=v[garde], minlength=nombre)
    compte = np.bincount(numeros[garde], minlength=nombre)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(compte > 0, somme / np.maximum(compte, 1), np.nan)


def _attributs(zones: gpd.GeoDataFrame) -> pd.DataFrame:
    return pd.DataFrame(zones.drop(columns=zones.geometry.name)).reset_index(drop=True)


# ------------------------------------------------------------------------------------ mode InVEST


def executer_chaleur_invest(occupation, biophysique, et0, zones, parametres, sortie, suffixe: str = "") -> dict:
    """Modèle de rafraîchissement urbain sur des fichiers InVEST ; écrit ``T_air``, ``hm``, ``cc`` (GeoTIFF)
    et ``chaleur_zones.csv`` (colonnes des zones + ``avg_cc``, ``avg_tmp_v``, ``avg_tmp_an``).

    Comme InVEST, les rasters sont ramenés à l'intersection de l'occupation, de l'ET0 et des zones, sur la
    grille de l'occupation (ET0 rééchantillonnée en spline cubique si sa grille diffère). Renvoie
    ``{"zones": DataFrame, "fichiers": {nom: chemin}, "resultat": ResultatChaleur, "transform", "crs"}``.
    """
    lulc = lire_raster(occupation, "occupation du sol")
    table = lire_table_biophysique(biophysique, "chaleur")
    et0_brut = lire_raster(et0, "évapotranspiration de référence (ET0)")
    zones_lues = lire_zones_invest(zones)
    reglages = lire_parametres_invest(parametres)
    p: ParametresChaleur = reglages["chaleur"]
    emprises = [_emprise(et0_brut) if et0_brut.crs == lulc.crs else tuple(
        transform_bounds(et0_brut.crs, lulc.crs, *_emprise(et0_brut))),
        tuple(zones_lues.to_crs(lulc.crs).total_bounds)]
    lignes, colonnes = _fenetre_intersection(lulc, emprises)
    lulc = _decouper(lulc, lignes, colonnes)
    et0_aligne = aligner_raster(et0_brut, lulc, Resampling.cubic_spline, "ET0")
    valide = lulc.valide & et0_aligne.valide
    lulc.valide = valide
    et0_valeurs = np.where(valide, et0_aligne.valeurs, np.nan).astype(np.float32)
    if not valide.any():
        raise ErreurDonnees(f"Aucune cellule valide commune à {lulc.chemin.name} et {et0_brut.chemin.name}.",
                            "occupation")
    et0_max = float(np.round(np.nanmax(et0_valeurs).astype(np.float64), 9))
    proprietes = {c: _reclasser(lulc, table, c, Path(biophysique)) for c in COLONNES_CHALEUR}
    modele = ModeleChaleur(valide, abs(lulc.transform.a), p)
    resultat = modele.calculer(proprietes["kc"], proprietes["green_area"], proprietes["shade"],
                               proprietes["albedo"], et0_valeurs, et0_max)
    numeros, cellules = _zones_sur_grille(zones_lues, lulc.crs, lulc.transform, lulc.forme)
    table_zones = _attributs(zones_lues)
    table_zones["avg_cc"] = _moyenne_zones(numeros, cellules, resultat.cc, len(zones_lues))
    table_zones["avg_tmp_v"] = _moyenne_zones(numeros, cellules, resultat.t_air, len(zones_lues))
    table_zones["avg_tmp_an"] = table_zones["avg_tmp_v"] - p.t_ref_c
    sortie = Path(sortie)
    fichiers = {
        "T_air": ecrire_raster(sortie / f"T_air{suffixe}.tif", resultat.t_air, lulc.transform, lulc.crs,
                               NODATA_T_AIR),
        "hm": ecrire_raster(sortie / f"hm{suffixe}.tif", resultat.hm, lulc.transform, lulc.crs, NODATA_FLOTTANT),
        "cc": ecrire_raster(sortie / f"cc{suffixe}.tif", resultat.cc, lulc.transform, lulc.crs, NODATA_FLOTTANT),
        "zones": ecrire_table(sortie / f"chaleur_zones{suffixe}.csv", table_zones),
    }
    return {"zones": table_zones, "fichiers": fichiers, "resultat": resultat, "transform": lulc.transform,
            "crs": lulc.crs}


def executer_eau_invest(occupation, biophysique, groupe_sol, pluie, zones, sortie, parametres=None,
                        suffixe: str = "") -> dict:
    """Modèle de rétention des eaux pluviales sur des fichiers InVEST ; écrit les volumes de rétention, de
    ruissellement et de percolation (GeoTIFF, m³/an) et ``eau_zones.csv`` (colonnes d'InVEST).

    Rasters ramenés à l'intersection de l'occupation, du groupe de sol et de la pluie (plus proche voisin).
    ``parametres`` (JSON) facultatif : ``precipitation_mm_per_year`` remplace la pluie si elle est absente.
    """
    lulc = lire_raster(occupation, "occupation du sol")
    table = lire_table_biophysique(biophysique, "eau")
    sol = lire_raster(groupe_sol, "groupe hydrologique de sol")
    zones_lues = lire_zones_invest(zones)
    pluie_fixe = lire_parametres_invest(parametres)["pluie_mm_an"] if parametres else None
    pluie_lue = lire_raster(pluie, "pluie annuelle (mm/an)") if pluie else None
    if pluie_lue is None and pluie_fixe is None:
        raise ErreurDonnees("Pluie annuelle manquante : donnez un GeoTIFF de pluie (--pluie) ou la clé "
                            "« precipitation_mm_per_year » du JSON de paramètres.", "pluie")
    emprises = [_emprise(sol)] + ([_emprise(pluie_lue)] if pluie_lue is not None else [])
    lignes, colonnes = _fenetre_intersection(lulc, emprises)
    lulc = _decouper(lulc, lignes, colonnes)
    sol_aligne = aligner_raster(sol, lulc, Resampling.nearest, "groupe de sol")
    groupes = np.where(sol_aligne.valide, sol_aligne.valeurs, 0).astype(np.int64)
    hors_groupes = sol_aligne.valide & lulc.valide & ~np.isin(groupes, (1, 2, 3, 4))
    if hors_groupes.any():
        raise ErreurDonnees(f"Fichier {sol.chemin.name} : groupes de sol {sorted(set(groupes[hors_groupes]))[:5]} "
                            "hors de 1 à 4 (A à D). Corrigez le raster.", "groupe_sol")
    valide = lulc.valide & sol_aligne.valide
    if pluie_lue is not None:
        pluie_aligne = aligner_raster(pluie_lue, lulc, Resampling.nearest, "pluie")
        valide &= pluie_aligne.valide
        valeurs_pluie = np.where(valide, pluie_aligne.valeurs, np.nan).astype(np.float32)
    else:
        valeurs_pluie = np.float32(pluie_fixe)
    lulc.valide = valide
    ratios = {}
    for prefixe in ("rc", "pe"):
        if f"{prefixe}_a" not in table.columns:
            continue
        par_groupe = np.stack([_reclasser(lulc, table, f"{prefixe}_{g}", Path(biophysique)) for g in GROUPES_SOL])
        choix = np.clip(groupes, 1, 4) - 1
        ratios[prefixe] = np.where(valide, np.take_along_axis(par_groupe, choix[None], 0)[0], np.nan)
    surface = abs(lulc.transform.a * lulc.transform.e)
    resultat = modeliser_eau(ratios["rc"], ratios.get("pe"), valeurs_pluie, surface, valide)
    numeros, cellules = _zones_sur_grille(zones_lues, lulc.crs, lulc.transform, lulc.forme)
    table_zones = _attributs(zones_lues)
    for prefixe, ratio, volume in (("retention", resultat.ratio_retention, resultat.volume_retention),
                                   ("runoff", resultat.ratio_ruissellement, resultat.volume_ruissellement),
                                   ("percolation", resultat.ratio_percolation, resultat.volume_percolation)):
        if ratio is None:
            continue
        table_zones[f"mean_{prefixe}_ratio"] = _moyenne_zones(numeros, cellules, ratio, len(zones_lues))
        v = volume.ravel()[cellules].astype(np.float64)
        garde = ~np.isnan(v)
        table_zones[f"total_{prefixe}_volume"] = np.bincount(numeros[garde], weights=v[garde],
                                                             minlength=len(zones_lues))
    sortie = Path(sortie)
    fichiers = {}
    for nom, grille in (("retention_volume", resultat.volume_retention),
                        ("runoff_volume", resultat.volume_ruissellement),
                        ("percolation_volume", resultat.volume_percolation),
                        ("retention_ratio", resultat.ratio_retention)):
        if grille is not None:
            fichiers[nom] = ecrire_raster(sortie / f"{nom}{suffixe}.tif", grille, lulc.transform, lulc.crs,
                                          NODATA_FLOTTANT)
    fichiers["zones"] = ecrire_table(sortie / f"eau_zones{suffixe}.csv", table_zones)
    return {"zones": table_zones, "fichiers": fichiers, "resultat": resultat, "transform": lulc.transform,
            "crs": lulc.crs}


# ------------------------------------------------------------------------------------ territoire


def signer_fichiers(*chemins) -> str:
    """Signature (nom, taille, date de modification en ns) de fichiers : change quand l'un d'eux change."""
    morceaux = []
    for chemin in chemins:
        chemin = Path(chemin)
        try:
            etat = chemin.stat()
            morceaux.append(f"{chemin.name}:{etat.st_size}:{etat.st_mtime_ns}")
        except OSError:
            morceaux.append(f"{chemin.name}:absent")
    return "|".join(morceaux)


def _empreinte(*morceaux) -> str:
    return hashlib.sha256("§".join(map(str, morceaux)).encode("utf-8")).hexdigest()[:20]


def dossier_cache(dossier: Path) -> Path:
    """Dossier des résultats gardés : ``<dossier de données>/cache``."""
    return Path(dossier) / SOUS_DOSSIER_CACHE


def _purger_cache(dossier: Path, prefixe: str) -> None:
    fichiers = sorted(dossier.glob(f"{prefixe}_*.npz"), key=lambda f: f.stat().st_mtime, reverse=True)
    for ancien in fichiers[NB_FICHIERS_CACHE:]:
        ancien.unlink(missing_ok=True)


def _ecrire_npz(chemin: Path, **tableaux) -> None:
    chemin.parent.mkdir(parents=True, exist_ok=True)
    descripteur, temporaire = tempfile.mkstemp(prefix=f".{chemin.stem}-", suffix=".npz", dir=chemin.parent)
    os.close(descripteur)
    try:
        with open(temporaire, "wb") as flux:
            np.savez(flux, **tableaux)
        os.replace(temporaire, chemin)
    except BaseException:
        Path(temporaire).unlink(missing_ok=True)
        raise


_GRILLES: dict[str, OccupationGrille] = {}
_VERROU = threading.Lock()


def preparer_grille_territoire(dossier: Path, parametres=None, cache_disque: bool = True) -> OccupationGrille:
    """Occupation du sol du territoire rastérisée (gardée en mémoire et dans ``cache/grille_<clé>.npz``)."""
    from donnees.referentiel import chemin_couche, lire_couche

    parametres = parametres or lire_parametres()
    chemins = [chemin_couche("occupation", dossier), chemin_couche("communes", dossier)]
    reglages = (parametres["resolution_grille_m"], parametres["rayon_tissu_urbain_m"],
                parametres["part_artificialisee_tissu_urbain"])
    nomenclatures = [Path(FICHIERS_PARAMETRES[n]).read_bytes() for n in ("revetements", "ocsge_revetements")]
    cle = _empreinte("grille-1", signer_fichiers(*chemins), reglages, *[hashlib.sha256(n).hexdigest()
                                                                        for n in nomenclatures])
    with _VERROU:
        if cle in _GRILLES:
            return _GRILLES[cle]
    chemin_cache = dossier_cache(dossier) / f"grille_{cle}.npz"
    occupation = None
    if cache_disque and chemin_cache.exists():
        try:
            with np.load(chemin_cache, allow_pickle=False) as archive:
                g = archive["grille"]
                grille = Grille(float(g[0]), float(g[1]), float(g[2]), int(g[3]), int(g[4]))
                occupation = OccupationGrille(grille, archive["revetement"], archive["artificialise"],
                                              archive["commune"], tuple(archive["codes_insee"].tolist()),
                                              archive["urbain"])
        except (OSError, ValueError, KeyError):
            occupation = None
    if occupation is None:
        couche = lire_couche("occupation", dossier, colonnes=["code_cs", "code_us", "geometry"])
        communes = lire_couche("communes", dossier, colonnes=["code_insee", "geometry"])
        occupation = preparer_occupation_grille(couche, communes, *reglages)
        if cache_disque:
            g = occupation.grille
            _ecrire_npz(chemin_cache, grille=np.array([g.x_min, g.y_max, g.resolution, g.largeur, g.hauteur]),
                        revetement=occupation.revetement, artificialise=occupation.artificialise,
                        commune=occupation.commune, urbain=occupation.urbain,
                        codes_insee=np.array(occupation.codes_insee, dtype=str))
            _purger_cache(chemin_cache.parent, "grille")
    occupation.meta["cle"] = cle
    with _VERROU:
        _GRILLES.clear()
        _GRILLES[cle] = occupation
    return occupation


@dataclass
class ModelesTerritoire:
    """Résultats des modèles sur le territoire : chaleur (grilles T_air + tables), eau par commune."""

    occupation: OccupationGrille
    chaleur: ChaleurTerritoire
    eau_communes: pd.DataFrame


def _lire_chaleur_disque(chemin: Path, occupation: OccupationGrille, parametres: ParametresChaleur,
                         cle: str) -> ChaleurTerritoire | None:
    try:
        with np.load(chemin, allow_pickle=False) as archive:
            t_air = {nom: archive[f"t_air_{nom}"] for nom in SCENARIOS if f"t_air_{nom}" in archive}
            operations = pd.read_json(io.StringIO(str(archive["operations"])), orient="split",
                                      dtype={"code_insee": str})
    except (OSError, ValueError, KeyError):
        return None
    communes = agreger_chaleur_communes(t_air, occupation, parametres)
    return ChaleurTerritoire(occupation.grille, t_air, communes, operations, cle, parametres)


def calculer_modeles_territoire(dossier: Path | None = None, cache_disque: bool = True,
                                avec_eau: bool = True) -> ModelesTerritoire:
    """Modèles chaleur et eau du territoire du dossier de données (couches + zones du magasin).

    Opérations validées seulement. Chaleur : 3 scénarios (sans opérations, réalisées, réalisées + programmées),
    gardés en mémoire et dans
    ``cache/chaleur_<clé>.npz`` ; la clé change quand les zones (géométrie, revêtements, statut),
    l'occupation du sol ou les paramètres changent.
    """
    from donnees.config import dossier_donnees, url_base
    from donnees.magasin import Magasin
    from donnees.referentiel import lire_territoire

    dossier = Path(dossier) if dossier else dossier_donnees()
    territoire = lire_territoire(dossier)
    parametres = lire_parametres(territoire.get("parametres"))
    occupation = preparer_grille_territoire(dossier, parametres, cache_disque)
    magasin = Magasin(url_base(dossier))
    try:
        # Emplacements approximatifs (opérations sans géométrie) : pas gravés dans les grilles. Seules les
        # opérations validées par le syndicat entrent dans les modèles : ces indicateurs sont publics et le
        # même pour tous les rôles, sans rien révéler des saisies en attente.
        zones = ecarter_zones_approximatives(magasin.lire_zones(), magasin.lire_operations())
        zones = zones[zones["validation"].eq("validee").to_numpy(bool)]
    finally:
        magasin.fermer()
    p_chaleur = ParametresChaleur.depuis_parametres(parametres)
    signature = occupation.meta["cle"]
    cle = calculer_cle_chaleur(zones, signature, p_chaleur)
    chaleur = lire_cache_memoire(cle)
    chemin = dossier_cache(dossier) / f"chaleur_{cle}.npz"
    if chaleur is None and cache_disque and chemin.exists():
        chaleur = _lire_chaleur_disque(chemin, occupation, p_chaleur, cle)
        if chaleur is not None:
            ecrire_cache_memoire(chaleur)
    if chaleur is None:
        chaleur = calculer_chaleur_territoire(occupation, zones, p_chaleur, signature)
        if cache_disque:
            _ecrire_npz(chemin, operations=np.array(chaleur.operations.to_json(orient="split")),
                        **{f"t_air_{nom}": grille for nom, grille in chaleur.t_air.items()})
            _purger_cache(chemin.parent, "chaleur")
    eau = calculer_eau_territoire(occupation, zones, parametres) if avec_eau else pd.DataFrame()
    return ModelesTerritoire(occupation, chaleur, eau)


def ecrire_sorties_territoire(modeles: ModelesTerritoire, sortie, chaleur: bool = True, eau: bool = True) -> dict:
    """Écrit les tables (CSV) et les grilles T_air par scénario (GeoTIFF, EPSG:2154) dans ``sortie``."""
    sortie = Path(sortie)
    fichiers = {}
    if chaleur:
        fichiers["chaleur_communes"] = ecrire_table(sortie / "chaleur_communes.csv", modeles.chaleur.communes)
        fichiers["chaleur_operations"] = ecrire_table(sortie / "chaleur_operations.csv", modeles.chaleur.operations)
        for nom, grille in modeles.chaleur.t_air.items():
            fichiers[f"T_air_{nom}"] = ecrire_raster(sortie / f"T_air_{nom}.tif", grille,
                                                     modeles.chaleur.grille.transform, modeles.chaleur.grille.crs,
                                                     NODATA_T_AIR)
    if eau:
        fichiers["eau_communes"] = ecrire_table(sortie / "eau_communes.csv", modeles.eau_communes)
    return fichiers
