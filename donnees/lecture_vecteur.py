"""Lecture des fichiers vectoriels (pyogrio) et contrôles de leur système de coordonnées.

Partagé par les deux importeurs : :mod:`donnees.import_referentiel` (communes, cadastre, occupation du sol)
et :mod:`donnees.import_operations` (opérations). Une seule règle pour « des coordonnées en degrés » :
longitude entre -180 et 180, latitude entre -90 et 90. Des degrés dans un fichier déclaré en mètres
(Lambert-93…) forment un carré de 180 m près de l'origine du système, invraisemblable pour un territoire :
le fichier est refusé, ou les seules entités fautives sont citées.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from donnees.erreurs import ErreurDonnees

# Erreurs d'un fichier illisible par GDAL (pyogrio) ou d'une reprojection impossible (pyproj) : toutes les
# erreurs de pyogrio et de pyproj dérivent de RuntimeError.
ERREURS_LECTURE = (RuntimeError, OSError, ValueError, TypeError)

NB_CITES = 10


def citer(valeurs, n: int = NB_CITES) -> str:
    """Les ``n`` premières valeurs séparées par des virgules, puis le nombre total s'il y en a plus."""
    valeurs = list(valeurs)
    return ", ".join(str(v) for v in valeurs[:n]) + (f" … ({len(valeurs)} en tout)" if len(valeurs) > n else "")


def nettoyer_exception(exc: BaseException) -> str:
    """Détail technique (souvent en anglais, venant de GDAL) à mettre entre parenthèses."""
    texte = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    texte = re.sub(r"\S*desimper-import-[^/\s]*/", "", texte)  # pas de chemin temporaire dans le message
    # Ni aucun autre chemin du serveur : un chemin absolu est réduit à son dernier élément.
    texte = re.sub(r"(?<![\w.])(?:[A-Za-z]:)?[/\\](?:[^\s'\"/\\]+[/\\])+([^\s'\"/\\]*)", r"\1", texte)
    return f"détail technique : {texte[:200]}"


def lire_systeme(valeur: str | None, nom: str) -> CRS | None:
    """Système de coordonnées indiqué par l'utilisateur (None si rien n'est indiqué) ; lève s'il est inconnu."""
    if valeur is None or (isinstance(valeur, str) and not valeur.strip()):
        return None
    try:
        return CRS.from_user_input(valeur.strip() if isinstance(valeur, str) else valeur)
    except CRSError:
        raise ErreurDonnees(f"{nom} : système de coordonnées « {valeur} » inconnu. Indiquez un code EPSG, "
                            "par exemple EPSG:2154 (Lambert-93) ou EPSG:4326 (WGS84).", "import",
                            "crs") from None


def lister_couches(chemin: Path) -> list[tuple[str, str]]:
    """Couches du fichier (nom, type de géométrie) ; lève une erreur de :data:`ERREURS_LECTURE` si illisible."""
    return [(str(n), str(t)) for n, t in pyogrio.list_layers(chemin)]


def lire_infos(chemin: Path, couche: str | None = None) -> dict:
    """Description d'une couche (système, champs, type de géométrie) sans lire ses entités."""
    return pyogrio.read_info(chemin, layer=couche)


def lire_entites(chemin: Path, couche: str | None = None, **options) -> gpd.GeoDataFrame:
    """Entités d'une couche (pyogrio) ; ``options`` : ``bbox``, ``where``, ``max_features``, ``columns``."""
    return pyogrio.read_dataframe(chemin, layer=couche, **options)


def _refus_geopackage(nom: str, raison: str) -> ErreurDonnees:
    return ErreurDonnees(f"{nom} : GeoPackage refusé, {raison}. Exportez de nouveau la couche depuis votre SIG "
                         "(GeoPackage simple, sans vue ni déclencheur), ou envoyez-la en GeoJSON.", "import", "fichier")


def neutraliser_geopackage(copie: Path, nom: str, secondes: float) -> None:
    """Supprime vues et déclencheurs d'une **copie** de GeoPackage téléversé, avant toute lecture par GDAL.

    Une vue (récursive, coûteuse) ou un déclencheur ne sont ainsi jamais exécutés : seules les tables de base
    restent, et leurs entrées de ``gpkg_contents`` / ``gpkg_geometry_columns``. Le travail est borné par un
    gestionnaire de progression SQLite (au-delà de ``secondes``, la requête est interrompue). Une colonne
    calculée (évaluée à la lecture) est refusée. Lève :class:`ErreurDonnees` (message français) sinon.
    """
    fin = time.monotonic() + secondes
    try:
        conn = sqlite3.connect(copie, isolation_level=None)
    except sqlite3.Error:
        raise _refus_geopackage(nom, "fichier illisible (ce n'est pas une base SQLite)") from None
    conn.set_progress_handler(lambda: int(time.monotonic() > fin), 100)

    def executer(sql: str, parametres: tuple = ()) -> list:
        if time.monotonic() > fin:  # entre deux requêtes aussi : la borne vaut pour tout le nettoyage
            raise sqlite3.OperationalError("interrupted")
        return conn.execute(sql, parametres).fetchall()

    try:
        executer("PRAGMA trusted_schema=OFF")
        objets = executer("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view') "
                          "ORDER BY type = 'view'")
        for genre, objet in objets:
            executer(f'DROP {"TRIGGER" if genre == "trigger" else "VIEW"} IF EXISTS '
                     f'"{str(objet).replace(chr(34), chr(34) * 2)}"')
        tables = {r[0] for r in executer("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for meta in ("gpkg_contents", "gpkg_geometry_columns"):
            if meta in tables:
                for table in {r[0] for r in executer(f"SELECT table_name FROM {meta}")} - tables:
                    executer(f"DELETE FROM {meta} WHERE table_name = ?", (table,))
        for table in sorted(tables):
            colonnes = executer(f'PRAGMA table_xinfo("{table.replace(chr(34), chr(34) * 2)}")')
            if any(c[6] in (2, 3) for c in colonnes):  # colonne « GENERATED ALWAYS » (virtuelle ou stockée)
                raise _refus_geopackage(nom, f"la table « {table[:60]} » a une colonne calculée")
        if executer("SELECT count(*) FROM sqlite_master WHERE type IN ('trigger', 'view')")[0][0]:
            raise _refus_geopackage(nom, "vues ou déclencheurs impossibles à retirer")
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc).lower():
            raise _refus_geopackage(nom, f"lecture interrompue après {secondes:g} s (fichier fait pour boucler "
                                         "ou démesuré)") from None
        raise _refus_geopackage(nom, "structure illisible") from None
    except sqlite3.Error:
        raise _refus_geopackage(nom, "fichier illisible ou corrompu") from None
    finally:
        conn.close()


def est_polygonal(type_couche: str) -> bool:
    """Vrai pour une couche de polygones (Polygon, MultiPolygon, avec ou sans Z)."""
    return "polygon" in str(type_couche).lower()


# ------------------------------------------------------------------------------ contrôles du système


def _bornes(geometries) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bornes de chaque entité (NaN pour une géométrie absente ou vide)."""
    valeurs = np.asarray(geometries.values if hasattr(geometries, "values") else geometries, dtype=object)
    return tuple(shapely.bounds(valeurs).T)


def entites_en_degres(geometries) -> np.ndarray:
    """Par entité : vrai si toutes ses coordonnées tiennent dans [-180, 180] × [-90, 90] (faux si vide)."""
    xmin, ymin, xmax, ymax = _bornes(geometries)
    return (np.abs(xmin) <= 180) & (np.abs(xmax) <= 180) & (np.abs(ymin) <= 90) & (np.abs(ymax) <= 90)


def entites_hors_degres(geometries) -> np.ndarray:
    """Par entité : vrai si une coordonnée sort de [-180, 180] × [-90, 90] (faux si vide)."""
    xmin, ymin, xmax, ymax = _bornes(geometries)
    return (xmin < -180) | (xmax > 180) | (ymin < -90) | (ymax > 90)


def verifier_degres_dans_metres(geometries, crs, lieu: str, correction: str,
                                citer_entites: Callable = citer) -> None:
    """Refuse des coordonnées en degrés dans un fichier déclaré en mètres (Lambert-93…).

    Tout le fichier : message avec ``correction`` ; une partie seulement : les entités fautives sont citées
    (rang à partir de 1). Sans effet si le système n'est pas projeté. ``lieu`` commence le message
    (« Fichier communes.shp », « zones.gpkg »).
    """
    crs = CRS.from_user_input(crs) if crs is not None else None
    if crs is None or not crs.is_projected or not len(geometries):
        return
    en_degres = entites_en_degres(geometries)
    systeme = crs.to_string()
    if en_degres.all():
        raise ErreurDonnees(f"{lieu} : coordonnées en degrés alors que le système déclaré ({systeme}) est en "
                            f"mètres. {correction}", "import", "crs")
    if en_degres.any():
        lignes = np.flatnonzero(en_degres) + 1
        raise ErreurDonnees(
            f"{lieu} : systèmes de coordonnées mélangés, les entités {citer_entites(lignes)} sont en degrés "
            f"et les autres en mètres ({systeme}). Exportez tout le fichier dans un même système.",
            "import", "crs")


def verifier_dans_wgs84(geometries, lieu: str, conseil: str, citer_entites: Callable = citer) -> None:
    """Refuse des coordonnées hors des bornes de WGS84 dans un fichier en degrés (système absent ou faux)."""
    if not len(geometries):
        return
    hors = entites_hors_degres(geometries)
    if hors.all():
        raise ErreurDonnees(f"{lieu} : coordonnées hors des bornes de WGS84 alors qu'aucun autre système n'est "
                            f"déclaré (système de coordonnées absent ?). {conseil}", "import", "crs")
    if hors.any():
        lignes = np.flatnonzero(hors) + 1
        raise ErreurDonnees(
            f"{lieu} : systèmes de coordonnées mélangés, les entités {citer_entites(lignes)} ont des "
            "coordonnées hors de WGS84 et les autres non. Exportez tout le fichier dans un même système.",
            "import", "crs")
