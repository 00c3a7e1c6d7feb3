"""Entrées fautives du mode InVEST (`desimper chaleur`, `desimper eau`) : chacune refusée avant tout calcul.

Une seule liste : :data:`CAS` (ici) fabrique chaque entrée fautive à partir d'un petit cas valide synthétique ;
la section « Mode InVEST » de ``docs/entrees_fautives.md`` en est tirée (``python tests/test_entrees_invest.py``
la réécrit) et chaque cas vérifie que sa ligne du document porte la même entrée, le même défaut et le message
obtenu, mot pour mot. Pour chaque cas : code de sortie non nul, message français qui nomme l'argument et le
paramètre, ni trace Python, ni repr numpy, ni texte anglais de GDAL/rasterio/pandas, dossier de sortie non créé.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

RACINE = Path(__file__).resolve().parents[1]
if str(RACINE) not in sys.path:  # lancé en script pour réécrire le document
    sys.path.insert(0, str(RACINE))

from outils import chemin_partage  # noqa: E402

DOCUMENT = RACINE / "docs" / "entrees_fautives.md"
DEBUT, FIN = "<!-- cas-invest:debut -->", "<!-- cas-invest:fin -->"
COTE = 40  # cellules de 10 m : 400 m de côté
ORIGINE = (740000.0, 6264000.0)  # Lambert-93 (bassin de Thau), comme shared/reference/invest-cas-ville
TRANSFORM = Affine(10.0, 0.0, ORIGINE[0], 0.0, -10.0, ORIGINE[1])
TEXTES_ANGLAIS = re.compile(
    r"Traceback|np\.(float|int)|numpy|dtype|Error\b|Exception|No such file|not recognized|not a supported|"
    r"Expecting|line \d+ column|does not|is not|cannot|failed|Unable|invalid literal|could not|\bnan\b|"
    r"\bNone\b|\bTrue\b|\bFalse\b|CPLE|\bGDAL\b|pyogrio|rasterio|pandas|Unknown|unsupported", re.IGNORECASE)

CLASSES = pd.DataFrame({  # lucode, code, refroidissement, ruissellement, percolation (cas de référence)
    "lucode": [1, 2, 5, 6], "code": ["bati", "enrobe", "pelouse", "arbres"], "kc": [0.0, 0.0, 0.8, 1.0],
    "green_area": [0, 0, 1, 1], "shade": [0.0, 0.0, 0.0, 1.0], "albedo": [0.2, 0.08, 0.2, 0.15],
    "rc": [0.9, 0.9, 0.15, 0.05], "pe": [0.0, 0.0, 0.06, 0.08]})
PARAMETRES = {"green_area_cooling_distance_m": 100.0, "t_air_average_radius_m": 100.0, "t_ref_c": 30.0,
              "uhi_max_c": 3.0, "cc_method": "factors", "cc_weight_shade": 0.6, "cc_weight_albedo": 0.2,
              "cc_weight_eti": 0.2, "precipitation_mm_per_year": 600.0}


# ------------------------------------------------------------------------------------ cas valide


def ecrire_geotiff(chemin: Path, valeurs: np.ndarray, nodata, crs="EPSG:2154", transform=TRANSFORM) -> Path:
    with rasterio.open(chemin, "w", driver="GTiff", height=valeurs.shape[0], width=valeurs.shape[1], count=1,
                       dtype=str(valeurs.dtype), crs=crs, transform=transform, nodata=nodata) as cible:
        cible.write(valeurs, 1)
    return chemin


def occupation_valide() -> np.ndarray:
    """Bâti et enrobé en damier de bandes, un parc de 1 ha (pelouse, arbres) : jamais près du seuil de 2 ha."""
    lignes, colonnes = np.indices((COTE, COTE))
    lulc = np.where((lignes // 5 + colonnes // 7) % 2 == 0, 1, 2).astype(np.int32)
    lulc[10:20, 22:32] = 5
    lulc[12:17, 24:29] = 6
    lulc[0, 0] = -1  # une cellule nodata
    return lulc


def zones_geojson(boites: dict[str, tuple], crs: str = "EPSG:2154") -> dict:
    return {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": crs.replace(
        "EPSG:", "urn:ogc:def:crs:EPSG::")}}, "features": [
        {"type": "Feature", "properties": {"zone": nom}, "geometry": {"type": "Polygon", "coordinates": [[
            [x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}} for nom, (x0, y0, x1, y1) in boites.items()]}


def zones_valides() -> dict:
    x, y = ORIGINE
    return {"ouest": (x, y - 400, x + 200, y), "est": (x + 200, y - 400, x + 400, y)}


def fabriquer_cas_valide(dossier: Path) -> dict[str, Path]:
    """Petit cas InVEST valide (40 × 40 cellules de 10 m, EPSG:2154) : arguments de la commande → fichiers."""
    dossier.mkdir(parents=True, exist_ok=True)
    colonnes = np.indices((COTE, COTE))[1]
    entrees = {
        "--occupation": ecrire_geotiff(dossier / "occupation.tif", occupation_valide(), -1),
        "--et0": ecrire_geotiff(dossier / "et0.tif", (5.5 + colonnes / COTE).astype(np.float32), -9999.0),
        "--groupe-sol": ecrire_geotiff(dossier / "groupe_sol.tif", np.where(colonnes < 20, 2, 3).astype(np.int32),
                                       -1),
        "--pluie": ecrire_geotiff(dossier / "pluie.tif", np.full((COTE, COTE), 600, np.float32), -9999.0),
        "--biophysique": dossier / "classes.csv",
        "--zones": dossier / "zones.geojson",
        "--parametres": dossier / "parametres.json",
    }
    CLASSES.to_csv(entrees["--biophysique"], index=False)
    entrees["--zones"].write_text(json.dumps(zones_geojson(zones_valides())), encoding="utf-8")
    entrees["--parametres"].write_text(json.dumps(PARAMETRES), encoding="utf-8")
    return entrees


ARGUMENTS = {"chaleur": ("--occupation", "--biophysique", "--et0", "--zones", "--parametres"),
             "eau": ("--occupation", "--biophysique", "--groupe-sol", "--pluie", "--zones", "--parametres")}


def ligne_de_commande(commande: str, entrees: dict, sortie: Path) -> list[str]:
    argv = [commande]
    for argument in ARGUMENTS[commande]:
        if entrees.get(argument) is not None:
            argv += [argument, str(entrees[argument])]
    return argv + ["--sortie", str(entrees.get("--sortie", sortie))]


# ------------------------------------------------------------------------------------ fabriques des défauts


def remplacer_texte(argument: str, contenu: str | bytes, nom: str | None = None):
    """Remplace le fichier de ``argument`` par ``contenu`` (sous ``nom`` s'il est donné)."""
    def fabriquer(entrees, dossier):
        chemin = dossier / nom if nom else entrees[argument]
        chemin.write_bytes(contenu if isinstance(contenu, bytes) else contenu.encode("utf-8"))
        entrees[argument] = chemin
    return fabriquer


def modifier_table(transformer: Callable[[pd.DataFrame], pd.DataFrame]):
    def fabriquer(entrees, dossier):
        transformer(CLASSES.copy()).to_csv(entrees["--biophysique"], index=False)
    return fabriquer


def modifier_parametres(**valeurs):
    def fabriquer(entrees, dossier):
        contenu = {**PARAMETRES, **valeurs}
        entrees["--parametres"].write_text(json.dumps({k: v for k, v in contenu.items() if v is not ...}),
                                           encoding="utf-8")
    return fabriquer


def modifier_raster(argument: str, transformer: Callable[[np.ndarray], np.ndarray], nodata=None, **profil):
    """Réécrit le raster de ``argument`` : valeurs transformées, nodata, CRS ou transformation changés."""
    def fabriquer(entrees, dossier):
        with rasterio.open(entrees[argument]) as source:
            valeurs, ancien = source.read(1), source.nodata
        ecrire_geotiff(entrees[argument], transformer(valeurs), ancien if nodata is None else nodata, **profil)
    return fabriquer


def modifier_zones(boites: dict | None = None, brut: dict | None = None):
    def fabriquer(entrees, dossier):
        contenu = {**zones_geojson({}), **brut} if brut is not None else zones_geojson(boites)  # CRS : EPSG:2154
        entrees["--zones"].write_text(json.dumps(contenu), encoding="utf-8")
    return fabriquer


def retirer(argument: str):
    def fabriquer(entrees, dossier):
        entrees[argument] = None
    return fabriquer


def plusieurs(*fabriques):
    def fabriquer(entrees, dossier):
        for fabrique in fabriques:
            fabrique(entrees, dossier)
    return fabriquer


def deplacer(dx: float, dy: float, resolution: float = 10.0) -> Affine:
    return Affine(resolution, 0.0, ORIGINE[0] + dx, 0.0, -resolution, ORIGINE[1] + dy)


def moitie(valeurs: np.ndarray, gauche: bool, nodata) -> np.ndarray:
    sortie = valeurs.copy()
    if gauche:
        sortie[:, COTE // 2:] = nodata
    else:
        sortie[:, :COTE // 2] = nodata
    return sortie


# ------------------------------------------------------------------------------------ les cas


@dataclass(frozen=True)
class Cas:
    """Une entrée fautive : commande, argument fautif, paramètre nommé dans le message, défaut, fabrique."""

    numero: int
    commande: str
    argument: str
    parametre: str
    defaut: str
    fabriquer: Callable


X0, Y0 = ORIGINE
CAS = [
    Cas(1, "chaleur", "--occupation", "fichier", "fichier d'occupation du sol absent",
        lambda e, d: e.update({"--occupation": d / "absent.tif"})),
    Cas(2, "chaleur", "--occupation", "fichier", "fichier d'occupation du sol vide (0 octet)",
        remplacer_texte("--occupation", b"")),
    Cas(3, "chaleur", "--occupation", "format", "texte à la place d'un GeoTIFF",
        remplacer_texte("--occupation", "ceci n'est pas un raster\n")),
    Cas(4, "chaleur", "--occupation", "format", "image PNG à la place d'un GeoTIFF",
        remplacer_texte("--occupation", b"\x89PNG\r\n\x1a\n" + bytes(64), "occupation.png")),
    Cas(5, "chaleur", "--occupation", "valeurs", "occupation du sol entièrement nodata",
        modifier_raster("--occupation", lambda v: np.full_like(v, -1))),
    Cas(6, "chaleur", "--occupation", "système de coordonnées", "occupation du sol en degrés (EPSG:4326)",
        modifier_raster("--occupation", lambda v: v, crs="EPSG:4326",
                        transform=Affine(0.0001, 0, 3.6, 0, -0.0001, 43.4))),
    Cas(7, "chaleur", "--occupation", "système de coordonnées", "occupation du sol sans système de coordonnées",
        modifier_raster("--occupation", lambda v: v, crs=None)),
    Cas(8, "chaleur", "--occupation", "résolution", "pixels non carrés (10 × 20 m)",
        modifier_raster("--occupation", lambda v: v, transform=Affine(10, 0, X0, 0, -20, Y0))),
    Cas(9, "chaleur", "--occupation", "valeurs", "codes d'occupation non entiers (raster flottant, 1,5)",
        modifier_raster("--occupation", lambda v: np.where(v == 2, 1.5, v).astype(np.float32))),
    Cas(10, "chaleur", "--biophysique", "colonne « lucode »", "code d'occupation 7 absent de la table",
        modifier_raster("--occupation", lambda v: np.where(v == 2, 7, v))),
    Cas(11, "chaleur", "--biophysique", "fichier", "table biophysique absente",
        lambda e, d: e.update({"--biophysique": d / "absente.csv"})),
    Cas(12, "chaleur", "--biophysique", "fichier", "table biophysique vide (0 octet)",
        remplacer_texte("--biophysique", "")),
    Cas(13, "chaleur", "--biophysique", "format", "classeur binaire (xlsx) à la place du CSV",
        remplacer_texte("--biophysique", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xff\xfe\xfa" + bytes(40))),
    Cas(14, "chaleur", "--biophysique", "format", "CSV séparé par des points-virgules",
        lambda e, d: CLASSES.to_csv(e["--biophysique"], sep=";", index=False)),
    Cas(15, "chaleur", "--biophysique", "colonne « albedo »", "colonne albedo manquante",
        modifier_table(lambda t: t.drop(columns="albedo"))),
    Cas(16, "chaleur", "--biophysique", "colonne « shade »", "ombrage 1,5 (hors de [0 ; 1]) ligne 5",
        modifier_table(lambda t: t.assign(shade=[0.0, 0.0, 0.0, 1.5]))),
    Cas(17, "chaleur", "--biophysique", "colonne « albedo »", "albédo non numérique (« clair ») ligne 3",
        modifier_table(lambda t: t.assign(albedo=["0.2", "clair", "0.2", "0.15"]))),
    Cas(18, "chaleur", "--biophysique", "colonne « green_area »", "green_area = 2 (0 ou 1 attendu)",
        modifier_table(lambda t: t.assign(green_area=[0, 0, 2, 1]))),
    Cas(19, "chaleur", "--biophysique", "colonne « lucode »", "lucode en double",
        modifier_table(lambda t: t.assign(lucode=[1, 2, 5, 5]))),
    Cas(20, "chaleur", "--biophysique", "colonne « kc »", "kc négatif (−0,3)",
        modifier_table(lambda t: t.assign(kc=[0.0, -0.3, 0.8, 1.0]))),
    Cas(21, "chaleur", "--et0", "système de coordonnées", "ET0 dans un autre système (EPSG:3857)",
        modifier_raster("--et0", lambda v: v, crs="EPSG:3857", transform=Affine(10, 0, 400000, 0, -10, 5370000))),
    Cas(22, "chaleur", "--et0", "résolution", "ET0 à 20 m pour une occupation à 10 m",
        modifier_raster("--et0", lambda v: v[:COTE // 2, :COTE // 2], transform=deplacer(0, 0, 20.0))),
    Cas(23, "chaleur", "--et0", "emprise", "ET0 d'emprise disjointe (10 km plus à l'est)",
        modifier_raster("--et0", lambda v: v, transform=deplacer(10000, 0))),
    Cas(24, "chaleur", "--et0", "valeurs", "ET0 entièrement nodata",
        modifier_raster("--et0", lambda v: np.full_like(v, -9999.0))),
    Cas(25, "chaleur", "--et0", "valeurs", "ET0 négative",
        modifier_raster("--et0", lambda v: v - 10)),
    Cas(26, "chaleur", "--occupation", "recouvrement",
        "occupation valide à l'ouest seulement, ET0 valide à l'est seulement : recouvrement vide",
        plusieurs(modifier_raster("--occupation", lambda v: moitie(v, True, -1)),
                  modifier_raster("--et0", lambda v: moitie(v, False, -9999.0)))),
    Cas(27, "chaleur", "--zones", "fichier", "fichier de zones absent",
        lambda e, d: e.update({"--zones": d / "absent.geojson"})),
    Cas(28, "chaleur", "--zones", "format", "zones illisibles (texte quelconque)",
        remplacer_texte("--zones", "zones : ouest, est\n")),
    Cas(29, "chaleur", "--zones", "contenu", "collection de zones vide",
        modifier_zones(brut={"type": "FeatureCollection", "features": []})),
    Cas(30, "chaleur", "--zones", "géométrie", "points à la place des polygones",
        modifier_zones(brut={"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
            "zone": "p"}, "geometry": {"type": "Point", "coordinates": [X0 + 50, Y0 - 50]}}]})),
    Cas(31, "chaleur", "--zones", "géométrie", "zone auto-intersectée (papillon)",
        modifier_zones(brut={"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
            "zone": "papillon"}, "geometry": {"type": "Polygon", "coordinates": [[
                [X0, Y0], [X0 + 200, Y0 - 200], [X0 + 200, Y0], [X0, Y0 - 200], [X0, Y0]]]}}]})),
    Cas(32, "chaleur", "--zones", "emprise", "toutes les zones hors du raster (5 km au nord)",
        modifier_zones({"nord": (X0, Y0 + 5000, X0 + 400, Y0 + 5400)})),
    Cas(33, "chaleur", "--zones", "emprise", "une zone sur deux hors du raster",
        modifier_zones({**zones_valides(), "large": (X0 + 1000, Y0 - 400, X0 + 1400, Y0)})),
    Cas(34, "chaleur", "--parametres", "fichier", "fichier de paramètres absent",
        lambda e, d: e.update({"--parametres": d / "absent.json"})),
    Cas(35, "chaleur", "--parametres", "syntaxe", "JSON mal formé (virgule finale)",
        remplacer_texte("--parametres", '{"uhi_max_c": 3,}')),
    Cas(36, "chaleur", "--parametres", "format", "JSON qui est une liste",
        remplacer_texte("--parametres", "[3, 450]")),
    Cas(37, "chaleur", "--parametres", "clé « uhi_max_c »", "UHI_max = −4 °C",
        modifier_parametres(uhi_max_c=-4)),
    Cas(38, "chaleur", "--parametres", "clé « green_area_cooling_distance_m »",
        "distance de rafraîchissement négative (−20 m)", modifier_parametres(green_area_cooling_distance_m=-20)),
    Cas(39, "chaleur", "--parametres", "clé « t_air_average_radius_m »", "rayon de brassage nul",
        modifier_parametres(t_air_average_radius_m=0)),
    Cas(40, "chaleur", "--parametres", "clé « t_ref_c »", "T_ref non numérique (« trente »)",
        modifier_parametres(t_ref_c="trente")),
    Cas(41, "chaleur", "--parametres", "clé « cc_weight_shade »", "poids de l'ombre 2 (hors de [0 ; 1])",
        modifier_parametres(cc_weight_shade=2)),
    Cas(42, "chaleur", "--parametres", "clés « cc_weight_* »", "trois poids de CC nuls",
        modifier_parametres(cc_weight_shade=0, cc_weight_albedo=0, cc_weight_eti=0)),
    Cas(43, "chaleur", "--parametres", "clé « cc_method »", "méthode « intensity » non prise en charge",
        modifier_parametres(cc_method="intensity")),
    Cas(44, "chaleur", "--parametres", "clé « uhi_max_c »",
        "plusieurs défauts à la fois : UHI_max −4, ombrage 1,5, ET0 absente (tous rapportés)",
        plusieurs(modifier_parametres(uhi_max_c=-4), modifier_table(lambda t: t.assign(shade=[0, 0, 0, 1.5])),
                  lambda e, d: e.update({"--et0": d / "et0_absente.tif"}))),
    Cas(45, "eau", "--occupation", "valeurs", "occupation du sol entièrement nodata (totaux nuls avant)",
        modifier_raster("--occupation", lambda v: np.full_like(v, -1))),
    Cas(46, "eau", "--zones", "emprise", "zones hors du raster (totaux nuls avant)",
        modifier_zones({"loin": (X0 + 20000, Y0 - 400, X0 + 20400, Y0)})),
    Cas(47, "eau", "--groupe-sol", "valeurs", "groupe de sol 5 (1 à 4 attendus)",
        modifier_raster("--groupe-sol", lambda v: np.where(v == 3, 5, v))),
    Cas(48, "eau", "--groupe-sol", "système de coordonnées", "groupe de sol dans un autre système (EPSG:32631)",
        modifier_raster("--groupe-sol", lambda v: v, crs="EPSG:32631",
                        transform=Affine(10, 0, 500000, 0, -10, 4800000))),
    Cas(49, "eau", "--groupe-sol", "emprise", "groupe de sol d'emprise disjointe",
        modifier_raster("--groupe-sol", lambda v: v, transform=deplacer(0, -50000))),
    Cas(50, "eau", "--pluie", "résolution", "pluie à 5 m pour une occupation à 10 m",
        modifier_raster("--pluie", lambda v: v, transform=deplacer(0, 0, 5.0))),
    Cas(51, "eau", "--pluie", "valeurs", "pluie en mm/jour (1,6) au lieu de mm/an",
        modifier_raster("--pluie", lambda v: np.full_like(v, 1.6))),
    Cas(52, "eau", "--pluie", "pluie annuelle", "ni raster de pluie ni clé precipitation_mm_per_year",
        plusieurs(retirer("--pluie"), modifier_parametres(precipitation_mm_per_year=...))),
    Cas(53, "eau", "--parametres", "clé « precipitation_mm_per_year »", "pluie du JSON négative (−600 mm/an)",
        plusieurs(retirer("--pluie"), modifier_parametres(precipitation_mm_per_year=-600))),
    Cas(54, "eau", "--biophysique", "colonne « rc_a à rc_d (ou rc) »", "coefficients de ruissellement manquants",
        modifier_table(lambda t: t.drop(columns="rc"))),
    Cas(55, "eau", "--biophysique", "colonne « rc »", "coefficient de ruissellement 1,2 (hors de [0 ; 1])",
        modifier_table(lambda t: t.assign(rc=[1.2, 0.9, 0.15, 0.05]))),
    Cas(56, "eau", "--biophysique", "colonne « pe »", "percolation négative (−0,1)",
        modifier_table(lambda t: t.assign(pe=[0.0, 0.0, -0.1, 0.08]))),
    Cas(57, "eau", "--occupation", "recouvrement", "occupation et groupe de sol valides sur des moitiés opposées",
        plusieurs(modifier_raster("--occupation", lambda v: moitie(v, True, -1)),
                  modifier_raster("--groupe-sol", lambda v: moitie(v, False, -1)))),
    Cas(58, "chaleur", "--parametres", "clé « green_area_cooling_distance_m »",
        "distance de 10 m sur des cellules de 30 m (noyau vide)",
        plusieurs(modifier_raster("--occupation", lambda v: v, transform=deplacer(0, 0, 30.0)),
                  modifier_raster("--et0", lambda v: v, transform=deplacer(0, 0, 30.0)),
                  modifier_parametres(green_area_cooling_distance_m=10))),
    Cas(59, "eau", "--sortie", "dossier", "dossier de sortie placé sous un fichier",
        lambda e, d: (d.joinpath("resultats.txt").write_text("x"),
                      e.update({"--sortie": d / "resultats.txt" / "sortie"}))),
    Cas(60, "eau", "--zones", "système de coordonnées", "GeoJSON en Lambert-93 sans système déclaré (lu en degrés)",
        lambda e, d: e["--zones"].write_text(json.dumps({k: v for k, v in zones_geojson(zones_valides()).items()
                                                          if k != "crs"}), encoding="utf-8")),
    Cas(61, "chaleur", "--zones", "système de coordonnées", "zones en degrés déclarées en Lambert-93",
        modifier_zones({"ouest": (3.60, 43.40, 3.61, 43.41)})),
    Cas(62, "chaleur", "--parametres", "clé « t_ref »", "T_ref = NaN (clé d'InVEST t_ref)",
        remplacer_texte("--parametres", '{"t_ref": NaN, "uhi_max": 3}')),
    Cas(63, "eau", "--biophysique", "colonne « pe_b »", "percolation à virgule décimale (« 0,05 »)",
        modifier_table(lambda t: t.drop(columns="pe").assign(pe_a=0.0, pe_b=["0", "0", "0,05", "0.08"], pe_c=0.0,
                                                             pe_d=0.0))),
    Cas(64, "eau", "--zones", "recouvrement", "zone « est » seulement sur des cellules nodata de l'occupation",
        modifier_raster("--occupation", lambda v: moitie(v, True, -1))),
    Cas(65, "chaleur", "--et0", "valeurs", "ET0 nulle partout (indice d'évapotranspiration indéfini)",
        modifier_raster("--et0", lambda v: np.zeros_like(v))),
]


# ------------------------------------------------------------------------------------ exécution


def lancer(commande: str, entrees: dict, sortie: Path, capsys) -> tuple[int, str, str]:
    """`desimper <commande>` en mode InVEST (cli.main) : (code de sortie, sortie standard, erreurs)."""
    from cli import main

    code = main(ligne_de_commande(commande, entrees, sortie))
    sorties = capsys.readouterr()
    return code, sorties.out, sorties.err


def normaliser(message: str, dossier: Path) -> str:
    """Message tel qu'il figure dans le document : dossier temporaire remplacé par « <dossier> »."""
    return message.strip().removeprefix("Erreur : ").replace(str(dossier), "<dossier>")


def rendre_ligne(cas: Cas, message: str) -> str:
    cellules = [str(cas.numero), f"`desimper {cas.commande}`", f"`{cas.argument}`", cas.parametre, cas.defaut,
                message.replace("|", "\\|").replace("\n", "<br>")]
    return "| " + " | ".join(cellules) + " |"


def lire_lignes_document() -> dict[int, str]:
    """Lignes du tableau de la section « Mode InVEST » du document, par numéro de cas."""
    texte = DOCUMENT.read_text(encoding="utf-8")
    assert DEBUT in texte and FIN in texte, f"{DOCUMENT.name} : marqueurs {DEBUT} / {FIN} absents"
    section = texte.split(DEBUT, 1)[1].split(FIN, 1)[0]
    return {int(m[1]): ligne for ligne in section.splitlines() if (m := re.match(r"^\| (\d+) \|", ligne))}


def produire_message(cas: Cas, dossier: Path, capsys=None) -> tuple[int, str, Path]:
    """Fabrique le cas dans ``dossier``, lance la commande ; (code, message normalisé, dossier de sortie)."""
    entrees = fabriquer_cas_valide(dossier / "entrees")
    cas.fabriquer(entrees, dossier / "entrees")
    sortie = entrees.get("--sortie", dossier / "sortie")
    if capsys is not None:
        code, _, erreur = lancer(cas.commande, entrees, sortie, capsys)
    else:  # script de réécriture du document
        import contextlib
        import io

        from cli import main

        flux = io.StringIO()
        with contextlib.redirect_stderr(flux), contextlib.redirect_stdout(io.StringIO()):
            code = main(ligne_de_commande(cas.commande, entrees, sortie))
        erreur = flux.getvalue()
    return code, normaliser(erreur, dossier), sortie


# ------------------------------------------------------------------------------------ tests


def test_une_seule_liste_de_cas():
    """Au moins 30 cas, numérotés 1…n, et le document en a exactement les mêmes (même entrée, même défaut)."""
    assert len(CAS) >= 30
    assert [c.numero for c in CAS] == list(range(1, len(CAS) + 1))
    lignes = lire_lignes_document()
    assert sorted(lignes) == [c.numero for c in CAS], "document et tests divergent : relancez " \
        "`python tests/test_entrees_invest.py`"
    for cas in CAS:
        attendu = rendre_ligne(cas, "")
        assert lignes[cas.numero].startswith(attendu[:-2]), f"cas {cas.numero} : ligne du document différente"


@pytest.mark.parametrize("cas", CAS, ids=[f"{c.numero}-{c.commande}-{c.argument.strip('-')}" for c in CAS])
def test_entree_fautive_refusee(cas, tmp_path, capsys):
    code, message, sortie = produire_message(cas, tmp_path, capsys)
    assert code != 0, f"cas {cas.numero} accepté : {message}"
    assert message.startswith("Entrées InVEST refusées"), message
    assert "rien n'a été calculé ni écrit" in message
    assert re.search(rf"\d\. {re.escape(cas.argument)}[ ,]", message) and cas.parametre in message, message
    assert not TEXTES_ANGLAIS.search(message), f"texte anglais ou repr : {TEXTES_ANGLAIS.search(message)[0]!r}"
    assert not sortie.exists(), "le dossier de sortie a été créé"
    ligne = lire_lignes_document().get(cas.numero)
    assert ligne == rendre_ligne(cas, message), (
        f"cas {cas.numero} : message différent de docs/entrees_fautives.md (relancez "
        f"`python tests/test_entrees_invest.py`) :\n{message}")


def test_commande_reelle_sans_trace(tmp_path):
    """`python cli.py eau` dans un sous-processus : occupation entièrement nodata (totaux nuls autrefois, code 0)
    refusée avec le code 2, un message français sur la sortie d'erreur, sans trace Python ni dossier de sortie."""
    import subprocess

    cas = next(c for c in CAS if c.commande == "eau" and "nodata" in c.defaut)
    entrees = fabriquer_cas_valide(tmp_path / "entrees")
    cas.fabriquer(entrees, tmp_path / "entrees")
    resultat = subprocess.run([sys.executable, str(RACINE / "cli.py"),
                               *ligne_de_commande("eau", entrees, tmp_path / "sortie")],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert resultat.returncode == 2
    assert resultat.stdout == ""
    assert "Traceback" not in resultat.stderr and not TEXTES_ANGLAIS.search(resultat.stderr)
    assert "--occupation (occupation.tif), valeurs : raster entièrement sans donnée" in resultat.stderr
    assert not (tmp_path / "sortie").exists()


@pytest.mark.parametrize("commande", ["chaleur", "eau"])
def test_option_valider_sans_calcul(commande, tmp_path, capsys):
    """`--valider` (comme validate() d'InVEST) : code 0 sur le cas valide, 2 avec les problèmes sinon ; rien
    n'est écrit dans les deux cas."""
    from cli import main

    entrees = fabriquer_cas_valide(tmp_path / "entrees")
    sortie = tmp_path / "sortie"
    assert main(ligne_de_commande(commande, entrees, sortie) + ["--valider"]) == 0
    assert "Entrées InVEST valides" in capsys.readouterr().out
    modifier_raster("--occupation", lambda v: np.full_like(v, -1))(entrees, tmp_path)
    assert main(ligne_de_commande(commande, entrees, sortie) + ["--valider"]) == 2
    assert "raster entièrement sans donnée" in capsys.readouterr().err
    assert not sortie.exists()
    assert main([commande, "--valider", "--sortie", str(sortie)]) == 2  # sans fichiers InVEST : refusé
    assert "--valider s'emploie en mode InVEST seulement" in capsys.readouterr().err


def test_tous_les_problemes_a_la_fois(tmp_path, capsys):
    cas = next(c for c in CAS if c.defaut.startswith("plusieurs défauts"))
    _, message, _ = produire_message(cas, tmp_path, capsys)
    assert "(3 problèmes)" in message
    for fragment in ("--parametres (parametres.json), clé « uhi_max_c »", "--biophysique (classes.csv), colonne "
                     "« shade »", "--et0 (et0_absente.tif), fichier"):
        assert fragment in message


def test_validation_sans_calcul_ni_ecriture(tmp_path):
    """La validation seule rend une liste (vide pour le cas valide) et n'écrit rien."""
    from services.modeles import valider_chaleur_invest, valider_eau_invest

    entrees = fabriquer_cas_valide(tmp_path / "entrees")
    avant = sorted(p.name for p in (tmp_path / "entrees").iterdir())
    assert valider_chaleur_invest(*(entrees[a] for a in ARGUMENTS["chaleur"])) == []
    assert valider_eau_invest(*(entrees[a] for a in ARGUMENTS["eau"])) == []
    assert sorted(p.name for p in (tmp_path / "entrees").iterdir()) == avant
    modifier_raster("--et0", lambda v: v * 30)(entrees, tmp_path)  # ET0 mensuelle : le modèle ne lit que ET0/max
    gpd.read_file(entrees["--zones"]).to_crs("EPSG:4326").to_file(tmp_path / "zones_wgs84.geojson")
    entrees["--zones"] = tmp_path / "zones_wgs84.geojson"  # zones en degrés : reprojetées, acceptées
    assert valider_chaleur_invest(*(entrees[a] for a in ARGUMENTS["chaleur"])) == []
    modifier_parametres(uhi_max_c=-4, t_ref_c=80)(entrees, tmp_path)
    problemes = valider_chaleur_invest(*(entrees[a] for a in ARGUMENTS["chaleur"]))
    assert [(p.argument, p.parametre) for p in problemes] == [("--parametres", "clé « t_ref_c »"),
                                                             ("--parametres", "clé « uhi_max_c »")]


# Cas valide synthétique : moyennes par zone mesurées avec le code d'avant la validation (commit 47a288a,
# `desimper chaleur` / `desimper eau` sur fabriquer_cas_valide) ; la validation ne doit rien y changer.
ATTENDU_CHALEUR = {"ouest": (0.0279849830, 32.8717036098, 2.8717036098),  # avg_cc, avg_tmp_v, avg_tmp_an
                   "est": (0.0681595111, 32.8190783548, 2.8190783548)}
ATTENDU_EAU = {"ouest": (4794.00152, 43146.00305, 0.0),  # m³/an : retenu, ruisselé, percolé
               "est": (9450.00162, 38550.00262, 390.0000155)}


def test_entrees_valides_memes_resultats(tmp_path, capsys):
    entrees = fabriquer_cas_valide(tmp_path / "entrees")
    code, sortie, erreur = lancer("chaleur", entrees, tmp_path / "chaleur", capsys)
    assert code == 0, erreur
    table = pd.read_csv(tmp_path / "chaleur" / "chaleur_zones.csv").set_index("zone")
    for zone, valeurs in ATTENDU_CHALEUR.items():
        assert table.loc[zone, ["avg_cc", "avg_tmp_v", "avg_tmp_an"]].tolist() == pytest.approx(valeurs, abs=1e-4)
    code, sortie, erreur = lancer("eau", entrees, tmp_path / "eau", capsys)
    assert code == 0, erreur
    table = pd.read_csv(tmp_path / "eau" / "eau_zones.csv").set_index("zone")
    for zone, valeurs in ATTENDU_EAU.items():
        colonnes = ["total_retention_volume", "total_runoff_volume", "total_percolation_volume"]
        assert table.loc[zone, colonnes].tolist() == pytest.approx(valeurs, rel=1e-6, abs=1e-3)


@pytest.mark.parametrize("commande", ["chaleur", "eau"])
def test_cas_de_reference_toujours_accepte(commande, tmp_path, capsys):
    """Le cas partagé (InVEST 3.20.2) passe la validation et donne les totaux d'InVEST."""
    dossier = chemin_partage("reference", "invest-cas-ville")
    e = dossier / "entrees"
    entrees = {"--occupation": e / "occupation_apres.tif", "--biophysique": e / "classes.csv", "--et0":
               e / "et0_mm_jour.tif", "--groupe-sol": e / "groupe_sol.tif", "--pluie": e / "pluie_mm_an.tif",
               "--zones": e / "zones.geojson", "--parametres": e / "parametres.json"}
    code, _, erreur = lancer(commande, entrees, tmp_path, capsys)
    assert code == 0, erreur
    calcul = pd.read_csv(tmp_path / f"{commande}_zones.csv").set_index("zone").sort_index()
    invest = pd.read_csv(dossier / "sorties_invest" / f"{commande}_apres_zones.csv").set_index("zone").sort_index()
    colonne = "avg_tmp_v" if commande == "chaleur" else "total_retention_volume"
    ecart = (calcul[colonne] - invest[colonne]).abs() / (1 if commande == "chaleur" else invest[colonne])
    assert ecart.max() <= (1e-3 if commande == "chaleur" else 1e-6)


# ------------------------------------------------------------------------------------ document


def reecrire_document() -> None:
    """Réécrit la section « Mode InVEST » de docs/entrees_fautives.md à partir de :data:`CAS` et des messages
    obtenus (`python tests/test_entrees_invest.py`)."""
    import tempfile

    lignes = ["| # | Commande | Entrée | Paramètre nommé | Défaut | Message obtenu (code de sortie 2, aucun fichier "
              "écrit) |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as temporaire:
        for cas in CAS:
            dossier = Path(temporaire) / str(cas.numero)
            code, message, sortie = produire_message(cas, dossier)
            assert code != 0 and not sortie.exists(), f"cas {cas.numero} accepté"
            lignes.append(rendre_ligne(cas, message))
    texte = DOCUMENT.read_text(encoding="utf-8")
    avant, reste = texte.split(DEBUT, 1)
    apres = reste.split(FIN, 1)[1]
    DOCUMENT.write_text(f"{avant}{DEBUT}\n" + "\n".join(lignes) + f"\n{FIN}{apres}", encoding="utf-8")
    print(f"{DOCUMENT} : {len(CAS)} cas écrits.")


if __name__ == "__main__":
    reecrire_document()
