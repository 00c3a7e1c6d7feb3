"""Import d'opérations depuis un fichier (GeoJSON, GeoPackage, Shapefile zippé, KML, CSV, XLSX).

Trois étapes, sans interface (la page Streamlit et la CLI les enchaînent) :

1. :func:`lire_fichier` lit le fichier en une :class:`TableImportee` (attributs, géométries en WGS84,
   numéros de ligne tels que l'utilisateur les voit) ; les problèmes qui empêchent toute lecture
   (format, taille, archive dangereuse, système de coordonnées inconnu) lèvent :class:`ErreurDonnees` ;
2. :func:`proposer_correspondance` associe les colonnes du fichier aux champs d'une opération ;
3. :func:`preparer_import` construit les opérations au format du magasin et une table des erreurs et
   avertissements par ligne, sans rien écrire ; :func:`importer` écrit ensuite, en une transaction.

Choix :

- géométrie invalide (contour qui se recoupe) : **erreur** par défaut, car la correction automatique
  peut changer la forme voulue (un « nœud papillon » devient deux triangles) ; avec
  ``corriger_geometries=True``, ``make_valid`` est appliqué et un avertissement invite à vérifier ;
- zone à plus de 50 % hors de sa commune : **erreur** (code INSEE ou système de coordonnées faux) ;
  entre 10 et 50 % : avertissement ;
- chevauchement avec une autre zone du fichier ou une zone déjà enregistrée, surface < 1 m² ou
  > 10 ha, surface déclarée éloignée de plus de 10 % de la surface dessinée : avertissements ;
- financeurs : le magasin exige un montant par financement ; un texte « Financeur : montant ; … » ou
  « Financeur (montant €), … » où **chaque** financeur a un montant en euros devient des
  financements ; sinon le texte est gardé tel quel dans la description (« Financeurs : … ») ;
- année seule (« 2024 ») : date de fin des travaux fixée au 31/12 de l'année, avec avertissement,
  pour une opération réalisée ou une année à venir ; une année passée d'une opération programmée ou
  en travaux (année d'engagement, d'étude…) n'est pas une fin prévue : elle est seulement notée dans
  la description (« Année indiquée : … ») ; mois et année : dernier jour du mois ; une opération
  réalisée sans date ni année est refusée (la date n'est jamais inventée) ;
- statuts et types de site en texte libre (« programme engagé », « en travaux », « école »…) : table
  ``nomenclatures/correspondances_import.csv`` (expression → code, approximatif ou non) ; une
  expression sans code y est refusée avec son explication (« étude », « diagnostic » : pas des
  opérations) ;
- colonnes de précision (``precision_surface``, ``precision_cout``) : ajoutées à la description ;
  nature de la source (``type_source``) : entre parenthèses après la source ; un coût dit « TTC » est
  gardé tel quel (avertissement, aucune conversion) ;
- opérations sans géométrie (``localiser_au_centroide=True`` et couche des communes fournie) :
  carré de 10 m au centroïde de la commune, ``localisation_approximative=True``, revêtement avant =
  après (« enrobe ») ; les indicateurs et les modèles sur grille écartent ces emplacements
  (:func:`indicateurs.communs.ecarter_zones_approximatives`) ; la surface déclarée reste celle du
  fichier (vide si absente, jamais inventée), affichée mais pas comptée en m² désimperméabilisés ;
- commune absente de la couche des communes : ligne refusée (« hors du territoire ») ;
- opération déjà enregistrée (même commune, même nom, parmi celles que le compte voit) : ligne
  refusée ; réimporter un fichier en « lignes valides » n'ajoute que les nouvelles lignes ;
- la validation n'est pas importée : toute opération importée est « à valider » ;
- plusieurs lignes de même clé (colonne « opération »/« clé », sinon même nom et même commune)
  forment une seule opération à plusieurs zones ; les champs de l'opération sont pris sur la première
  ligne qui les renseigne (avertissement si une autre ligne diffère).
"""

from __future__ import annotations

import calendar
import codecs
import csv
import inspect
import io
import math
import numbers
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import Point, box
from shapely.geometry.base import BaseGeometry

from donnees import nomenclatures
from donnees.format import formater_nombre
from donnees.magasin import verifier_operation
from donnees.schemas import CRS_CALCUL, CRS_STOCKAGE, ErreurDonnees
from donnees.schemas import decrire_invalidite as _raison_invalidite

__all__ = [
    "ApercuImport",
    "CHAMPS_IMPORT",
    "FORMATS_ACCEPTES",
    "RapportImport",
    "TableImportee",
    "generer_modele_xlsx",
    "importer",
    "importer_fichier",
    "lire_fichier",
    "preparer_import",
    "proposer_correspondance",
]

# ------------------------------------------------------------------------------------- limites

TAILLE_MAX_FICHIER = 50 * 1024 * 1024          # octets du fichier envoyé
TAILLE_MAX_DECOMPRESSEE = 200 * 1024 * 1024    # total décompressé d'une archive (zip, kmz, xlsx)
RATIO_MAX_COMPRESSION = 100                    # au-delà (fichier > 1 Mo), archive refusée (bombe)
TAILLE_RATIO_CONTROLE = 1024 * 1024
NB_MAX_FICHIERS_ARCHIVE = 500
SURFACE_MIN_M2 = 1.0
SURFACE_MAX_M2 = 100_000.0                     # 10 ha
PART_MAX_HORS_COMMUNE = 0.5
PART_ALERTE_HORS_COMMUNE = 0.1
CHEVAUCHEMENT_MIN_M2 = 1.0
ECART_SURFACE_DECLAREE = 0.10
COTE_EMPLACEMENT_M = 10.0
PAS_EMPLACEMENT_M = 15.0
REVETEMENT_EMPLACEMENT = "enrobe"
ANNEE_MIN, ANNEE_MAX = 1950, 2100
MODES = ("tout_ou_rien", "lignes_valides")

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

CRS_L93 = CRS_CALCUL

# ------------------------------------------------------------------------------------- champs

CHAMPS_IMPORT: dict[str, str] = {
    "cle_operation": "clé de l'opération",
    "code_insee": "code INSEE de la commune",
    "nom": "nom",
    "type_site": "type de site",
    "statut": "statut",
    "date_fin_travaux": "date de fin des travaux",
    "annee": "année",
    "maitre_ouvrage": "maître d'ouvrage",
    "cout_ht_eur": "coût HT (€)",
    "financements": "financements",
    "surface_declaree_m2": "surface déclarée (m²)",
    "arbres_plantes": "arbres plantés",
    "deconnexion_reseau": "déconnexion du réseau",
    "volume_stockage_m3": "volume de stockage (m³)",
    "description": "description",
    "retour_experience": "retour d'expérience",
    "contact": "contact",
    "source": "source",
    "type_source": "nature de la source",
    "precision_surface": "précision sur la surface",
    "precision_cout": "précision sur le coût",
    "geometrie_wkt": "géométrie (WKT)",
    "parcelles": "parcelles cadastrales",
    "revetement_avant": "revêtement avant travaux",
    "revetement_apres": "revêtement après travaux",
}
CHAMPS_OBLIGATOIRES = ("nom", "type_site", "statut")
CHAMPS_ZONE = ("cle_operation", "geometrie_wkt", "parcelles", "revetement_avant", "revetement_apres")
_LIBELLES = {**CHAMPS_IMPORT, "geometrie": "géométrie", "zones": "zones", "fichier": "fichier",
             "colonnes": "colonnes"}

# Synonymes des en-têtes (comparés après normalisation : minuscules, sans accents ni mots vides).
SYNONYMES: dict[str, tuple[str, ...]] = {
    "cle_operation": ("cle_operation", "cle", "operation", "id_operation", "identifiant_operation",
                      "code_operation", "ref_operation", "reference_operation", "numero_operation",
                      "num_operation", "n_operation", "id", "identifiant", "fid_operation"),
    "code_insee": ("code_insee", "insee", "code_commune", "code_insee_commune", "insee_com",
                   "insee_commune", "codgeo", "depcom", "cog", "code_com", "commune", "nom_commune",
                   "ville", "com"),
    "nom": ("nom", "nom_operation", "intitule", "libelle", "titre", "site", "nom_site", "projet",
            "nom_projet", "name", "designation", "operation_nom", "intitule_operation"),
    "type_site": ("type_site", "type", "categorie", "nature", "typologie", "type_espace",
                  "type_operation", "type_lieu"),
    "statut": ("statut", "etat", "avancement", "status", "etat_avancement", "statut_operation"),
    "date_fin_travaux": ("date_fin_travaux", "date", "fin_travaux", "date_fin", "date_realisation",
                         "date_travaux", "date_livraison", "date_reception", "date_achevement",
                         "date_fin_chantier"),
    "annee": ("annee", "annee_realisation", "annee_travaux", "year", "millesime", "annee_fin_travaux",
              "annee_fin"),
    "maitre_ouvrage": ("maitre_ouvrage", "maitrise_ouvrage", "moa", "porteur", "porteur_projet",
                       "maitre_douvrage"),
    "cout_ht_eur": ("cout_ht_eur", "cout_ht", "cout", "cout_eur", "couts", "montant", "montant_ht",
                    "cout_total", "cout_total_ht", "budget", "prix", "montant_travaux", "cout_travaux",
                    "depense", "depenses", "cout_operation"),
    "financements": ("financements", "financeurs", "financeur", "financement", "aides", "aide",
                     "subventions", "subvention", "partenaires_financiers", "cofinanceurs"),
    "surface_declaree_m2": ("surface_declaree_m2", "surface_declaree", "surface", "surface_m2",
                            "superficie", "superficie_m2", "surface_desimper_m2", "surface_desimper",
                            "surface_desimpermeabilisee", "surface_desimpermeabilisee_m2", "aire",
                            "m2", "surface_totale"),
    "arbres_plantes": ("arbres_plantes", "arbres", "nb_arbres", "nombre_arbres", "arbres_plantes_nb",
                       "nb_arbres_plantes", "nombre_arbres_plantes"),
    "deconnexion_reseau": ("deconnexion_reseau", "deconnexion", "deconnecte", "deconnexion_pluviale",
                           "eaux_pluviales_deconnectees", "deconnexion_eaux_pluviales"),
    "volume_stockage_m3": ("volume_stockage_m3", "volume_stockage", "stockage", "volume", "volume_m3",
                           "stockage_m3"),
    "description": ("description", "descriptif", "remarque", "remarques", "commentaire",
                    "commentaires", "observations", "observation", "notes", "note", "details"),
    "retour_experience": ("retour_experience", "rex", "retours_experience", "enseignements",
                          "conseils", "retex"),
    "contact": ("contact", "referent", "email", "courriel", "mail", "telephone", "contact_referent"),
    "source": ("source", "source_url", "url", "lien", "reference_source", "sources"),
    "type_source": ("type_source", "nature_source", "origine_source", "categorie_source", "type_sources"),
    "precision_surface": ("precision_surface", "precisions_surface", "note_surface", "commentaire_surface",
                          "remarque_surface", "precision_surface_m2"),
    "precision_cout": ("precision_cout", "precisions_cout", "note_cout", "commentaire_cout", "remarque_cout",
                       "precision_montant", "precision_cout_eur"),
    "geometrie_wkt": ("geometrie_wkt", "wkt", "geometrie", "geometry", "geom", "the_geom", "wkt_geom",
                      "geometrie_wgs84", "contour", "polygone", "geometrie_wkt_wgs84"),
    "parcelles": ("parcelles", "parcelle", "references_cadastrales", "reference_cadastrale",
                  "ref_cadastrale", "refs_cadastrales", "ref_cadastrales", "cadastre", "idu",
                  "id_parcelle", "id_parcelles", "parcelles_cadastrales", "parcelle_cadastrale"),
    "revetement_avant": ("revetement_avant", "avant", "revetement_initial", "revetement_existant",
                         "etat_initial", "sol_avant", "revetement_avant_travaux", "occupation_avant"),
    "revetement_apres": ("revetement_apres", "apres", "revetement_final", "revetement_projete",
                         "sol_apres", "revetement_apres_travaux", "amenagement", "occupation_apres"),
}

# En-têtes du modèle XLSX (champ → en-tête affiché), dans l'ordre des colonnes.
ENTETES_OPERATIONS = {
    "cle_operation": "Clé opération", "code_insee": "Code INSEE", "nom": "Nom de l'opération",
    "type_site": "Type de site", "statut": "Statut",
    "date_fin_travaux": "Date de fin des travaux (jj/mm/aaaa)", "cout_ht_eur": "Coût HT (€)",
    "financements": "Financements (financeur : montant ; …)",
    "surface_declaree_m2": "Surface déclarée (m²)", "arbres_plantes": "Arbres plantés",
    "deconnexion_reseau": "Déconnexion du réseau (oui/non)",
    "volume_stockage_m3": "Volume de stockage (m³)", "maitre_ouvrage": "Maître d'ouvrage",
    "description": "Description", "retour_experience": "Retour d'expérience", "contact": "Contact",
    "source": "Source",
}
ENTETES_ZONES = {
    "cle_operation": "Clé opération", "geometrie_wkt": "Géométrie (WKT, WGS84)",
    "parcelles": "Parcelles cadastrales", "revetement_avant": "Revêtement avant",
    "revetement_apres": "Revêtement après",
}
FEUILLE_OPERATIONS, FEUILLE_ZONES, FEUILLE_AIDE = "opérations", "zones", "aide"

_MOTS_VIDES = {"de", "des", "du", "d", "la", "le", "les", "l", "en", "a", "au", "aux", "par", "pour",
               "un", "une", "et", "of", "the"}
_COLONNES_TECHNIQUES_KML = {"timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
                            "visibility", "drawOrder", "icon", "snippet"}
MOTIF_INSEE = re.compile(r"^\d[\dAB]\d{3}$")
MOTIF_ID_PARCELLE = re.compile(r"^(\d[\dAB]\d{3})([0-9A-Z]{3})([0-9A-Z]{2})(\d{4})$")
MOTIF_REF_PARCELLE = re.compile(r"^(?:(\d{3})\s*)?0*([A-Z]{1,2})\s*0*(\d{1,4})$")

# Traductions des raisons d'invalidité de GEOS.


# ------------------------------------------------------------------------------------- outils


def _normaliser(texte: Any) -> str:
    """Texte comparable : minuscules, sans accents, parenthèses, ponctuation ni mots vides."""
    if texte is None:
        return ""
    texte = str(texte).replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    texte = unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode("ascii").lower()
    texte = re.sub(r"\([^)]*\)", " ", texte)
    mots = [m for m in re.findall(r"[a-z0-9]+", texte) if m not in _MOTS_VIDES]
    return "_".join(mots)


def _est_vide(valeur: Any) -> bool:
    if valeur is None or valeur is pd.NA or valeur is pd.NaT:
        return True
    if isinstance(valeur, (float, np.floating)) and math.isnan(valeur):
        return True
    if isinstance(valeur, str) and not valeur.strip():
        return True
    try:
        return bool(pd.isna(valeur)) if np.ndim(valeur) == 0 and not isinstance(valeur, str) else False
    except (TypeError, ValueError):
        return False


def _euros(montant: float) -> str:
    return f"{montant:,.2f}".replace(",", " ").replace(".", ",").removesuffix(",00") + " €"


def _m2(surface: float) -> str:
    return formater_nombre(surface, 0 if surface >= 10 else 2, "m²")


class _Probleme(Exception):
    """Valeur illisible ou hors domaine (message français déjà rédigé)."""


# ------------------------------------------------------------------------------- dataclasses


@dataclass
class TableImportee:
    """Contenu d'un fichier lu : attributs, géométries WGS84 et numéros de ligne vus par l'utilisateur."""

    nom_fichier: str
    format: str
    donnees: pd.DataFrame
    numeros: list[int]
    geometries: list | None = None
    unite: str = "ligne"
    feuille: str | None = None
    zones: TableImportee | None = None
    crs_source: str | None = None
    crs_wkt: str = CRS_STOCKAGE
    couche: str | None = None
    encodage: str | None = None
    separateur: str | None = None
    avertissements: list[str] = field(default_factory=list)
    problemes: list[dict] = field(default_factory=list)

    @property
    def colonnes(self) -> list[str]:
        """Colonnes d'attributs du fichier."""
        return [str(c) for c in self.donnees.columns]

    @property
    def a_geometrie(self) -> bool:
        """Vrai pour les formats SIG (géométrie native)."""
        return self.geometries is not None

    def __len__(self) -> int:
        return len(self.donnees)


@dataclass
class ApercuImport:
    """Résultat de :func:`preparer_import` : opérations valides, erreurs par ligne, aperçu."""

    nom_fichier: str
    operations: list[dict]
    erreurs: pd.DataFrame
    lignes_valides: list[int]
    lignes_en_erreur: list[int]
    apercu: gpd.GeoDataFrame
    correspondance: dict[str, str]
    nb_operations: int = 0
    lignes_operations: list[list[int]] = field(default_factory=list)

    @property
    def nb_erreurs(self) -> int:
        return int((self.erreurs["niveau"] == "erreur").sum()) if len(self.erreurs) else 0

    @property
    def nb_avertissements(self) -> int:
        return int((self.erreurs["niveau"] == "avertissement").sum()) if len(self.erreurs) else 0

    @property
    def a_des_erreurs(self) -> bool:
        return self.nb_erreurs > 0

    def resume(self, nb_messages: int = 20) -> str:
        """Résumé en français (pour la CLI) : comptes puis premiers messages."""
        lignes = [f"{self.nom_fichier} : {self.nb_operations} opération(s) lue(s), {len(self.operations)} "
                  f"valide(s) ; {self.nb_erreurs} erreur(s), {self.nb_avertissements} avertissement(s)."]
        for message in self.erreurs["message"].head(nb_messages):
            lignes.append(f"- {message}")
        if len(self.erreurs) > nb_messages:
            lignes.append(f"… et {len(self.erreurs) - nb_messages} autre(s) message(s).")
        return "\n".join(lignes)


@dataclass
class RapportImport:
    """Résultat de :func:`importer`."""

    mode: str
    ecrit: bool
    identifiants: list[int]
    lignes_importees: list[int]
    lignes_refusees: list[int]
    message: str
    erreurs: pd.DataFrame

    @property
    def nb_operations(self) -> int:
        return len(self.identifiants)


# ------------------------------------------------------------------------------- lecture : octets


def _lire_octets(source: Any, nom_fichier: str | None) -> tuple[bytes, str]:
    """Octets du fichier et son nom, après contrôle de la taille (avant toute lecture complète)."""
    limite = TAILLE_MAX_FICHIER
    trop_gros = (lambda taille, nom: ErreurDonnees(
        f"{nom} : fichier trop volumineux ({formater_nombre(taille, 0, 'octets')}, soit plus que le maximum de "
        f"{formater_nombre(limite / 1024 / 1024, 0, 'Mo')}). Découpez-le en plusieurs fichiers ou simplifiez les "
        "géométries.",
        "import", "fichier"))
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


# ------------------------------------------------------------------------------- archives


def _ouvrir_archive(octets: bytes, nom: str, profondeur_max: int | None,
                    illisible: str | None = None) -> zipfile.ZipFile:
    """Ouvre une archive ZIP après contrôle de son contenu (chemins, tailles, taux de compression)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(octets))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ErreurDonnees(illisible or f"{nom} : archive ZIP illisible ou corrompue. Recréez-la (clic droit "
                            "→ « Compresser ») et renvoyez-la.", "import", "fichier") from None
    if len(infos) > NB_MAX_FICHIERS_ARCHIVE:
        raise ErreurDonnees(f"{nom} : archive refusée, trop de fichiers ({len(infos)} ; maximum "
                            f"{NB_MAX_FICHIERS_ARCHIVE}).", "import", "fichier")
    total = 0
    for info in infos:
        chemin = info.filename.replace("\\", "/")
        parties = [p for p in chemin.split("/") if p]
        if chemin.startswith("/") or re.match(r"^[A-Za-z]:", chemin) or ".." in parties:
            raise ErreurDonnees(f"{nom} : archive refusée, chemin interdit « {info.filename} » (chemin "
                                "absolu ou remontant avec « .. »). Recréez l'archive avec les seuls "
                                "fichiers utiles.", "import", "fichier")
        if parties and parties[0] == "__MACOSX":
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ErreurDonnees(f"{nom} : archive refusée, « {info.filename} » est un lien symbolique.",
                                "import", "fichier")
        if profondeur_max is not None and len(parties) > profondeur_max:
            raise ErreurDonnees(f"{nom} : archive refusée, chemin trop imbriqué « {info.filename} » "
                                f"(au plus {profondeur_max - 1} dossier). Placez les fichiers à la racine "
                                "de l'archive.", "import", "fichier")
        if info.flag_bits & 0x1:
            raise ErreurDonnees(f"{nom} : archive protégée par un mot de passe : envoyez-la sans mot de "
                                "passe.", "import", "fichier")
        total += info.file_size
        if (info.file_size > TAILLE_RATIO_CONTROLE
                and info.file_size > RATIO_MAX_COMPRESSION * max(info.compress_size, 1)):
            raise ErreurDonnees(f"{nom} : archive refusée, « {info.filename} » est anormalement compressé "
                                f"({info.file_size / max(info.compress_size, 1):.0f} fois ; maximum "
                                f"{RATIO_MAX_COMPRESSION}) : risque de bombe de décompression.",
                                "import", "fichier")
    if total > TAILLE_MAX_DECOMPRESSEE:
        raise ErreurDonnees(f"{nom} : archive refusée, son contenu décompressé ferait "
                            f"{total / 1024 / 1024:.0f} Mo (maximum {TAILLE_MAX_DECOMPRESSEE / 1024 / 1024:.0f}"
                            " Mo).", "import", "fichier")
    return archive


def _extraire_archive(archive: zipfile.ZipFile, nom: str, dossier: Path) -> list[Path]:
    """Extrait à plat (noms de base seulement), en comptant les octets réellement décompressés."""
    restant = TAILLE_MAX_DECOMPRESSEE
    extraits: list[Path] = []
    for info in archive.infolist():
        chemin = info.filename.replace("\\", "/")
        parties = [p for p in chemin.split("/") if p]
        if info.is_dir() or not parties or parties[0] == "__MACOSX" or parties[-1].startswith("._"):
            continue
        cible = dossier / PurePosixPath(parties[-1]).name
        if cible.exists():
            raise ErreurDonnees(f"{nom} : archive refusée, deux fichiers s'appellent « {cible.name} ». "
                                "Gardez un seul jeu de fichiers.", "import", "fichier")
        try:
            with archive.open(info) as source, open(cible, "wb") as destination:
                while morceau := source.read(1024 * 1024):
                    restant -= len(morceau)
                    if restant < 0:
                        raise ErreurDonnees(f"{nom} : archive refusée, son contenu décompressé dépasse "
                                            f"{TAILLE_MAX_DECOMPRESSEE / 1024 / 1024:.0f} Mo.",
                                            "import", "fichier")
                    destination.write(morceau)
        except ErreurDonnees:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise ErreurDonnees(f"{nom} : archive corrompue (« {info.filename} » illisible : {exc}). "
                                "Recréez-la et renvoyez-la.", "import", "fichier") from None
        extraits.append(cible)
    return extraits


# ------------------------------------------------------------------------------- lecture : SIG


def _crs(valeur: str | None, nom: str) -> CRS | None:
    if valeur is None or (isinstance(valeur, str) and not valeur.strip()):
        return None
    try:
        return CRS.from_user_input(valeur.strip() if isinstance(valeur, str) else valeur)
    except CRSError:
        raise ErreurDonnees(f"{nom} : système de coordonnées « {valeur} » inconnu. Indiquez un code EPSG, "
                            "par exemple EPSG:2154 (Lambert-93) ou EPSG:4326 (WGS84).", "import",
                            "crs") from None


def _est_polygonal(type_couche: str) -> bool:
    return "polygon" in str(type_couche).lower()


def _choisir_couche(chemin: Path, nom: str, couche: str | None) -> str | None:
    try:
        couches = [(str(n), str(t)) for n, t in pyogrio.list_layers(chemin)]
    except Exception as exc:  # noqa: BLE001 - tout fichier illisible par GDAL
        raise ErreurDonnees(f"{nom} : fichier illisible ({_nettoyer_exception(exc)}). Vérifiez qu'il "
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
        if _est_polygonal(t):
            return n
    for n, t in couches:  # type « Unknown » : on regarde le contenu
        if t.lower() in ("unknown", "geometry", "geometrycollection"):
            try:
                essai = pyogrio.read_dataframe(chemin, layer=n, columns=[], max_features=1000)
            except Exception:  # noqa: BLE001
                continue
            if any(g is not None and "Polygon" in g.geom_type for g in essai.geometry):
                return n
    if len(couches) == 1:
        return couches[0][0]
    raise ErreurDonnees(f"{nom} : aucune couche de polygones. Couches du fichier : {liste}. Indiquez la "
                        "couche à lire.", "import", "couche")


def _nettoyer_exception(exc: Exception) -> str:
    """Détail technique (souvent en anglais, venant de GDAL) à mettre entre parenthèses."""
    texte = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    texte = re.sub(r"\S*desimper-import-[^/\s]*/", "", texte)  # pas de chemin temporaire dans le message
    return f"détail technique : {texte[:200]}"


def _attributs(table: pd.DataFrame) -> pd.DataFrame:
    """Attributs en objets Python (None pour les valeurs absentes), noms de colonnes en texte."""
    resultat = pd.DataFrame(index=range(len(table)))
    for colonne in table.columns:
        valeurs = table[colonne].astype(object).tolist()
        resultat[str(colonne)] = pd.Series([None if _est_vide(v) else v for v in valeurs], dtype=object)
    return resultat


def _lire_sig(chemin: Path, nom: str, format_: str, couche: str | None, crs_declare: str | None) -> TableImportee:
    avertissements: list[str] = []
    declare = _crs(crs_declare, nom)
    if format_ == "kml":
        try:
            couches = [str(n) for n, _ in pyogrio.list_layers(chemin)]
        except Exception as exc:  # noqa: BLE001
            raise ErreurDonnees(f"{nom} : KML illisible ({_nettoyer_exception(exc)}).", "import",
                                "fichier") from None
        if couche:
            if couche not in couches:
                raise ErreurDonnees(f"{nom} : dossier « {couche} » absent. Dossiers du fichier : "
                                    f"{', '.join(couches)}.", "import", "couche")
            couches = [couche]
        morceaux = []
        for n in couches:
            try:
                morceau = pyogrio.read_dataframe(chemin, layer=n)
            except Exception as exc:  # noqa: BLE001
                raise ErreurDonnees(f"{nom} : KML illisible ({_nettoyer_exception(exc)}).", "import",
                                    "fichier") from None
            if len(morceau):
                morceaux.append(morceau)
        if not morceaux:
            raise ErreurDonnees(f"{nom} : aucun objet (Placemark) dans le fichier KML.", "import", "fichier")
        table = pd.concat(morceaux, ignore_index=True) if len(morceaux) > 1 else morceaux[0]
        table = gpd.GeoDataFrame(table, geometry="geometry", crs=morceaux[0].crs)
        nom_couche = couche
        techniques = [c for c in table.columns if c in _COLONNES_TECHNIQUES_KML
                      or (c == "id" and table[c].isna().all())]
        table = table.drop(columns=techniques)
    else:
        nom_couche = _choisir_couche(chemin, nom, couche)
        try:
            table = pyogrio.read_dataframe(chemin, layer=nom_couche)
        except Exception as exc:  # noqa: BLE001
            raise ErreurDonnees(f"{nom} : couche « {nom_couche} » illisible ({_nettoyer_exception(exc)}).",
                                "import", "fichier") from None
    if not isinstance(table, gpd.GeoDataFrame) or table.geometry.name not in table.columns:
        raise ErreurDonnees(f"{nom} : la couche « {nom_couche} » n'a pas de géométrie. Choisissez une couche de "
                            "polygones, ou exportez la table en CSV.", "import", "couche")
    if len(table) == 0:
        raise ErreurDonnees(f"{nom} : la couche « {nom_couche} » ne contient aucun objet.", "import", "fichier")

    crs_fichier = table.crs
    geometries = gpd.GeoSeries(table.geometry.values, crs=crs_fichier)
    if crs_fichier is None:
        if declare is None:
            if format_ == "shapefile":
                raise ErreurDonnees(
                    f"{nom} : fichier .prj absent de l'archive, le système de coordonnées du Shapefile est "
                    "inconnu. Ajoutez le .prj dans le zip, ou indiquez le système de coordonnées (par "
                    "exemple EPSG:2154 pour Lambert-93, EPSG:4326 pour des degrés WGS84).", "import", "crs")
            raise ErreurDonnees(f"{nom} : système de coordonnées non déclaré. Indiquez-le (par exemple "
                                "EPSG:2154 pour Lambert-93).", "import", "crs")
        geometries = geometries.set_crs(declare)
        crs_fichier = declare
    elif declare is not None and not CRS.from_user_input(crs_fichier).equals(declare):
        if format_ == "geojson" and CRS.from_user_input(crs_fichier).equals(CRS_STOCKAGE) \
                and not _en_degres(geometries):
            geometries = geometries.set_crs(declare, allow_override=True)
            crs_fichier = declare
            avertissements.append(f"{nom} : coordonnées lues dans le système déclaré {declare.to_string()}.")
        else:
            avertissements.append(
                f"{nom} : le fichier déclare son système de coordonnées "
                f"({CRS.from_user_input(crs_fichier).to_string()}) ; le système indiqué "
                f"({declare.to_string()}) est ignoré.")
    crs_fichier = CRS.from_user_input(crs_fichier)
    if not crs_fichier.equals(CRS_STOCKAGE):
        try:
            geometries = geometries.to_crs(CRS_STOCKAGE)
        except Exception as exc:  # noqa: BLE001
            raise ErreurDonnees(f"{nom} : reprojection impossible depuis {crs_fichier.to_string()} "
                                f"({_nettoyer_exception(exc)}).", "import", "crs") from None
    if not _en_degres(geometries):
        raise ErreurDonnees(
            f"{nom} : coordonnées hors des limites de la longitude et de la latitude. Le fichier est sans "
            "doute en mètres (Lambert-93 ?) sans le déclarer : indiquez son système de coordonnées (par "
            "exemple EPSG:2154).", "import", "crs")
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


def _en_degres(geometries: gpd.GeoSeries) -> bool:
    valides = geometries[~(geometries.isna() | geometries.is_empty)]
    if not len(valides):
        return True
    xmin, ymin, xmax, ymax = valides.total_bounds
    return bool(np.isfinite([xmin, ymin, xmax, ymax]).all() and -180 <= xmin <= xmax <= 180
                and -90 <= ymin <= ymax <= 90)


# ------------------------------------------------------------------------------- lecture : CSV


def _decoder(octets: bytes) -> tuple[str, str]:
    if octets.startswith(codecs.BOM_UTF8):
        try:
            return octets[len(codecs.BOM_UTF8):].decode("utf-8"), "UTF-8 (avec BOM)"
        except UnicodeDecodeError:
            pass
    if octets.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return octets.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    for encodage, libelle in (("utf-8", "UTF-8"), ("cp1252", "Windows-1252")):
        try:
            return octets.decode(encodage), libelle
        except UnicodeDecodeError:
            continue
    return octets.decode("latin-1"), "Latin-1 (ISO-8859-1)"


def _detecter_separateur(texte: str) -> str:
    echantillon = texte[:65536]
    if len(texte) > len(echantillon) and "\n" in echantillon:
        echantillon = echantillon[:echantillon.rfind("\n")]
    meilleur, score_meilleur = ",", (-1.0, 0)
    for rang, separateur in enumerate((";", "\t", ",", "|")):
        try:
            lignes = [r for r in csv.reader(io.StringIO(echantillon), delimiter=separateur)
                      if any(c.strip() for c in r)][:50]
        except csv.Error:
            continue
        if not lignes or len(lignes[0]) < 2:
            continue
        n = len(lignes[0])
        regulieres = sum(1 for r in lignes[1:] if len(r) == n) / max(len(lignes) - 1, 1)
        score = (regulieres, n)
        if score > score_meilleur:
            meilleur, score_meilleur = separateur, score
    return meilleur


def _entetes(brutes: list[Any]) -> list[str]:
    entetes: list[str] = []
    for rang, valeur in enumerate(brutes, start=1):
        texte = "" if _est_vide(valeur) else str(valeur).strip().lstrip("\ufeff")
        texte = texte or f"colonne_{rang}"
        base, suffixe = texte, 2
        while texte in entetes:
            texte = f"{base} ({suffixe})"
            suffixe += 1
        entetes.append(texte)
    return entetes


def _lire_csv(octets: bytes, nom: str, crs_declare: str | None) -> TableImportee:
    texte, encodage = _decoder(octets)
    if not texte.strip():
        raise ErreurDonnees(f"{nom} : fichier vide.", "import", "fichier")
    separateur = _detecter_separateur(texte)
    lecteur = csv.reader(io.StringIO(texte, newline=""), delimiter=separateur)
    try:
        entete_brute = next(lecteur)
        while not any(c.strip() for c in entete_brute):
            entete_brute = next(lecteur)
    except StopIteration:
        raise ErreurDonnees(f"{nom} : fichier vide.", "import", "fichier") from None
    except csv.Error as exc:
        raise ErreurDonnees(f"{nom} : CSV illisible ({exc}).", "import", "fichier") from None
    entetes = _entetes(entete_brute)
    lignes, numeros, problemes = [], [], []
    fin_precedente = lecteur.line_num
    nom_sep = {";": "point-virgule", ",": "virgule", "\t": "tabulation", "|": "barre verticale"}[separateur]
    while True:
        try:
            ligne = next(lecteur)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ErreurDonnees(f"{nom}, ligne {lecteur.line_num} : CSV illisible ({exc}). Vérifiez les "
                                "guillemets.", "import", "fichier") from None
        numero = fin_precedente + 1
        fin_precedente = lecteur.line_num
        if not any(c.strip() for c in ligne):
            continue
        if len(ligne) > len(entetes) and any(c.strip() for c in ligne[len(entetes):]):
            problemes.append({"ligne": numero, "champ": None, "niveau": "erreur", "message":
                              f"{nom}, ligne {numero} : {len(ligne)} valeurs pour {len(entetes)} colonnes "
                              f"(séparateur détecté : {nom_sep}). Une valeur contient-elle le séparateur "
                              "sans guillemets (nombre à virgule, géométrie WKT) ? Entourez-la de "
                              "guillemets."})
        valeurs = [v.strip() for v in ligne[:len(entetes)]] + [""] * (len(entetes) - len(ligne))
        lignes.append([v if v else None for v in valeurs])
        numeros.append(numero)
    donnees = pd.DataFrame(lignes, columns=entetes, dtype=object) if lignes else \
        pd.DataFrame({c: pd.Series(dtype=object) for c in entetes})
    crs = _crs(crs_declare, nom)
    return TableImportee(nom_fichier=nom, format="csv", donnees=donnees, numeros=numeros,
                         crs_wkt=crs.to_string() if crs else CRS_STOCKAGE, encodage=encodage,
                         separateur=separateur, problemes=problemes)


# ------------------------------------------------------------------------------- lecture : XLSX


def _lire_feuille(feuille, nom: str, nom_feuille: str) -> tuple[pd.DataFrame, list[int]]:
    iterateur = feuille.iter_rows(values_only=True)
    entete_brute = None
    numero = 0
    for ligne in iterateur:
        numero += 1
        if any(not _est_vide(v) for v in ligne):
            entete_brute = list(ligne)
            break
    if entete_brute is None:
        return pd.DataFrame(), []
    while entete_brute and _est_vide(entete_brute[-1]):
        entete_brute.pop()
    entetes = _entetes(entete_brute)
    lignes, numeros = [], []
    for ligne in iterateur:
        numero += 1
        valeurs = list(ligne[:len(entetes)]) + [None] * max(0, len(entetes) - len(ligne))
        valeurs = [None if _est_vide(v) else (v.strip() if isinstance(v, str) else v) for v in valeurs]
        if all(v is None for v in valeurs):
            continue
        lignes.append(valeurs)
        numeros.append(numero)
    donnees = pd.DataFrame(lignes, columns=entetes, dtype=object) if lignes else \
        pd.DataFrame({c: pd.Series(dtype=object) for c in entetes})
    return donnees, numeros


def _lire_xlsx(octets: bytes, nom: str, crs_declare: str | None) -> TableImportee:
    import openpyxl

    _ouvrir_archive(octets, nom, profondeur_max=None,
                    illisible=f"{nom} : classeur Excel illisible ou corrompu. Ouvrez-le dans Excel ou "
                              "LibreOffice et enregistrez-le à nouveau au format .xlsx.").close()
    try:
        classeur = openpyxl.load_workbook(io.BytesIO(octets), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - classeur corrompu
        raise ErreurDonnees(f"{nom} : classeur Excel illisible ({_nettoyer_exception(exc)}). Enregistrez-le "
                            "à nouveau au format .xlsx.", "import", "fichier") from None
    try:
        par_nom = {_normaliser(f): f for f in classeur.sheetnames}
        principale = par_nom.get("operations")
        if principale is None:
            autres = [f for f in classeur.sheetnames if _normaliser(f) not in ("aide", "zones")]
            if not autres:
                raise ErreurDonnees(f"{nom} : aucune feuille de données (feuille « {FEUILLE_OPERATIONS} » "
                                    "attendue).", "import", "fichier")
            principale = autres[0]
        donnees, numeros = _lire_feuille(classeur[principale], nom, principale)
        zones = None
        if "zones" in par_nom and par_nom["zones"] != principale:
            donnees_zones, numeros_zones = _lire_feuille(classeur[par_nom["zones"]], nom, par_nom["zones"])
            if len(donnees_zones):
                zones = TableImportee(nom_fichier=nom, format="xlsx", donnees=donnees_zones,
                                      numeros=numeros_zones, feuille=par_nom["zones"])
    finally:
        classeur.close()
    if not len(donnees.columns):
        raise ErreurDonnees(f"{nom} : la feuille « {principale} » est vide (la ligne 1 doit contenir les "
                            "en-têtes).", "import", "fichier")
    crs = _crs(crs_declare, nom)
    crs_wkt = crs.to_string() if crs else CRS_STOCKAGE
    if zones is not None:
        zones.crs_wkt = crs_wkt
    return TableImportee(nom_fichier=nom, format="xlsx", donnees=donnees, numeros=numeros,
                         feuille=principale, zones=zones, crs_wkt=crs_wkt)


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


def _choisir_dans_archive(extraits: list[Path], nom: str, format_: str, couche: str | None) -> tuple[Path, str]:
    par_extension: dict[str, list[Path]] = {}
    for chemin in extraits:
        par_extension.setdefault(chemin.suffix.lower(), []).append(chemin)
    contenu = ", ".join(sorted(p.name for p in extraits)) or "rien"
    if format_ == "kmz":
        if ".kml" not in par_extension:
            raise ErreurDonnees(f"{nom} : aucun fichier .kml dans l'archive KMZ (contenu : {contenu}).",
                                "import", "fichier")
        return par_extension[".kml"][0], "kml"
    if ".zip" in par_extension:
        raise ErreurDonnees(f"{nom} : archive refusée, elle contient d'autres archives "
                            f"({', '.join(p.name for p in par_extension['.zip'])}). Envoyez une archive "
                            "simple.", "import", "fichier")
    shapefiles = par_extension.get(".shp", [])
    if not shapefiles:
        for extension, format_interne in ((".gpkg", "gpkg"), (".geojson", "geojson"), (".json", "geojson"),
                                          (".kml", "kml")):
            if extension in par_extension:
                return par_extension[extension][0], format_interne
        raise ErreurDonnees(f"{nom} : aucun fichier .shp dans l'archive (contenu : {contenu}). Un Shapefile "
                            "zippé doit contenir au moins le .shp, le .dbf, le .shx et le .prj.",
                            "import", "fichier")
    if couche:
        choisis = [p for p in shapefiles if p.stem == couche]
        if not choisis:
            raise ErreurDonnees(f"{nom} : couche « {couche} » absente de l'archive (Shapefiles : "
                                f"{', '.join(p.stem for p in shapefiles)}).", "import", "couche")
        shp = choisis[0]
    else:
        shp = shapefiles[0]
        for candidat in shapefiles:
            try:
                if _est_polygonal(pyogrio.read_info(candidat).get("geometry_type", "")):
                    shp = candidat
                    break
            except Exception:  # noqa: BLE001
                continue
    noms = {p.name.lower() for p in extraits}
    manquants = [f"{shp.stem}{e}" for e in (".dbf", ".shx") if f"{shp.stem}{e}".lower() not in noms]
    if manquants:
        raise ErreurDonnees(f"{nom} : Shapefile incomplet, il manque {', '.join(manquants)} dans l'archive. "
                            "Ajoutez tous les fichiers du Shapefile (.shp, .dbf, .shx, .prj).", "import",
                            "fichier")
    return shp, "shapefile"


# ------------------------------------------------------------------------------- correspondance

_SYNONYMES_NORMALISES = {champ: tuple(dict.fromkeys(
    [_normaliser(champ), _normaliser(CHAMPS_IMPORT[champ])] + [_normaliser(s) for s in synonymes]))
    for champ, synonymes in SYNONYMES.items()}
for _champ, _entete in {**ENTETES_OPERATIONS, **ENTETES_ZONES}.items():
    if _normaliser(_entete) not in _SYNONYMES_NORMALISES[_champ]:
        _SYNONYMES_NORMALISES[_champ] += (_normaliser(_entete),)


def proposer_correspondance(table: TableImportee | pd.DataFrame | list[str],
                            champs: tuple[str, ...] | None = None) -> dict[str, str]:
    """Correspondance automatique champ cible → colonne du fichier (accents, casse, synonymes).

    Chaque colonne sert au plus une fois ; les synonymes exacts passent avant les plus vagues
    (« code_insee » avant « commune »). L'utilisateur peut ensuite corriger le dictionnaire.
    """
    if isinstance(table, TableImportee):
        colonnes = table.colonnes
    elif isinstance(table, pd.DataFrame):
        colonnes = [str(c) for c in table.columns]
    else:
        colonnes = [str(c) for c in table]
    champs = champs or tuple(CHAMPS_IMPORT)
    normalisees: dict[str, list[str]] = {}
    for colonne in colonnes:
        normalisees.setdefault(_normaliser(colonne), []).append(colonne)
    prises: set[str] = set()
    correspondance: dict[str, str] = {}
    # Passe par rang de synonyme : un synonyme de rang 0 d'un champ passe avant le rang 3 d'un autre.
    rang_max = max(len(s) for s in _SYNONYMES_NORMALISES.values())
    for rang in range(rang_max):
        for champ in champs:
            if champ in correspondance:
                continue
            synonymes = _SYNONYMES_NORMALISES[champ]
            if rang >= len(synonymes):
                continue
            for colonne in normalisees.get(synonymes[rang], []):
                if colonne not in prises:
                    correspondance[champ] = colonne
                    prises.add(colonne)
                    break
    return {champ: correspondance[champ] for champ in champs if champ in correspondance}


def _verifier_correspondance(table: TableImportee, correspondance: Mapping[str, Any]) -> dict[str, str]:
    propre: dict[str, str] = {}
    for champ, colonne in (correspondance or {}).items():
        if colonne is None or (isinstance(colonne, str) and not colonne.strip()):
            continue
        if champ not in CHAMPS_IMPORT:
            raise ErreurDonnees(f"Correspondance : champ « {champ} » inconnu. Champs possibles : "
                                f"{', '.join(CHAMPS_IMPORT)}.", "import", str(champ))
        if colonne not in table.colonnes:
            raise ErreurDonnees(f"Correspondance : la colonne « {colonne} » choisie pour le champ "
                                f"« {CHAMPS_IMPORT[champ]} » n'existe pas dans {table.nom_fichier} "
                                f"(colonnes : {', '.join(table.colonnes)}).", "import", str(champ))
        propre[champ] = colonne
    return propre


# ------------------------------------------------------------------------------- valeurs


def _texte(valeur: Any) -> str | None:
    if _est_vide(valeur):
        return None
    if isinstance(valeur, float) and valeur.is_integer():
        valeur = int(valeur)
    if isinstance(valeur, datetime):
        return valeur.date().isoformat() if valeur.time() == datetime.min.time() else valeur.isoformat()
    if isinstance(valeur, date):
        return valeur.isoformat()
    return str(valeur).strip()


def _nombre(valeur: Any) -> float | None:
    if _est_vide(valeur):
        return None
    if isinstance(valeur, (bool, np.bool_)):
        raise _Probleme(f"nombre attendu (reçu « {valeur} »)")
    if isinstance(valeur, numbers.Real):
        nombre = float(valeur)
    else:
        texte = str(valeur).strip().replace("\u202f", " ").replace("\xa0", " ")
        texte = re.sub(r"(?i)\s*(€|eur|euros|m²|m2|m³|m3|ht|ttc)\.?\s*$", "", texte)
        texte = re.sub(r"(?i)\s*(€|eur|euros|m²|m2|m³|m3|ht|ttc)\.?\s*$", "", texte)
        compact = texte.replace(" ", "").replace("'", "")
        if "," in compact and "." in compact:
            if compact.rfind(",") > compact.rfind("."):
                compact = compact.replace(".", "").replace(",", ".")
            else:
                compact = compact.replace(",", "")
        elif compact.count(",") == 1:
            compact = compact.replace(",", ".")
        elif compact.count(",") > 1:
            compact = compact.replace(",", "")
        elif compact.count(".") > 1:
            compact = compact.replace(".", "")
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", compact, flags=re.IGNORECASE):
            raise _Probleme(f"« {valeur} » n'est pas un nombre (ex. 12500 ou 12 500,50)")
        nombre = float(compact)
    if not math.isfinite(nombre):
        raise _Probleme(f"« {valeur} » n'est pas un nombre fini")
    return nombre


def _positif(valeur: Any, quoi: str) -> float | None:
    nombre = _nombre(valeur)
    if nombre is not None and nombre < 0:
        raise _Probleme(f"{quoi} négatif ({str(valeur).strip()}). Indiquez un nombre positif ou nul")
    return nombre


_MOIS = {"janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
         "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9, "octobre": 10,
         "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12}


def _date(valeur: Any, excel: bool = False) -> tuple[date | None, str | None]:
    """Date (jj/mm/aaaa, ISO, année seule, mois et année, cellule Excel) et avertissement éventuel."""
    if _est_vide(valeur):
        return None, None
    avertissement = None
    if isinstance(valeur, np.datetime64):
        valeur = pd.Timestamp(valeur)
    if isinstance(valeur, datetime):
        resultat = valeur.date()
    elif isinstance(valeur, date):
        resultat = valeur
    elif isinstance(valeur, numbers.Real) and not isinstance(valeur, bool):
        nombre = float(valeur)
        if nombre.is_integer() and ANNEE_MIN <= nombre <= ANNEE_MAX:
            return _annee_seule(int(nombre))
        if excel and 10000 <= nombre <= 80000:
            resultat = (datetime(1899, 12, 30) + timedelta(days=nombre)).date()
        else:
            raise _Probleme(f"« {valeur} » n'est pas une date. Format attendu : jj/mm/aaaa (ex. 15/09/2023)")
    else:
        texte = str(valeur).strip()
        texte = re.sub(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$", "", texte)
        try:
            if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", texte):
                resultat = date(int(m[3]), int(m[2]), int(m[1]))
            elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2})", texte):
                resultat = date(2000 + int(m[3]), int(m[2]), int(m[1]))
            elif m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", texte):
                resultat = date(int(m[1]), int(m[2]), int(m[3]))
            elif m := re.fullmatch(r"(\d{4})(?:\.0)?", texte):
                return _annee_seule(int(m[1]))
            elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{4})", texte):
                annee, mois = int(m[2]), int(m[1])
                resultat = date(annee, mois, calendar.monthrange(annee, mois)[1])
                avertissement = (f"seuls le mois et l'année sont connus : date fixée au "
                                 f"{resultat.strftime('%d/%m/%Y')}")
            elif (m := re.fullmatch(r"([a-zA-Zéèûô.]+)\s+(\d{4})", texte)) and _normaliser(m[1]) in _MOIS:
                annee, mois = int(m[2]), _MOIS[_normaliser(m[1])]
                resultat = date(annee, mois, calendar.monthrange(annee, mois)[1])
                avertissement = (f"seuls le mois et l'année sont connus : date fixée au "
                                 f"{resultat.strftime('%d/%m/%Y')}")
            else:
                raise _Probleme(f"« {valeur} » illisible. Format attendu : jj/mm/aaaa (ex. 15/09/2023) ou "
                                "aaaa-mm-jj")
        except ValueError:
            raise _Probleme(f"« {valeur} » n'existe pas (jour ou mois hors calendrier). Format attendu : "
                            "jj/mm/aaaa") from None
    if not ANNEE_MIN <= resultat.year <= ANNEE_MAX:
        raise _Probleme(f"date {resultat.strftime('%d/%m/%Y')} invraisemblable (années {ANNEE_MIN} à "
                        f"{ANNEE_MAX}). Corrigez l'année")
    return resultat, avertissement


def _annee_brute(valeur: Any) -> int | None:
    """Année d'une valeur qui n'est qu'une année (« 2024 », 2024, 2024.0), sinon None."""
    if isinstance(valeur, numbers.Real) and not isinstance(valeur, bool):
        nombre = float(valeur)
        return int(nombre) if nombre.is_integer() and ANNEE_MIN <= nombre <= ANNEE_MAX else None
    if isinstance(valeur, str) and (m := re.fullmatch(r"(\d{4})(?:\.0)?", valeur.strip())):
        return int(m[1]) if ANNEE_MIN <= int(m[1]) <= ANNEE_MAX else None
    return None


def _annee_seule(annee: int) -> tuple[date, str]:
    if not ANNEE_MIN <= annee <= ANNEE_MAX:
        raise _Probleme(f"année {annee} invraisemblable ({ANNEE_MIN} à {ANNEE_MAX})")
    return date(annee, 12, 31), (f"seule l'année est connue : date de fin des travaux fixée au 31/12/{annee}. "
                                 "Corrigez-la si vous connaissez la date exacte")


def _booleen(valeur: Any) -> bool | None:
    if _est_vide(valeur):
        return None
    if isinstance(valeur, (bool, np.bool_)):
        return bool(valeur)
    if isinstance(valeur, numbers.Real) and float(valeur) in (0.0, 1.0):
        return bool(valeur)
    texte = _normaliser(valeur)
    if texte in ("oui", "o", "vrai", "true", "yes", "y", "x", "1"):
        return True
    if texte in ("non", "n", "faux", "false", "no", "0"):
        return False
    raise _Probleme(f"« {valeur} » : oui ou non attendu")


def _entier(valeur: Any, quoi: str) -> int | None:
    nombre = _positif(valeur, quoi)
    if nombre is None:
        return None
    if not float(nombre).is_integer():
        raise _Probleme(f"nombre entier attendu (reçu {str(valeur).strip()})")
    return int(nombre)


# Valeurs libres de statut et de type de site : table de correspondance (expression → code), dans
# donnees/nomenclatures/correspondances_import.csv ; la première ligne dont l'expression figure dans la
# valeur (mots entiers, après normalisation) l'emporte. Code vide : valeur refusée, avec son explication.
FICHIER_CORRESPONDANCES = Path(__file__).parent / "nomenclatures" / "correspondances_import.csv"


def _lire_regles(champ: str) -> tuple[tuple[str, str | None, bool, str | None], ...]:
    """Règles (expression normalisée, code ou None, approximatif, explication) d'un champ."""
    table = pd.read_csv(FICHIER_CORRESPONDANCES, dtype=str, keep_default_na=False)
    regles = []
    for ligne in table[table["champ"] == champ].itertuples(index=False):
        regles.append((_normaliser(ligne.expression), ligne.code.strip() or None,
                       _normaliser(ligne.approximatif) == "oui", ligne.explication.strip() or None))
    return tuple(regles)


def _contient_expression(texte: str, expression: str) -> bool:
    """Vrai si l'expression normalisée figure dans le texte normalisé, en mots entiers."""
    return bool(expression) and f"_{expression}_" in f"_{texte}_"


_SYNONYMES_REVETEMENTS = {
    "enrobe": ("bitume", "bitumineux", "asphalte", "goudron", "enrobe_bitumineux", "enrobes", "macadam"),
    "beton": ("beton", "dalles", "dallage", "paves", "paves_joints_etanches", "beton_desactive",
              "carrelage", "beton_dalles"),
    "stabilise": ("stabilise", "gravier", "graviers", "gravillons", "grave", "sable_stabilise",
                  "gravier_compacte", "calcaire_compacte"),
    "paves_enherbes": ("paves_enherbes", "dalles_alveolees", "dalles_engazonnees", "paves_joints_enherbes",
                       "evergreen", "dalles_gazon"),
    "drainant": ("drainant", "enrobe_drainant", "beton_drainant", "resine_drainante", "beton_poreux",
                 "revetement_drainant", "resine"),
    "paillage": ("paillage", "copeaux", "copeaux_bois", "broyat", "mulch", "paillis", "ecorces"),
    "pelouse": ("pelouse", "gazon", "herbe", "prairie", "enherbe", "enherbement", "pelouse_enherbee",
                "pleine_terre_enherbee"),
    "massif": ("massif", "massifs", "plantations", "plantation", "arbustes", "massif_plante",
               "massifs_plantes", "pleine_terre_plantee", "vegetalisation"),
    "arbres": ("arbres", "arbre", "boisement", "bosquet", "couvert_arbore", "plantation_arbres"),
    "noue": ("noue", "noues", "jardin_pluie", "jardins_pluie", "bassin_infiltration"),
    "toiture_vegetalisee": ("toiture_vegetalisee", "toit_vegetal", "toit_vegetalise", "toiture_vegetale"),
    "vigne": ("vigne", "vignes", "culture", "cultures", "potager"),
    "eau": ("eau", "mare", "bassin", "plan_eau"),
    "sol_nu": ("sol_nu", "terre", "terre_nue", "sols_nus"),
    "bati": ("bati", "batiment", "batiments", "toiture", "construction"),
}


@dataclass(frozen=True)
class _Nomenclature:
    nom: str
    libelles: dict[str, str]
    synonymes: dict[str, str]
    regles: tuple = ()

    def lire(self, valeur: Any) -> tuple[str, str | None]:
        """Code reconnu et avertissement si l'interprétation est approximative ; lève _Probleme sinon."""
        texte = _normaliser(valeur)
        for code, libelle in self.libelles.items():
            if texte in (_normaliser(code), _normaliser(libelle)):
                return code, None
        if texte in self.synonymes:
            return self.synonymes[texte], None
        for expression, code, approximatif, explication in self.regles:
            if texte and _contient_expression(texte, expression):
                if code is None:
                    raise _Probleme(f"« {valeur} » : {explication or 'valeur refusée'}")
                if approximatif:
                    return code, (f"« {valeur} » interprété comme « {self.libelles[code]} » ({code}) ; "
                                  "corrigez si besoin")
                return code, None
        possibles = ", ".join(f"{c} ({l})" for c, l in self.libelles.items())
        raise _Probleme(f"valeur « {valeur} » inconnue. Valeurs possibles : {possibles}")


def _nomenclatures() -> dict[str, _Nomenclature]:
    revetements = nomenclatures.lire_revetements()
    libelles_rev = {str(c): str(revetements.loc[c, "libelle"]) for c in revetements.index}
    synonymes_rev = {}
    for code, liste in _SYNONYMES_REVETEMENTS.items():
        if code in libelles_rev:
            for synonyme in liste:
                synonymes_rev[_normaliser(synonyme)] = code
    types = nomenclatures.lire_types_site()
    return {
        "revetement": _Nomenclature("revêtement", libelles_rev, synonymes_rev),
        "type_site": _Nomenclature("type de site", dict(types), {},
                                   tuple(r for r in _lire_regles("type_site") if r[1] is None or r[1] in types)),
        "statut": _Nomenclature("statut", dict(nomenclatures.STATUTS), {},
                                tuple(r for r in _lire_regles("statut")
                                      if r[1] is None or r[1] in nomenclatures.STATUTS)),
    }


_MOTIF_FINANCEMENT = (
    re.compile(r"^(?P<nom>.+?)\s*[:=]\s*(?P<montant>-?[\d][\d\s.,']*)\s*(€|eur|euros)?\.?$", re.IGNORECASE),
    re.compile(r"^(?P<nom>.+?)\s*\(\s*(?P<montant>-?[\d][\d\s.,']*)\s*(€|eur|euros)\s*\)$", re.IGNORECASE),
)


def _decouper_hors_parentheses(texte: str, separateurs: str) -> list[str]:
    morceaux, courant, profondeur = [], [], 0
    for caractere in texte:
        if caractere == "(":
            profondeur += 1
        elif caractere == ")":
            profondeur = max(0, profondeur - 1)
        if caractere in separateurs and profondeur == 0:
            morceaux.append("".join(courant))
            courant = []
        else:
            courant.append(caractere)
    morceaux.append("".join(courant))
    return [m.strip() for m in morceaux if m.strip()]


def _financements(valeur: Any) -> tuple[list[dict], str | None, str | None]:
    """Financements lus (financeur, montant) ; sinon le texte à garder dans la description."""
    if _est_vide(valeur):
        return [], None, None
    if isinstance(valeur, numbers.Real) and not isinstance(valeur, bool):
        montant = _positif(valeur, "montant des aides")
        return ([{"financeur": "Financeur non précisé", "montant_eur": montant}], None,
                "montant sans financeur : enregistré pour « Financeur non précisé ». Indiquez "
                "« financeur : montant »")
    texte = str(valeur).strip().replace("\u202f", " ").replace("\xa0", " ")
    separateurs = ";\n" if (";" in texte or "\n" in texte) else ","
    elements = _decouper_hors_parentheses(texte, separateurs)
    resultat = []
    for element in elements:
        for motif in _MOTIF_FINANCEMENT:
            if m := motif.match(element):
                try:
                    montant = _nombre(m["montant"].strip())
                except _Probleme:
                    return [], texte, None
                if montant is not None and montant < 0:
                    raise _Probleme(f"montant négatif pour « {m['nom'].strip()} » ({m['montant'].strip()}). "
                                    "Indiquez un montant positif")
                resultat.append({"financeur": m["nom"].strip(), "montant_eur": montant})
                break
        else:
            return [], texte, None
    return resultat, None, None


# ------------------------------------------------------------------------------- géométries


_local_transformateurs: dict[tuple[str, str], Transformer] = {}


def _transformateur(source: str, cible: str) -> Transformer:
    cle = (source, cible)
    if cle not in _local_transformateurs:
        _local_transformateurs[cle] = Transformer.from_crs(source, cible, always_xy=True)
    return _local_transformateurs[cle]


def _projeter(geometrie: BaseGeometry, source: str, cible: str) -> BaseGeometry:
    transformateur = _transformateur(source, cible)

    def appliquer(coords: np.ndarray) -> np.ndarray:
        x, y = transformateur.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometrie, appliquer)


def _vers_l93(geometrie: BaseGeometry) -> BaseGeometry:
    return _projeter(geometrie, CRS_STOCKAGE, CRS_L93)


def _depuis_l93(geometrie: BaseGeometry) -> BaseGeometry:
    return _projeter(geometrie, CRS_L93, CRS_STOCKAGE)


def _parties_polygonales(geometrie: BaseGeometry) -> BaseGeometry | None:
    if geometrie is None or geometrie.is_empty:
        return None
    if geometrie.geom_type in ("Polygon", "MultiPolygon"):
        return geometrie
    if geometrie.geom_type == "GeometryCollection":
        parties = [p for g in geometrie.geoms if (p := _parties_polygonales(g)) is not None]
        if not parties:
            return None
        union = shapely.union_all(parties)
        return union if union.geom_type in ("Polygon", "MultiPolygon") else None
    return None


def _lire_wkt(valeur: Any, crs_wkt: str) -> BaseGeometry:
    texte = str(valeur).strip()
    crs = crs_wkt
    if m := re.match(r"^SRID=(\d+);(.*)$", texte, flags=re.IGNORECASE | re.DOTALL):
        crs, texte = f"EPSG:{m[1]}", m[2]
    try:
        geometrie = shapely.from_geojson(texte) if texte.startswith("{") else shapely.from_wkt(texte)
    except Exception:  # noqa: BLE001 - WKT ou GeoJSON illisible
        debut = texte[:40] + ("…" if len(texte) > 40 else "")
        raise _Probleme(f"géométrie « {debut} » illisible. Attendu : WKT, "
                        "par exemple POLYGON((3.69 43.40, 3.70 43.40, 3.70 43.41, 3.69 43.40))") from None
    if geometrie is None:
        raise _Probleme("géométrie illisible")
    if shapely.has_z(geometrie):
        geometrie = shapely.force_2d(geometrie)
    if not geometrie.is_empty and not CRS.from_user_input(crs).equals(CRS_STOCKAGE):
        geometrie = _projeter(geometrie, crs, CRS_STOCKAGE)
    return geometrie


def _en_degres_geometrie(geometrie: BaseGeometry) -> bool:
    xmin, ymin, xmax, ymax = geometrie.bounds
    return bool(np.isfinite([xmin, ymin, xmax, ymax]).all() and -180 <= xmin <= xmax <= 180
                and -90 <= ymin <= ymax <= 90)


# ------------------------------------------------------------------------------- préparation


@dataclass
class _Ligne:
    feuille: str | None
    numero: int
    valeurs: dict[str, Any]
    geometrie: BaseGeometry | None = None
    principale: bool = True
    erreur: bool = False


@dataclass
class _Zone:
    ligne: _Ligne
    geometrie: BaseGeometry | None
    avant: str | None
    apres: str | None
    parcelles: list[str] = field(default_factory=list)
    emplacement: bool = False
    l93: BaseGeometry | None = None
    champ: str = "geometrie"


@dataclass
class _Operation:
    cle: tuple
    lignes: list[_Ligne]
    champs: dict[str, Any]
    zones: list[_Zone] = field(default_factory=list)
    invalide: bool = False
    texte_financeurs: str | None = None
    sources: dict[str, _Ligne] = field(default_factory=dict)

    @property
    def premiere(self) -> _Ligne:
        return self.lignes[0]

    def en_erreur(self) -> bool:
        return self.invalide or any(l.erreur for l in self.lignes) or any(z.ligne.erreur for z in self.zones)


_CHAMPS_OPERATION = ("code_insee", "nom", "type_site", "statut", "date_fin_travaux", "maitre_ouvrage",
                     "description", "retour_experience", "contact", "cout_ht_eur", "financements",
                     "arbres_plantes", "deconnexion_reseau", "volume_stockage_m3", "surface_declaree_m2",
                     "source")


class _Preparation:
    """État de :func:`preparer_import` (messages, référentiels en Lambert-93, opérations)."""

    def __init__(self, table: TableImportee, correspondance: dict[str, str], parcelles, communes,
                 commune_par_defaut, magasin, zones_existantes, localiser_au_centroide,
                 corriger_geometries, revetements_par_defaut, correspondance_zones):
        self.table = table
        self.correspondance = correspondance
        self.parcelles_brutes = parcelles
        self.magasin = magasin
        self.zones_existantes = zones_existantes
        self.localiser = localiser_au_centroide
        self.corriger = corriger_geometries
        self.messages: list[dict] = []
        self.noms = _nomenclatures()
        self.excel = table.format == "xlsx"
        self.communes_l93: dict[str, BaseGeometry] = {}
        self.noms_communes: dict[str, list[str]] = {}
        if communes is not None:
            self._charger_communes(communes)
        self.commune_defaut = None
        if commune_par_defaut is not None and not _est_vide(commune_par_defaut):
            try:
                self.commune_defaut = self._code_insee(commune_par_defaut)
            except _Probleme as exc:
                raise ErreurDonnees(f"Commune par défaut : {exc}.", "import", "code_insee") from None
        self.revetements_defaut = None
        if revetements_par_defaut:
            try:
                self.revetements_defaut = tuple(self.noms["revetement"].lire(v)[0]
                                                for v in revetements_par_defaut)
            except _Probleme as exc:
                raise ErreurDonnees(f"Revêtements par défaut : {exc}.", "import", "revetement_avant") from None
        self.correspondance_zones = correspondance_zones
        self._index_parcelles = None
        self.emplacements: dict[str, int] = {}

    # ---------------------------------------------------------------- messages

    def unite(self, feuille: str | None) -> str:
        return "entité n°" if self.table.unite == "entité" else "ligne"

    def repere(self, ligne: _Ligne) -> str:
        """« ligne 3 », « entité n° 3 » ou « feuille « zones », ligne 3 »."""
        texte = f"{self.unite(ligne.feuille)} {ligne.numero}"
        if ligne.feuille and self.table.format == "xlsx" and ligne.feuille != self.table.feuille:
            texte = f"feuille « {ligne.feuille} », {texte}"
        return texte

    def signaler(self, ligne: _Ligne | None, champ: str | None, niveau: str, texte: str,
                 colonne: str | None = None) -> None:
        lieu = self.table.nom_fichier
        if ligne is not None and ligne.feuille and self.table.format == "xlsx":
            lieu += f", feuille « {ligne.feuille} »"
        if ligne is not None:
            lieu += f", {self.unite(ligne.feuille)} {ligne.numero}"
        if champ:
            lieu += f", champ « {_LIBELLES.get(champ, champ)} »"
            if colonne is None and ligne is not None:
                colonne = self._colonne(ligne, champ)
            if colonne and _normaliser(colonne) not in (_normaliser(_LIBELLES.get(champ, champ)),
                                                        _normaliser(champ)):
                lieu += f" (colonne « {colonne} »)"
        texte = texte.rstrip()
        if not texte.endswith((".", "?", "!", "»")):
            texte += "."
        self.messages.append({"fichier": self.table.nom_fichier,
                              "feuille": ligne.feuille if ligne is not None else None,
                              "ligne": ligne.numero if ligne is not None else None,
                              "champ": champ, "niveau": niveau, "message": f"{lieu} : {texte}"})
        if niveau == "erreur" and ligne is not None:
            ligne.erreur = True

    def erreur(self, ligne, champ, texte, colonne=None):
        self.signaler(ligne, champ, "erreur", texte, colonne)

    def avertir(self, ligne, champ, texte, colonne=None):
        self.signaler(ligne, champ, "avertissement", texte, colonne)

    def _colonne(self, ligne: _Ligne, champ: str) -> str | None:
        if ligne.principale:
            return self.correspondance.get(champ)
        return (self.correspondance_zones or {}).get(champ)

    # ---------------------------------------------------------------- référentiels

    def _charger_communes(self, communes) -> None:
        if not isinstance(communes, gpd.GeoDataFrame) or "code_insee" not in communes.columns:
            raise ErreurDonnees("Couche des communes : GeoDataFrame avec une colonne « code_insee » attendue.",
                                "import", "communes")
        table = communes if communes.crs is not None else communes.set_crs(CRS_STOCKAGE)
        table = table.to_crs(CRS_L93)
        for code, geometrie in zip(table["code_insee"].astype(str), table.geometry.values):
            if geometrie is None or geometrie.is_empty:
                continue
            if not geometrie.is_valid:
                geometrie = shapely.make_valid(geometrie)
            self.communes_l93[code] = geometrie
        if "nom" in communes.columns:
            for code, nom in zip(communes["code_insee"].astype(str), communes["nom"]):
                self.noms_communes.setdefault(_normaliser(nom), []).append(code)
        self.index_communes = shapely.STRtree(list(self.communes_l93.values()))
        self.codes_communes = list(self.communes_l93)

    def _parcelles(self):
        if self._index_parcelles is None:
            table = self.parcelles_brutes
            if callable(table) and not isinstance(table, pd.DataFrame):
                table = table()  # chargement paresseux : seulement si le fichier cite des parcelles
            if not isinstance(table, gpd.GeoDataFrame) or "id" not in table.columns:
                raise ErreurDonnees("Couche des parcelles : GeoDataFrame avec les colonnes id, commune, "
                                    "prefixe, section, numero attendue.", "import", "parcelles")
            if table.crs is not None and not CRS.from_user_input(table.crs).equals(CRS_STOCKAGE):
                table = table.to_crs(CRS_STOCKAGE)
            ids = table["id"].astype(str).str.upper().tolist()
            par_id = dict(zip(ids, table.geometry.values))
            par_ref: dict[tuple, list[str]] = {}
            for identifiant in ids:
                m = MOTIF_ID_PARCELLE.match(identifiant)
                if m:
                    par_ref.setdefault((m[1], m[3].lstrip("0") or "0", m[4]), []).append(identifiant)
            self._index_parcelles = (par_id, par_ref)
        return self._index_parcelles

    # ---------------------------------------------------------------- lecture des valeurs

    def _code_insee(self, valeur: Any) -> str:
        if isinstance(valeur, numbers.Real) and not isinstance(valeur, bool):
            if not float(valeur).is_integer():
                raise _Probleme(f"« {valeur} » n'est pas un code INSEE (5 caractères, ex. 34301)")
            valeur = str(int(valeur)).zfill(5)
        texte = str(valeur).strip().upper()
        if re.fullmatch(r"\d{4}", texte):
            texte = texte.zfill(5)
        if MOTIF_INSEE.match(texte):
            if self.communes_l93 and texte not in self.communes_l93:
                raise _Probleme(f"commune {texte} hors du territoire (absente de la couche des communes) : "
                                "la ligne n'est pas importée. Vérifiez le code INSEE, ou retirez la ligne si "
                                "l'opération est hors du territoire")
            return texte
        if self.noms_communes:
            codes = self.noms_communes.get(_normaliser(valeur), [])
            if len(codes) == 1:
                return codes[0]
            if len(codes) > 1:
                raise _Probleme(f"plusieurs communes s'appellent « {valeur} » ({', '.join(codes)}). "
                                "Indiquez le code INSEE")
            raise _Probleme(f"« {valeur} » n'est ni un code INSEE (5 caractères, ex. 34301) ni le nom d'une "
                            "commune du territoire")
        raise _Probleme(f"« {valeur} » n'est pas un code INSEE (5 caractères, ex. 34301, ou 2A004 en Corse)")

    def _lire_champ(self, ligne: _Ligne, champ: str, lecteur: Callable[[Any], Any]) -> Any:
        valeur = ligne.valeurs.get(champ)
        if _est_vide(valeur):
            return None
        try:
            return lecteur(valeur)
        except _Probleme as exc:
            self.erreur(ligne, champ, str(exc))
            return None

    def _nomenclature(self, ligne: _Ligne, champ: str, cle: str) -> str | None:
        valeur = ligne.valeurs.get(champ)
        if _est_vide(valeur):
            return None
        try:
            code, avertissement = self.noms[cle].lire(valeur)
        except _Probleme as exc:
            self.erreur(ligne, champ, str(exc))
            return None
        if avertissement:
            self.avertir(ligne, champ, avertissement)
        return code

    def lire_operation(self, ligne: _Ligne) -> dict[str, Any]:
        """Champs d'opération d'une ligne (valeurs lues, erreurs signalées)."""
        v = ligne.valeurs
        champs: dict[str, Any] = {"code_insee": self._lire_champ(ligne, "code_insee", self._code_insee)}
        for champ in ("nom", "maitre_ouvrage", "description", "retour_experience", "contact", "source",
                      "type_source", "precision_surface", "precision_cout"):
            champs[champ] = _texte(v.get(champ))
        champs["type_site"] = self._nomenclature(ligne, "type_site", "type_site")
        champs["statut"] = self._nomenclature(ligne, "statut", "statut")
        date_fin = None
        champs["_annee"] = None
        for champ in ("date_fin_travaux", "annee"):
            if _est_vide(v.get(champ)):
                continue
            if champ == "annee" and (annee := _annee_brute(v.get(champ))) is not None:
                champs["_annee"] = annee  # date de fin ou simple mention : voir _controler_operation
                break
            try:
                date_fin, avertissement = _date(v.get(champ), excel=self.excel)
            except _Probleme as exc:
                self.erreur(ligne, champ, str(exc))
                date_fin = None
                break
            if avertissement:
                self.avertir(ligne, champ, avertissement)
            break
        champs["date_fin_travaux"] = date_fin
        champs["cout_ht_eur"] = self._lire_champ(ligne, "cout_ht_eur", lambda x: _positif(x, "coût"))
        champs["surface_declaree_m2"] = self._lire_champ(ligne, "surface_declaree_m2",
                                                         lambda x: _positif(x, "surface"))
        champs["volume_stockage_m3"] = self._lire_champ(ligne, "volume_stockage_m3",
                                                        lambda x: _positif(x, "volume"))
        champs["arbres_plantes"] = self._lire_champ(ligne, "arbres_plantes",
                                                    lambda x: _entier(x, "nombre d'arbres"))
        champs["deconnexion_reseau"] = self._lire_champ(ligne, "deconnexion_reseau", _booleen)
        champs["financements"] = None
        champs["_texte_financeurs"] = None
        if not _est_vide(v.get("financements")):
            try:
                liste, texte, avertissement = _financements(v.get("financements"))
            except _Probleme as exc:
                self.erreur(ligne, "financements", str(exc))
            else:
                champs["financements"] = liste or None
                champs["_texte_financeurs"] = texte
                if avertissement:
                    self.avertir(ligne, "financements", avertissement)
        return champs

    def lire_zone(self, ligne: _Ligne) -> _Zone | None:
        """Zone décrite par une ligne (géométrie native, WKT ou références cadastrales), ou None."""
        v = ligne.valeurs
        geometrie = ligne.geometrie
        champ_geo = "geometrie"
        if geometrie is None and not _est_vide(v.get("geometrie_wkt")):
            champ_geo = "geometrie_wkt"
            try:
                geometrie = _lire_wkt(v["geometrie_wkt"], self.table.crs_wkt)
            except _Probleme as exc:
                self.erreur(ligne, "geometrie_wkt", str(exc))
                return _Zone(ligne, None, None, None)
            if not geometrie.is_empty and not _en_degres_geometrie(geometrie):
                self.erreur(ligne, "geometrie_wkt",
                            "coordonnées hors des limites de la longitude et de la latitude : la géométrie "
                            "est sans doute en mètres (Lambert-93 ?). Indiquez son système de coordonnées "
                            "(EPSG:2154) lors de la lecture du fichier, ou écrivez « SRID=2154; » devant le WKT")
                return _Zone(ligne, None, None, None)
        a_parcelles = not _est_vide(v.get("parcelles"))
        if geometrie is None and not a_parcelles:
            if self.table.a_geometrie and ligne.principale:
                self.erreur(ligne, "geometrie", "géométrie absente. Dessinez le contour de la zone dans votre "
                            "SIG, ou supprimez cet objet")
                return _Zone(ligne, None, None, None)
            return None
        zone = _Zone(ligne, None, None, None, champ=champ_geo if geometrie is not None else "parcelles")
        if geometrie is not None:
            zone.geometrie = self._verifier_geometrie(ligne, champ_geo, geometrie)
        avant = self._nomenclature(ligne, "revetement_avant", "revetement")
        apres = self._nomenclature(ligne, "revetement_apres", "revetement")
        for champ, code, rang in (("revetement_avant", avant, 0), ("revetement_apres", apres, 1)):
            if code is None and _est_vide(v.get(champ)):
                if self.revetements_defaut:
                    code = self.revetements_defaut[rang]
                else:
                    codes = ", ".join(self.noms["revetement"].libelles)
                    self.erreur(ligne, champ, f"obligatoire pour chaque zone. Codes possibles : {codes}")
            if rang == 0:
                avant = code
            else:
                apres = code
        zone.avant, zone.apres = avant, apres
        return zone

    def _verifier_geometrie(self, ligne: _Ligne, champ: str, geometrie: BaseGeometry) -> BaseGeometry | None:
        if geometrie.is_empty:
            self.erreur(ligne, champ, "géométrie vide. Dessinez le contour de la zone")
            return None
        polygonale = _parties_polygonales(geometrie)
        if polygonale is None:
            self.erreur(ligne, champ, f"type « {geometrie.geom_type} » non admis : une zone est une surface "
                        "(Polygon ou MultiPolygon), pas un point ni une ligne. Dessinez le contour de la zone")
            return None
        if polygonale is not geometrie:
            self.avertir(ligne, champ, "collection de géométries : seules les surfaces sont gardées")
        geometrie = polygonale
        if shapely.has_z(geometrie):
            geometrie = shapely.force_2d(geometrie)
        if not geometrie.is_valid:
            raison = _raison_invalidite(geometrie)
            if not self.corriger:
                self.erreur(ligne, champ, f"géométrie invalide : {raison}. Corrigez le contour dans votre SIG "
                            "(outil « Réparer les géométries ») ou relancez avec la correction automatique")
                return None
            corrigee = _parties_polygonales(shapely.make_valid(geometrie))
            if corrigee is None or corrigee.is_empty:
                self.erreur(ligne, champ, f"géométrie invalide ({raison}) et impossible à corriger. "
                            "Redessinez le contour")
                return None
            self.avertir(ligne, champ, f"géométrie invalide ({raison}) corrigée automatiquement (make_valid) : "
                         "vérifiez la forme obtenue sur la carte d'aperçu")
            geometrie = corrigee
        return geometrie

    def resoudre_parcelles(self, operation: _Operation, zone: _Zone, code_insee: str | None) -> None:
        ligne = zone.ligne
        valeur = ligne.valeurs.get("parcelles")
        if _est_vide(valeur):
            return
        if self.parcelles_brutes is None:
            self.erreur(ligne, "parcelles", "références cadastrales présentes mais le cadastre n'est pas chargé "
                        "(couche des parcelles absente). Importez le cadastre de la commune ou fournissez une "
                        "géométrie")
            return
        par_id, par_ref = self._parcelles()
        nb_messages = len(self.messages)
        texte = str(valeur).strip().upper().replace("\xa0", " ")
        morceaux = [m.strip() for m in re.split(r"[,;+\n|/]|\s+ET\s+", texte) if m.strip()]
        references: list[str] = []
        for morceau in morceaux:
            if MOTIF_ID_PARCELLE.match(morceau.replace(" ", "")) or MOTIF_REF_PARCELLE.match(morceau):
                references.append(morceau)
            else:
                jetons = morceau.split()
                if len(jetons) > 1 and all(MOTIF_ID_PARCELLE.match(j) or MOTIF_REF_PARCELLE.match(j)
                                           for j in jetons):
                    references.extend(jetons)
                else:
                    self.erreur(ligne, "parcelles", f"référence « {morceau} » illisible. Formats acceptés : "
                                "« AB 123 », « AB123 », « 0AB0123 », « 000AB0123 » ou l'identifiant à 14 "
                                "caractères (ex. 34301000AB0123) ; séparez les parcelles par des virgules")
        trouvees: list[str] = []
        inconnues: list[str] = []
        for reference in references:
            compacte = reference.replace(" ", "")
            if m := MOTIF_ID_PARCELLE.match(compacte):
                identifiant = compacte
                if code_insee and m[1] != code_insee:
                    self.erreur(ligne, "parcelles", f"parcelle {identifiant} d'une autre commune ({m[1]}) que "
                                f"l'opération ({code_insee})")
                    continue
                (trouvees if identifiant in par_id else inconnues).append(identifiant if identifiant in par_id
                                                                          else reference)
                continue
            m = MOTIF_REF_PARCELLE.match(reference)
            if not code_insee:
                self.erreur(ligne, "parcelles", f"commune inconnue pour la référence « {reference} » : "
                            "renseignez le code INSEE ou donnez l'identifiant à 14 caractères")
                continue
            prefixe, section, numero = m[1], m[2], m[3].zfill(4)
            if prefixe:
                identifiant = f"{code_insee}{prefixe}{section.rjust(2, '0')}{numero}"
                (trouvees if identifiant in par_id else inconnues).append(identifiant if identifiant in par_id
                                                                          else reference)
                continue
            candidats = par_ref.get((code_insee, section, numero), [])
            if len(candidats) == 1:
                trouvees.append(candidats[0])
            elif len(candidats) > 1:
                standard = [c for c in candidats if c[5:8] == "000"]
                if len(standard) == 1:
                    trouvees.append(standard[0])
                else:
                    self.erreur(ligne, "parcelles", f"référence « {reference} » ambiguë ({', '.join(candidats)}) "
                                ": donnez l'identifiant à 14 caractères")
            else:
                inconnues.append(reference)
        if inconnues:
            self.erreur(ligne, "parcelles", f"parcelle(s) introuvable(s) dans le cadastre de la commune "
                        f"{code_insee or '?'} : {', '.join(inconnues)}. Vérifiez la section et le numéro "
                        "(ex. « AB 123 ») et le code INSEE")
        zone.parcelles = list(dict.fromkeys(trouvees))
        if zone.geometrie is None and zone.parcelles and len(self.messages) == nb_messages:
            union = shapely.union_all([par_id[i] for i in zone.parcelles])
            union = _parties_polygonales(shapely.make_valid(union) if not union.is_valid else union)
            if union is None:
                self.erreur(ligne, "parcelles", "géométrie des parcelles inutilisable (vide ou invalide)")
            else:
                zone.geometrie = shapely.force_2d(union)

    # ---------------------------------------------------------------- contrôles géographiques

    def commune_de(self, geometrie_l93: BaseGeometry) -> str | None:
        meilleur, surface = None, 0.0
        for i in self.index_communes.query(geometrie_l93, predicate="intersects"):
            commun = self.communes_l93[self.codes_communes[i]].intersection(geometrie_l93).area
            if commun > surface:
                meilleur, surface = self.codes_communes[i], commun
        return meilleur

    def emplacement(self, code: str) -> BaseGeometry:
        commune = self.communes_l93[code]
        centre = commune.centroid
        if not commune.contains(centre):
            centre = commune.representative_point()
        rang = self.emplacements.get(code, 0)
        self.emplacements[code] = rang + 1
        point = Point(centre.x + (rang % 5) * PAS_EMPLACEMENT_M, centre.y + (rang // 5) * PAS_EMPLACEMENT_M)
        if not commune.contains(point):
            point = centre
        demi = COTE_EMPLACEMENT_M / 2
        return box(point.x - demi, point.y - demi, point.x + demi, point.y + demi)


def _lignes_table(table: TableImportee, correspondance: dict[str, str], principale: bool) -> list[_Ligne]:
    colonnes = {champ: colonne for champ, colonne in correspondance.items() if colonne in table.donnees.columns}
    enregistrements = table.donnees.to_dict("records")
    lignes = []
    for position, (numero, enregistrement) in enumerate(zip(table.numeros, enregistrements)):
        valeurs = {champ: enregistrement.get(colonne) for champ, colonne in colonnes.items()}
        geometrie = table.geometries[position] if table.geometries is not None else None
        lignes.append(_Ligne(table.feuille, numero, valeurs, geometrie, principale))
    return lignes


def _autorise(peut: Callable, code_insee: str) -> bool:
    try:
        return bool(peut("creer", code_insee))
    except TypeError:
        return True  # autre signature : les droits seront vérifiés à l'écriture
    except ErreurDonnees:
        return False


def _accepte_auteur(methode: Callable) -> bool:
    """Vrai si la méthode attend un auteur (Magasin), faux pour une façade qui connaît l'utilisateur."""
    try:
        parametres = inspect.signature(methode).parameters.values()
    except (TypeError, ValueError):
        return True
    positionnels = [q for q in parametres if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD)]
    return any(q.name == "auteur" or q.kind == q.VAR_POSITIONAL for q in parametres) or len(positionnels) >= 2


def _resoudre_verificateur(magasin: Any) -> Callable:
    if magasin is None:
        return verifier_operation
    methode = getattr(magasin, "verifier_operation", None)
    if callable(methode):
        return methode
    if callable(magasin) and not hasattr(magasin, "creer_operation"):
        return magasin
    return verifier_operation


def preparer_import(table: TableImportee, correspondance: Mapping[str, Any] | None = None,
                    parcelles: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame] | None = None,
                    communes: gpd.GeoDataFrame | None = None, commune_par_defaut: str | None = None, *,
                    magasin: Any = None, zones_existantes: gpd.GeoDataFrame | None = None,
                    localiser_au_centroide: bool = False, corriger_geometries: bool = False,
                    revetements_par_defaut: tuple[str, str] | None = None,
                    correspondance_zones: Mapping[str, Any] | None = None) -> ApercuImport:
    """Construit les opérations (format du magasin) et la table des erreurs, sans rien écrire.

    ``correspondance`` : champ → colonne (``None`` : :func:`proposer_correspondance`) ;
    ``parcelles`` : cadastre Etalab (id, commune, prefixe, section, numero, géométrie), ou fonction
    sans argument qui le renvoie (appelée seulement si le fichier cite des parcelles) ;
    ``communes`` (code_insee, nom, géométrie) : contrôles de localisation, noms de communes,
    commune déduite de la géométrie et ``localiser_au_centroide`` ; ``magasin`` : Magasin, façade ou
    fonction ``verifier(operation, contexte)`` qui applique les règles du magasin (et fournit les
    zones déjà enregistrées par ``lire_zones`` si ``zones_existantes`` n'est pas donné) ;
    ``corriger_geometries`` : make_valid + avertissement au lieu d'une erreur ;
    ``revetements_par_defaut`` : (avant, après) pour les zones qui n'en donnent pas.
    """
    if correspondance is None:
        correspondance = proposer_correspondance(table)
    correspondance = _verifier_correspondance(table, correspondance)
    zones_table = table.zones
    if zones_table is not None:
        if correspondance_zones is None:
            correspondance_zones = proposer_correspondance(zones_table, CHAMPS_ZONE)
        correspondance_zones = _verifier_correspondance(zones_table, correspondance_zones)
    if zones_existantes is None and magasin is not None and hasattr(magasin, "lire_zones"):
        try:
            zones_existantes = magasin.lire_zones()
        except Exception:  # noqa: BLE001 - contrôle facultatif (droits, base indisponible)
            zones_existantes = None
    p = _Preparation(table, correspondance, parcelles, communes, commune_par_defaut, magasin,
                     zones_existantes, localiser_au_centroide, corriger_geometries, revetements_par_defaut,
                     correspondance_zones)

    # Messages de lecture et colonnes.
    for texte in table.avertissements:
        p.messages.append({"fichier": table.nom_fichier, "feuille": None, "ligne": None, "champ": None,
                           "niveau": "avertissement", "message": texte})
    lignes = _lignes_table(table, correspondance, principale=True)
    par_numero = {l.numero: l for l in lignes}
    for probleme in table.problemes:
        ligne = par_numero.get(probleme["ligne"])
        p.messages.append({"fichier": table.nom_fichier, "feuille": table.feuille, **probleme})
        if ligne is not None and probleme["niveau"] == "erreur":
            ligne.erreur = True
    champs_absents = [c for c in CHAMPS_OBLIGATOIRES if c not in correspondance]
    for champ in champs_absents:
        p.messages.append({
            "fichier": table.nom_fichier, "feuille": table.feuille, "ligne": None, "champ": champ,
            "niveau": "erreur",
            "message": f"{table.nom_fichier}{', feuille « ' + table.feuille + ' »' if table.feuille else ''} : "
                       f"aucune colonne pour le champ obligatoire « {CHAMPS_IMPORT[champ]} » ({champ}), toutes "
                       f"les lignes sont refusées. Ajoutez une colonne « {champ} » ou choisissez-la dans la "
                       "correspondance des colonnes."})
    ignorees = [c for c in table.colonnes if c not in correspondance.values()]
    if ignorees and len(table):
        p.messages.append({"fichier": table.nom_fichier, "feuille": table.feuille, "ligne": None,
                           "champ": "colonnes", "niveau": "avertissement",
                           "message": f"{table.nom_fichier} : colonne(s) ignorée(s), sans champ correspondant : "
                                      f"{', '.join(ignorees)}. Choisissez leur champ dans la correspondance si "
                                      "elles doivent être importées."})
    if not lignes:
        p.messages.append({"fichier": table.nom_fichier, "feuille": table.feuille, "ligne": None, "champ": None,
                           "niveau": "erreur", "message": f"{table.nom_fichier} : aucune ligne de données."})

    # Regroupement des lignes en opérations.
    operations: list[_Operation] = []
    par_cle: dict[tuple, _Operation] = {}
    for ligne in lignes:
        champs = p.lire_operation(ligne)
        cle_brute = _texte(ligne.valeurs.get("cle_operation"))
        if cle_brute:
            cle = ("cle", _normaliser(cle_brute) or cle_brute)
        elif champs.get("nom"):
            cle = ("nom", _normaliser(champs["nom"]), champs.get("code_insee"))
        else:
            cle = ("ligne", ligne.numero)
        operation = par_cle.get(cle)
        if operation is None:
            operation = _Operation(cle, [ligne], champs, sources={c: ligne for c, v in champs.items()
                                                                  if v is not None})
            par_cle[cle] = operation
            operations.append(operation)
        else:
            operation.lignes.append(ligne)
            for champ, valeur in champs.items():
                if valeur is None:
                    continue
                actuelle = operation.champs.get(champ)
                if actuelle is None:
                    operation.champs[champ] = valeur
                    operation.sources[champ] = ligne
                elif actuelle != valeur and not champ.startswith("_"):
                    source = operation.sources[champ]
                    p.avertir(ligne, champ, "valeur différente de celle donnée pour la même opération "
                              f"({p.repere(source)}) : la première est gardée")
        zone = p.lire_zone(ligne)
        if zone is not None:
            operation.zones.append(zone)

    # Feuille « zones » du modèle XLSX.
    if zones_table is not None:
        par_cle_brute = {}
        for operation in operations:
            cle_brute = _texte(operation.premiere.valeurs.get("cle_operation"))
            if cle_brute:
                par_cle_brute.setdefault(_normaliser(cle_brute) or cle_brute, operation)
        for ligne in _lignes_table(zones_table, correspondance_zones, principale=False):
            cle_brute = _texte(ligne.valeurs.get("cle_operation"))
            if not cle_brute:
                p.erreur(ligne, "cle_operation", "clé de l'opération manquante : recopiez la clé de la feuille "
                         f"« {table.feuille} »")
                continue
            operation = par_cle_brute.get(_normaliser(cle_brute) or cle_brute)
            if operation is None:
                p.erreur(ligne, "cle_operation", f"clé « {cle_brute} » absente de la feuille « {table.feuille} » "
                         ": ajoutez l'opération ou corrigez la clé")
                continue
            zone = p.lire_zone(ligne)
            if zone is None:
                p.erreur(ligne, "geometrie_wkt", "ni géométrie (WKT) ni références cadastrales : renseignez "
                         "l'une des deux")
                continue
            operation.zones.append(zone)

    # Contrôles par opération.
    for operation in operations:
        _controler_operation(p, operation, champs_absents)
    _controler_chevauchements(p, operations)
    _controler_doublons(p, operations, magasin)

    # Droits (façade qui sait répondre à « peut(action, code_insee) »), règles du magasin, dictionnaires.
    peut = getattr(magasin, "peut", None)
    if callable(peut):
        for operation in operations:
            code = operation.champs.get("code_insee")
            if code and not operation.en_erreur() and not _autorise(peut, code):
                p.erreur(operation.premiere, "code_insee", f"vous n'avez pas le droit de créer une opération dans "
                         f"la commune {code}. Retirez cette ligne ou demandez l'accès à un administrateur")
    verifier = _resoudre_verificateur(magasin)
    valides, lignes_valides, lignes_erreur, lignes_par_op, apercu_lignes = [], [], [], [], []
    for rang, operation in enumerate(operations, start=1):
        dictionnaire = _dictionnaire(p, operation)
        if not operation.en_erreur():
            contexte = f"{table.nom_fichier}, {p.unite(None)} {operation.premiere.numero}"
            try:
                verifier(dictionnaire, contexte)
            except ErreurDonnees as exc:
                ligne = operation.premiere
                if m := re.search(r"zone n° (\d+)", str(exc)):
                    rang_zone = int(m[1]) - 1
                    if 0 <= rang_zone < len(operation.zones):
                        ligne = operation.zones[rang_zone].ligne
                p.messages.append({"fichier": table.nom_fichier, "feuille": ligne.feuille, "ligne": ligne.numero,
                                   "champ": exc.colonne, "niveau": "erreur", "message": str(exc)})
                ligne.erreur = True
        numeros = [l.numero for l in operation.lignes]
        if operation.en_erreur():
            lignes_erreur += numeros
        else:
            valides.append(dictionnaire)
            lignes_valides += numeros
            lignes_par_op.append(numeros)
        apercu_lignes.append(_ligne_apercu(rang, operation, dictionnaire))

    erreurs = pd.DataFrame(p.messages, columns=["fichier", "feuille", "ligne", "champ", "niveau", "message"])
    erreurs["ligne"] = erreurs["ligne"].astype("Int64")
    if len(erreurs):
        erreurs = erreurs.assign(_ordre=erreurs["ligne"].fillna(-1).astype(int)) \
            .sort_values(["_ordre"], kind="stable").drop(columns="_ordre").reset_index(drop=True)
    apercu = gpd.GeoDataFrame(pd.DataFrame(apercu_lignes, columns=_COLONNES_APERCU),
                              geometry="geometry", crs=CRS_STOCKAGE)
    return ApercuImport(nom_fichier=table.nom_fichier, operations=valides, erreurs=erreurs,
                        lignes_valides=sorted(set(lignes_valides)), lignes_en_erreur=sorted(set(lignes_erreur)),
                        apercu=apercu, correspondance=dict(correspondance), nb_operations=len(operations),
                        lignes_operations=lignes_par_op)


def _controler_operation(p: _Preparation, operation: _Operation, champs_absents: list[str]) -> None:
    champs = operation.champs
    premiere = operation.premiere
    if champs_absents:
        operation.invalide = True
    # Commune : valeur, commune par défaut, identifiants cadastraux, géométrie.
    code = champs.get("code_insee")
    erreur_commune = any(l.erreur and not _est_vide(l.valeurs.get("code_insee")) for l in operation.lignes)
    if code is None and not erreur_commune:
        if p.commune_defaut:
            code = p.commune_defaut
        else:
            for zone in operation.zones:
                for reference in re.split(r"[,;+\s]+", str(zone.ligne.valeurs.get("parcelles") or "").upper()):
                    if m := MOTIF_ID_PARCELLE.match(reference):
                        code = m[1]
                        break
                if code:
                    break
        if code is None and p.communes_l93:
            geometries = [z.geometrie for z in operation.zones if z.geometrie is not None]
            if geometries:
                code = p.commune_de(_vers_l93(shapely.union_all(geometries)))
                if code:
                    p.avertir(premiere, "code_insee", f"code INSEE absent : commune {code} déduite de la "
                              "géométrie. Vérifiez-la")
        if code is None:
            p.erreur(premiere, "code_insee", "obligatoire. Indiquez le code INSEE à 5 caractères (ex. 34301), "
                     "ou choisissez une commune par défaut pour tout le fichier")
    champs["code_insee"] = code
    for champ in CHAMPS_OBLIGATOIRES:
        if champ in champs_absents:
            continue
        if champs.get(champ) is None and not any(l.erreur and not _est_vide(l.valeurs.get(champ))
                                                 for l in operation.lignes):
            aide = {"nom": "Donnez un nom à l'opération (ex. « Cour de l'école Jules-Ferry »)",
                    "type_site": "Valeurs possibles : " + ", ".join(p.noms["type_site"].libelles),
                    "statut": "Valeurs possibles : " + ", ".join(p.noms["statut"].libelles)}[champ]
            p.erreur(premiere, champ, f"obligatoire. {aide}")
    annee = champs.get("_annee")
    if annee is not None and champs.get("date_fin_travaux") is None and champs.get("statut") is not None:
        ligne = operation.sources.get("_annee", premiere)
        if champs["statut"] == "realisee" or annee >= date.today().year:
            champs["date_fin_travaux"], avertissement = _annee_seule(annee)
            p.avertir(ligne, "annee", avertissement)
        else:
            champs["_annee_mentionnee"] = annee
            p.avertir(ligne, "annee", f"année {annee} passée pour une opération "
                      f"« {nomenclatures.STATUTS[champs['statut']].lower()} » : ce n'est pas une date de fin "
                      f"prévue, elle est seulement notée dans la description (« Année indiquée : {annee} »). "
                      "Indiquez la date de fin prévue si vous la connaissez")
    if champs.get("cout_ht_eur") is not None and "ttc" in _normaliser(champs.get("precision_cout")).split("_"):
        ligne = operation.sources.get("precision_cout", premiere)
        p.avertir(ligne, "precision_cout", f"coût indiqué TTC ({_euros(champs['cout_ht_eur'])}) : il est enregistré "
                  "tel quel comme coût HT, sans conversion. Corrigez-le si vous connaissez le montant HT")
    if champs.get("statut") == "realisee" and champs.get("date_fin_travaux") is None \
            and not any(l.erreur and not _est_vide(l.valeurs.get("date_fin_travaux")) for l in operation.lignes):
        p.erreur(premiere, "date_fin_travaux", "obligatoire quand l'opération est réalisée, et jamais inventée : "
                 "la ligne n'est pas importée. Indiquez la date de fin des travaux (jj/mm/aaaa) ou au moins "
                 "l'année, ou un autre statut si les travaux ne sont pas terminés")
    if champs.get("statut") == "realisee" and champs.get("date_fin_travaux") \
            and champs["date_fin_travaux"] > date.today():
        p.avertir(premiere, "date_fin_travaux", f"date {champs['date_fin_travaux'].strftime('%d/%m/%Y')} dans "
                  "le futur pour une opération réalisée. Vérifiez la date ou le statut")
    financements = champs.get("financements") or []
    total = sum(f["montant_eur"] for f in financements)
    if financements and champs.get("cout_ht_eur") is not None and total > champs["cout_ht_eur"] + 0.005:
        ligne = operation.sources.get("financements", premiere)
        p.erreur(ligne, "financements", f"le total des aides ({_euros(total)}) dépasse le coût HT "
                 f"({_euros(champs['cout_ht_eur'])}). Corrigez les montants ou le coût")

    # Parcelles et zones.
    for zone in operation.zones:
        p.resoudre_parcelles(operation, zone, code)
    if not operation.zones:
        if not p.localiser:
            p.erreur(premiere, "geometrie", "aucune zone : ni géométrie, ni références cadastrales. Ajoutez "
                     "une colonne WKT ou « parcelles », une ligne dans la feuille « zones », ou choisissez de "
                     "localiser les opérations sans géométrie au centre de leur commune")
        elif not p.communes_l93:
            p.erreur(premiere, "geometrie", "aucune géométrie, et la couche des communes n'est pas chargée pour "
                     "placer l'opération au centre de sa commune. Chargez le référentiel ou ajoutez une géométrie")
        elif code is None:
            operation.invalide = True  # erreur déjà signalée sur le code INSEE
        elif code not in p.communes_l93:
            p.erreur(premiere, "code_insee", f"commune {code} absente de la couche des communes : impossible de "
                     "placer l'opération au centre de sa commune. Vérifiez le code INSEE ou ajoutez une géométrie")
        else:
            carre = p.emplacement(code)
            zone = _Zone(premiere, _depuis_l93(carre), REVETEMENT_EMPLACEMENT, REVETEMENT_EMPLACEMENT,
                         emplacement=True, l93=carre)
            operation.zones.append(zone)
            p.avertir(premiere, "geometrie", "aucune géométrie : opération placée au centre de la commune "
                      f"{code} (carré de {COTE_EMPLACEMENT_M:.0f} m, localisation approximative, surface non "
                      "comptée). Dessinez son contour plus tard dans le formulaire")

    surface_totale = 0.0
    for zone in operation.zones:
        if zone.geometrie is None or zone.emplacement:
            continue
        zone.l93 = _vers_l93(zone.geometrie)
        surface = zone.l93.area
        surface_totale += surface
        if surface < SURFACE_MIN_M2:
            p.avertir(zone.ligne, zone.champ, f"zone minuscule ({_m2(surface)}). Vérifiez le contour et le "
                      "système de coordonnées")
        elif surface > SURFACE_MAX_M2:
            p.avertir(zone.ligne, zone.champ, f"zone très grande ({formater_nombre(surface / 10000, 1, 'ha')}, plus de 10 ha). "
                      "Vérifiez qu'il s'agit bien de la surface aménagée")
        if code and code in p.communes_l93 and surface > 0:
            hors = 1 - zone.l93.intersection(p.communes_l93[code]).area / surface
            if hors > PART_MAX_HORS_COMMUNE:
                p.erreur(zone.ligne, zone.champ, f"zone à {hors:.0%} hors de la commune {code}. Vérifiez le code "
                         "INSEE, ou le système de coordonnées du fichier".replace("%", " %"))
            elif hors > PART_ALERTE_HORS_COMMUNE:
                p.avertir(zone.ligne, zone.champ, f"zone à {hors:.0%} hors de la commune {code}. Vérifiez le "
                          "contour".replace("%", " %"))
    declaree = champs.get("surface_declaree_m2")
    if declaree and surface_totale > 0 and not any(z.emplacement for z in operation.zones) \
            and abs(surface_totale - declaree) > ECART_SURFACE_DECLAREE * declaree:
        ligne = operation.sources.get("surface_declaree_m2", premiere)
        p.avertir(ligne, "surface_declaree_m2", f"surface déclarée ({_m2(declaree)}) éloignée de plus de 10 % "
                  f"de la surface dessinée ({_m2(surface_totale)}). Les indicateurs utilisent la surface dessinée")


def _controler_chevauchements(p: _Preparation, operations: list[_Operation]) -> None:
    zones = [(o, z) for o in operations for z in o.zones if z.l93 is not None and not z.emplacement
             and z.l93.is_valid and z.l93.area > 0]
    if not zones:
        return
    geometries = [z.l93 for _, z in zones]
    arbre = shapely.STRtree(geometries)
    paires = arbre.query(geometries, predicate="intersects")
    for i, j in zip(*paires):
        if i >= j:
            continue
        commun = geometries[i].intersection(geometries[j]).area
        if commun > CHEVAUCHEMENT_MIN_M2:
            zone_i, zone_j = zones[i][1], zones[j][1]
            meme = zones[i][0] is zones[j][0]
            quoi = "une autre zone de la même opération" if meme else "une autre opération du fichier"
            p.avertir(zone_j.ligne, zone_j.champ, f"la zone chevauche {quoi} ({p.repere(zone_i.ligne)}) sur "
                      f"{_m2(commun)}. Doublon ? Vérifiez les contours")
    existantes = p.zones_existantes
    if existantes is None or not len(existantes):
        return
    if existantes.crs is None:
        existantes = existantes.set_crs(CRS_STOCKAGE)
    existantes = existantes.to_crs(CRS_L93)
    valeurs = [g if g is not None and g.is_valid else (shapely.make_valid(g) if g is not None else None)
               for g in existantes.geometry.values]
    arbre = shapely.STRtree([g if g is not None else shapely.Point() for g in valeurs])
    ids = existantes["operation_id"].tolist() if "operation_id" in existantes.columns else [None] * len(existantes)
    noms = existantes["nom"].tolist() if "nom" in existantes.columns else [None] * len(existantes)
    entree, trouves = arbre.query(geometries, predicate="intersects")
    deja: set[tuple] = set()
    for i, k in zip(entree, trouves):
        commun = geometries[i].intersection(valeurs[k]).area
        cle = (i, ids[k])
        if commun > CHEVAUCHEMENT_MIN_M2 and cle not in deja:
            deja.add(cle)
            quelle = f"n° {ids[k]}" if ids[k] is not None else ""
            if noms[k]:
                quelle += f" « {noms[k]} »"
            p.avertir(zones[i][1].ligne, zones[i][1].champ, f"la zone chevauche une opération déjà enregistrée "
                      f"({quelle.strip()}) sur {_m2(commun)}. Doublon ? Vérifiez avant d'importer")


def _controler_doublons(p: _Preparation, operations: list[_Operation], magasin: Any) -> None:
    """Refuse une opération déjà enregistrée (même commune, même nom) : réimporter un fichier ne crée
    pas de doublons ; en « lignes valides », seules les nouvelles lignes sont écrites."""
    lire = getattr(magasin, "lire_operations", None)
    if not callable(lire):
        return
    try:
        existantes = lire()
    except Exception:  # noqa: BLE001 - contrôle facultatif (droits, base indisponible)
        return
    if existantes is None or not len(existantes) or not {"code_insee", "nom"} <= set(existantes.columns):
        return
    ids = existantes["id"].tolist() if "id" in existantes.columns else [None] * len(existantes)
    deja: dict[tuple[str, str], Any] = {}
    for identifiant, code, nom in zip(ids, existantes["code_insee"].astype(str), existantes["nom"]):
        deja.setdefault((code, _normaliser(nom)), identifiant)
    for operation in operations:
        code, nom = operation.champs.get("code_insee"), operation.champs.get("nom")
        if operation.en_erreur() or not code or not nom or (code, _normaliser(nom)) not in deja:
            continue
        identifiant = deja[(code, _normaliser(nom))]
        numero = f"n° {identifiant}, " if identifiant is not None else ""
        p.erreur(operation.premiere, "nom", f"opération déjà enregistrée ({numero}« {nom} », commune {code}) : la "
                 "ligne n'est pas importée une seconde fois. Si c'est une autre opération, donnez-lui un nom "
                 "distinct ; sinon modifiez la fiche existante")


def _dictionnaire(p: _Preparation, operation: _Operation) -> dict:
    champs = operation.champs
    ajouts = [champs.get("description")]
    if champs.get("precision_surface"):
        ajouts.append(f"Surface : {champs['precision_surface']}")
    if champs.get("precision_cout"):
        ajouts.append(f"Coût : {champs['precision_cout']}")
    if champs.get("_annee_mentionnee"):
        ajouts.append(f"Année indiquée : {champs['_annee_mentionnee']}")
    if champs.get("_texte_financeurs"):
        ajouts.append(f"Financeurs : {champs['_texte_financeurs']}")
    description = "\n".join(a for a in ajouts if a) or None
    source = champs.get("source")
    if source and champs.get("type_source"):
        source = f"{source} ({champs['type_source']})"
    source = source or champs.get("type_source") or \
        f"Fichier importé « {p.table.nom_fichier} » ({p.repere(operation.premiere)})"
    parcelles = list(dict.fromkeys(i for z in operation.zones for i in z.parcelles))
    return {
        "code_insee": champs.get("code_insee"),
        "nom": champs.get("nom"),
        "type_site": champs.get("type_site"),
        "statut": champs.get("statut"),
        "date_fin_travaux": champs.get("date_fin_travaux"),
        "maitre_ouvrage": champs.get("maitre_ouvrage"),
        "description": description,
        "retour_experience": champs.get("retour_experience"),
        "contact": champs.get("contact"),
        "cout_ht_eur": champs.get("cout_ht_eur"),
        "arbres_plantes": champs.get("arbres_plantes") or 0,
        "deconnexion_reseau": bool(champs.get("deconnexion_reseau") or False),
        "volume_stockage_m3": champs.get("volume_stockage_m3"),
        "parcelles": parcelles,
        "surface_declaree_m2": champs.get("surface_declaree_m2"),
        "localisation_approximative": any(z.emplacement for z in operation.zones),
        "source": source,
        "zones": [{"geometrie": z.geometrie, "revetement_avant": z.avant, "revetement_apres": z.apres}
                  for z in operation.zones],
        "financements": [dict(f) for f in (champs.get("financements") or [])],
    }


_COLONNES_APERCU = ["operation", "lignes", "etat", "nom", "code_insee", "type_site", "statut",
                    "date_fin_travaux", "cout_ht_eur", "aides_eur", "nb_zones", "surface_m2",
                    "surface_declaree_m2", "localisation_approximative", "geometry"]


def _ligne_apercu(rang: int, operation: _Operation, dictionnaire: dict) -> list:
    geometries = [z.geometrie for z in operation.zones if z.geometrie is not None]
    surfaces = [z.l93.area for z in operation.zones if z.l93 is not None and not z.emplacement]
    return [rang, ", ".join(str(l.numero) for l in operation.lignes),
            "erreur" if operation.en_erreur() else "valide", dictionnaire["nom"], dictionnaire["code_insee"],
            dictionnaire["type_site"], dictionnaire["statut"], dictionnaire["date_fin_travaux"],
            dictionnaire["cout_ht_eur"], float(sum(f["montant_eur"] for f in dictionnaire["financements"])),
            len(operation.zones), float(sum(surfaces)) if surfaces else None,
            dictionnaire["surface_declaree_m2"], dictionnaire["localisation_approximative"],
            shapely.union_all(geometries) if geometries else None]


# ------------------------------------------------------------------------------- écriture


def importer(apercu: ApercuImport, magasin_ou_facade: Any, auteur: str, mode: str = "tout_ou_rien",
             progression: Callable[[int, int], Any] | None = None) -> RapportImport:
    """Écrit les opérations valides en une transaction (``importer_lot`` du magasin ou de la façade).

    ``tout_ou_rien`` : rien n'est écrit si une ligne a une erreur ; ``lignes_valides`` : seules les
    opérations sans erreur sont écrites. Les refus du magasin ou de la façade (droits, règles) sont
    rendus dans le rapport (``ecrit=False``) : rien n'est alors écrit. L'objet reçu peut être un
    :class:`~donnees.magasin.Magasin` ou une façade : ``importer_lot`` (une transaction) est préféré ;
    l'auteur n'est passé que si la méthode l'attend ; ``peut("creer", code_insee)`` est consulté
    avant toute écriture s'il existe. Sans ``importer_lot``, les opérations sont créées une par une et,
    en « tout ou rien », celles déjà créées sont supprimées (suppression logique) si une suivante échoue.
    """
    if mode not in MODES:
        raise ErreurDonnees(f"Mode d'import « {mode} » inconnu : « tout_ou_rien » ou « lignes_valides ».",
                            "import", "mode")
    operations = list(apercu.operations)
    refusees = list(apercu.lignes_en_erreur)

    def rapport(ecrit: bool, identifiants: list[int], message: str, importees: list[int]) -> RapportImport:
        non_ecrites = refusees if ecrit else sorted(set(refusees) | set(apercu.lignes_valides))
        return RapportImport(mode=mode, ecrit=ecrit, identifiants=identifiants, lignes_importees=importees,
                             lignes_refusees=non_ecrites, message=message, erreurs=apercu.erreurs)

    if mode == "tout_ou_rien" and apercu.a_des_erreurs:
        lignes = ", ".join(str(n) for n in refusees[:10]) + (" …" if len(refusees) > 10 else "")
        return rapport(False, [], f"Import refusé : {apercu.nb_erreurs} erreur(s) dans {apercu.nom_fichier}"
                       + (f" (lignes {lignes})" if refusees else "") + ". Rien n'a été enregistré. Corrigez "
                       "le fichier, ou importez seulement les lignes valides.", [])
    if not operations:
        return rapport(False, [], f"Aucune opération valide dans {apercu.nom_fichier} : rien n'a été "
                       "enregistré.", [])
    importees = sorted(n for lignes in apercu.lignes_operations for n in lignes)
    cible = magasin_ou_facade
    peut = getattr(cible, "peut", None)
    if callable(peut):
        interdites = sorted({o["code_insee"] for o in operations if not _autorise(peut, o["code_insee"])})
        if interdites:
            return rapport(False, [], "Import refusé : vous n'avez pas le droit de créer des opérations dans la "
                           f"ou les communes {', '.join(interdites)}. Rien n'a été enregistré.", [])
    try:
        if hasattr(cible, "importer_lot"):
            arguments = [operations, auteur] if _accepte_auteur(cible.importer_lot) else [operations]
            options = {"progression": progression} if progression is not None else {}
            identifiants = cible.importer_lot(*arguments, **options)
        elif hasattr(cible, "creer_operation"):
            identifiants = _creer_une_par_une(cible, operations, auteur, mode, progression)
        else:
            raise ErreurDonnees("Import : l'objet fourni n'a ni « importer_lot » ni « creer_operation ».",
                                "import", "magasin")
    except _ImportPartiel as exc:
        return rapport(bool(exc.identifiants), exc.identifiants, exc.message,
                       importees if exc.identifiants else [])
    except (ErreurDonnees, PermissionError) as exc:
        return rapport(False, [], f"Import refusé par le magasin : {exc} Rien n'a été enregistré.", [])
    identifiants = [int(i) for i in identifiants]
    message = f"{len(identifiants)} opération(s) importée(s) depuis {apercu.nom_fichier}"
    if refusees:
        message += f" ; {len(refusees)} ligne(s) refusée(s) (voir les erreurs)"
    return rapport(True, identifiants, message + ".", importees)


class _ImportPartiel(Exception):
    """Échec en cours d'écriture une par une (façade sans ``importer_lot``)."""

    def __init__(self, message: str, identifiants: list[int]):
        super().__init__(message)
        self.message = message
        self.identifiants = identifiants


def _creer_une_par_une(cible: Any, operations: list[dict], auteur: str, mode: str,
                       progression: Callable[[int, int], Any] | None) -> list[int]:
    """Écrit avec ``creer_operation``.

    « tout ou rien » : au premier refus, les opérations déjà créées sont supprimées (suppression
    logique, journalisée) ; « lignes valides » : les refusées sont sautées et citées dans le rapport.
    """
    avec_auteur = _accepte_auteur(cible.creer_operation)
    identifiants: list[int] = []
    refus: list[str] = []
    for rang, operation in enumerate(operations, start=1):
        try:
            identifiants.append(int(cible.creer_operation(operation, auteur) if avec_auteur
                                    else cible.creer_operation(operation)))
        except (ErreurDonnees, PermissionError) as exc:
            nom = operation.get("nom")
            if mode == "lignes_valides":
                refus.append(f"« {nom} » ({exc})")
                continue
            if not identifiants:
                raise
            annulees = _annuler(cible, identifiants, auteur)
            if annulees == len(identifiants):
                raise _ImportPartiel(
                    f"Import refusé : l'opération « {nom} » a été refusée ({exc}). Les {annulees} opération(s) "
                    "déjà créée(s) ont été supprimées (restaurables par un administrateur) : rien n'est resté "
                    "enregistré.", []) from None
            raise _ImportPartiel(
                f"Import interrompu : l'opération « {nom} » a été refusée ({exc}) et les {len(identifiants)} "
                "opération(s) déjà créée(s) n'ont pas pu être annulées "
                f"(n° {', '.join(map(str, identifiants))}). Supprimez-les, ou corrigez le fichier et importez "
                "le reste.", identifiants) from None
        if progression is not None:
            progression(rang, len(operations))
    if refus:
        raise _ImportPartiel(f"{len(identifiants)} opération(s) importée(s) ; {len(refus)} refusée(s) à "
                             f"l'écriture : {' ; '.join(refus)}", identifiants)
    return identifiants


def _annuler(cible: Any, identifiants: list[int], auteur: str) -> int:
    supprimer = getattr(cible, "supprimer_operation", None)
    if not callable(supprimer):
        return 0
    avec_auteur = _accepte_auteur(supprimer) and "auteur" in inspect.signature(supprimer).parameters
    annulees = 0
    for identifiant in identifiants:
        try:
            supprimer(identifiant, 1, auteur) if avec_auteur else supprimer(identifiant, 1)
            annulees += 1
        except Exception:  # noqa: BLE001 - annulation au mieux
            continue
    return annulees


def importer_fichier(chemin_ou_octets: Any, magasin_ou_facade: Any, auteur: str,
                     mode: str = "tout_ou_rien", nom_fichier: str | None = None,
                     lecture: Mapping[str, Any] | None = None, **options: Any) -> tuple[ApercuImport, RapportImport]:
    """Enchaîne lecture, correspondance automatique, préparation et écriture (pour la CLI).

    ``lecture`` : options de :func:`lire_fichier` (``couche``, ``crs_declare``) ; ``options`` :
    celles de :func:`preparer_import` (``parcelles``, ``communes``, ``localiser_au_centroide``…).
    """
    table = lire_fichier(chemin_ou_octets, nom_fichier, **dict(lecture or {}))
    options.setdefault("magasin", magasin_ou_facade)
    apercu = preparer_import(table, proposer_correspondance(table), **options)
    return apercu, importer(apercu, magasin_ou_facade, auteur, mode)


# ------------------------------------------------------------------------------- modèle XLSX


def generer_modele_xlsx() -> bytes:
    """Modèle Excel d'import : feuilles « opérations », « zones » et « aide » (codes et libellés)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    classeur = Workbook()
    gras = Font(bold=True, color="FFFFFF")
    fond = PatternFill("solid", fgColor="2F6B4F")
    fond_aide = PatternFill("solid", fgColor="DCEFE4")
    aides_colonnes = {
        "cle_operation": ("oui si plusieurs zones", "Identifiant libre de l'opération (ex. OP1), recopié dans "
                          "la feuille « zones » pour chaque zone.", "OP1"),
        "code_insee": ("oui", "Code INSEE de la commune, 5 caractères.", "34301"),
        "nom": ("oui", "Nom de l'opération.", "Cour de l'école Jules-Ferry"),
        "type_site": ("oui", "Code ou libellé du type de site (liste ci-contre).", "cour_ecole"),
        "statut": ("oui", "Code ou libellé du statut (liste ci-contre).", "realisee"),
        "date_fin_travaux": ("si réalisée", "Date de fin des travaux, jj/mm/aaaa (ou l'année seule).",
                             "15/09/2023"),
        "cout_ht_eur": ("non", "Coût hors taxes en euros.", "120000"),
        "financements": ("non", "Financeurs et montants : « financeur : montant » séparés par « ; ».",
                         "Agence de l'eau : 50000 ; Région : 20000"),
        "surface_declaree_m2": ("non", "Surface annoncée (m²). Laissez vide si inconnue.", "850"),
        "arbres_plantes": ("non", "Nombre d'arbres plantés.", "4"),
        "deconnexion_reseau": ("non", "Eaux de pluie déconnectées du réseau : oui ou non.", "oui"),
        "volume_stockage_m3": ("non", "Volume de stockage des eaux de pluie (m³).", "12"),
        "maitre_ouvrage": ("non", "Maître d'ouvrage.", "Ville de Sète"),
        "description": ("non", "Ce qui a été fait.", ""),
        "retour_experience": ("non", "Difficultés, conseils.", ""),
        "contact": ("non", "Personne à contacter.", ""),
        "source": ("non", "Source de l'information (URL, délibération…).", ""),
        "geometrie_wkt": ("une des deux", "Contour en WKT, longitude/latitude WGS84 (EPSG:4326).",
                          "POLYGON((3.6935 43.4030, 3.6945 43.4030, 3.6945 43.4037, 3.6935 43.4030))"),
        "parcelles": ("une des deux", "Références cadastrales de la commune, séparées par des virgules "
                      "(« AB 123 » ou identifiant à 14 caractères).", "AB 123, AB 124"),
        "revetement_avant": ("oui", "Code ou libellé du revêtement avant travaux (liste ci-contre).", "enrobe"),
        "revetement_apres": ("oui", "Code ou libellé du revêtement après travaux (liste ci-contre).", "pelouse"),
    }

    def entetes(feuille, colonnes: dict[str, str]) -> None:
        for rang, (champ, entete) in enumerate(colonnes.items(), start=1):
            cellule = feuille.cell(row=1, column=rang, value=entete)
            cellule.font, cellule.fill = gras, fond
            cellule.alignment = Alignment(wrap_text=True, vertical="center")
            obligatoire, texte, exemple = aides_colonnes[champ]
            cellule.comment = Comment(f"{texte}\nObligatoire : {obligatoire}."
                                      + (f"\nExemple : {exemple}" if exemple else ""), "Désimper")
            feuille.column_dimensions[get_column_letter(rang)].width = max(14, min(45, len(entete) + 4))
        feuille.freeze_panes = "A2"
        feuille.row_dimensions[1].height = 32

    operations = classeur.active
    operations.title = FEUILLE_OPERATIONS
    entetes(operations, ENTETES_OPERATIONS)
    zones = classeur.create_sheet(FEUILLE_ZONES)
    entetes(zones, ENTETES_ZONES)
    zones.column_dimensions["B"].width = 60

    aide = classeur.create_sheet(FEUILLE_AIDE)
    lignes_aide = [
        "Modèle d'import des opérations de désimperméabilisation (Désimper)",
        "1. Feuille « opérations » : une ligne par opération ; la ligne 1 (en-têtes) ne doit pas être modifiée.",
        "2. Feuille « zones » : une ligne par zone (surface de revêtement homogène), avec la clé de son "
        "opération, son contour (WKT en WGS84) ou ses parcelles cadastrales, et ses revêtements avant/après.",
        "3. Codes : utilisez les codes ou les libellés des listes ci-contre (majuscules et accents indifférents).",
        "4. Dates : jj/mm/aaaa. Nombres : virgule ou point décimal. Surfaces inconnues : laissez vide.",
        "5. L'import vérifie chaque ligne et indique les erreurs (numéro de ligne, champ, correction).",
    ]
    for rang, texte in enumerate(lignes_aide, start=1):
        cellule = aide.cell(row=rang, column=1, value=texte)
        if rang == 1:
            cellule.font = Font(bold=True, size=13)
    debut = len(lignes_aide) + 2
    for rang, titre in enumerate(("Colonne", "Feuille", "Obligatoire", "Description", "Exemple"), start=1):
        cellule = aide.cell(row=debut, column=rang, value=titre)
        cellule.font, cellule.fill = Font(bold=True), fond_aide
    ligne = debut + 1
    for feuille, colonnes in ((FEUILLE_OPERATIONS, ENTETES_OPERATIONS), (FEUILLE_ZONES, ENTETES_ZONES)):
        for champ, entete in colonnes.items():
            obligatoire, texte, exemple = aides_colonnes[champ]
            for rang, valeur in enumerate((entete, feuille, obligatoire, texte, exemple), start=1):
                aide.cell(row=ligne, column=rang, value=valeur)
            ligne += 1
    for lettre, largeur in zip("ABCDE", (38, 12, 16, 70, 40)):
        aide.column_dimensions[lettre].width = largeur

    revetements = nomenclatures.lire_revetements()
    listes = {
        "G": ("Revêtements", [(c, revetements.loc[c, "libelle"], "oui" if revetements.loc[c, "impermeable"]
                                else "non") for c in revetements.index], ("code", "libellé", "imperméable")),
        "K": ("Types de site", list(nomenclatures.lire_types_site().items()), ("code", "libellé")),
        "N": ("Statuts", list(nomenclatures.STATUTS.items()), ("code", "libellé")),
    }
    plages = {}
    from openpyxl.utils import column_index_from_string
    for lettre, (titre, valeurs, titres) in listes.items():
        colonne = column_index_from_string(lettre)
        aide.cell(row=1, column=colonne, value=titre).font = Font(bold=True)
        for decalage, t in enumerate(titres):
            cellule = aide.cell(row=2, column=colonne + decalage, value=t)
            cellule.font, cellule.fill = Font(bold=True), fond_aide
            aide.column_dimensions[get_column_letter(colonne + decalage)].width = 22 if decalage == 0 else 40
        for rang, valeur in enumerate(valeurs, start=3):
            for decalage, v in enumerate(valeur):
                aide.cell(row=rang, column=colonne + decalage, value=str(v))
        plages[titre] = f"{FEUILLE_AIDE}!${lettre}$3:${lettre}${2 + len(valeurs)}"

    def liste(feuille, champ: str, colonnes: dict[str, str], plage: str) -> None:
        lettre = get_column_letter(list(colonnes).index(champ) + 1)
        validation = DataValidation(type="list", formula1=f"={plage}", allow_blank=True, showErrorMessage=False)
        validation.add(f"{lettre}2:{lettre}2000")
        feuille.add_data_validation(validation)

    liste(operations, "type_site", ENTETES_OPERATIONS, plages["Types de site"])
    liste(operations, "statut", ENTETES_OPERATIONS, plages["Statuts"])
    liste(zones, "revetement_avant", ENTETES_ZONES, plages["Revêtements"])
    liste(zones, "revetement_apres", ENTETES_ZONES, plages["Revêtements"])

    sortie = io.BytesIO()
    classeur.save(sortie)
    return sortie.getvalue()
