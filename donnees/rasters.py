"""Lecture et écriture des fichiers du mode InVEST : GeoTIFF, table biophysique, JSON de paramètres, zones.

Formats d'InVEST : GeoTIFF d'occupation du sol (``lucode``), table biophysique CSV (``lucode``, ``kc``,
``green_area``, ``shade``, ``albedo`` ; ``rc_a``…``rc_d`` ou ``rc``, ``pe_a``…``pe_d`` ou ``pe``), JSON de
paramètres, vecteur de zones ; GeoTIFF et CSV écrits. Les rasters lus sont alignés et découpés ici, avant le
calcul (:mod:`indicateurs.modeles`). Un fichier absent, illisible ou incohérent lève :class:`ErreurDonnees`
avec un message qui nomme le fichier et dit comment corriger.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from rasterio.warp import Resampling, reproject

from donnees.erreurs import ErreurDonnees

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



def lire_json_parametres_invest(chemin) -> dict:
    """JSON de paramètres (clés de ``parametres.json`` du cas de référence ou noms d'arguments d'InVEST).

    Renvoie ``{"valeurs": {champ de ParametresChaleur: float}, "pluie_mm_an": float | None,
    "cc_method": str}`` ; seules les clés présentes dans le fichier sont dans ``valeurs``.
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
    valeurs = {}
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
    return {"valeurs": valeurs, "cc_method": methode, "pluie_mm_an": None if pluie is None else float(pluie)}


def lire_zones_invest(chemin) -> gpd.GeoDataFrame:
    """Vecteur des zones d'agrégation (GeoJSON, GeoPackage, Shapefile) : polygones avec CRS."""
    chemin = Path(chemin)
    if not chemin.exists():
        raise ErreurDonnees(f"Fichier de zones {chemin} introuvable : donnez un GeoJSON ou un GeoPackage de "
                            "polygones.", "zones")
    try:
        zones = gpd.read_file(chemin)
    except (RuntimeError, OSError, ValueError) as exc:  # pyogrio : DataSourceError, DataLayerError… (RuntimeError)
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
    """GeoTIFF à une bande (``NaN`` → ``nodata``), tuilé, compressé en ZSTD niveau 1 avec prédicteur
    (flottants : ``PREDICTOR=3``, entiers : ``2``), sur tous les cœurs : 5 à 8 fois plus rapide que DEFLATE
    par défaut, fichier deux fois plus petit (grille de températures 3000 × 3000 : 0,8 s et 6,5 Mo)."""
    chemin = Path(chemin)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    flottant = np.issubdtype(valeurs.dtype, np.floating)
    donnees = np.where(np.isnan(valeurs), nodata, valeurs).astype(valeurs.dtype, copy=False) if flottant \
        else valeurs
    profil = {"driver": "GTiff", "height": valeurs.shape[0], "width": valeurs.shape[1], "count": 1,
              "dtype": str(valeurs.dtype), "crs": crs, "transform": transform, "nodata": nodata,
              "compress": "zstd", "zstd_level": 1, "predictor": 3 if flottant else 2, "num_threads": "ALL_CPUS",
              "tiled": True, "blockxsize": 256, "blockysize": 256}
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


def fenetre_intersection(reference: RasterLu, emprises: list) -> tuple[slice, slice]:
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


def emprise_raster(raster: RasterLu) -> tuple[float, float, float, float]:
    """Emprise (x_min, y_min, x_max, y_max) d'un raster lu, dans son CRS."""
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


def decouper_raster(raster: RasterLu, lignes: slice, colonnes: slice) -> RasterLu:
    """Fenêtre ``lignes`` × ``colonnes`` d'un raster lu (transformation décalée en conséquence)."""
    t = raster.transform
    transform = Affine(t.a, 0.0, t.c + colonnes.start * t.a, 0.0, t.e, t.f + lignes.start * t.e)
    return RasterLu(raster.valeurs[lignes, colonnes], raster.valide[lignes, colonnes], transform, raster.crs,
                    raster.chemin, raster.nodata)
