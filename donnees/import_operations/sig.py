"""Lecture des formats SIG (GeoJSON, GeoPackage, Shapefile, KML) par le lecteur vectoriel commun.

Les contrôles du système de coordonnées sont ceux de :mod:`donnees.lecture_vecteur`, partagés avec l'import
du référentiel : système absent, système indiqué différent de celui du fichier, coordonnées en degrés dans
un fichier déclaré en mètres, coordonnées hors des bornes de la longitude et de la latitude.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from donnees.import_operations.seuils import limite, refuser_lignes
from donnees.import_operations.tables import TableImportee
from donnees.import_operations.valeurs import _est_vide
from donnees.lecture_vecteur import (
    ERREURS_LECTURE,
    entites_hors_degres,
    est_polygonal,
    lire_entites,
    lire_systeme,
    lister_couches,
    nettoyer_exception,
    neutraliser_geopackage,
    verifier_degres_dans_metres,
)
from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre
from donnees.geometrie import CRS_STOCKAGE, en_wgs84

_COLONNES_TECHNIQUES_KML = {"timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
                            "visibility", "drawOrder", "icon", "snippet"}
CORRECTION_DEGRES = ("Exportez le fichier dans le système déclaré, ou déclarez-le en WGS84 (EPSG:4326) : corrigez "
                     "le .prj ou le système de la couche dans votre SIG, ou indiquez EPSG:4326 si le fichier ne "
                     "déclare pas de système.")


def _choisir_couche(chemin: Path, nom: str, couche: str | None) -> str | None:
    """Couche demandée, sinon la première couche de polygones (ou l'unique couche)."""
    try:
        couches = lister_couches(chemin)
    except ERREURS_LECTURE as exc:  # tout fichier illisible par GDAL
        raise ErreurDonnees(f"{nom} : fichier illisible ({nettoyer_exception(exc)}). Vérifiez qu'il "
                            "n'est pas tronqué et qu'il est bien au format annoncé par son extension.",
                            "import", "fichier") from None
    if not couches:
        raise ErreurDonnees(f"{nom} : aucune couche dans le fichier.", "import", "fichier")
    liste = ", ".join(f"« {n} » ({t})" for n, t in couches)
    if couche:
        if couche not in [n for n, _ in couches]:
            raise ErreurDonnees(f"{nom} : couche « {couche} » absente. Couches du fichier : {liste}.",
                                "import", "couche")
        return couche
    for n, t in couches:
        if est_polygonal(t):
            return n
    for n, t in couches:  # type « Unknown » : on regarde le contenu
        if t.lower() in ("unknown", "geometry", "geometrycollection"):
            try:
                essai = lire_entites(chemin, n, columns=[], max_features=1000)
            except ERREURS_LECTURE:  # couche illisible : on essaie la suivante
                continue
            if any(g is not None and "Polygon" in g.geom_type for g in essai.geometry):
                return n
    if len(couches) == 1:
        return couches[0][0]
    raise ErreurDonnees(f"{nom} : aucune couche de polygones. Couches du fichier : {liste}. Indiquez la "
                        "couche à lire.", "import", "couche")


def _attributs(table: pd.DataFrame) -> pd.DataFrame:
    """Attributs en objets Python (None pour les valeurs absentes), noms de colonnes en texte."""
    resultat = pd.DataFrame(index=range(len(table)))
    for colonne in table.columns:
        valeurs = table[colonne].astype(object).tolist()
        resultat[str(colonne)] = pd.Series([None if _est_vide(v) else v for v in valeurs], dtype=object)
    return resultat


def _lire_kml(chemin: Path, nom: str, couche: str | None) -> gpd.GeoDataFrame:
    """Tous les dossiers d'un KML (ou le dossier demandé), sans les colonnes techniques."""
    try:
        couches = [n for n, _ in lister_couches(chemin)]
    except ERREURS_LECTURE as exc:
        raise ErreurDonnees(f"{nom} : KML illisible ({nettoyer_exception(exc)}).", "import",
                            "fichier") from None
    if couche:
        if couche not in couches:
            raise ErreurDonnees(f"{nom} : dossier « {couche} » absent. Dossiers du fichier : "
                                f"{', '.join(couches)}.", "import", "couche")
        couches = [couche]
    morceaux = []
    for n in couches:
        try:
            morceau = lire_entites(chemin, n, max_features=int(limite("lignes_max_fichier")) + 1)
        except ERREURS_LECTURE as exc:
            raise ErreurDonnees(f"{nom} : KML illisible ({nettoyer_exception(exc)}).", "import",
                                "fichier") from None
        if len(morceau):
            morceaux.append(morceau)
    if not morceaux:
        raise ErreurDonnees(f"{nom} : aucun objet (Placemark) dans le fichier KML.", "import", "fichier")
    table = pd.concat(morceaux, ignore_index=True) if len(morceaux) > 1 else morceaux[0]
    table = gpd.GeoDataFrame(table, geometry="geometry", crs=morceaux[0].crs)
    techniques = [c for c in table.columns if c in _COLONNES_TECHNIQUES_KML
                  or (c == "id" and table[c].isna().all())]
    return table.drop(columns=techniques)


def _lire_table(chemin: Path, nom: str, format_: str, couche: str | None) -> tuple[gpd.GeoDataFrame, str | None]:
    """Entités de la couche lue (KML : tous ses dossiers) et le nom de cette couche.

    GeoPackage : vues et déclencheurs retirés de la copie avant toute lecture (:func:`neutraliser_geopackage`).
    Au plus ``lignes_max_fichier`` + 1 entités sont lues : une de trop refuse le fichier."""
    maximum = int(limite("lignes_max_fichier"))
    if format_ == "gpkg":
        neutraliser_geopackage(chemin, nom, limite("duree_max_lecture_gpkg_s"))
    if format_ == "kml":
        table, nom_couche = _lire_kml(chemin, nom, couche), couche
    else:
        nom_couche = _choisir_couche(chemin, nom, couche)
        try:
            table = lire_entites(chemin, nom_couche, max_features=maximum + 1)
        except ERREURS_LECTURE as exc:
            raise ErreurDonnees(f"{nom} : couche « {nom_couche} » illisible ({nettoyer_exception(exc)}).",
                                "import", "fichier") from None
    if len(table) > maximum:
        raise refuser_lignes(nom, f"plus de {formater_nombre(maximum)}", "entités")
    _verifier_sommets_fichier(table.geometry.values if isinstance(table, gpd.GeoDataFrame) else [], nom)
    if not isinstance(table, gpd.GeoDataFrame) or table.geometry.name not in table.columns:
        raise ErreurDonnees(f"{nom} : la couche « {nom_couche} » n'a pas de géométrie. Choisissez une couche de "
                            "polygones, ou exportez la table en CSV.", "import", "couche")
    if len(table) == 0:
        raise ErreurDonnees(f"{nom} : la couche « {nom_couche} » ne contient aucun objet.", "import", "fichier")
    return table, nom_couche


def _verifier_sommets_fichier(geometries, nom: str) -> None:
    """Refuse un fichier dont les géométries comptent plus de ``sommets_max_fichier`` sommets en tout."""
    if not len(geometries):
        return
    par_entite = shapely.get_num_coordinates(np.asarray(geometries, dtype=object))
    total, maximum = int(par_entite.sum()), int(limite("sommets_max_fichier"))
    if total > maximum:
        rang = int(np.argmax(par_entite))
        raise ErreurDonnees(f"{nom} : fichier refusé, ses géométries comptent {formater_nombre(total)} sommets "
                            f"(maximum {formater_nombre(maximum)} pour un fichier ; la plus lourde, entité n° "
                            f"{rang + 1}, en a {formater_nombre(int(par_entite[rang]))}). Simplifiez les contours "
                            "dans votre SIG (outil « Simplifier », tolérance 0,5 m) ou découpez le fichier.",
                            "import", "fichier")


def _resoudre_systeme(geometries: gpd.GeoSeries, nom: str, format_: str, declare: CRS | None,
                      avertissements: list[str]) -> tuple[gpd.GeoSeries, CRS]:
    """Système du fichier, ou celui indiqué si le fichier n'en déclare pas (ou un GeoJSON en mètres)."""
    crs_fichier = geometries.crs
    if crs_fichier is None:
        if declare is None:
            if format_ == "shapefile":
                raise ErreurDonnees(
                    f"{nom} : fichier .prj absent de l'archive, le système de coordonnées du Shapefile est "
                    "inconnu. Ajoutez le .prj dans le zip, ou indiquez le système de coordonnées (par "
                    "exemple EPSG:2154 pour Lambert-93, EPSG:4326 pour des degrés WGS84).", "import", "crs")
            raise ErreurDonnees(f"{nom} : système de coordonnées non déclaré. Indiquez-le (par exemple "
                                "EPSG:2154 pour Lambert-93).", "import", "crs")
        return geometries.set_crs(declare), declare
    crs_fichier = CRS.from_user_input(crs_fichier)
    if declare is not None and not crs_fichier.equals(declare):
        if format_ == "geojson" and crs_fichier.equals(CRS_STOCKAGE) and entites_hors_degres(geometries).any():
            avertissements.append(f"{nom} : coordonnées lues dans le système déclaré {declare.to_string()}.")
            return geometries.set_crs(declare, allow_override=True), declare
        avertissements.append(
            f"{nom} : le fichier déclare son système de coordonnées ({crs_fichier.to_string()}) ; le système "
            f"indiqué ({declare.to_string()}) est ignoré.")
    return geometries, crs_fichier


def _vers_wgs84(geometries: gpd.GeoSeries, nom: str, crs_fichier: CRS) -> gpd.GeoSeries:
    """Contrôle des coordonnées (degrés dans un système en mètres), puis reprojection en WGS84."""
    verifier_degres_dans_metres(geometries.values, crs_fichier, nom, CORRECTION_DEGRES)
    try:
        geometries = en_wgs84(geometries)
    except ERREURS_LECTURE as exc:
        raise ErreurDonnees(f"{nom} : reprojection impossible depuis {crs_fichier.to_string()} "
                            f"({nettoyer_exception(exc)}).", "import", "crs") from None
    if entites_hors_degres(geometries).any():
        raise ErreurDonnees(
            f"{nom} : coordonnées hors des limites de la longitude et de la latitude. Le fichier est sans "
            "doute en mètres (Lambert-93 ?) sans le déclarer : indiquez son système de coordonnées (par "
            "exemple EPSG:2154).", "import", "crs")
    return geometries


def _lire_sig(chemin: Path, nom: str, format_: str, couche: str | None, crs_declare: str | None) -> TableImportee:
    """Table d'un fichier SIG : attributs, géométries 2D en WGS84, avertissements de lecture."""
    avertissements: list[str] = []
    declare = lire_systeme(crs_declare, nom)
    table, nom_couche = _lire_table(chemin, nom, format_, couche)
    geometries = gpd.GeoSeries(table.geometry.values, crs=table.crs)
    geometries, crs_fichier = _resoudre_systeme(geometries, nom, format_, declare, avertissements)
    geometries = _vers_wgs84(geometries, nom, crs_fichier)
    valeurs = list(geometries.values)
    avec_z = [g is not None and not g.is_empty and shapely.has_z(g) for g in valeurs]
    if any(avec_z):
        valeurs = [shapely.force_2d(g) if z else g for g, z in zip(valeurs, avec_z)]
        avertissements.append(f"{nom} : altitudes (coordonnées Z) ignorées ; les zones sont gardées en 2D.")
    attributs = _attributs(table.drop(columns=table.geometry.name))
    return TableImportee(
        nom_fichier=nom, format=format_, donnees=attributs, numeros=list(range(1, len(table) + 1)),
        geometries=valeurs, unite="entité", crs_source=crs_fichier.to_string(), couche=nom_couche,
        avertissements=avertissements)
