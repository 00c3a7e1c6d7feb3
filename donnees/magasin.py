"""Magasin des saisies : opérations, zones, financements, photos, utilisateurs et journal.

SQLite par défaut (fichier du dossier de données, WAL et clés étrangères), PostgreSQL + PostGIS quand
l'URL est ``postgresql+psycopg://…``. Les zones sont stockées en WGS84 (EPSG:4326) ; leur surface est
calculée à l'écriture en Lambert-93 (EPSG:2154), jamais fournie par l'utilisateur.

Toute écriture d'une opération (avec ses zones, financements et photos) se fait en **une** transaction,
avec verrouillage optimiste (colonne ``version``) et exactement une ligne de journal par changement.
Les saisies sont vérifiées avant toute écriture : la moindre anomalie lève :class:`ErreurDonnees`
avec un message en français qui nomme le champ et dit quoi corriger.

Les horodatages sont enregistrés en UTC, sans fuseau.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry
from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    DDL,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from donnees import nomenclatures
from donnees.config import url_base
from donnees.schemas import CRS_CALCUL, CRS_STOCKAGE, ErreurDonnees, decrire_invalidite

__all__ = [
    "ConflitVersion",
    "ErreurDonnees",
    "Magasin",
    "OperationIntrouvable",
    "metadonnees",
    "verifier_operation",
]

SRID_STOCKAGE = 4326
TAILLE_PAQUET_IMPORT = 250
PRECISION_WKT = 8  # décimales de degré gardées dans le journal (≈ 1 mm)
ANNEE_MIN, ANNEE_MAX = 1950, 2100
TOLERANCE_EUR = 0.005

MOTIF_INSEE = re.compile(r"^\d[\dAB]\d{3}$")
MOTIF_PARCELLE = re.compile(r"^\d[\dAB]\d{3}[0-9A-Z]{3}[0-9A-Z]{2}\d{4}$")
MOTIF_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

ACTIONS_JOURNAL = ("creation", "modification", "suppression", "restauration", "validation")


# ---------------------------------------------------------------------------------------- exceptions


class OperationIntrouvable(ErreurDonnees):
    """Aucune opération ne porte cet identifiant."""

    def __init__(self, operation_id: int):
        super().__init__(f"L'opération n° {operation_id} n'existe pas. Vérifiez son numéro ou rechargez "
                         "la liste des opérations.", "operation", "id", [operation_id])
        self.operation_id = operation_id


class ConflitVersion(ErreurDonnees):
    """L'opération a changé depuis sa lecture (verrouillage optimiste)."""

    def __init__(self, operation_id: int, version_actuelle: int, version_attendue: int):
        if version_actuelle > version_attendue:
            message = (f"L'opération n° {operation_id} a été modifiée par quelqu'un d'autre depuis que vous "
                       f"l'avez ouverte (version {version_actuelle}, vous aviez la {version_attendue}). "
                       "Rechargez-la avant d'enregistrer.")
        else:
            message = (f"L'opération n° {operation_id} est en version {version_actuelle}, pas en version "
                       f"{version_attendue}. Rechargez-la avant d'enregistrer.")
        super().__init__(message, "operation", "version", [operation_id])
        self.operation_id = operation_id
        self.version_actuelle = version_actuelle
        self.version_attendue = version_attendue


# ------------------------------------------------------------------------------------------- tables


class Geometrie(TypeDecorator):
    """Géométrie WGS84 : WKB (BLOB) sous SQLite, ``geometry(Geometry, 4326)`` sous PostGIS.

    En écriture : géométrie shapely (ou WKB) ; en lecture : WKB (``bytes``), à décoder en lot avec
    ``shapely.from_wkb``.
    """

    impl = LargeBinary
    cache_ok = True
    # Lus par GeoAlchemy2 à la création des tables ; l'index GiST est créé plus bas (DDL).
    spatial_index = False
    use_N_D_index = False

    def load_dialect_impl(self, dialect):
        if dialect is None:  # GeoAlchemy2 interroge parfois le type sans dialecte
            return LargeBinary()
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Geometry(geometry_type="GEOMETRY", srid=SRID_STOCKAGE,
                                                    spatial_index=False))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = shapely.from_wkb(bytes(value))
        if dialect.name == "postgresql":
            # EWKB hexadécimal avec SRID, accepté par ST_GeomFromEWKT (GeoAlchemy2).
            return shapely.to_wkb(shapely.set_srid(value, SRID_STOCKAGE), hex=True, include_srid=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, WKBElement):
            value = value.data
        if isinstance(value, str):
            return bytes.fromhex(value)
        return bytes(value)


metadonnees = MetaData()

table_operation = Table(
    "operation", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_insee", String(5), nullable=False, index=True),
    Column("nom", Text, nullable=False),
    Column("type_site", String(40), nullable=False),
    Column("statut", String(20), nullable=False),
    Column("validation", String(20), nullable=False, default="a_valider"),
    Column("commentaire_validation", Text),
    Column("date_fin_travaux", Date),
    Column("maitre_ouvrage", Text),
    Column("description", Text),
    Column("retour_experience", Text),
    Column("contact", Text),
    Column("cout_ht_eur", Float),
    Column("arbres_plantes", Integer, nullable=False, default=0),
    Column("deconnexion_reseau", Boolean, nullable=False, default=False),
    Column("volume_stockage_m3", Float),
    Column("parcelles", Text, nullable=False, default="[]"),
    Column("surface_declaree_m2", Float),
    Column("localisation_approximative", Boolean, nullable=False, default=False),
    Column("source", Text),
    Column("cree_par", Text),
    Column("cree_le", DateTime, nullable=False),
    Column("modifie_par", Text),
    Column("modifie_le", DateTime),
    Column("version", Integer, nullable=False, default=1),
    Column("supprimee", Boolean, nullable=False, default=False, index=True),
    CheckConstraint("version >= 1", name="ck_operation_version"),
    CheckConstraint("arbres_plantes >= 0", name="ck_operation_arbres"),
)

table_zone = Table(
    "zone", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation_id", Integer, ForeignKey("operation.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("geometrie", Geometrie, nullable=False),
    Column("revetement_avant", String(40), nullable=False),
    Column("revetement_apres", String(40), nullable=False),
    Column("surface_m2", Float, nullable=False),
    CheckConstraint("surface_m2 >= 0", name="ck_zone_surface"),
)

table_financement = Table(
    "financement", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation_id", Integer, ForeignKey("operation.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("financeur", Text, nullable=False),
    Column("montant_eur", Float, nullable=False),
    CheckConstraint("montant_eur >= 0", name="ck_financement_montant"),
)

table_photo = Table(
    "photo", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation_id", Integer, ForeignKey("operation.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("moment", String(10), nullable=False),
    Column("chemin", Text, nullable=False),
    Column("legende", Text),
    Column("ajoutee_le", DateTime, nullable=False),
    CheckConstraint("moment IN ('avant', 'apres')", name="ck_photo_moment"),
)

table_utilisateur = Table(
    "utilisateur", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("nom", Text, nullable=False),
    Column("role", String(20), nullable=False),
    Column("communes", Text, nullable=False, default=""),
    Column("mot_de_passe_hash", Text),
    Column("actif", Boolean, nullable=False, default=True),
    Column("cree_le", DateTime, nullable=False),
    Column("echecs_connexion", Integer, nullable=False, default=0),
    Column("bloque_jusqua", DateTime),
    Column("derniere_connexion", DateTime),
)

table_journal = Table(
    "journal", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("horodatage", DateTime, nullable=False, index=True),
    Column("auteur", Text, nullable=False),
    Column("action", String(20), nullable=False),
    Column("table_cible", String(30), nullable=False),
    Column("enregistrement_id", Integer, nullable=False),
    Column("diff", Text, nullable=False),
    Index("ix_journal_cible", "table_cible", "enregistrement_id"),
    CheckConstraint("action IN (" + ", ".join(f"'{a}'" for a in ACTIONS_JOURNAL) + ")",
                    name="ck_journal_action"),
)

# Index spatial (PostGIS seulement : sous SQLite la géométrie est un simple BLOB).
event.listen(table_zone, "after_create", DDL(
    "CREATE INDEX IF NOT EXISTS ix_zone_geometrie ON zone USING gist (geometrie)"
).execute_if(dialect="postgresql"))

TABLES = {t.name: t for t in (table_operation, table_zone, table_financement, table_photo,
                              table_utilisateur, table_journal)}

# ------------------------------------------------------------------------------ champs et libellés

CHAMPS_SCALAIRES = (
    "code_insee", "nom", "type_site", "statut", "validation", "commentaire_validation",
    "date_fin_travaux", "maitre_ouvrage", "description", "retour_experience", "contact", "cout_ht_eur",
    "arbres_plantes", "deconnexion_reseau", "volume_stockage_m3", "parcelles", "surface_declaree_m2",
    "localisation_approximative", "source",
)
CHAMPS_LISTES = ("zones", "financements", "photos")
CHAMPS_CREATION = ("cree_le", "cree_par")
CHAMPS_SAISIE = CHAMPS_SCALAIRES + CHAMPS_LISTES + CHAMPS_CREATION
# Champs calculés ou gérés par le magasin : ignorés à la création, refusés s'ils changent en modification.
CHAMPS_LECTURE_SEULE = ("id", "operation_id", "version", "modifie_par", "modifie_le", "supprimee",
                        "surface_zones_m2", "montant_aides_eur", "annee", "nb_zones")

_CLES_ZONE = ("geometrie", "revetement_avant", "revetement_apres")
_CLES_ZONE_IGNOREES = ("zone_id", "id", "operation_id", "surface_m2")
_CLES_FINANCEMENT = ("financeur", "montant_eur")
_CLES_FINANCEMENT_IGNOREES = ("financement_id", "id", "operation_id")
_CLES_PHOTO = ("moment", "chemin", "legende", "ajoutee_le")
_CLES_PHOTO_IGNOREES = ("photo_id", "id", "operation_id")

LIBELLES = {
    "code_insee": "code INSEE de la commune", "nom": "nom", "type_site": "type de site",
    "statut": "statut", "validation": "validation", "commentaire_validation": "commentaire de validation",
    "date_fin_travaux": "date de fin des travaux", "maitre_ouvrage": "maître d'ouvrage",
    "description": "description", "retour_experience": "retour d'expérience", "contact": "contact",
    "cout_ht_eur": "coût HT (€)", "arbres_plantes": "arbres plantés",
    "deconnexion_reseau": "déconnexion du réseau", "volume_stockage_m3": "volume de stockage (m³)",
    "parcelles": "parcelles cadastrales", "surface_declaree_m2": "surface déclarée (m²)",
    "localisation_approximative": "localisation approximative", "source": "source", "zones": "zones",
    "financements": "financements", "photos": "photos", "cree_le": "date de création",
    "cree_par": "auteur de la création", "geometrie": "géométrie",
    "revetement_avant": "revêtement avant travaux", "revetement_apres": "revêtement après travaux",
    "financeur": "financeur", "montant_eur": "montant (€)", "moment": "moment (avant ou après)",
    "chemin": "chemin du fichier", "legende": "légende", "ajoutee_le": "date d'ajout",
    "email": "adresse électronique", "role": "rôle", "communes": "communes",
    "mot_de_passe_hash": "empreinte du mot de passe", "actif": "actif", "auteur": "auteur",
}


# --------------------------------------------------------------------------------------- outils


def _maintenant() -> datetime:
    """Heure courante en UTC, sans fuseau."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _euros(montant: float) -> str:
    return f"{montant:,.2f}".replace(",", " ").replace(".", ",").removesuffix(",00") + " €"


def _erreur(contexte: str, champ: str, texte: str, lignes: list | None = None,
            couche: str = "operation") -> ErreurDonnees:
    libelle = LIBELLES.get(champ, champ)
    return ErreurDonnees(f"{contexte}, champ « {libelle} » ({champ}) : {texte}", couche, champ, lignes)


def _est_absent(valeur: Any) -> bool:
    if valeur is None or valeur is pd.NA or valeur is pd.NaT:
        return True
    if isinstance(valeur, (float, np.floating)) and math.isnan(valeur):
        return True
    return isinstance(valeur, str) and not valeur.strip()


def _texte(contexte: str, champ: str, valeur: Any, obligatoire: bool = False) -> str | None:
    if _est_absent(valeur):
        if obligatoire:
            raise _erreur(contexte, champ, "obligatoire. Renseignez-le.")
        return None
    if not isinstance(valeur, str):
        raise _erreur(contexte, champ, f"texte attendu (reçu {type(valeur).__name__}).")
    return valeur.strip()


def _code(contexte: str, champ: str, valeur: Any, codes: Iterable[str], defaut: str | None = None) -> str:
    codes = list(codes)
    if _est_absent(valeur):
        if defaut is not None:
            return defaut
        raise _erreur(contexte, champ, f"obligatoire. Valeurs possibles : {', '.join(codes)}.")
    if not isinstance(valeur, str) or valeur.strip() not in codes:
        raise _erreur(contexte, champ, f"valeur « {valeur} » inconnue. Valeurs possibles : "
                                       f"{', '.join(codes)}.")
    return valeur.strip()


def _nombre(contexte: str, champ: str, valeur: Any, obligatoire: bool = False) -> float | None:
    if _est_absent(valeur):
        if obligatoire:
            raise _erreur(contexte, champ, "obligatoire. Indiquez un nombre positif ou nul.")
        return None
    if isinstance(valeur, (bool, np.bool_)) or not isinstance(valeur, (numbers.Real, Decimal)):
        raise _erreur(contexte, champ, f"nombre attendu (reçu « {valeur} »).")
    nombre = float(valeur)
    if not math.isfinite(nombre):
        raise _erreur(contexte, champ, "nombre fini attendu. Indiquez un nombre positif ou nul.")
    if nombre < 0:
        raise _erreur(contexte, champ, f"{nombre:g} est négatif. Indiquez un nombre positif ou nul.")
    return nombre


def _entier(contexte: str, champ: str, valeur: Any, defaut: int = 0) -> int:
    if _est_absent(valeur):
        return defaut
    nombre = _nombre(contexte, champ, valeur)
    if not float(nombre).is_integer():
        raise _erreur(contexte, champ, f"nombre entier attendu (reçu {nombre:g}).")
    return int(nombre)


def _booleen(contexte: str, champ: str, valeur: Any, defaut: bool = False) -> bool:
    if _est_absent(valeur):
        return defaut
    if isinstance(valeur, (bool, np.bool_)):
        return bool(valeur)
    if isinstance(valeur, numbers.Integral) and valeur in (0, 1):
        return bool(valeur)
    raise _erreur(contexte, champ, f"oui/non attendu (True ou False), reçu « {valeur} ».")


def _date(contexte: str, champ: str, valeur: Any) -> date | None:
    if _est_absent(valeur):
        return None
    if isinstance(valeur, np.datetime64):
        valeur = pd.Timestamp(valeur)
    if isinstance(valeur, datetime):
        resultat = valeur.date()
    elif isinstance(valeur, date):
        resultat = valeur
    elif isinstance(valeur, str):
        try:
            resultat = date.fromisoformat(valeur.strip())
        except ValueError:
            raise _erreur(contexte, champ, f"date « {valeur} » illisible. Format attendu : AAAA-MM-JJ.") from None
    else:
        raise _erreur(contexte, champ, f"date attendue (reçu {type(valeur).__name__}).")
    if not ANNEE_MIN <= resultat.year <= ANNEE_MAX:
        raise _erreur(contexte, champ, f"date {resultat.isoformat()} invraisemblable (années "
                                       f"{ANNEE_MIN} à {ANNEE_MAX}). Corrigez l'année.")
    return resultat


def _horodatage(contexte: str, champ: str, valeur: Any) -> datetime | None:
    if _est_absent(valeur):
        return None
    if isinstance(valeur, np.datetime64):
        valeur = pd.Timestamp(valeur)
    if isinstance(valeur, str):
        try:
            valeur = datetime.fromisoformat(valeur.strip())
        except ValueError:
            raise _erreur(contexte, champ, f"date et heure « {valeur} » illisibles. Format attendu : "
                                           "AAAA-MM-JJ HH:MM:SS.") from None
    if isinstance(valeur, pd.Timestamp):
        valeur = valeur.to_pydatetime()
    if isinstance(valeur, datetime):
        if valeur.tzinfo is not None:
            valeur = valeur.astimezone(timezone.utc).replace(tzinfo=None)
        return valeur
    if isinstance(valeur, date):
        return datetime(valeur.year, valeur.month, valeur.day)
    raise _erreur(contexte, champ, f"date et heure attendues (reçu {type(valeur).__name__}).")


def _code_insee(contexte: str, champ: str, valeur: Any) -> str:
    if _est_absent(valeur):
        raise _erreur(contexte, champ, "obligatoire. Indiquez le code INSEE à 5 caractères (ex. 34301).")
    if not isinstance(valeur, str) or not MOTIF_INSEE.match(valeur.strip()):
        raise _erreur(contexte, champ, f"« {valeur} » n'est pas un code INSEE : 5 caractères attendus "
                                       "(ex. 34301, ou 2A004 en Corse), en texte.")
    return valeur.strip()


def _parcelles(contexte: str, valeur: Any) -> list[str]:
    if valeur is None or (not isinstance(valeur, (list, tuple, np.ndarray, pd.Series)) and _est_absent(valeur)):
        return []
    if isinstance(valeur, str) or not isinstance(valeur, (list, tuple, np.ndarray, pd.Series)):
        raise _erreur(contexte, "parcelles", "liste d'identifiants cadastraux attendue "
                                             "(ex. [\"34301000AB0123\"]).")
    resultat: list[str] = []
    for element in list(valeur):
        if not isinstance(element, str) or not MOTIF_PARCELLE.match(element.strip().upper()):
            raise _erreur(contexte, "parcelles", f"identifiant « {element} » invalide : 14 caractères "
                                                 "attendus (commune, préfixe, section, numéro ; ex. "
                                                 "34301000AB0123).")
        identifiant = element.strip().upper()
        if identifiant not in resultat:
            resultat.append(identifiant)
    return resultat


def _liste(contexte: str, champ: str, valeur: Any) -> list:
    if valeur is None:
        return []
    if isinstance(valeur, (str, bytes, Mapping)) or not isinstance(valeur, (list, tuple)):
        raise _erreur(contexte, champ, "liste attendue.")
    return list(valeur)


def _cles(contexte: str, champ: str, element: Any, admises: Sequence[str], ignorees: Sequence[str]) -> None:
    if not isinstance(element, Mapping):
        raise _erreur(contexte, champ, f"dictionnaire attendu (reçu {type(element).__name__}).")
    inconnues = [k for k in element if k not in admises and k not in ignorees]
    if inconnues:
        raise _erreur(contexte, str(inconnues[0]), f"clé inconnue. Clés admises : {', '.join(admises)}.")


def _geometrie(contexte: str, valeur: Any) -> BaseGeometry:
    champ = "geometrie"
    if valeur is None:
        raise _erreur(contexte, champ, "obligatoire. Dessinez le contour de la zone.")
    if not isinstance(valeur, BaseGeometry):
        if isinstance(valeur, Mapping) or hasattr(valeur, "__geo_interface__"):
            try:
                valeur = shapely.geometry.shape(valeur)
            except Exception:  # noqa: BLE001 - tout GeoJSON illisible
                raise _erreur(contexte, champ, "GeoJSON illisible.") from None
        else:
            raise _erreur(contexte, champ, f"géométrie shapely attendue (reçu {type(valeur).__name__}).")
    if valeur.is_empty:
        raise _erreur(contexte, champ, "géométrie vide. Dessinez le contour de la zone.")
    if valeur.geom_type not in ("Polygon", "MultiPolygon"):
        raise _erreur(contexte, champ, f"type « {valeur.geom_type} » non admis : une zone est une surface "
                                       "(Polygon ou MultiPolygon), pas un point ni une ligne.")
    if shapely.has_z(valeur):
        valeur = shapely.force_2d(valeur)
    if not valeur.is_valid:
        raise _erreur(contexte, champ, f"géométrie invalide ({decrire_invalidite(valeur)}). Corrigez "
                                       "le contour (il ne doit pas se recouper).")
    xmin, ymin, xmax, ymax = valeur.bounds
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise _erreur(contexte, champ, "coordonnées hors de WGS84 : longitude et latitude en degrés "
                                       "(EPSG:4326) attendues. La géométrie est-elle en Lambert-93 ? "
                                       "Reprojetez-la.")
    return valeur


def _zones(contexte: str, valeur: Any) -> list[dict]:
    zones = _liste(contexte, "zones", valeur)
    if not zones:
        raise _erreur(contexte, "zones", "au moins une zone est obligatoire. Dessinez la surface "
                                         "désimperméabilisée.")
    codes = nomenclatures.codes_revetement()
    resultat = []
    for rang, zone in enumerate(zones, start=1):
        ctx = f"{contexte}, zone n° {rang}"
        _cles(ctx, "zones", zone, _CLES_ZONE, _CLES_ZONE_IGNOREES)
        resultat.append({
            "geometrie": _geometrie(ctx, zone.get("geometrie")),
            "revetement_avant": _code(ctx, "revetement_avant", zone.get("revetement_avant"), codes),
            "revetement_apres": _code(ctx, "revetement_apres", zone.get("revetement_apres"), codes),
        })
    return resultat


def _financements(contexte: str, valeur: Any) -> list[dict]:
    resultat = []
    for rang, financement in enumerate(_liste(contexte, "financements", valeur), start=1):
        ctx = f"{contexte}, financement n° {rang}"
        _cles(ctx, "financements", financement, _CLES_FINANCEMENT, _CLES_FINANCEMENT_IGNOREES)
        resultat.append({
            "financeur": _texte(ctx, "financeur", financement.get("financeur"), obligatoire=True),
            "montant_eur": _nombre(ctx, "montant_eur", financement.get("montant_eur"), obligatoire=True),
        })
    return resultat


def _chemin_photo(contexte: str, valeur: Any) -> str:
    chemin = _texte(contexte, "chemin", valeur, obligatoire=True).replace("\\", "/")
    posix = PurePosixPath(chemin)
    if posix.is_absolute() or re.match(r"^[A-Za-z]:", chemin) or ".." in posix.parts:
        raise _erreur(contexte, "chemin", f"« {chemin} » : chemin relatif au dossier de données attendu "
                                          "(ex. photos/op0012_avant.png), sans « .. ».")
    return str(posix)


def _photos(contexte: str, valeur: Any) -> list[dict]:
    resultat = []
    for rang, photo in enumerate(_liste(contexte, "photos", valeur), start=1):
        ctx = f"{contexte}, photo n° {rang}"
        _cles(ctx, "photos", photo, _CLES_PHOTO, _CLES_PHOTO_IGNOREES)
        resultat.append({
            "moment": _code(ctx, "moment", photo.get("moment"), nomenclatures.MOMENTS_PHOTO),
            "chemin": _chemin_photo(ctx, photo.get("chemin")),
            "legende": _texte(ctx, "legende", photo.get("legende")),
            "ajoutee_le": _horodatage(ctx, "ajoutee_le", photo.get("ajoutee_le")),
        })
    return resultat


def verifier_operation(operation: Mapping, contexte: str = "Opération") -> dict:
    """Vérifie une saisie d'opération et la renvoie nettoyée ; lève :class:`ErreurDonnees` sinon.

    Rien n'est écrit. Les champs calculés (``id``, ``version``…) sont ignorés.
    """
    if not isinstance(operation, Mapping):
        raise ErreurDonnees(f"{contexte} : dictionnaire attendu (reçu {type(operation).__name__}).",
                            "operation")
    inconnus = [k for k in operation if k not in CHAMPS_SAISIE and k not in CHAMPS_LECTURE_SEULE]
    if inconnus:
        raise _erreur(contexte, str(inconnus[0]), "champ inconnu. Champs admis : "
                                                  f"{', '.join(CHAMPS_SAISIE)}.")
    o = operation
    propre: dict[str, Any] = {
        "code_insee": _code_insee(contexte, "code_insee", o.get("code_insee")),
        "nom": _texte(contexte, "nom", o.get("nom"), obligatoire=True),
        "type_site": _code(contexte, "type_site", o.get("type_site"), nomenclatures.lire_types_site()),
        "statut": _code(contexte, "statut", o.get("statut"), nomenclatures.STATUTS),
        "validation": _code(contexte, "validation", o.get("validation"), nomenclatures.VALIDATIONS,
                            defaut="a_valider"),
        "commentaire_validation": _texte(contexte, "commentaire_validation", o.get("commentaire_validation")),
        "date_fin_travaux": _date(contexte, "date_fin_travaux", o.get("date_fin_travaux")),
    }
    for champ in ("maitre_ouvrage", "description", "retour_experience", "contact"):
        propre[champ] = _texte(contexte, champ, o.get(champ))
    propre["cout_ht_eur"] = _nombre(contexte, "cout_ht_eur", o.get("cout_ht_eur"))
    propre["arbres_plantes"] = _entier(contexte, "arbres_plantes", o.get("arbres_plantes"))
    propre["deconnexion_reseau"] = _booleen(contexte, "deconnexion_reseau", o.get("deconnexion_reseau"))
    propre["volume_stockage_m3"] = _nombre(contexte, "volume_stockage_m3", o.get("volume_stockage_m3"))
    propre["parcelles"] = _parcelles(contexte, o.get("parcelles"))
    propre["surface_declaree_m2"] = _nombre(contexte, "surface_declaree_m2", o.get("surface_declaree_m2"))
    propre["localisation_approximative"] = _booleen(contexte, "localisation_approximative",
                                                    o.get("localisation_approximative"))
    propre["source"] = _texte(contexte, "source", o.get("source"))

    if propre["statut"] == "realisee" and propre["date_fin_travaux"] is None:
        raise _erreur(contexte, "date_fin_travaux", "obligatoire quand le statut est « Réalisée ». "
                                                    "Indiquez la date de fin des travaux.")
    if propre["validation"] == "a_corriger" and not propre["commentaire_validation"]:
        raise _erreur(contexte, "commentaire_validation", "obligatoire quand la validation est "
                                                          "« À corriger ». Expliquez ce qu'il faut corriger.")

    propre["zones"] = _zones(contexte, o.get("zones"))
    propre["financements"] = _financements(contexte, o.get("financements"))
    propre["photos"] = _photos(contexte, o.get("photos"))
    total = sum(f["montant_eur"] for f in propre["financements"])
    if propre["cout_ht_eur"] is not None and total > propre["cout_ht_eur"] + TOLERANCE_EUR:
        raise _erreur(contexte, "financements", f"le total des financements ({_euros(total)}) dépasse le "
                                                f"coût HT ({_euros(propre['cout_ht_eur'])}). Corrigez les "
                                                "montants ou le coût.")
    propre["cree_le"] = _horodatage(contexte, "cree_le", o.get("cree_le"))
    propre["cree_par"] = _texte(contexte, "cree_par", o.get("cree_par"))
    return propre


def _verifier_auteur(auteur: Any) -> str:
    if not isinstance(auteur, str) or not auteur.strip():
        raise ErreurDonnees("Auteur de la saisie manquant : indiquez qui enregistre (adresse ou nom).",
                            "journal", "auteur")
    return auteur.strip()


def _verifier_identifiant(valeur: Any, nom: str = "operation_id") -> int:
    if isinstance(valeur, (bool, np.bool_)) or not isinstance(valeur, numbers.Integral):
        raise ErreurDonnees(f"Identifiant « {nom} » entier attendu (reçu « {valeur} »).", "operation", nom)
    return int(valeur)


# ------------------------------------------------------------------------------------ géométries

_local = threading.local()


def _transformateur() -> Transformer:
    """Transformateur WGS84 → Lambert-93 propre au fil d'exécution (pyproj n'est pas partageable)."""
    if not hasattr(_local, "vers_lambert93"):
        _local.vers_lambert93 = Transformer.from_crs(CRS_STOCKAGE, CRS_CALCUL, always_xy=True)
    return _local.vers_lambert93


def _tableau(geometries: Sequence) -> np.ndarray:
    tableau = np.empty(len(geometries), dtype=object)
    tableau[:] = list(geometries)
    return tableau


def _surfaces_m2(geometries: np.ndarray) -> np.ndarray:
    """Surfaces en m², calculées en Lambert-93 (EPSG:2154), en lot."""
    if len(geometries) == 0:
        return np.zeros(0)
    transformateur = _transformateur()

    def projeter(coords: np.ndarray) -> np.ndarray:
        x, y = transformateur.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    surfaces = shapely.area(shapely.transform(geometries, projeter))
    if not np.isfinite(surfaces).all():
        raise ErreurDonnees("Surface incalculable en Lambert-93 : une zone est hors du domaine de la "
                            "projection. Vérifiez ses coordonnées.", "zone", "geometrie")
    return surfaces


def _wkb_en_geometries(valeurs: Sequence) -> np.ndarray:
    return shapely.from_wkb(_tableau(valeurs)) if len(valeurs) else np.empty(0, dtype=object)


# -------------------------------------------------------------------------------------- journal


def _jsonable(valeur: Any) -> Any:
    if isinstance(valeur, (datetime, date)):
        return valeur.isoformat()
    if isinstance(valeur, np.generic):
        return valeur.item()
    if isinstance(valeur, float) and not math.isfinite(valeur):
        return None
    return valeur


def _resumer(propre: dict, surfaces: Sequence[float], wkts: Sequence[str]) -> dict:
    """Résumé JSON d'une opération nettoyée (champs, zones, financements, photos)."""
    resume = {champ: _jsonable(propre[champ]) for champ in CHAMPS_SCALAIRES}
    resume["parcelles"] = list(propre["parcelles"])
    resume["zones"] = [
        {"revetement_avant": z["revetement_avant"], "revetement_apres": z["revetement_apres"],
         "surface_m2": round(float(s), 2), "geometrie": str(w)}
        for z, s, w in zip(propre["zones"], surfaces, wkts)
    ]
    resume["financements"] = [{"financeur": f["financeur"], "montant_eur": f["montant_eur"]}
                              for f in propre["financements"]]
    resume["photos"] = [{"moment": p["moment"], "chemin": p["chemin"], "legende": p["legende"]}
                        for p in propre["photos"]]
    return resume


def _ligne_journal(horodatage: datetime, auteur: str, action: str, table_cible: str,
                   enregistrement_id: int, diff: dict) -> dict:
    return {"horodatage": horodatage, "auteur": auteur, "action": action, "table_cible": table_cible,
            "enregistrement_id": int(enregistrement_id),
            "diff": json.dumps(diff, ensure_ascii=False, default=str)}


def _ligne_operation(propre: dict) -> dict:
    ligne = {champ: propre[champ] for champ in CHAMPS_SCALAIRES}
    ligne["parcelles"] = json.dumps(propre["parcelles"])
    return ligne


def _cle_zones(zones: list[dict]) -> list[tuple]:
    return [(shapely.to_wkb(z["geometrie"]), z["revetement_avant"], z["revetement_apres"]) for z in zones]


# ---------------------------------------------------------------------------------- SQLite


def _configurer_sqlite(connexion_dbapi, _enregistrement) -> None:
    """WAL, clés étrangères ; les transactions sont ouvertes par SQLAlchemy (``_commencer_sqlite``)."""
    connexion_dbapi.isolation_level = None
    curseur = connexion_dbapi.cursor()
    try:
        curseur.execute("PRAGMA journal_mode=WAL")
        curseur.execute("PRAGMA foreign_keys=ON")
        curseur.execute("PRAGMA synchronous=NORMAL")
        curseur.execute("PRAGMA busy_timeout=30000")
    finally:
        curseur.close()


def _commencer_sqlite(connexion: Connection) -> None:
    """BEGIN IMMEDIATE pour les écritures (pas d'instantané périmé), BEGIN simple pour les lectures."""
    immediat = connexion.get_execution_options().get("desimper_ecriture", False)
    connexion.exec_driver_sql("BEGIN IMMEDIATE" if immediat else "BEGIN")


# --------------------------------------------------------------------------------------- magasin


class Magasin:
    """Magasin des saisies (SQLite par défaut, PostgreSQL + PostGIS selon l'URL)."""

    def __init__(self, url: str | None = None):
        self.url = url or url_base()
        adresse = make_url(self.url)
        moteur_sql = adresse.get_backend_name()
        self.est_postgresql = moteur_sql == "postgresql"
        if moteur_sql == "sqlite":
            base = adresse.database or ""
            options: dict[str, Any] = {"timeout": 30}
            if base and base != ":memory:" and not base.startswith("file:"):
                Path(base).expanduser().parent.mkdir(parents=True, exist_ok=True)
                options["check_same_thread"] = False
            self.moteur: Engine = create_engine(adresse, connect_args=options)
            event.listen(self.moteur, "connect", _configurer_sqlite)
            event.listen(self.moteur, "begin", _commencer_sqlite)
        elif self.est_postgresql:
            self.moteur = create_engine(adresse, pool_pre_ping=True)
        else:
            raise ErreurDonnees(f"Base « {moteur_sql} » non prise en charge : utilisez SQLite "
                                "(sqlite:///…) ou PostgreSQL (postgresql+psycopg://…).", "magasin")

    def __repr__(self) -> str:
        return f"Magasin({self.moteur.url.render_as_string(hide_password=True)!r})"

    def fermer(self) -> None:
        """Ferme les connexions ouvertes."""
        self.moteur.dispose()

    # ---------------------------------------------------------------- connexions et schéma

    @contextmanager
    def _ecrire(self):
        """Transaction d'écriture : tout ou rien."""
        with self.moteur.connect() as conn:
            if not self.est_postgresql:
                conn.execution_options(desimper_ecriture=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _lire(self):
        """Transaction de lecture (instantané cohérent sous PostgreSQL)."""
        with self.moteur.connect() as conn:
            if self.est_postgresql:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def creer_tables(self) -> None:
        """Crée les tables absentes (et l'extension PostGIS sous PostgreSQL)."""
        if self.est_postgresql:
            self._installer_postgis()
        with self._ecrire() as conn:
            metadonnees.create_all(conn)

    def _installer_postgis(self) -> None:
        with self.moteur.connect() as conn:
            if conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").first():
                return
        try:
            with self.moteur.begin() as conn:
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        except IntegrityError:
            pass  # installée au même instant par un autre processus
        except SQLAlchemyError as exc:
            raise ErreurDonnees("Extension PostGIS absente et impossible à installer : demandez à "
                                "l'administrateur de la base d'exécuter « CREATE EXTENSION postgis; » "
                                f"({exc.__class__.__name__}).", "magasin") from exc

    def compter(self) -> dict[str, int]:
        """Nombre de lignes par table."""
        with self._lire() as conn:
            return {nom: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                    for nom, table in TABLES.items()}

    # ---------------------------------------------------------------- insertions élémentaires

    def _inserer_lignes_operation(self, conn: Connection, lignes: list[dict]) -> list[int]:
        if len(lignes) == 1:
            return [int(conn.execute(table_operation.insert(), lignes[0]).inserted_primary_key[0])]
        requete = table_operation.insert().returning(table_operation.c.id, sort_by_parameter_order=True)
        return [int(i) for i in conn.execute(requete, lignes).scalars().all()]

    def _inserer_zones(self, conn: Connection, lignes: list[dict]) -> None:
        if lignes:
            conn.execute(table_zone.insert(), lignes)

    def _inserer_financements(self, conn: Connection, lignes: list[dict]) -> None:
        if lignes:
            conn.execute(table_financement.insert(), lignes)

    def _inserer_photos(self, conn: Connection, lignes: list[dict]) -> None:
        if lignes:
            conn.execute(table_photo.insert(), lignes)

    def journaliser(self, auteur: str, action: str, table_cible: str, diff: dict, enregistrement_id: int = 0) -> None:
        """Une ligne de journal pour un changement hors des opérations (ex. objectifs du référentiel)."""
        auteur = _verifier_auteur(auteur)
        with self._ecrire() as conn:
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, action, table_cible,
                                                        enregistrement_id, diff)])

    def _inserer_journal(self, conn: Connection, lignes: list[dict]) -> None:
        if lignes:
            conn.execute(table_journal.insert(), lignes)

    def _inserer_operations(self, conn: Connection, propres: list[dict], auteur: str) -> list[int]:
        """Insère des opérations nettoyées, leurs zones, financements, photos et journal."""
        maintenant = _maintenant()
        lignes = []
        for propre in propres:
            ligne = _ligne_operation(propre)
            ligne.update(cree_par=propre["cree_par"] or auteur, cree_le=propre["cree_le"] or maintenant,
                         version=1, supprimee=False)
            lignes.append(ligne)
        ids = self._inserer_lignes_operation(conn, lignes)

        geometries = _tableau([z["geometrie"] for p in propres for z in p["zones"]])
        surfaces = _surfaces_m2(geometries)
        wkts = shapely.to_wkt(geometries, rounding_precision=PRECISION_WKT) if len(geometries) else []
        zones, financements, photos, journal = [], [], [], []
        debut = 0
        for operation_id, propre, ligne in zip(ids, propres, lignes):
            fin = debut + len(propre["zones"])
            for zone, surface in zip(propre["zones"], surfaces[debut:fin]):
                zones.append({"operation_id": operation_id, "geometrie": zone["geometrie"],
                              "revetement_avant": zone["revetement_avant"],
                              "revetement_apres": zone["revetement_apres"], "surface_m2": float(surface)})
            financements += [{"operation_id": operation_id, **f} for f in propre["financements"]]
            photos += [{"operation_id": operation_id, **p, "ajoutee_le": p["ajoutee_le"] or maintenant}
                       for p in propre["photos"]]
            resume = _resumer(propre, surfaces[debut:fin], wkts[debut:fin])
            resume.update(cree_par=ligne["cree_par"], cree_le=_jsonable(ligne["cree_le"]))
            journal.append(_ligne_journal(maintenant, auteur, "creation", "operation", operation_id, resume))
            debut = fin
        self._inserer_zones(conn, zones)
        self._inserer_financements(conn, financements)
        self._inserer_photos(conn, photos)
        self._inserer_journal(conn, journal)
        return ids

    # ---------------------------------------------------------------- écritures des opérations

    def creer_operation(self, operation: Mapping, auteur: str) -> int:
        """Crée une opération avec ses zones, financements et photos ; renvoie son identifiant."""
        auteur = _verifier_auteur(auteur)
        propre = verifier_operation(operation)
        with self._ecrire() as conn:
            return self._inserer_operations(conn, [propre], auteur)[0]

    def importer_lot(self, operations: Sequence[Mapping], auteur: str,
                     progression: Callable[[int, int], Any] | None = None) -> list[int]:
        """Insère un lot d'opérations en une transaction ; renvoie leurs identifiants dans l'ordre.

        ``progression(n_faites, n_total)`` est appelée après chaque paquet. Le lot entier est vérifié
        avant la moindre écriture.
        """
        auteur = _verifier_auteur(auteur)
        if isinstance(operations, (str, bytes, Mapping)) or not isinstance(operations, Iterable):
            raise ErreurDonnees("Lot d'opérations : liste de dictionnaires attendue.", "operation")
        operations = list(operations)
        propres = []
        for rang, operation in enumerate(operations, start=1):
            nom = operation.get("nom") if isinstance(operation, Mapping) else None
            contexte = f"Opération n° {rang} du lot" + (f" (« {nom} »)" if isinstance(nom, str) else "")
            propres.append(verifier_operation(operation, contexte))
        total = len(propres)
        ids: list[int] = []
        if not total:
            return ids
        with self._ecrire() as conn:
            for debut in range(0, total, TAILLE_PAQUET_IMPORT):
                ids += self._inserer_operations(conn, propres[debut:debut + TAILLE_PAQUET_IMPORT], auteur)
                if progression is not None:
                    progression(len(ids), total)
        return ids

    def _conflit(self, conn: Connection, operation_id: int, version_attendue: int) -> ErreurDonnees:
        ligne = conn.execute(select(table_operation.c.version, table_operation.c.supprimee)
                             .where(table_operation.c.id == operation_id)).first()
        if ligne is None:
            return OperationIntrouvable(operation_id)
        if ligne.version == version_attendue and ligne.supprimee:
            return ErreurDonnees(f"L'opération n° {operation_id} est supprimée. Un administrateur doit la "
                                 "restaurer avant toute modification.", "operation", "supprimee")
        return ConflitVersion(operation_id, int(ligne.version), version_attendue)

    def modifier_operation(self, operation_id: int, version_attendue: int, modifications: Mapping,
                           auteur: str) -> int:
        """Modifie une opération (``zones``/``financements``/``photos`` remplacés en entier).

        Renvoie la nouvelle version ; lève :class:`ConflitVersion` si l'opération a changé depuis la
        version attendue. Sans changement réel, rien n'est écrit et la version reste la même.
        """
        auteur = _verifier_auteur(auteur)
        operation_id = _verifier_identifiant(operation_id)
        version_attendue = _verifier_identifiant(version_attendue, "version_attendue")
        contexte = f"Opération n° {operation_id}"
        if not isinstance(modifications, Mapping):
            raise ErreurDonnees(f"{contexte} : dictionnaire de modifications attendu.", "operation")
        with self._ecrire() as conn:
            actuelle = self._charger(conn, operation_id)
            if actuelle["version"] != version_attendue:
                raise ConflitVersion(operation_id, actuelle["version"], version_attendue)
            if actuelle["supprimee"]:
                raise ErreurDonnees(f"{contexte} est supprimée. Un administrateur doit la restaurer avant "
                                    "toute modification.", "operation", "supprimee")
            saisie = {champ: actuelle[champ] for champ in CHAMPS_SCALAIRES + CHAMPS_LISTES}
            for champ, valeur in modifications.items():
                if champ in CHAMPS_LECTURE_SEULE or champ in CHAMPS_CREATION:
                    if not _egal(valeur, actuelle.get(champ)):
                        raise _erreur(contexte, champ, "non modifiable (géré par l'application).")
                    continue
                if champ not in CHAMPS_SCALAIRES + CHAMPS_LISTES:
                    raise _erreur(contexte, str(champ), "champ inconnu. Champs modifiables : "
                                                        f"{', '.join(CHAMPS_SCALAIRES + CHAMPS_LISTES)}.")
                saisie[champ] = valeur
            avant = self._propre_stocke(actuelle)
            apres = verifier_operation(saisie, contexte)

            zones_changees = _cle_zones(apres["zones"]) != _cle_zones(avant["zones"])
            surfaces_avant = [z["surface_m2"] for z in actuelle["zones"]]
            geometries_avant = _tableau([z["geometrie"] for z in avant["zones"]])
            wkts_avant = shapely.to_wkt(geometries_avant, rounding_precision=PRECISION_WKT)
            if zones_changees:
                geometries_apres = _tableau([z["geometrie"] for z in apres["zones"]])
                surfaces_apres = _surfaces_m2(geometries_apres)
                wkts_apres = shapely.to_wkt(geometries_apres, rounding_precision=PRECISION_WKT)
            else:
                apres["zones"] = avant["zones"]
                surfaces_apres, wkts_apres = surfaces_avant, wkts_avant
            resume_avant = _resumer(avant, surfaces_avant, wkts_avant)
            resume_apres = _resumer(apres, surfaces_apres, wkts_apres)
            diff = {champ: [resume_avant[champ], resume_apres[champ]] for champ in resume_apres
                    if resume_avant[champ] != resume_apres[champ]}
            if zones_changees:  # même un déplacement sous la précision du journal est tracé
                diff["zones"] = [resume_avant["zones"], resume_apres["zones"]]
            if not diff:
                return version_attendue

            maintenant = _maintenant()
            nouvelle_version = version_attendue + 1
            valeurs = {champ: v for champ, v in _ligne_operation(apres).items()
                       if champ in diff and champ in CHAMPS_SCALAIRES}
            resultat = conn.execute(
                update(table_operation)
                .where(table_operation.c.id == operation_id, table_operation.c.version == version_attendue,
                       table_operation.c.supprimee.is_(False))
                .values(**valeurs, version=nouvelle_version, modifie_par=auteur, modifie_le=maintenant))
            if resultat.rowcount != 1:
                raise self._conflit(conn, operation_id, version_attendue)
            if zones_changees:
                conn.execute(delete(table_zone).where(table_zone.c.operation_id == operation_id))
                self._inserer_zones(conn, [
                    {"operation_id": operation_id, "geometrie": z["geometrie"],
                     "revetement_avant": z["revetement_avant"], "revetement_apres": z["revetement_apres"],
                     "surface_m2": float(s)} for z, s in zip(apres["zones"], surfaces_apres)])
            if "financements" in diff:
                conn.execute(delete(table_financement).where(table_financement.c.operation_id == operation_id))
                self._inserer_financements(conn, [{"operation_id": operation_id, **f}
                                                  for f in apres["financements"]])
            if "photos" in diff:
                dates = {p["chemin"]: p["ajoutee_le"] for p in actuelle["photos"]}
                conn.execute(delete(table_photo).where(table_photo.c.operation_id == operation_id))
                self._inserer_photos(conn, [
                    {"operation_id": operation_id, **p,
                     "ajoutee_le": p["ajoutee_le"] or dates.get(p["chemin"]) or maintenant}
                    for p in apres["photos"]])
            action = "validation" if set(diff) <= {"validation", "commentaire_validation"} else "modification"
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, action, "operation", operation_id,
                                                        diff)])
        return nouvelle_version

    def _propre_stocke(self, actuelle: dict) -> dict:
        """Opération stockée sous la forme nettoyée (sans revérifier les nomenclatures)."""
        propre = {champ: actuelle[champ] for champ in CHAMPS_SCALAIRES}
        propre["parcelles"] = list(actuelle["parcelles"])
        propre["zones"] = [{"geometrie": z["geometrie"], "revetement_avant": z["revetement_avant"],
                            "revetement_apres": z["revetement_apres"]} for z in actuelle["zones"]]
        propre["financements"] = [{"financeur": f["financeur"], "montant_eur": f["montant_eur"]}
                                  for f in actuelle["financements"]]
        propre["photos"] = [{"moment": p["moment"], "chemin": p["chemin"], "legende": p["legende"],
                             "ajoutee_le": p["ajoutee_le"]} for p in actuelle["photos"]]
        return propre

    def supprimer_operation(self, operation_id: int, version_attendue: int, auteur: str) -> int:
        """Suppression logique (réversible par :meth:`restaurer_operation`) ; renvoie la nouvelle version."""
        auteur = _verifier_auteur(auteur)
        operation_id = _verifier_identifiant(operation_id)
        version_attendue = _verifier_identifiant(version_attendue, "version_attendue")
        with self._ecrire() as conn:
            ligne = conn.execute(select(table_operation.c.version, table_operation.c.supprimee)
                                 .where(table_operation.c.id == operation_id)).first()
            if ligne is None:
                raise OperationIntrouvable(operation_id)
            if ligne.supprimee:
                raise ErreurDonnees(f"L'opération n° {operation_id} est déjà supprimée.", "operation",
                                    "supprimee")
            if ligne.version != version_attendue:
                raise ConflitVersion(operation_id, int(ligne.version), version_attendue)
            return self._basculer_suppression(conn, operation_id, version_attendue, True, auteur)

    def restaurer_operation(self, operation_id: int, auteur: str) -> int:
        """Restaure une opération supprimée ; renvoie la nouvelle version."""
        auteur = _verifier_auteur(auteur)
        operation_id = _verifier_identifiant(operation_id)
        with self._ecrire() as conn:
            ligne = conn.execute(select(table_operation.c.version, table_operation.c.supprimee)
                                 .where(table_operation.c.id == operation_id)).first()
            if ligne is None:
                raise OperationIntrouvable(operation_id)
            if not ligne.supprimee:
                raise ErreurDonnees(f"L'opération n° {operation_id} n'est pas supprimée : rien à restaurer.",
                                    "operation", "supprimee")
            return self._basculer_suppression(conn, operation_id, int(ligne.version), False, auteur)

    def _basculer_suppression(self, conn: Connection, operation_id: int, version: int, supprimee: bool,
                              auteur: str) -> int:
        maintenant = _maintenant()
        resultat = conn.execute(
            update(table_operation)
            .where(table_operation.c.id == operation_id, table_operation.c.version == version,
                   table_operation.c.supprimee.is_(not supprimee))
            .values(supprimee=supprimee, version=version + 1, modifie_par=auteur, modifie_le=maintenant))
        if resultat.rowcount != 1:
            raise self._conflit(conn, operation_id, version)
        action = "suppression" if supprimee else "restauration"
        self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, action, "operation", operation_id,
                                                    {"supprimee": [not supprimee, supprimee]})])
        return version + 1

    # ---------------------------------------------------------------- lectures

    def _charger(self, conn: Connection, operation_id: int) -> dict:
        ligne = conn.execute(select(table_operation).where(table_operation.c.id == operation_id)).mappings().first()
        if ligne is None:
            raise OperationIntrouvable(operation_id)
        operation = dict(ligne)
        operation["parcelles"] = json.loads(operation["parcelles"] or "[]")
        zones = conn.execute(select(table_zone).where(table_zone.c.operation_id == operation_id)
                             .order_by(table_zone.c.id)).mappings().all()
        geometries = _wkb_en_geometries([z["geometrie"] for z in zones])
        operation["zones"] = [
            {"zone_id": z["id"], "geometrie": g, "revetement_avant": z["revetement_avant"],
             "revetement_apres": z["revetement_apres"], "surface_m2": z["surface_m2"]}
            for z, g in zip(zones, geometries)]
        operation["financements"] = [
            {"financement_id": f["id"], "financeur": f["financeur"], "montant_eur": f["montant_eur"]}
            for f in conn.execute(select(table_financement).where(table_financement.c.operation_id == operation_id)
                                  .order_by(table_financement.c.id)).mappings()]
        operation["photos"] = [
            {"photo_id": p["id"], "moment": p["moment"], "chemin": p["chemin"], "legende": p["legende"],
             "ajoutee_le": p["ajoutee_le"]}
            for p in conn.execute(select(table_photo).where(table_photo.c.operation_id == operation_id)
                                  .order_by(table_photo.c.id)).mappings()]
        operation["surface_zones_m2"] = float(sum(z["surface_m2"] for z in operation["zones"]))
        operation["montant_aides_eur"] = float(sum(f["montant_eur"] for f in operation["financements"]))
        operation["annee"] = operation["date_fin_travaux"].year if operation["date_fin_travaux"] else None
        return operation

    def lire_operation(self, operation_id: int) -> dict:
        """Une opération (même supprimée) avec ses zones, financements et photos."""
        operation_id = _verifier_identifiant(operation_id)
        with self._lire() as conn:
            return self._charger(conn, operation_id)

    def lire_operations(self, inclure_supprimees: bool = False) -> gpd.GeoDataFrame:
        """Une ligne par opération ; géométrie = union des zones (EPSG:4326).

        Colonnes : champs de l'opération, ``id`` (et ``operation_id``), ``nb_zones``,
        ``surface_zones_m2``, ``montant_aides_eur``, ``annee`` (année de fin des travaux).
        """
        op = table_operation
        filtre = [] if inclure_supprimees else [op.c.supprimee.is_(False)]
        with self._lire() as conn:
            resultat = conn.execute(select(op).where(*filtre).order_by(op.c.id))
            table = pd.DataFrame(resultat.all(), columns=list(resultat.keys()))
            zones = conn.execute(
                select(table_zone.c.operation_id, table_zone.c.geometrie, table_zone.c.surface_m2)
                .join(op, op.c.id == table_zone.c.operation_id).where(*filtre)
                .order_by(table_zone.c.operation_id, table_zone.c.id)).all()
            aides = dict(conn.execute(
                select(table_financement.c.operation_id, func.sum(table_financement.c.montant_eur))
                .join(op, op.c.id == table_financement.c.operation_id).where(*filtre)
                .group_by(table_financement.c.operation_id)).all())

        table["parcelles"] = [json.loads(p or "[]") for p in table["parcelles"]]
        for champ in ("cout_ht_eur", "volume_stockage_m3", "surface_declaree_m2"):
            table[champ] = table[champ].astype(float)
        table.insert(1, "operation_id", table["id"])
        ids_zones = np.array([z[0] for z in zones], dtype=np.int64)
        geometries = _wkb_en_geometries([z[1] for z in zones])
        surfaces = np.array([z[2] for z in zones], dtype=float)
        uniques, debuts, comptes = np.unique(ids_zones, return_index=True, return_counts=True)
        unions = geometries[debuts] if len(uniques) else np.empty(0, dtype=object)
        for i in np.nonzero(comptes > 1)[0]:
            unions[i] = shapely.union_all(geometries[debuts[i]:debuts[i] + comptes[i]])
        sommes = np.add.reduceat(surfaces, debuts) if len(uniques) else np.zeros(0)
        par_id = pd.Index(uniques)
        position = par_id.get_indexer(table["id"].to_numpy(dtype=np.int64))
        trouve = position >= 0
        table["nb_zones"] = np.where(trouve, comptes[position] if len(uniques) else 0, 0).astype(np.int64)
        table["surface_zones_m2"] = np.where(trouve, sommes[position] if len(uniques) else 0.0, 0.0)
        table["montant_aides_eur"] = [float(aides.get(i, 0.0) or 0.0) for i in table["id"]]
        table["date_fin_travaux"] = pd.to_datetime(table["date_fin_travaux"])
        table["annee"] = table["date_fin_travaux"].dt.year.astype("Int64")
        geometrie = np.empty(len(table), dtype=object)
        if len(uniques):
            geometrie[trouve] = unions[position[trouve]]
        return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometrie, index=table.index, crs=CRS_STOCKAGE))

    def lire_zones(self, inclure_supprimees: bool = False) -> gpd.GeoDataFrame:
        """Une ligne par zone (EPSG:4326), avec la surface Lambert-93 et les champs utiles de l'opération."""
        op, zo = table_operation, table_zone
        requete = (select(zo.c.id.label("zone_id"), zo.c.operation_id, zo.c.revetement_avant,
                          zo.c.revetement_apres, zo.c.surface_m2, op.c.code_insee, op.c.type_site,
                          op.c.statut, op.c.validation, op.c.date_fin_travaux, op.c.nom, zo.c.geometrie)
                   .join(op, op.c.id == zo.c.operation_id)
                   .where(*([] if inclure_supprimees else [op.c.supprimee.is_(False)]))
                   .order_by(zo.c.id))
        with self._lire() as conn:
            resultat = conn.execute(requete)
            table = pd.DataFrame(resultat.all(), columns=list(resultat.keys()))
        geometries = _wkb_en_geometries(table["geometrie"].tolist())
        table = table.drop(columns="geometrie")
        table["surface_m2"] = table["surface_m2"].astype(float)
        table["annee"] = pd.to_datetime(table.pop("date_fin_travaux")).dt.year.astype("Int64")
        table = table[["zone_id", "operation_id", "revetement_avant", "revetement_apres", "surface_m2",
                       "code_insee", "type_site", "statut", "validation", "annee", "nom"]]
        return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometries, index=table.index, crs=CRS_STOCKAGE))

    def lire_financements(self, inclure_supprimees: bool = False) -> pd.DataFrame:
        """Financements, avec commune et année de l'opération (opérations supprimées exclues par défaut)."""
        op, fi = table_operation, table_financement
        requete = (select(fi.c.id.label("financement_id"), fi.c.operation_id, fi.c.financeur, fi.c.montant_eur,
                          op.c.code_insee, op.c.date_fin_travaux)
                   .join(op, op.c.id == fi.c.operation_id)
                   .where(*([] if inclure_supprimees else [op.c.supprimee.is_(False)]))
                   .order_by(fi.c.id))
        with self._lire() as conn:
            resultat = conn.execute(requete)
            table = pd.DataFrame(resultat.all(), columns=list(resultat.keys()))
        table["montant_eur"] = table["montant_eur"].astype(float)
        table["annee"] = pd.to_datetime(table.pop("date_fin_travaux")).dt.year.astype("Int64")
        return table

    def lire_photos(self, operation_id: int | None = None, inclure_supprimees: bool = False) -> pd.DataFrame:
        """Photos d'une opération, ou de toutes (opérations supprimées exclues par défaut)."""
        op, ph = table_operation, table_photo
        requete = select(ph.c.id.label("photo_id"), ph.c.operation_id, ph.c.moment, ph.c.chemin,
                         ph.c.legende, ph.c.ajoutee_le).order_by(ph.c.id)
        if operation_id is not None:
            requete = requete.where(ph.c.operation_id == _verifier_identifiant(operation_id))
        elif not inclure_supprimees:
            requete = requete.join(op, op.c.id == ph.c.operation_id).where(op.c.supprimee.is_(False))
        with self._lire() as conn:
            resultat = conn.execute(requete)
            return pd.DataFrame(resultat.all(), columns=list(resultat.keys()))

    def lire_journal(self, operation_id: int | None = None) -> pd.DataFrame:
        """Journal des changements (``diff`` décodé), du plus ancien au plus récent."""
        jo = table_journal
        requete = select(jo).order_by(jo.c.horodatage, jo.c.id)
        if operation_id is not None:
            requete = requete.where(jo.c.table_cible == "operation",
                                    jo.c.enregistrement_id == _verifier_identifiant(operation_id))
        with self._lire() as conn:
            resultat = conn.execute(requete)
            table = pd.DataFrame(resultat.all(), columns=list(resultat.keys()))
        table["diff"] = [json.loads(d) for d in table["diff"]]
        return table

    # ---------------------------------------------------------------- utilisateurs

    def creer_utilisateur(self, email: str, nom: str, role: str, communes: Any, mot_de_passe_hash: str | None,
                          actif: bool = True, auteur: str = "systeme") -> int:
        """Crée un compte (le mot de passe arrive déjà haché) ; renvoie son identifiant."""
        contexte = "Utilisateur"
        auteur = _verifier_auteur(auteur)
        if not isinstance(email, str) or not MOTIF_EMAIL.match(email.strip()):
            raise _erreur(contexte, "email", f"« {email} » n'est pas une adresse valide (ex. "
                                             "prenom.nom@mairie.fr).", couche="utilisateur")
        email = email.strip().lower()
        nom = _texte(contexte, "nom", nom, obligatoire=True)
        role = _code(contexte, "role", role, nomenclatures.ROLES)
        codes = _communes(contexte, communes)
        if role == "referent" and not codes:
            raise _erreur(contexte, "communes", "un référent commune doit avoir au moins une commune. "
                                                "Indiquez son ou ses codes INSEE.", couche="utilisateur")
        if mot_de_passe_hash is not None and not isinstance(mot_de_passe_hash, str):
            raise _erreur(contexte, "mot_de_passe_hash", "texte attendu.", couche="utilisateur")
        actif = _booleen(contexte, "actif", actif, defaut=True)
        maintenant = _maintenant()
        ligne = {"email": email, "nom": nom, "role": role, "communes": ",".join(codes),
                 "mot_de_passe_hash": mot_de_passe_hash, "actif": actif, "cree_le": maintenant,
                 "echecs_connexion": 0}
        doublon = ErreurDonnees(f"Un compte existe déjà pour l'adresse « {email} ».", "utilisateur", "email")
        try:
            with self._ecrire() as conn:
                if conn.execute(select(table_utilisateur.c.id).where(table_utilisateur.c.email == email)).first():
                    raise doublon
                identifiant = int(conn.execute(table_utilisateur.insert(), ligne).inserted_primary_key[0])
                resume = {"email": email, "nom": nom, "role": role, "communes": codes, "actif": actif}
                self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "creation", "utilisateur",
                                                            identifiant, resume)])
        except IntegrityError as exc:
            raise doublon from exc
        return identifiant

    def lire_utilisateurs(self) -> pd.DataFrame:
        """Comptes (sans les empreintes de mot de passe), ``communes`` en liste de codes INSEE."""
        ut = table_utilisateur
        colonnes = [c for c in ut.c if c.name != "mot_de_passe_hash"]
        with self._lire() as conn:
            resultat = conn.execute(select(*colonnes).order_by(ut.c.id))
            table = pd.DataFrame(resultat.all(), columns=list(resultat.keys()))
        table["communes"] = [[c for c in (v or "").split(",") if c] for v in table["communes"]]
        return table

    def lire_utilisateur(self, email: str) -> dict | None:
        """Compte d'une adresse (avec l'empreinte du mot de passe), ou ``None``."""
        if not isinstance(email, str):
            return None
        with self._lire() as conn:
            ligne = conn.execute(select(table_utilisateur)
                                 .where(table_utilisateur.c.email == email.strip().lower())).mappings().first()
        if ligne is None:
            return None
        compte = dict(ligne)
        compte["communes"] = [c for c in (compte["communes"] or "").split(",") if c]
        return compte

    # =================================================================================================
    # Comptes : ajouts pour donnees/comptes.py (modification d'un compte, connexions réussies ou non).
    # Nouvelles méthodes seulement : celles qui précèdent sont inchangées.
    # =================================================================================================

    CHAMPS_UTILISATEUR_MODIFIABLES = ("nom", "role", "communes", "actif", "mot_de_passe_hash")

    def modifier_utilisateur(self, email: str, modifications: Mapping, auteur: str) -> bool:
        """Modifie un compte (nom, rôle, communes, actif, empreinte) ; renvoie ``True`` s'il a changé.

        Une nouvelle empreinte remet à zéro les échecs de connexion et lève le blocage ; elle n'est
        jamais journalisée. Retirer le rôle ou désactiver le dernier administrateur actif est refusé.
        """
        contexte = "Utilisateur"
        auteur = _verifier_auteur(auteur)
        if not isinstance(modifications, Mapping):
            raise ErreurDonnees(f"{contexte} : dictionnaire de modifications attendu.", "utilisateur")
        admis = self.CHAMPS_UTILISATEUR_MODIFIABLES
        inconnus = [champ for champ in modifications if champ not in admis]
        if inconnus:
            raise _erreur(contexte, str(inconnus[0]), f"non modifiable. Champs modifiables : {', '.join(admis)}.",
                          couche="utilisateur")
        ut = table_utilisateur
        adresse = email.strip().lower() if isinstance(email, str) else email
        with self._ecrire() as conn:
            ligne = conn.execute(select(ut).where(ut.c.email == adresse)).mappings().first()
            if ligne is None:
                raise ErreurDonnees(f"Aucun compte pour l'adresse « {email} ».", "utilisateur", "email")
            contexte = f"Utilisateur « {adresse} »"
            avant = {"nom": ligne["nom"], "role": ligne["role"],
                     "communes": [c for c in (ligne["communes"] or "").split(",") if c],
                     "actif": bool(ligne["actif"])}
            apres = dict(avant)
            if "nom" in modifications:
                apres["nom"] = _texte(contexte, "nom", modifications["nom"], obligatoire=True)
            if "role" in modifications:
                apres["role"] = _code(contexte, "role", modifications["role"], nomenclatures.ROLES)
            if "communes" in modifications:
                apres["communes"] = _communes(contexte, modifications["communes"])
            if "actif" in modifications:
                apres["actif"] = _booleen(contexte, "actif", modifications["actif"], defaut=avant["actif"])
            if apres["role"] == "referent" and not apres["communes"]:
                raise _erreur(contexte, "communes", "un référent commune doit avoir au moins une commune. "
                                                    "Indiquez son ou ses codes INSEE.", couche="utilisateur")
            diff: dict[str, Any] = {champ: [avant[champ], apres[champ]] for champ in avant
                                    if avant[champ] != apres[champ]}
            valeurs: dict[str, Any] = {champ: apres[champ] for champ in diff}
            if "communes" in valeurs:
                valeurs["communes"] = ",".join(valeurs["communes"])
            if "mot_de_passe_hash" in modifications:
                empreinte = modifications["mot_de_passe_hash"]
                if empreinte is not None and not isinstance(empreinte, str):
                    raise _erreur(contexte, "mot_de_passe_hash", "texte attendu.", couche="utilisateur")
                if empreinte != ligne["mot_de_passe_hash"]:
                    valeurs.update(mot_de_passe_hash=empreinte, echecs_connexion=0, bloque_jusqua=None)
                    diff["mot_de_passe"] = "supprimé" if empreinte is None else "modifié"
            if not diff:
                return False
            etait_admin = avant["role"] == "administrateur" and avant["actif"]
            reste_admin = apres["role"] == "administrateur" and apres["actif"]
            if etait_admin and not reste_admin:
                autres = conn.execute(select(func.count()).select_from(ut).where(
                    ut.c.role == "administrateur", ut.c.actif.is_(True), ut.c.id != ligne["id"])).scalar_one()
                if not autres:
                    raise ErreurDonnees(f"{adresse} est le dernier administrateur actif : nommez d'abord un "
                                        "autre administrateur avant de lui retirer ce rôle ou de le désactiver.",
                                        "utilisateur", "role")
            conn.execute(update(ut).where(ut.c.id == ligne["id"]).values(**valeurs))
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "modification", "utilisateur",
                                                        ligne["id"], diff)])
        return True

    def enregistrer_echec_connexion(self, email: str, maintenant: datetime, seuil: int,
                                    duree_blocage: timedelta) -> dict | None:
        """Compte un échec de connexion ; à partir de ``seuil`` échecs consécutifs, bloque le compte.

        Le compteur est incrémenté dans la base (sûr en cas de tentatives simultanées). Renvoie
        ``{"echecs_connexion", "bloque_jusqua"}``, ou ``None`` si l'adresse n'a pas de compte.
        """
        maintenant = _horodatage("Connexion", "maintenant", maintenant) or _maintenant()
        if isinstance(seuil, bool) or not isinstance(seuil, numbers.Integral) or seuil < 1:
            raise ErreurDonnees(f"Seuil de blocage invalide ({seuil!r}) : entier ≥ 1 attendu.", "utilisateur")
        if not isinstance(duree_blocage, timedelta):
            raise ErreurDonnees("Durée de blocage : timedelta attendu.", "utilisateur")
        if not isinstance(email, str):
            return None
        ut = table_utilisateur
        filtre = ut.c.email == email.strip().lower()
        with self._ecrire() as conn:
            resultat = conn.execute(update(ut).where(filtre).values(echecs_connexion=ut.c.echecs_connexion + 1))
            if resultat.rowcount != 1:
                return None
            ligne = conn.execute(select(ut.c.id, ut.c.email, ut.c.echecs_connexion, ut.c.bloque_jusqua)
                                 .where(filtre)).first()
            echecs = int(ligne.echecs_connexion)
            bloque = ligne.bloque_jusqua
            diff: dict[str, Any] = {"echecs_connexion": [echecs - 1, echecs]}
            if echecs >= seuil:
                nouveau = maintenant + duree_blocage
                conn.execute(update(ut).where(ut.c.id == ligne.id).values(bloque_jusqua=nouveau))
                diff["bloque_jusqua"] = [_jsonable(bloque), _jsonable(nouveau)]
                bloque = nouveau
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), "systeme", "modification", "utilisateur",
                                                        ligne.id, diff)])
        return {"echecs_connexion": echecs, "bloque_jusqua": bloque}

    def enregistrer_connexion(self, email: str, maintenant: datetime, mot_de_passe_hash: str | None = None) -> None:
        """Connexion réussie : échecs remis à zéro, blocage levé, heure notée (et empreinte renouvelée)."""
        maintenant = _horodatage("Connexion", "maintenant", maintenant) or _maintenant()
        ut = table_utilisateur
        adresse = email.strip().lower() if isinstance(email, str) else email
        with self._ecrire() as conn:
            ligne = conn.execute(select(ut.c.id, ut.c.echecs_connexion, ut.c.bloque_jusqua, ut.c.derniere_connexion)
                                 .where(ut.c.email == adresse)).first()
            if ligne is None:
                raise ErreurDonnees(f"Aucun compte pour l'adresse « {email} ».", "utilisateur", "email")
            valeurs: dict[str, Any] = {"echecs_connexion": 0, "bloque_jusqua": None, "derniere_connexion": maintenant}
            diff: dict[str, Any] = {"derniere_connexion": [_jsonable(ligne.derniere_connexion),
                                                           _jsonable(maintenant)]}
            if ligne.echecs_connexion:
                diff["echecs_connexion"] = [int(ligne.echecs_connexion), 0]
            if ligne.bloque_jusqua is not None:
                diff["bloque_jusqua"] = [_jsonable(ligne.bloque_jusqua), None]
            if mot_de_passe_hash is not None:
                valeurs["mot_de_passe_hash"] = mot_de_passe_hash
                diff["mot_de_passe"] = "empreinte renouvelée"
            conn.execute(update(ut).where(ut.c.id == ligne.id).values(**valeurs))
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), adresse, "modification", "utilisateur",
                                                        ligne.id, diff)])


def _communes(contexte: str, valeur: Any) -> list[str]:
    if _est_absent(valeur):
        return []
    if isinstance(valeur, str):
        valeur = re.split(r"[,;\s]+", valeur)
    if not isinstance(valeur, (list, tuple, set)):
        raise _erreur(contexte, "communes", "liste de codes INSEE attendue.", couche="utilisateur")
    codes: list[str] = []
    for code in valeur:
        if isinstance(code, str) and not code.strip():
            continue
        code = _code_insee(contexte, "communes", code)
        if code not in codes:
            codes.append(code)
    return codes


def _egal(a: Any, b: Any) -> bool:
    if not isinstance(a, (list, tuple, np.ndarray)) and not isinstance(b, (list, tuple, np.ndarray)):
        if _est_absent(a) and _est_absent(b):
            return True
    try:
        resultat = a == b
        return bool(resultat) if not isinstance(resultat, np.ndarray) else bool(resultat.all())
    except Exception:  # noqa: BLE001 - comparaison impossible : différent
        return False
