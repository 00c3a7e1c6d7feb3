"""Validation des entrées du mode InVEST, séparée du calcul (comme ``validate()`` d'InVEST l'est d'``execute()``).

Les fichiers sont lus et contrôlés **sans calculer ni écrire** ; chaque problème est rendu dans une liste
(:class:`Probleme` : argument de la ligne de commande, fichier, paramètre, message en français avec la
correction attendue), tous à la fois. :func:`exiger_entrees_valides` lève :class:`ErreurEntreesInvest` s'il
y en a. Aucun texte de GDAL, rasterio, pyogrio ou pandas n'entre dans les messages : les exceptions des
bibliothèques sont interceptées et traduites.

Contrôles : fichiers absents, vides, illisibles ou d'un autre format ; rasters sans système de coordonnées,
géographiques, à pixels non carrés, entièrement sans donnée, de systèmes ou de résolutions différents,
d'emprises disjointes, sans cellule valide commune ; valeurs des rasters (lucode entier, ET0 positive et pas
nulle partout, pluie dans les bornes de ``modele.csv``, groupe de sol 1 à 4) ; table biophysique (colonnes
requises, valeurs numériques dans leurs bornes physiques, ``lucode`` entier et unique, chaque code de
l'occupation présent) ; JSON de paramètres (syntaxe, nombres dans les bornes de ``modele.csv``, distances
d'au moins une cellule, poids non tous nuls, méthode) ; zones (polygones valides, système de coordonnées
plausible, chacune sur au moins une cellule valide des rasters) ; dossier de sortie qui peut être créé.
Les bornes des paramètres (:class:`Borne`) sont données par l'appelant (lues dans
``indicateurs/parametres/modele.csv``, hors de la couche ``donnees``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio._err import CPLE_BaseError
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from shapely.geometry import box

from donnees.erreurs import ErreurDonnees, decrire_invalidite
from donnees.format import formater_nombre
from donnees.geometrie import reprojeter
from donnees.lecture_vecteur import verifier_dans_wgs84, verifier_degres_dans_metres
from donnees.nomenclatures import BORNES_REVETEMENTS
from donnees.rasters import (
    CLES_PARAMETRES,
    COLONNES_CHALEUR,
    GROUPES_SOL,
    RasterLu,
    aligner_raster,
    decouper_raster,
    emprise_raster,
    fenetre_intersection,
    lire_raster,
    lire_zones_invest,
)

ERREURS_RASTER = (RasterioError, CPLE_BaseError, OSError)  # rasterio/GDAL : textes anglais, jamais affichés
ERREURS_VECTEUR = (RuntimeError, OSError, ValueError)  # pyogrio (DataSourceError… : RuntimeError), fiona
CLE_PLUIE = ("precipitation_mm_per_year", "pluie_annuelle_mm")  # clé du JSON → code de modele.csv
BORNES_TABLE = {  # colonne de la table biophysique → (bornes physiques, libellé)
    "kc": (BORNES_REVETEMENTS["kc"], "coefficient cultural kc"),
    "shade": (BORNES_REVETEMENTS["ombre"], "part d'ombrage"),
    "albedo": (BORNES_REVETEMENTS["albedo"], "albédo"),
    "green_area": (BORNES_REVETEMENTS["espace_vert"], "espace vert (0 ou 1)"),
    "rc": (BORNES_REVETEMENTS["c_ruissellement"], "coefficient de ruissellement"),
    "pe": ((0, 1), "part de percolation"),  # fraction de la pluie (comme indicateurs/eau_grille.SCHEMA_PERCOLATION)
}
GROUPES_SOL_ADMIS = (1, 2, 3, 4)  # groupes hydrologiques A à D (InVEST)
CONSEIL_SYSTEME_ZONES = ("Déclarez le système réel des zones (EPSG:2154 pour des mètres en Lambert-93, "
                         "EPSG:4326 pour des degrés) : membre « crs » du GeoJSON, ou ogr2ogr -a_srs.")
GEOGRAPHIQUE = "EPSG:4326"  # lieu d'une géométrie invalide : en degrés, comme ailleurs dans le projet
NOMBRE_CITES = 5  # lignes, codes ou zones cités au plus dans un message
RASTERS = {  # argument → (libellé, complément « GeoTIFF … »)
    "--occupation": ("occupation du sol", "d'occupation du sol (lucode)"),
    "--et0": ("évapotranspiration de référence (ET0)", "d'évapotranspiration de référence (ET0, mm/jour)"),
    "--groupe-sol": ("groupe hydrologique de sol", "de groupes hydrologiques de sol (1 à 4)"),
    "--pluie": ("pluie annuelle", "de pluie annuelle (mm/an)"),
}


@dataclass(frozen=True)
class Borne:
    """Un paramètre de ``modele.csv`` : bornes (minimum, maximum), libellé, unité, valeur par défaut."""

    minimum: float
    maximum: float
    libelle: str
    unite: str
    defaut: float


@dataclass(frozen=True)
class Probleme:
    """Un problème d'entrée : argument de la commande, fichier, paramètre concerné, message (avec correction)."""

    argument: str
    fichier: str
    parametre: str
    message: str

    def __str__(self) -> str:
        fichier = f" ({self.fichier})" if self.fichier else ""
        return f"{self.argument}{fichier}, {self.parametre} : {self.message}"


class ErreurEntreesInvest(ErreurDonnees):
    """Entrées du mode InVEST refusées : tous les problèmes trouvés, dans ``problemes``."""

    def __init__(self, problemes: list[Probleme]):
        lignes = "\n".join(f"  {numero}. {probleme}" for numero, probleme in enumerate(problemes, 1))
        compte = len(problemes)
        super().__init__(f"Entrées InVEST refusées ({compte} problème{'s' if compte > 1 else ''}) : rien n'a été "
                         f"calculé ni écrit. Corrigez :\n{lignes}", "invest", problemes[0].parametre)
        self.problemes = list(problemes)


def exiger_entrees_valides(problemes: list[Probleme]) -> None:
    """Lève :class:`ErreurEntreesInvest` s'il y a au moins un problème."""
    if problemes:
        raise ErreurEntreesInvest(problemes)


def nombre(valeur: float) -> str:
    """Nombre à la française, sans zéros inutiles (jamais de repr numpy)."""
    valeur = float(valeur)
    if math.isnan(valeur) or math.isinf(valeur):
        return "non fini" if math.isinf(valeur) else "vide"
    if valeur.is_integer():
        return formater_nombre(valeur, 0)
    texte = f"{valeur:.6g}"
    decimales = len(texte.split(".")[1]) if "." in texte and "e" not in texte else 6
    return formater_nombre(valeur, decimales)


def _mesure(valeur: float, unite: str) -> str:
    """« -4 °C », « 2 » (sans unité pour « — »)."""
    return nombre(valeur) + (f" {unite}" if unite and unite.strip() not in ("—", "-") else "")


def _intervalle(borne: Borne) -> str:
    return f"[{_mesure(borne.minimum, '')} ; {_mesure(borne.maximum, borne.unite)}]"


def _citer(valeur) -> str:
    """Valeur d'un JSON citée dans un message : « texte » pour une chaîne, « non finie » pour NaN ou Infinity,
    sinon en JSON."""
    if isinstance(valeur, float) and not math.isfinite(valeur):
        return "non finie"
    return f"« {valeur} »" if isinstance(valeur, str) else json.dumps(valeur, ensure_ascii=False)


def _liste(valeurs, suffixe: str = "") -> str:
    valeurs = list(valeurs)
    texte = ", ".join(str(v) for v in valeurs[:NOMBRE_CITES])
    return texte + (f"… ({len(valeurs)} en tout{suffixe})" if len(valeurs) > NOMBRE_CITES else "")


class _Releve:
    """Problèmes relevés au fil des contrôles."""

    def __init__(self):
        self.problemes: list[Probleme] = []

    def ajouter(self, argument: str, chemin, parametre: str, message: str) -> None:
        self.problemes.append(Probleme(argument, Path(chemin).name if chemin else "", parametre, message))


# ------------------------------------------------------------------------------------ fichiers


def _verifier_fichier(chemin, argument: str, nature: str, releve: _Releve) -> Path | None:
    """Chemin d'un fichier présent et non vide, sinon ``None`` (problème relevé)."""
    if chemin is None or str(chemin).strip() == "":
        releve.ajouter(argument, None, "fichier", f"entrée manquante. Attendu : {nature}.")
        return None
    chemin = Path(chemin)
    if not chemin.exists():
        releve.ajouter(argument, chemin, "fichier", f"fichier introuvable ({chemin}). Vérifiez le chemin ; "
                                                    f"attendu : {nature}.")
        return None
    if chemin.is_dir():
        releve.ajouter(argument, chemin, "fichier", f"{chemin} est un dossier. Attendu : {nature}.")
        return None
    if chemin.stat().st_size == 0:
        releve.ajouter(argument, chemin, "fichier", f"fichier vide (0 octet). Attendu : {nature}.")
        return None
    if not os.access(chemin, os.R_OK):
        releve.ajouter(argument, chemin, "fichier", "fichier non lisible (droits d'accès). Donnez les droits de "
                                                    "lecture, ou copiez-le ailleurs.")
        return None
    return chemin


def _ouvrir_raster(chemin, argument: str, releve: _Releve) -> RasterLu | None:
    """GeoTIFF lu (bande 1) s'il est lisible, projeté en mètres, à pixels carrés et non entièrement nodata."""
    role, complement = RASTERS[argument]
    chemin = _verifier_fichier(chemin, argument, f"un GeoTIFF {complement}", releve)
    if chemin is None:
        return None
    try:
        with rasterio.open(chemin) as source:
            crs, transform, hauteur, largeur = source.crs, source.transform, source.height, source.width
    except ERREURS_RASTER:
        releve.ajouter(argument, chemin, "format", f"fichier illisible comme raster : ce n'est pas un GeoTIFF "
                                                   f"(format non reconnu ou fichier abîmé). Donnez un GeoTIFF "
                                                   f"(.tif) {complement}.")
        return None
    if crs is None:
        releve.ajouter(argument, chemin, "système de coordonnées", "aucun système de coordonnées déclaré. "
                       "Déclarez-le ou reprojetez le raster en Lambert-93 (gdalwarp -t_srs EPSG:2154).")
        return None
    if not crs.is_projected or (crs.linear_units or "").lower() not in ("metre", "meter", "m"):
        releve.ajouter(argument, chemin, "système de coordonnées",
                       f"système {_nom_crs(crs)} non projeté en mètres (degrés ou autre unité). Reprojetez le "
                       "raster dans un système métrique, par exemple Lambert-93 (gdalwarp -t_srs EPSG:2154).")
        return None
    if abs(abs(transform.a) - abs(transform.e)) > 1e-6 * abs(transform.a) or transform.b or transform.d:
        releve.ajouter(argument, chemin, "résolution", f"pixels non carrés ou grille tournée ({nombre(transform.a)}"
                       f" × {nombre(abs(transform.e))} m). Rééchantillonnez-le à pixels carrés, sans rotation.")
        return None
    try:
        raster = lire_raster(chemin, role)
    except ErreurDonnees as exc:
        releve.ajouter(argument, chemin, "format", str(exc))
        return None
    except ERREURS_RASTER:
        releve.ajouter(argument, chemin, "format", "données du raster illisibles (fichier tronqué ou abîmé). "
                                                   "Exportez-le de nouveau en GeoTIFF.")
        return None
    if not raster.valide.any():
        nodata = "" if raster.nodata is None else f" (nodata = {nombre(raster.nodata)})"
        releve.ajouter(argument, chemin, "valeurs", f"raster entièrement sans donnée : ses {nombre(hauteur * largeur)} "
                       f"cellules sont nodata{nodata}. Donnez un GeoTIFF {complement} qui contient des valeurs, ou "
                       "corrigez sa valeur nodata.")
        return None
    return raster


def valeurs_presentes(valeurs: np.ndarray) -> np.ndarray:
    """Valeurs distinctes, triées (comptage ``bincount`` pour des entiers positifs bornés : 10 fois plus rapide
    que ``np.unique`` sur 9 millions de cellules)."""
    if valeurs.size and np.issubdtype(valeurs.dtype, np.integer) and 0 <= valeurs.min() and valeurs.max() < 2**20:
        return np.flatnonzero(np.bincount(valeurs.astype(np.int64, copy=False)))
    return np.unique(valeurs)


def _nom_crs(crs) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else "(sans code EPSG)"


def _verifier_valeurs_raster(raster: RasterLu, argument: str, role: str, borne: Borne | None,
                             releve: _Releve, entiers: tuple | None = None) -> None:
    """Valeurs valides dans ``borne`` (``modele.csv``), ou parmi ``entiers``."""
    valeurs = raster.valeurs[raster.valide]
    if entiers is not None:
        presentes = valeurs_presentes(valeurs)
        hors = presentes[~np.isin(presentes, entiers)]
        if hors.size:
            releve.ajouter(argument, raster.chemin, "valeurs", f"{role} {_liste(nombre(v) for v in hors)} hors des "
                           f"valeurs admises {_liste(entiers)}. Corrigez le raster (ou déclarez ces cellules nodata).")
        return
    minimum, maximum = float(valeurs.min()), float(valeurs.max())
    if minimum < borne.minimum or maximum > borne.maximum:
        etendue = f"de {_mesure(minimum, borne.unite)} à {_mesure(maximum, borne.unite)}" if minimum < maximum \
            else f"de {_mesure(minimum, borne.unite)} partout"
        releve.ajouter(argument, raster.chemin, "valeurs",
                       f"{role} {etendue}, hors des bornes {_intervalle(borne)} de « {borne.libelle} » "
                       "(indicateurs/parametres/modele.csv). Vérifiez l'unité du raster et corrigez ses valeurs.")


def _verifier_et0(raster: RasterLu, releve: _Releve) -> None:
    """ET0 positive ou nulle, pas nulle partout. Pas d'autre borne : comme InVEST, le modèle n'utilise que
    ET0 / ET0 maximale, quelle que soit la période (jour, mois) du raster."""
    valeurs = raster.valeurs[raster.valide]
    minimum, maximum = float(valeurs.min()), float(valeurs.max())
    if minimum < 0:
        releve.ajouter("--et0", raster.chemin, "valeurs", f"ET0 négative (jusqu'à {nombre(minimum)} mm) : "
                       "une évapotranspiration est positive ou nulle. Corrigez le raster (ou déclarez ces cellules "
                       "nodata).")
    elif maximum <= 0:
        releve.ajouter("--et0", raster.chemin, "valeurs", "ET0 nulle partout : l'indice d'évapotranspiration "
                       "(ET0 / ET0 maximale) est indéfini. Donnez un raster d'ET0 avec des valeurs positives.")


def _verifier_lucodes_entiers(raster: RasterLu, argument: str, releve: _Releve) -> bool:
    """Codes d'occupation entiers (raster d'entiers, ou flottants sans partie décimale)."""
    if np.issubdtype(raster.valeurs.dtype, np.integer):
        return True
    valeurs = raster.valeurs[raster.valide]
    decimaux = np.unique(valeurs[valeurs != np.round(valeurs)])
    if decimaux.size:
        releve.ajouter(argument, raster.chemin, "valeurs", f"codes d'occupation (lucode) non entiers : "
                       f"{_liste(nombre(v) for v in decimaux)}. Donnez un raster d'entiers (un code par classe).")
        return False
    return True


def _verifier_grille(reference: RasterLu, autre: RasterLu, arg_ref: str, arg_autre: str,
                     releve: _Releve) -> bool:
    """Même système de coordonnées, même résolution, emprises qui se recouvrent."""
    if autre.crs != reference.crs:
        releve.ajouter(arg_autre, autre.chemin, "système de coordonnées",
                       f"système {_nom_crs(autre.crs)} différent de celui du fichier {reference.chemin.name} "
                       f"({arg_ref}, {_nom_crs(reference.crs)}). Reprojetez-le dans le système de l'occupation du sol "
                       f"(gdalwarp -t_srs {_nom_crs(reference.crs)}).")
        return False
    if not math.isclose(abs(autre.transform.a), abs(reference.transform.a), rel_tol=1e-9):
        releve.ajouter(arg_autre, autre.chemin, "résolution",
                       f"cellules de {nombre(abs(autre.transform.a))} m, différentes de celles du fichier "
                       f"{reference.chemin.name} ({arg_ref}, {nombre(abs(reference.transform.a))} m). "
                       f"Rééchantillonnez-le à {nombre(abs(reference.transform.a))} m (gdalwarp -tr).")
        return False
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = emprise_raster(reference), emprise_raster(autre)
    if min(ax1, bx1) <= max(ax0, bx0) or min(ay1, by1) <= max(ay0, by0):
        releve.ajouter(arg_autre, autre.chemin, "emprise",
                       f"emprise disjointe de celle du fichier {reference.chemin.name} ({arg_ref}) : les deux rasters "
                       "ne se recouvrent pas. Vérifiez qu'ils couvrent le même territoire, dans le même système.")
        return False
    return True


def _verifier_recouvrement(lulc: RasterLu, autres: list[tuple[str, RasterLu]], releve: _Releve
                           ) -> RasterLu | None:
    """Au moins une cellule valide commune à l'occupation et aux autres rasters, sur leur intersection ;
    renvoie l'occupation découpée à cette intersection, ``valide`` = cellules valides partout (ou ``None``)."""
    try:
        decoupe = decouper_raster(lulc, *fenetre_intersection(lulc, [emprise_raster(r) for _, r in autres]))
        valide = decoupe.valide.copy()
        for argument, raster in autres:
            valide &= aligner_raster(raster, decoupe, Resampling.nearest, argument).valide
    except ErreurDonnees:  # intersection des emprises vide : même constat, message ci-dessous
        valide = np.zeros(1, dtype=bool)
    if not valide.any():
        noms = ", ".join(f"{r.chemin.name} ({a})" for a, r in autres)
        releve.ajouter("--occupation", lulc.chemin, "recouvrement",
                       f"aucune cellule n'a de valeur à la fois dans l'occupation du sol et dans {noms} : les "
                       "données valides ne se recouvrent pas. Vérifiez les emprises et les valeurs nodata.")
        return None
    return RasterLu(decoupe.valeurs, valide, decoupe.transform, decoupe.crs, lulc.chemin, lulc.nodata)


# ------------------------------------------------------------------------------------ table biophysique


def _lire_csv(chemin: Path, argument: str, releve: _Releve) -> pd.DataFrame | None:
    """CSV lu (colonnes en minuscules), ou ``None`` si vide ou illisible (problème relevé)."""
    try:
        table = pd.read_csv(chemin)
    except pd.errors.EmptyDataError:
        releve.ajouter(argument, chemin, "contenu", "table vide : ni en-tête ni ligne. Donnez une ligne d'en-tête "
                       "(lucode, …) puis une ligne par classe d'occupation.")
        return None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError):
        releve.ajouter(argument, chemin, "format", "fichier illisible comme table CSV (ce n'est pas un texte CSV "
                       "en UTF-8). Enregistrez la table en CSV, séparateur virgule, encodage UTF-8.")
        return None
    table.columns = [str(c).strip().lower() for c in table.columns]
    if len(table.columns) == 1 and ";" in table.columns[0]:
        releve.ajouter(argument, chemin, "format", "colonnes séparées par des points-virgules. Enregistrez la "
                       "table en CSV avec la virgule comme séparateur.")
        return None
    if table.empty:
        releve.ajouter(argument, chemin, "contenu", "aucune ligne de classe sous l'en-tête. Ajoutez une ligne "
                       "par code d'occupation du sol.")
        return None
    return table


def _colonnes_table(table: pd.DataFrame, modele: str) -> tuple[list[str], list[str]]:
    """(colonnes requises manquantes, colonnes numériques à contrôler) pour le modèle."""
    if modele == "chaleur":
        requises = ["lucode", *COLONNES_CHALEUR]
        manquantes = [c for c in requises if c not in table.columns]
        return manquantes, [c for c in requises if c in table.columns]
    manquantes = [] if "lucode" in table.columns else ["lucode"]
    controlees = ["lucode"] if not manquantes else []
    for prefixe, obligatoire in (("rc", True), ("pe", False)):
        groupes = [f"{prefixe}_{g}" for g in GROUPES_SOL]
        if all(c in table.columns for c in groupes):
            controlees += groupes
        elif prefixe in table.columns:
            controlees.append(prefixe)
        elif obligatoire:
            manquantes.append(f"{prefixe}_a à {prefixe}_d (ou {prefixe})")
    return manquantes, controlees


def _lignes(table: pd.DataFrame, masque, valeurs=None) -> str:
    """« ligne 3 (lucode 2) : 1,5 » pour les lignes du masque (numéros du fichier, en-tête = ligne 1)."""
    morceaux = []
    for index in table.index[masque]:
        texte = f"ligne {index + 2}"
        code = pd.to_numeric(pd.Series([table.at[index, "lucode"]]), errors="coerce").iloc[0] \
            if "lucode" in table.columns else math.nan
        if not math.isnan(code):
            texte += f" (lucode {nombre(code)})"
        if valeurs is not None:
            brut = valeurs.at[index]
            texte += f" : {nombre(brut) if isinstance(brut, (int, float, np.number)) else f'« {brut} »'}"
        morceaux.append(texte)
    return _liste(morceaux, " lignes")


def _verifier_colonne(table: pd.DataFrame, colonne: str, chemin: Path, argument: str, releve: _Releve) -> None:
    """Valeurs numériques, non vides, dans les bornes physiques de la colonne (0 ou 1 pour green_area)."""
    valeurs = pd.to_numeric(table[colonne], errors="coerce")
    vides = valeurs.isna()
    if vides.any():
        releve.ajouter(argument, chemin, f"colonne « {colonne} »", f"valeur vide ou non numérique, "
                       f"{_lignes(table, vides, table[colonne].fillna(''))}. Écrivez un nombre (point décimal).")
    if colonne == "lucode":
        decimaux = ~vides & (valeurs != valeurs.round())
        if decimaux.any():
            releve.ajouter(argument, chemin, "colonne « lucode »", f"code non entier, "
                           f"{_lignes(table, decimaux, valeurs)}. Un code d'occupation est un entier.")
        doubles = ~vides & valeurs.duplicated(keep=False)
        if doubles.any():
            releve.ajouter(argument, chemin, "colonne « lucode »", f"code en double, {_lignes(table, doubles)}. "
                           "Gardez une seule ligne par code.")
        return
    (minimum, maximum), libelle = BORNES_TABLE[colonne.split("_")[0] if colonne.startswith(("rc_", "pe_"))
                                               else colonne]
    hors = ~vides & ((valeurs < minimum) | (valeurs > maximum))
    if colonne == "green_area":
        hors = ~vides & ~valeurs.isin((0, 1))
        correction = "Écrivez 1 pour un espace vert, 0 sinon."
    else:
        correction = f"Donnez une valeur entre {nombre(minimum)} et {nombre(maximum)}."
    if hors.any():
        releve.ajouter(argument, chemin, f"colonne « {colonne} »", f"{libelle} hors de [{nombre(minimum)} ; "
                       f"{nombre(maximum)}], {_lignes(table, hors, valeurs)}. {correction}")


def _verifier_table(chemin, modele: str, argument: str, releve: _Releve) -> set | None:
    """Table biophysique contrôlée ; renvoie l'ensemble de ses codes (lucode) s'ils sont lisibles."""
    chemin = _verifier_fichier(chemin, argument, "une table biophysique CSV (lucode, …)", releve)
    table = _lire_csv(chemin, argument, releve) if chemin else None
    if table is None:
        return None
    manquantes, controlees = _colonnes_table(table, modele)
    nom_modele = "de chaleur" if modele == "chaleur" else "de l'eau"
    if manquantes:
        releve.ajouter(argument, chemin, f"colonne « {manquantes[0]} »",
                       f"colonne(s) {', '.join(f'« {c} »' for c in manquantes)} manquante(s) pour le modèle "
                       f"{nom_modele}. Ajoutez-la(les) à la table (une valeur par classe).")
    for colonne in controlees:
        _verifier_colonne(table, colonne, chemin, argument, releve)
    if "lucode" not in table.columns:
        return None
    codes = pd.to_numeric(table["lucode"], errors="coerce").dropna()
    return {int(c) for c in codes if float(c).is_integer()}


def _verifier_codes_presents(lulc: RasterLu, codes: set, chemin_table, releve: _Releve) -> None:
    """Chaque code d'occupation du raster a sa ligne dans la table biophysique."""
    presents = valeurs_presentes(lulc.valeurs[lulc.valide]).astype(np.int64).tolist()
    absents = sorted(set(presents) - codes)
    if absents:
        releve.ajouter("--biophysique", chemin_table, "colonne « lucode »",
                       f"code(s) d'occupation {_liste(absents)} présent(s) dans {lulc.chemin.name} (--occupation) "
                       f"mais absent(s) de la table {Path(chemin_table).name}. Ajoutez-y une ligne par code.")


# ------------------------------------------------------------------------------------ paramètres (JSON)


def _lire_json(chemin, argument: str, releve: _Releve) -> dict | None:
    chemin = _verifier_fichier(chemin, argument, "un fichier JSON de paramètres", releve)
    if chemin is None:
        return None
    try:
        brut = json.loads(chemin.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        releve.ajouter(argument, chemin, "format", "fichier qui n'est pas du texte UTF-8 : donnez un fichier JSON.")
        return None
    except OSError:  # texte du système (anglais) non repris
        releve.ajouter(argument, chemin, "fichier", "fichier illisible (droits d'accès ou disque). Vérifiez-le.")
        return None
    except json.JSONDecodeError as exc:  # exc.msg est en anglais : seule la position est reprise
        releve.ajouter(argument, chemin, "syntaxe", f"JSON invalide vers la ligne {exc.lineno}, colonne "
                       f"{exc.colno}. Vérifiez les guillemets doubles, les virgules et les accolades.")
        return None
    if not isinstance(brut, dict):
        releve.ajouter(argument, chemin, "format", "un objet JSON {\"clé\": valeur, …} est attendu (pas une "
                       "liste ni une valeur seule).")
        return None
    return brut


def _valeur_bornee(brut: dict, noms: tuple, code: str, bornes: dict, chemin, argument: str,
                   releve: _Releve) -> float | None:
    """Valeur du premier nom présent, numérique et dans les bornes de ``modele.csv`` (``None`` sinon)."""
    nom = next((n for n in noms if n in brut), None)
    if nom is None:
        return None
    borne, valeur = bornes[code], brut[nom]
    try:
        nombre_lu = float(valeur) if not isinstance(valeur, bool) else math.nan
    except (TypeError, ValueError):
        nombre_lu = math.nan
    if not math.isfinite(nombre_lu):
        releve.ajouter(argument, chemin, f"clé « {nom} »", f"valeur {_citer(valeur)}, un nombre "
                       f"est attendu ({borne.libelle}). Écrivez un nombre, par exemple "
                       f"{nombre(borne.defaut).replace(',', '.')}.")
        return None
    if not borne.minimum <= nombre_lu <= borne.maximum:
        releve.ajouter(argument, chemin, f"clé « {nom} »",
                       f"{_mesure(nombre_lu, borne.unite)} hors des bornes {_intervalle(borne)} de "
                       f"« {borne.libelle} » ({code}, indicateurs/parametres/modele.csv). Donnez une valeur entre "
                       f"{nombre(borne.minimum)} et {_mesure(borne.maximum, borne.unite)}.")
        return None
    return nombre_lu


def _verifier_parametres_chaleur(chemin, bornes: dict, releve: _Releve) -> dict:
    """JSON du modèle de chaleur : distances, T_ref, UHI_max, poids dans leurs bornes ; méthode des facteurs.

    Renvoie les valeurs lues et valides : ``{code de modele.csv: (clé du JSON, valeur)}``."""
    argument = "--parametres"
    brut = _lire_json(chemin, argument, releve)
    if brut is None:
        return {}
    poids, lues = {}, {}
    for cle, (cle_invest, code) in CLES_PARAMETRES.items():
        valeur = _valeur_bornee(brut, (cle, cle_invest), code, bornes, chemin, argument, releve)
        if valeur is not None:
            lues[code] = (cle if cle in brut else cle_invest, valeur)
        if code.startswith("poids_"):
            poids[code] = bornes[code].defaut if valeur is None and not {cle, cle_invest} & set(brut) else valeur
    if all(v is not None for v in poids.values()) and not sum(poids.values()) > 0:
        releve.ajouter(argument, chemin, "clés « cc_weight_* »", "les trois poids de la capacité de "
                       "rafraîchissement (ombre, albédo, évapotranspiration) sont nuls. Donnez un poids positif à "
                       "au moins l'un d'eux (InVEST : 0,6, 0,2, 0,2).")
    methode = brut.get("cc_method", "factors")
    if methode != "factors":
        releve.ajouter(argument, chemin, "clé « cc_method »", f"méthode {_citer(methode)} "
                       "non prise en charge : seule la méthode « factors » (de jour) est implémentée. Écrivez "
                       "\"cc_method\": \"factors\".")
    return lues


def _verifier_distances(lues: dict, lulc: RasterLu, chemin, releve: _Releve) -> None:
    """Distances du JSON d'au moins une demi-cellule (InVEST arrondit distance / résolution ; 0 cellule :
    noyau vide)."""
    resolution = abs(lulc.transform.a)
    for code in ("d_cool_m", "r_mix_m"):
        if code in lues and round(lues[code][1] / resolution) < 1:
            releve.ajouter("--parametres", chemin, f"clé « {lues[code][0]} »",
                           f"{nombre(lues[code][1])} m, moins d'une demi-cellule du fichier {lulc.chemin.name} "
                           f"(--occupation, cellules de {nombre(resolution)} m) : le noyau de lissage serait vide. "
                           f"Donnez au moins {nombre(resolution)} m, ou une occupation du sol plus fine.")


# ------------------------------------------------------------------------------------ zones


def _nommer_zone(zones: gpd.GeoDataFrame, position: int) -> str:
    """« n° 2 (ouest) » : rang dans le fichier et première valeur descriptive."""
    colonnes = [c for c in zones.columns if c != zones.geometry.name]
    libelle = f" ({zones.iloc[position][colonnes[0]]})" if colonnes else ""
    return f"n° {position + 1}{libelle}"


def _verifier_zones(chemin, commun: RasterLu | None, indexer, releve: _Releve) -> None:
    """Zones lisibles (polygones valides avec système de coordonnées), chacune sur des cellules valides de
    ``commun`` (intersection des rasters, :func:`_verifier_recouvrement`)."""
    argument = "--zones"
    chemin = _verifier_fichier(chemin, argument, "un vecteur de zones (GeoJSON, GeoPackage)", releve)
    if chemin is None:
        return
    try:
        gpd.read_file(chemin, rows=1)
    except ERREURS_VECTEUR:
        releve.ajouter(argument, chemin, "format", "fichier illisible comme vecteur (ni GeoJSON, ni GeoPackage, "
                       "ni Shapefile lisible). Exportez les zones en GeoJSON ou en GeoPackage.")
        return
    try:
        zones = lire_zones_invest(chemin)
    except ErreurDonnees as exc:
        releve.ajouter(argument, chemin, "géométrie" if exc.colonne == "geometry" else "contenu", str(exc))
        return
    try:  # règles de la lecture des vecteurs : degrés déclarés en mètres, mètres sans système déclaré
        if zones.crs.is_geographic:
            verifier_dans_wgs84(zones.geometry.values, f"Fichier {chemin.name}", CONSEIL_SYSTEME_ZONES)
        else:
            verifier_degres_dans_metres(zones.geometry.values, zones.crs, f"Fichier {chemin.name}",
                                        CONSEIL_SYSTEME_ZONES)
    except ErreurDonnees as exc:
        releve.ajouter(argument, chemin, "système de coordonnées", str(exc))
        return
    invalides = [i for i, g in enumerate(zones.geometry.values) if g is None or not shapely.is_valid(g)]
    if invalides:
        en_degres = zones.geometry.iloc[invalides].to_crs(GEOGRAPHIQUE).values
        details = _liste(f"zone {_nommer_zone(zones, i)} : {decrire_invalidite(g) if g is not None else 'vide'}"
                         for i, g in zip(invalides, en_degres))
        releve.ajouter(argument, chemin, "géométrie", f"polygone(s) invalide(s) — {details}. Corrigez-les dans "
                       "votre SIG (outil « Réparer les géométries »).")
        return
    if commun is not None:
        _verifier_zones_sur_grille(zones, chemin, commun, indexer, releve)


def _verifier_zones_sur_grille(zones: gpd.GeoDataFrame, chemin: Path, commun: RasterLu, indexer,
                               releve: _Releve) -> None:
    """Chaque zone recouvre l'emprise commune des rasters, puis (``indexer`` donné : règle du calcul des
    moyennes par zone) au moins une cellule valide partout."""
    argument, crs, emprise = "--zones", commun.crs, emprise_raster(commun)
    try:
        dans_crs = reprojeter(zones, crs)
    except (ValueError, RuntimeError):  # pyproj : texte anglais non repris
        releve.ajouter(argument, chemin, "système de coordonnées", "zones impossibles à reprojeter dans le "
                       "système des rasters. Vérifiez le système de coordonnées déclaré du fichier.")
        return
    dehors = [i for i, g in enumerate(dans_crs.geometry.values) if not g.intersects(box(*emprise))]
    if dehors:
        sujet = "aucune zone ne recouvre" if len(dehors) == len(zones) else \
            f"zone(s) {_liste(_nommer_zone(zones, i) for i in dehors)} hors de"
        releve.ajouter(argument, chemin, "emprise",
                       f"{sujet} l'emprise commune des rasters ({nombre(emprise[0])} à {nombre(emprise[2])} m en x, "
                       f"{nombre(emprise[1])} à {nombre(emprise[3])} m en y, {_nom_crs(crs)}) : leurs totaux "
                       "seraient vides. Vérifiez le système de coordonnées des zones, ou retirez ces zones.")
        return
    vides = _zones_sans_cellule_valide(dans_crs, commun, indexer)
    if vides:
        releve.ajouter(argument, chemin, "recouvrement",
                       f"zone(s) {_liste(_nommer_zone(zones, i) for i in vides)} sans aucune cellule valide à la "
                       "fois dans l'occupation du sol et dans les autres rasters (nodata partout) : leurs "
                       "moyennes et totaux seraient vides. Retirez ces zones, ou complétez les rasters.")


def _zones_sans_cellule_valide(zones: gpd.GeoDataFrame, commun: RasterLu, indexer) -> list[int]:
    """Rangs des zones (dans le système des rasters) sans cellule valide de ``commun``.

    Rectangle englobant d'abord : sans cellule valide, la zone est vide ; entièrement valide, elle ne l'est
    pas (une zone qui touche la grille a au moins une cellule). Seules les zones entre les deux passent par
    ``indexer`` (règle du calcul), qui coûte une rastérisation."""
    if commun.valide.all():
        return []
    t, (hauteur, largeur) = commun.transform, commun.forme
    vides, douteuses = [], []
    for rang, (x0, y0, x1, y1) in enumerate(zones.geometry.bounds.to_numpy()):
        lignes = slice(max(int(np.floor((t.f - y1) / -t.e)), 0), min(int(np.ceil((t.f - y0) / -t.e)), hauteur))
        colonnes = slice(max(int(np.floor((x0 - t.c) / t.a)), 0), min(int(np.ceil((x1 - t.c) / t.a)), largeur))
        fenetre = commun.valide[lignes, colonnes]
        if not fenetre.any():
            vides.append(rang)
        elif not fenetre.all():
            douteuses.append(rang)
    if douteuses and indexer is not None:
        numeros, cellules = indexer(zones.iloc[douteuses], commun.crs, t, commun.forme)
        comptes = np.bincount(numeros[commun.valide.ravel()[cellules]], minlength=len(douteuses))
        vides += [douteuses[i] for i in np.flatnonzero(comptes == 0)]
    return sorted(vides)


# ------------------------------------------------------------------------------------ points d'entrée


def _verifier_sortie(sortie, releve: _Releve) -> None:
    """Le dossier de sortie peut être créé : ni lui ni un de ses parents n'est un fichier."""
    if sortie is None:
        return
    for dossier in (Path(sortie), *Path(sortie).parents):
        if dossier.exists():
            if not dossier.is_dir():
                releve.ajouter("--sortie", dossier, "dossier", f"{dossier} est un fichier, pas un dossier : les "
                               "résultats ne pourraient pas y être écrits. Choisissez un autre dossier de sortie.")
            return


def _verifier_rasters(lulc: RasterLu | None, autres: list[tuple[str, RasterLu | None]],
                      releve: _Releve) -> RasterLu | None:
    """Grilles compatibles avec l'occupation et recouvrement non vide ; renvoie l'intersection
    (:func:`_verifier_recouvrement`) ou ``None``."""
    if lulc is None or any(r is None for _, r in autres):
        return None
    if not all([_verifier_grille(lulc, r, "--occupation", a, releve) for a, r in autres]):
        return None
    return _verifier_recouvrement(lulc, autres, releve)


def _verifier_occupation(occupation, chemin_table, codes: set | None, releve: _Releve) -> RasterLu | None:
    lulc = _ouvrir_raster(occupation, "--occupation", releve)
    if lulc is not None and _verifier_lucodes_entiers(lulc, "--occupation", releve) and codes is not None:
        _verifier_codes_presents(lulc, codes, chemin_table, releve)
    return lulc


def valider_entrees_chaleur(occupation, biophysique, et0, zones, parametres, bornes: dict[str, Borne],
                            sortie=None, indexer=None) -> list[Probleme]:
    """Tous les problèmes des entrées de `desimper chaleur` en mode InVEST (liste vide : entrées valides).

    ``bornes`` : :class:`Borne` par code de ``modele.csv`` (``d_cool_m``, ``uhi_max_c``, ``et0_mm_jour``…) ;
    ``sortie`` : dossier des résultats ; ``indexer(zones, crs, transform, forme) -> (n° de zone, cellule)`` :
    cellules de chaque zone, comme le calcul (:func:`indicateurs.modeles.indexer_zones_grille`, donné par
    ``services``). Lit les fichiers, ne calcule ni n'écrit rien.
    """
    releve = _Releve()
    _verifier_sortie(sortie, releve)
    codes = _verifier_table(biophysique, "chaleur", "--biophysique", releve)
    lues = _verifier_parametres_chaleur(parametres, bornes, releve)
    lulc = _verifier_occupation(occupation, biophysique, codes, releve)
    if lulc is not None:
        _verifier_distances(lues, lulc, parametres, releve)
    raster_et0 = _ouvrir_raster(et0, "--et0", releve)
    if raster_et0 is not None:
        _verifier_et0(raster_et0, releve)
    _verifier_zones(zones, _verifier_rasters(lulc, [("--et0", raster_et0)], releve), indexer, releve)
    return releve.problemes


def valider_entrees_eau(occupation, biophysique, groupe_sol, pluie, zones, parametres,
                        bornes: dict[str, Borne], sortie=None, indexer=None) -> list[Probleme]:
    """Tous les problèmes des entrées de `desimper eau` en mode InVEST (liste vide : entrées valides).

    La pluie vient du raster ``pluie`` ou, à défaut, de la clé ``precipitation_mm_per_year`` du JSON
    ``parametres`` ; l'une ou l'autre est obligatoire. Lit les fichiers, ne calcule ni n'écrit rien.
    """
    releve = _Releve()
    _verifier_sortie(sortie, releve)
    codes = _verifier_table(biophysique, "eau", "--biophysique", releve)
    brut, pluie_dans_json = None, False
    if parametres:
        brut = _lire_json(parametres, "--parametres", releve)
        if brut is not None:
            pluie_dans_json = CLE_PLUIE[0] in brut
            _valeur_bornee(brut, CLE_PLUIE[:1], CLE_PLUIE[1], bornes, parametres, "--parametres", releve)
    if not pluie and not pluie_dans_json and (not parametres or brut is not None):
        releve.ajouter("--pluie", None, "pluie annuelle", "pluie annuelle manquante : donnez un GeoTIFF de pluie "
                       "(mm/an) avec --pluie, ou la clé « precipitation_mm_per_year » dans le JSON --parametres.")
    lulc = _verifier_occupation(occupation, biophysique, codes, releve)
    sol = _ouvrir_raster(groupe_sol, "--groupe-sol", releve)
    if sol is not None:
        _verifier_valeurs_raster(sol, "--groupe-sol", "groupe(s) de sol", None,
                                 releve, entiers=GROUPES_SOL_ADMIS)
    autres = [("--groupe-sol", sol)]
    if pluie:
        raster_pluie = _ouvrir_raster(pluie, "--pluie", releve)
        if raster_pluie is not None:
            _verifier_valeurs_raster(raster_pluie, "--pluie", "pluie annuelle", bornes[CLE_PLUIE[1]], releve)
        autres.append(("--pluie", raster_pluie))
    _verifier_zones(zones, _verifier_rasters(lulc, autres, releve), indexer, releve)
    return releve.problemes
