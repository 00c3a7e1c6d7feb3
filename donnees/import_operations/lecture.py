"""Lecture d'un fichier d'opérations en :class:`TableImportee` (taille, format, SIG, CSV, XLSX)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from donnees.format import formater_nombre
from donnees.import_operations.archives import (
    _choisir_dans_archive,
    _extraire_archive,
    _ouvrir_archive,
)
from donnees.import_operations.seuils import MIO, limite
from donnees.import_operations.sig import _lire_sig
from donnees.import_operations.tables import TableImportee
from donnees.import_operations.tableurs import _lire_csv, _lire_xlsx
from donnees.erreurs import ErreurDonnees

TAILLE_MAX_FICHIER = int(limite("taille_max_fichier_mo") * MIO)  # octets du fichier envoyé (limites_import.json)
FORMATS = {
    ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shapefile", ".kml": "kml",
    ".kmz": "kmz", ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx",
}
FORMATS_ACCEPTES = ("GeoJSON (.geojson, .json), GeoPackage (.gpkg), Shapefile zippé (.zip contenant "
                    ".shp, .dbf, .shx et .prj), KML (.kml, .kmz), CSV (.csv, .tsv, .txt) et Excel "
                    "(.xlsx, modèle Désimper)")
_CONSEILS_EXTENSION = {
    ".shp": "Un Shapefile s'envoie zippé : mettez le .shp, le .dbf, le .shx et le .prj dans une "
            "archive .zip.",
    ".dbf": "Un Shapefile s'envoie zippé : mettez le .shp, le .dbf, le .shx et le .prj dans une "
            "archive .zip.",
    ".xls": "Enregistrez le classeur au format .xlsx (Excel 2007 et plus) ou téléchargez le modèle.",
    ".ods": "Enregistrez le classeur au format .xlsx ou exportez la feuille en CSV.",
}


# ------------------------------------------------------------------------------- lecture : octets


def _lire_octets(source: Any, nom_fichier: str | None) -> tuple[bytes, str]:
    """Octets du fichier et son nom, après contrôle de la taille (avant toute lecture complète)."""
    limite = TAILLE_MAX_FICHIER

    def trop_gros(taille, nom):
        return ErreurDonnees(
            f"{nom} : fichier trop volumineux ({formater_nombre(taille, 0, 'octets')}, soit plus que le maximum de "
            f"{formater_nombre(limite / 1024 / 1024, 0, 'Mo')}). Découpez-le en plusieurs fichiers ou simplifiez "
            "les géométries.",
            "import", "fichier")

    if isinstance(source, (str, os.PathLike)):
        chemin = Path(source)
        nom = nom_fichier or chemin.name
        if not chemin.is_file():
            raise ErreurDonnees(f"{nom} : fichier introuvable ({chemin}).", "import", "fichier")
        taille = chemin.stat().st_size
        if taille > limite:
            raise trop_gros(taille, nom)
        return chemin.read_bytes(), nom
    if isinstance(source, (bytes, bytearray, memoryview)):
        nom = nom_fichier or getattr(source, "name", None)
        if not nom:
            raise ErreurDonnees("Nom du fichier manquant : il faut son extension pour reconnaître le format "
                                f"({FORMATS_ACCEPTES}).", "import", "fichier")
        if len(source) > limite:
            raise trop_gros(len(source), nom)
        return bytes(source), nom
    if hasattr(source, "read"):
        nom = nom_fichier or getattr(source, "name", None)
        if not nom:
            raise ErreurDonnees("Nom du fichier manquant : il faut son extension pour reconnaître le format "
                                f"({FORMATS_ACCEPTES}).", "import", "fichier")
        taille = getattr(source, "size", None)
        if taille is None and hasattr(source, "seek") and hasattr(source, "tell"):
            position = source.tell()
            source.seek(0, os.SEEK_END)
            taille = source.tell() - position
            source.seek(position)
        if taille is not None and taille > limite:
            raise trop_gros(taille, str(Path(str(nom)).name))
        octets = source.read(limite + 1)
        if len(octets) > limite:
            raise trop_gros(len(octets), str(Path(str(nom)).name))
        return bytes(octets), str(Path(str(nom)).name)
    raise ErreurDonnees(f"Source de fichier non reconnue ({type(source).__name__}) : chemin, octets ou "
                        "fichier ouvert attendu.", "import", "fichier")


def _format(nom: str) -> str:
    extension = Path(nom).suffix.lower()
    if extension in FORMATS:
        return FORMATS[extension]
    conseil = _CONSEILS_EXTENSION.get(extension, "")
    quoi = f"extension « {extension} » non prise en charge" if extension else "fichier sans extension"
    raise ErreurDonnees(f"{nom} : {quoi}. Formats acceptés : {FORMATS_ACCEPTES}. {conseil}".strip(),
                        "import", "fichier")


# ------------------------------------------------------------------------------- lire_fichier


def lire_fichier(chemin_ou_octets: Any, nom_fichier: str | None = None, *, couche: str | None = None,
                 crs_declare: str | None = None) -> TableImportee:
    """Lit un fichier d'opérations (GeoJSON, GeoPackage, Shapefile zippé, KML, CSV, XLSX).

    ``chemin_ou_octets`` : chemin, octets ou fichier ouvert (``UploadedFile`` de Streamlit) ;
    ``nom_fichier`` donne l'extension quand la source n'a pas de nom ; ``couche`` choisit la couche
    d'un GeoPackage (sinon la première couche de polygones) ; ``crs_declare`` (ex. « EPSG:2154 »)
    sert quand le fichier ne déclare pas son système (Shapefile sans .prj, WKT d'un CSV/XLSX).
    Lève :class:`ErreurDonnees` (message en français) si le fichier ne peut pas être lu.
    """
    octets, nom = _lire_octets(chemin_ou_octets, nom_fichier)
    format_ = _format(nom)
    if not octets:
        raise ErreurDonnees(f"{nom} : fichier vide.", "import", "fichier")
    if format_ == "csv":
        return _lire_csv(octets, nom, crs_declare)
    if format_ == "xlsx":
        return _lire_xlsx(octets, nom, crs_declare)
    with tempfile.TemporaryDirectory(prefix="desimper-import-") as dossier:
        dossier = Path(dossier)
        if format_ in ("shapefile", "kmz"):
            archive = _ouvrir_archive(octets, nom, profondeur_max=2)
            with archive:
                extraits = _extraire_archive(archive, nom, dossier)
            chemin, format_ = _choisir_dans_archive(extraits, nom, format_, couche)
            if format_ == "shapefile":
                couche = None
        else:
            chemin = dossier / f"fichier{Path(nom).suffix.lower()}"
            chemin.write_bytes(octets)
        return _lire_sig(chemin, nom, format_, couche, crs_declare)


