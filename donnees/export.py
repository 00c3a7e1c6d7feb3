"""Exports de tables : CSV pour Excel en français, XLSX, GeoJSON, GeoPackage (octets prêts à télécharger)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from donnees.geometrie import en_wgs84

SEPARATEUR_CSV = ";"
DECIMALE_CSV = ","
ENCODAGE_CSV = "utf-8-sig"  # UTF-8 avec BOM : Excel reconnaît l'encodage et les accents
TYPES_MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}


# Début de cellule qu'un tableur lit comme une formule (OWASP « CSV Injection ») : « = + - @ », tabulation,
# retour chariot. Une telle cellule de texte est préfixée d'une apostrophe, qui la garde en texte.
DEBUTS_FORMULE = ("=", "+", "-", "@", "\t", "\r")


def neutraliser_formule(valeur):
    """``valeur`` préfixée d'une apostrophe si c'est un texte qui commence comme une formule ; inchangée
    sinon (les nombres, même négatifs, restent des nombres)."""
    if isinstance(valeur, str) and valeur.startswith(DEBUTS_FORMULE):
        return "'" + valeur
    return valeur


def _sans_geometrie(table: pd.DataFrame) -> pd.DataFrame:
    if isinstance(table, gpd.GeoDataFrame):
        return pd.DataFrame(table.drop(columns=table.geometry.name))
    return table


def _preparer_tableur(table: pd.DataFrame) -> pd.DataFrame:
    """Copie sans géométrie, listes converties en texte, dates sans fuseau (Excel les refuse), textes qui
    commencent comme une formule neutralisés (:func:`neutraliser_formule`)."""
    table = _sans_geometrie(table).copy()
    for colonne in table.columns:
        serie = table[colonne]
        if serie.dtype == object and serie.map(lambda v: isinstance(v, (list, tuple, set))).any():
            table[colonne] = serie.map(lambda v: ", ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v)
        elif isinstance(serie.dtype, pd.DatetimeTZDtype):
            table[colonne] = serie.dt.tz_localize(None)
        if table[colonne].dtype == object or pd.api.types.is_string_dtype(table[colonne].dtype):
            table[colonne] = table[colonne].map(neutraliser_formule)
    return table


def exporter_csv(table: pd.DataFrame) -> bytes:
    """CSV qui s'ouvre dans Excel en français : séparateur « ; », virgule décimale, UTF-8 avec BOM, fins de
    ligne CRLF (RFC 4180) : un retour chariot dans un texte est alors mis entre guillemets, et ne coupe pas
    la ligne."""
    return _preparer_tableur(table).to_csv(sep=SEPARATEUR_CSV, decimal=DECIMALE_CSV, index=False,
                                           lineterminator="\r\n").encode(ENCODAGE_CSV)


def exporter_xlsx(table: pd.DataFrame, feuille: str = "données") -> bytes:
    """Classeur Excel (une feuille)."""
    tampon = io.BytesIO()
    with pd.ExcelWriter(tampon, engine="openpyxl") as classeur:
        _preparer_tableur(table).to_excel(classeur, sheet_name=feuille[:31], index=False)
    return tampon.getvalue()


def _preparer_geographique(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    table = en_wgs84(table, copier=True)
    for colonne in table.columns:
        if colonne == table.geometry.name:
            continue
        serie = table[colonne]
        if serie.dtype == object and serie.map(lambda v: isinstance(v, (list, tuple, set, dict))).any():
            table[colonne] = serie.map(lambda v: ", ".join(map(str, v)) if isinstance(v, (list, tuple, set))
                                       else v)
    return table


def exporter_geojson(table: gpd.GeoDataFrame) -> bytes:
    """GeoJSON en WGS84 (RFC 7946)."""
    return _preparer_geographique(table).to_json(drop_id=True, ensure_ascii=False).encode("utf-8")


def exporter_geopackage(table: gpd.GeoDataFrame, couche: str = "operations") -> bytes:
    """GeoPackage en WGS84 (une couche)."""
    with tempfile.TemporaryDirectory() as dossier:
        chemin = Path(dossier) / "export.gpkg"
        _preparer_geographique(table).to_file(chemin, layer=couche, driver="GPKG", engine="pyogrio")
        return chemin.read_bytes()
