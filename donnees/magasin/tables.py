"""Tables du magasin (métadonnées SQLAlchemy), type géométrique et moteur SQLite ou PostgreSQL.

Les colonnes des champs de l'opération viennent de son modèle
(:func:`donnees.modele_operation.colonnes_sql`) ; id, horodatages, version, suppression et contraintes
sont écrits ici. Ces métadonnées décrivent le schéma à la **tête** des migrations
(``migrations/versions``) : toute modification d'une table ici (ou d'un champ stocké du modèle)
s'accompagne d'une révision Alembic (voir docs/CONTRAT_MAGASIN.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import shapely
from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
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
    event,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.types import TypeDecorator

from donnees.modele_operation import colonnes_sql
from donnees.schemas import ErreurDonnees

SRID_STOCKAGE = 4326
ACTIONS_JOURNAL = ("creation", "modification", "suppression", "restauration", "validation")


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
    *colonnes_sql(),  # les champs déclarés dans donnees.modele_operation
    Column("cree_par", Text),
    Column("cree_le", DateTime, nullable=False),
    Column("modifie_par", Text),
    Column("modifie_le", DateTime),
    Column("version", Integer, nullable=False, default=1),
    Column("supprimee", Boolean, nullable=False, default=False, index=True),
    # Jeton de la soumission du formulaire qui l'a créée (révision 0003) : une soumission, une opération.
    Column("jeton_soumission", String(64)),
    Index("ix_operation_jeton_soumission", "jeton_soumission", unique=True),
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
    # Agrégats du registre (révision 0005) : lus dans l'index seul, sans parcourir les géométries.
    Index("ix_zone_agregats", "operation_id", "revetement_avant", "revetement_apres", "surface_m2"),
)

table_financement = Table(
    "financement", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation_id", Integer, ForeignKey("operation.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("financeur", Text, nullable=False),
    Column("montant_eur", Float, nullable=False),
    CheckConstraint("montant_eur >= 0", name="ck_financement_montant"),
    Index("ix_financement_agregats", "operation_id", "financeur", "montant_eur"),  # révision 0005
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

# Sessions de connexion (révision 0004) : seule l'empreinte SHA-256 du jeton est gardée, jamais le jeton. Hors de
# TABLES : une connexion ne change ni la révision du magasin (clés des caches) ni les comptes de ``compter``.
table_session = Table(
    "session_utilisateur", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("empreinte", String(64), nullable=False, unique=True),
    Column("utilisateur_id", Integer, ForeignKey("utilisateur.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("cree_le", DateTime, nullable=False),
    Column("derniere_activite", DateTime, nullable=False),
    Column("expire_le", DateTime, nullable=False),
    Column("revoquee_le", DateTime),
    Column("motif_revocation", String(20)),
    Column("agent", Text),
)

# Estimation du rafraîchissement local de chaque opération réalisée (révision 0005) : un résultat de calcul gardé
# pour les agrégats (indicateur « rafraichissement_emprise »), valable pour la version de l'opération et la clé
# des paramètres qui l'ont produit ; recalculé sinon. Hors de TABLES : ce n'est pas une saisie (ni révision du
# magasin, ni sauvegarde à restaurer : il se recalcule).
table_estimation_site = Table(
    "estimation_site", metadonnees,
    Column("operation_id", Integer, ForeignKey("operation.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("cle", String(64), nullable=False),
    Column("somme_ponderee", Float, nullable=False),
    Column("cellules", Float, nullable=False),
)

# Scénarios prospectifs (révision 0006, issue 15) : un ensemble nommé de projets futurs (sites) et les avis des
# communes sur chaque site (co-construction). Hors de TABLES : un scénario n'entre ni dans les indicateurs du
# registre ni dans la révision du magasin (clés des caches des pages) ; il est sauvegardé avec la base.
AVIS_SITE = ("propose", "faisable", "non_faisable", "deja_prevu", "accepte")
table_scenario = Table(
    "scenario", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("nom", Text, nullable=False),
    Column("description", Text),
    Column("partage", Boolean, nullable=False, default=False),
    Column("cree_par", Text, nullable=False),
    Column("cree_le", DateTime, nullable=False),
    Column("modifie_par", Text),
    Column("modifie_le", DateTime),
    Column("version", Integer, nullable=False, default=1),
    Column("supprime", Boolean, nullable=False, default=False),
    CheckConstraint("version >= 1", name="ck_scenario_version"),
)

table_site_scenario = Table(
    "site_scenario", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scenario_id", Integer, ForeignKey("scenario.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("code_insee", String(5), nullable=False),
    Column("parcelle_id", String(20)),
    Column("geometrie", Geometrie, nullable=False),
    Column("surface_m2", Float, nullable=False),
    Column("revetement_avant", String(40), nullable=False),
    Column("revetement_apres", String(40), nullable=False),
    Column("type_site", String(40), nullable=False),
    Column("annee", Integer, nullable=False),
    Column("avis", String(20), nullable=False, default="propose"),
    Column("operation_id", Integer, ForeignKey("operation.id", ondelete="SET NULL")),
    Column("cree_par", Text, nullable=False),
    Column("cree_le", DateTime, nullable=False),
    CheckConstraint("surface_m2 > 0", name="ck_site_scenario_surface"),
    CheckConstraint("avis IN (" + ", ".join(f"'{a}'" for a in AVIS_SITE) + ")", name="ck_site_scenario_avis"),
)

table_avis_site = Table(
    "avis_site", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site_id", Integer, ForeignKey("site_scenario.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("auteur", Text, nullable=False),
    Column("avis", String(20), nullable=False),
    Column("commentaire", Text),
    Column("cree_le", DateTime, nullable=False),
    CheckConstraint("avis IN (" + ", ".join(f"'{a}'" for a in AVIS_SITE) + ")", name="ck_avis_site_avis"),
)

# Échanges et notifications (révision 0008, issue 16) : un fil de discussion par objet (une opération : son fil
# sert aussi à son retour d'expérience), ses messages (question ou réponse, masquables par le syndicat avec motif),
# les abonnements des membres qui le suivent, et les notifications dans l'application (``envoyee_le`` : résumé par
# courriel). Hors de TABLES : ni saisie du registre ni révision du magasin (clés des caches des pages).
GENRES_MESSAGE = ("question", "reponse")
table_fil_discussion = Table(
    "fil_discussion", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("objet", String(20), nullable=False),
    Column("objet_id", Integer, nullable=False),
    Column("cree_le", DateTime, nullable=False),
    Index("ix_fil_discussion_objet", "objet", "objet_id", unique=True),
)

table_message = Table(
    "message_fil", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fil_id", Integer, ForeignKey("fil_discussion.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("auteur_email", String(254), nullable=False),
    Column("auteur_nom", Text, nullable=False),
    Column("genre", String(10), nullable=False),
    Column("texte", Text, nullable=False),
    Column("cree_le", DateTime, nullable=False),
    Column("masque", Boolean, nullable=False, default=False),
    Column("masque_par", String(254)),
    Column("masque_le", DateTime),
    Column("motif_masquage", Text),
    CheckConstraint("genre IN (" + ", ".join(f"'{g}'" for g in GENRES_MESSAGE) + ")", name="ck_message_fil_genre"),
)

table_abonnement_fil = Table(
    "abonnement_fil", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fil_id", Integer, ForeignKey("fil_discussion.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("cree_le", DateTime, nullable=False),
    Index("ix_abonnement_fil_fil_email", "fil_id", "email", unique=True),
)

table_notification = Table(
    "notification", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("destinataire", String(254), nullable=False),
    Column("genre", String(40), nullable=False),
    Column("texte", Text, nullable=False),
    Column("lien", Text),
    Column("cree_le", DateTime, nullable=False),
    Column("lue_le", DateTime),
    Column("envoyee_le", DateTime),
    Index("ix_notification_destinataire", "destinataire", "lue_le"),
)

# Résumé des notifications par courriel (révision 0011, issue 16) : fréquence choisie par chaque compte, jeton du
# lien de désabonnement (il ne fait que désabonner), date du dernier résumé envoyé. Hors de TABLES : ni saisie du
# registre ni révision du magasin.
table_preference_courriel = Table(
    "preference_courriel", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", Text, nullable=False, unique=True),
    Column("frequence", String(20), nullable=False),
    Column("jeton", String(64), nullable=False, unique=True),
    Column("dernier_envoi", DateTime),
    Column("modifie_le", DateTime, nullable=False),
)

# Ressources (révision 0012, issue 16 partie 1) : bibliothèque partagée (guides, cahiers des charges, fiches
# techniques, appels à projets et subventions avec échéance, études), fichier stocké sous ``ressources/`` (nom
# d'origine, chemin, type MIME, taille, empreinte) ou lien ; liens vers les opérations ; thèmes suivis par les
# membres (notifications). Hors de TABLES : ni saisie du registre ni révision du magasin.
STATUTS_RESSOURCE = ("publiee", "masquee")
table_ressource = Table(
    "ressource", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("genre", String(40), nullable=False),
    Column("titre", Text, nullable=False),
    Column("resume", Text, nullable=False),
    Column("url", Text),
    Column("fichier_nom", Text),
    Column("fichier_chemin", String(120)),
    Column("fichier_type", String(120)),
    Column("fichier_taille", Integer),
    Column("fichier_sha256", String(64)),
    Column("echeance", Date),
    Column("communes", Text, nullable=False),
    Column("themes", Text, nullable=False),
    Column("auteur_email", String(254), nullable=False),
    Column("auteur_nom", Text, nullable=False),
    Column("statut", String(10), nullable=False),
    Column("masque_par", String(254)),
    Column("masque_le", DateTime),
    Column("motif_masquage", Text),
    Column("partagee_territoires", Boolean, nullable=False),
    Column("cree_le", DateTime, nullable=False),
    Column("modifie_le", DateTime, nullable=False),
    Column("version", Integer, nullable=False),
    CheckConstraint("statut IN (" + ", ".join(f"'{s}'" for s in STATUTS_RESSOURCE) + ")",
                    name="ck_ressource_statut"),
    CheckConstraint("(url IS NULL) <> (fichier_chemin IS NULL)", name="ck_ressource_url_ou_fichier"),
    CheckConstraint("version >= 1", name="ck_ressource_version"),
)

table_ressource_operation = Table(
    "ressource_operation", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ressource_id", Integer, ForeignKey("ressource.id", ondelete="CASCADE"), nullable=False),
    Column("operation_id", Integer, ForeignKey("operation.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("lie_par", String(254), nullable=False),
    Column("lie_le", DateTime, nullable=False),
    Index("ix_ressource_operation_lien", "ressource_id", "operation_id", unique=True),
)

table_suivi_theme = Table(
    "suivi_theme", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),
    Column("theme", String(40), nullable=False),
    Column("cree_le", DateTime, nullable=False),
    Index("ix_suivi_theme_email_theme", "email", "theme", unique=True),
)

# Agenda de la communauté (révision 0013, issue 16, partie 3) : événements (genre : nomenclature
# genres_evenement.csv ; début et fin en UTC ; lieu et point WGS84 facultatif, ou en ligne avec son adresse ; uid
# stable et séquence pour iCalendar), leurs liens vers les opérations et les ressources (``evenement_operation``,
# ``evenement_ressource`` ; déclarés dans LIENS_EVENEMENT de donnees/magasin/agenda.py) et les
# inscriptions des membres (une par adresse ; ``rappel_le`` : rappel « à venir » déjà fait, jamais deux fois).
# Hors de TABLES : ni saisie du registre ni révision du magasin.
STATUTS_EVENEMENT = ("prevu", "annule")
table_evenement = Table(
    "evenement", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(120), nullable=False, unique=True),
    Column("genre", String(40), nullable=False),
    Column("titre", Text, nullable=False),
    Column("sujet", Text),
    Column("debut", DateTime, nullable=False, index=True),
    Column("fin", DateTime, nullable=False),
    Column("lieu", Text),
    Column("longitude", Float),
    Column("latitude", Float),
    Column("en_ligne", Boolean, nullable=False, default=False),
    Column("url", Text),
    Column("places_max", Integer),
    Column("statut", String(10), nullable=False, default="prevu"),
    Column("motif_annulation", Text),
    Column("partage_territoires", Boolean, nullable=False, default=False),
    Column("sequence", Integer, nullable=False, default=0),
    Column("cree_par", String(254), nullable=False),
    Column("cree_le", DateTime, nullable=False),
    Column("modifie_le", DateTime, nullable=False),
    CheckConstraint("statut IN (" + ", ".join(f"'{s}'" for s in STATUTS_EVENEMENT) + ")",
                    name="ck_evenement_statut"),
    CheckConstraint("fin > debut", name="ck_evenement_horaire"),
    CheckConstraint("places_max IS NULL OR places_max >= 1", name="ck_evenement_places"),
    CheckConstraint("sequence >= 0", name="ck_evenement_sequence"),
)

table_evenement_operation = Table(
    "evenement_operation", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("evenement_id", Integer, ForeignKey("evenement.id", ondelete="CASCADE"), nullable=False),
    Column("operation_id", Integer, ForeignKey("operation.id", ondelete="CASCADE"), nullable=False, index=True),
    Index("ix_evenement_operation_lien", "evenement_id", "operation_id", unique=True),
)

table_evenement_ressource = Table(
    "evenement_ressource", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("evenement_id", Integer, ForeignKey("evenement.id", ondelete="CASCADE"), nullable=False),
    Column("ressource_id", Integer, ForeignKey("ressource.id", ondelete="CASCADE"), nullable=False, index=True),
    Index("ix_evenement_ressource_lien", "evenement_id", "ressource_id", unique=True),
)

table_inscription_evenement = Table(
    "inscription_evenement", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("evenement_id", Integer, ForeignKey("evenement.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("nom", Text, nullable=False),
    Column("inscrit_le", DateTime, nullable=False),
    Column("rappel_le", DateTime),
    Index("ix_inscription_evenement_email", "evenement_id", "email", unique=True),
)

# Annuaire des membres (révision 0014, issue 16 partie 4) : une fiche par compte qui y consent. Nom, rôle et communes
# viennent du compte (jamais recopiés ici) ; les champs facultatifs ne sont montrés que remplis par le membre
# (courriel seulement si ``email_visible``) ; retrait du consentement = champs facultatifs effacés, fiche hors de
# l'annuaire. Le syndicat peut masquer une fiche (modération). Hors de TABLES : ni saisie du registre ni révision
# du magasin.
table_fiche_annuaire = Table(
    "fiche_annuaire", metadonnees,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("consentement", Boolean, nullable=False, default=False),
    Column("consenti_le", DateTime),
    Column("fonction", Text),
    Column("telephone", String(40)),
    Column("email_visible", Boolean, nullable=False, default=False),
    Column("presentation", Text),
    Column("sujets", Text),
    Column("visible_autres_territoires", Boolean, nullable=False, default=False),
    Column("masquee", Boolean, nullable=False, default=False),
    Column("masquee_par", String(254)),
    Column("masquee_le", DateTime),
    Column("motif_masquage", Text),
    Column("modifie_le", DateTime, nullable=False),
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

# ---------------------------------------------------------------------------------------- moteur

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


def creer_moteur(url: str) -> tuple[Engine, bool]:
    """Moteur SQLAlchemy de l'URL et ``True`` s'il s'agit de PostgreSQL ; SQLite configuré (WAL…)."""
    adresse = make_url(url)
    moteur_sql = adresse.get_backend_name()
    if moteur_sql == "sqlite":
        base = adresse.database or ""
        options: dict[str, Any] = {"timeout": 30}
        if base and base != ":memory:" and not base.startswith("file:"):
            Path(base).expanduser().parent.mkdir(parents=True, exist_ok=True)
            options["check_same_thread"] = False
        moteur = create_engine(adresse, connect_args=options)
        event.listen(moteur, "connect", _configurer_sqlite)
        event.listen(moteur, "begin", _commencer_sqlite)
        return moteur, False
    if moteur_sql == "postgresql":
        return create_engine(adresse, pool_pre_ping=True), True
    raise ErreurDonnees(f"Base « {moteur_sql} » non prise en charge : utilisez SQLite "
                        "(sqlite:///…) ou PostgreSQL (postgresql+psycopg://…).", "magasin")
