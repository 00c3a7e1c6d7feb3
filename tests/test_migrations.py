"""Migrations du schéma du magasin (Alembic) : base vide, base de la version précédente, révision ajoutée.

La base de la version précédente est ``tests/donnees/base_v0.sql`` (SQLite) et
``tests/donnees/base_v0_postgresql.sql`` (DDL PostGIS), fabriquées par
``tests/donnees/fabriquer_base_v0.py`` avec le code d'avant les migrations.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

import cli
from donnees.comptes import authentifier
from donnees.magasin import REVISION_INITIALE, Magasin, revision_tete
from donnees.magasin.schema import DOSSIER_MIGRATIONS
from donnees.erreurs import ErreurDonnees

DONNEES = Path(__file__).resolve().parent / "donnees"
SQL_V0 = DONNEES / "base_v0.sql"
DDL_V0_POSTGRESQL = DONNEES / "base_v0_postgresql.sql"
TABLES = ("operation", "zone", "financement", "photo", "utilisateur", "journal")
MOT_DE_PASSE_ADMIN = "une phrase de passe solide"

REVISION_SURFACE_VEGETALISEE = "0002"
REVISION_JETON_SOUMISSION = "0003"
# Colonne ajoutée par la révision 0002, telle que SQLite et PostgreSQL l'écrivent (ALTER TABLE … ADD COLUMN).
AJOUTS_0002 = "ALTER TABLE operation ADD COLUMN surface_vegetalisee_m2 FLOAT"
# Colonne et index unique ajoutés par la révision 0003 (jeton de soumission du formulaire).
AJOUTS_0003 = ("ALTER TABLE operation ADD COLUMN jeton_soumission VARCHAR(64);\n"
               "CREATE UNIQUE INDEX ix_operation_jeton_soumission ON operation (jeton_soumission)")
# Table et index ajoutés par la révision 0004 (sessions de connexion), texte tel que SQLite le garde.
COLONNES_0004 = ("id INTEGER NOT NULL", "empreinte VARCHAR(64) NOT NULL", "utilisateur_id INTEGER NOT NULL",
                 "cree_le DATETIME NOT NULL", "derniere_activite DATETIME NOT NULL", "expire_le DATETIME NOT NULL",
                 "revoquee_le DATETIME", "motif_revocation VARCHAR(20)", "agent TEXT", "PRIMARY KEY (id)",
                 "UNIQUE (empreinte)",
                 "FOREIGN KEY(utilisateur_id) REFERENCES utilisateur (id) ON DELETE CASCADE")
AJOUTS_0004 = ("CREATE TABLE session_utilisateur (\n\t" + ", \n\t".join(COLONNES_0004) + "\n);\n"
               "CREATE INDEX ix_session_utilisateur_utilisateur_id ON session_utilisateur (utilisateur_id)")
AJOUTS_0004_POSTGRESQL = (AJOUTS_0004.replace("DATETIME", "TIMESTAMP WITHOUT TIME ZONE")
                          .replace("id INTEGER NOT NULL, ", "id SERIAL NOT NULL, ", 1))
# Index couvrants et table des estimations par site ajoutés par la révision 0005 (agrégats du registre).
COLONNES_0005 = ("operation_id INTEGER NOT NULL", "version INTEGER NOT NULL", "cle VARCHAR(64) NOT NULL",
                 "somme_ponderee FLOAT NOT NULL", "cellules FLOAT NOT NULL", "PRIMARY KEY (operation_id)",
                 "FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE CASCADE")
AJOUTS_0005 = ("CREATE INDEX ix_zone_agregats ON zone (operation_id, revetement_avant, revetement_apres, surface_m2);\n"
               "CREATE INDEX ix_financement_agregats ON financement (operation_id, financeur, montant_eur);\n"
               "CREATE TABLE estimation_site (\n\t" + ", \n\t".join(COLONNES_0005) + "\n)")
AJOUTS_0005_POSTGRESQL = AJOUTS_0005
# Tables des scénarios prospectifs ajoutées par la révision 0006 (issue 15), texte tel que SQLite le garde.
AVIS_0006 = "avis IN ('propose', 'faisable', 'non_faisable', 'deja_prevu', 'accepte')"
COLONNES_SCENARIO = ("id INTEGER NOT NULL", "nom TEXT NOT NULL", "description TEXT", "partage BOOLEAN NOT NULL",
                     "cree_par TEXT NOT NULL", "cree_le DATETIME NOT NULL", "modifie_par TEXT", "modifie_le DATETIME",
                     "version INTEGER NOT NULL", "supprime BOOLEAN NOT NULL", "PRIMARY KEY (id)",
                     "CONSTRAINT ck_scenario_version CHECK (version >= 1)")
COLONNES_SITE = ("id INTEGER NOT NULL", "scenario_id INTEGER NOT NULL", "code_insee VARCHAR(5) NOT NULL",
                 "parcelle_id VARCHAR(20)", "geometrie BLOB NOT NULL", "surface_m2 FLOAT NOT NULL",
                 "revetement_avant VARCHAR(40) NOT NULL", "revetement_apres VARCHAR(40) NOT NULL",
                 "type_site VARCHAR(40) NOT NULL", "annee INTEGER NOT NULL", "avis VARCHAR(20) NOT NULL",
                 "operation_id INTEGER", "cree_par TEXT NOT NULL", "cree_le DATETIME NOT NULL", "PRIMARY KEY (id)",
                 "CONSTRAINT ck_site_scenario_surface CHECK (surface_m2 > 0)",
                 f"CONSTRAINT ck_site_scenario_avis CHECK ({AVIS_0006})",
                 "FOREIGN KEY(scenario_id) REFERENCES scenario (id) ON DELETE CASCADE",
                 "FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE SET NULL")
COLONNES_AVIS = ("id INTEGER NOT NULL", "site_id INTEGER NOT NULL", "auteur TEXT NOT NULL",
                 "avis VARCHAR(20) NOT NULL", "commentaire TEXT", "cree_le DATETIME NOT NULL", "PRIMARY KEY (id)",
                 f"CONSTRAINT ck_avis_site_avis CHECK ({AVIS_0006})",
                 "FOREIGN KEY(site_id) REFERENCES site_scenario (id) ON DELETE CASCADE")
AJOUTS_0006 = ("CREATE TABLE scenario (\n\t" + ", \n\t".join(COLONNES_SCENARIO) + "\n);\n"
               "CREATE TABLE site_scenario (\n\t" + ", \n\t".join(COLONNES_SITE) + "\n);\n"
               "CREATE INDEX ix_site_scenario_scenario_id ON site_scenario (scenario_id);\n"
               "CREATE TABLE avis_site (\n\t" + ", \n\t".join(COLONNES_AVIS) + "\n);\n"
               "CREATE INDEX ix_avis_site_site_id ON avis_site (site_id)")
AJOUTS_0006_POSTGRESQL = (AJOUTS_0006.replace("DATETIME", "TIMESTAMP WITHOUT TIME ZONE")
                          .replace("(\n\tid INTEGER NOT NULL", "(\n\tid SERIAL NOT NULL")
                          .replace("geometrie BLOB", "geometrie geometry(GEOMETRY,4326)"))
# Tables des échanges et des notifications ajoutées par la révision 0008 (issue 16), texte tel que SQLite le garde.
COLONNES_FIL = ("id INTEGER NOT NULL", "objet VARCHAR(20) NOT NULL", "objet_id INTEGER NOT NULL",
                "cree_le DATETIME NOT NULL", "PRIMARY KEY (id)")
COLONNES_MESSAGE = ("id INTEGER NOT NULL", "fil_id INTEGER NOT NULL", "auteur_email VARCHAR(254) NOT NULL",
                    "auteur_nom TEXT NOT NULL", "genre VARCHAR(10) NOT NULL", "texte TEXT NOT NULL",
                    "cree_le DATETIME NOT NULL", "masque BOOLEAN NOT NULL", "masque_par VARCHAR(254)",
                    "masque_le DATETIME", "motif_masquage TEXT", "PRIMARY KEY (id)",
                    "CONSTRAINT ck_message_fil_genre CHECK (genre IN ('question', 'reponse'))",
                    "FOREIGN KEY(fil_id) REFERENCES fil_discussion (id) ON DELETE CASCADE")
COLONNES_ABONNEMENT = ("id INTEGER NOT NULL", "fil_id INTEGER NOT NULL", "email VARCHAR(254) NOT NULL",
                       "cree_le DATETIME NOT NULL", "PRIMARY KEY (id)",
                       "FOREIGN KEY(fil_id) REFERENCES fil_discussion (id) ON DELETE CASCADE")
COLONNES_NOTIFICATION = ("id INTEGER NOT NULL", "destinataire VARCHAR(254) NOT NULL", "genre VARCHAR(40) NOT NULL",
                         "texte TEXT NOT NULL", "lien TEXT", "cree_le DATETIME NOT NULL", "lue_le DATETIME",
                         "envoyee_le DATETIME", "PRIMARY KEY (id)")
AJOUTS_0008 = ("CREATE TABLE fil_discussion (\n\t" + ", \n\t".join(COLONNES_FIL) + "\n);\n"
               "CREATE UNIQUE INDEX ix_fil_discussion_objet ON fil_discussion (objet, objet_id);\n"
               "CREATE TABLE message_fil (\n\t" + ", \n\t".join(COLONNES_MESSAGE) + "\n);\n"
               "CREATE INDEX ix_message_fil_fil_id ON message_fil (fil_id);\n"
               "CREATE TABLE abonnement_fil (\n\t" + ", \n\t".join(COLONNES_ABONNEMENT) + "\n);\n"
               "CREATE UNIQUE INDEX ix_abonnement_fil_fil_email ON abonnement_fil (fil_id, email);\n"
               "CREATE TABLE notification (\n\t" + ", \n\t".join(COLONNES_NOTIFICATION) + "\n);\n"
               "CREATE INDEX ix_notification_destinataire ON notification (destinataire, lue_le)")
AJOUTS_0008_POSTGRESQL = (AJOUTS_0008.replace("DATETIME", "TIMESTAMP WITHOUT TIME ZONE")
                          .replace("(\n\tid INTEGER NOT NULL", "(\n\tid SERIAL NOT NULL"))
# Tables de la communauté de pratiques (issue 16), révision par révision : (SQLite, PostgreSQL).
COLONNES_0011 = ("id INTEGER NOT NULL", "email TEXT NOT NULL", "frequence VARCHAR(20) NOT NULL",
                 "jeton VARCHAR(64) NOT NULL", "dernier_envoi DATETIME", "modifie_le DATETIME NOT NULL",
                 "PRIMARY KEY (id)", "UNIQUE (email)", "UNIQUE (jeton)")
AJOUTS_0011 = "CREATE TABLE preference_courriel (\n\t" + ", \n\t".join(COLONNES_0011) + "\n)"
# Tables des ressources ajoutées par la révision 0012 (issue 16, partie 1), texte tel que SQLite le garde.
COLONNES_RESSOURCE = ("id INTEGER NOT NULL", "genre VARCHAR(40) NOT NULL", "titre TEXT NOT NULL",
                      "resume TEXT NOT NULL", "url TEXT", "fichier_nom TEXT", "fichier_chemin VARCHAR(120)",
                      "fichier_type VARCHAR(120)", "fichier_taille INTEGER", "fichier_sha256 VARCHAR(64)",
                      "echeance DATE", "communes TEXT NOT NULL", "themes TEXT NOT NULL",
                      "auteur_email VARCHAR(254) NOT NULL", "auteur_nom TEXT NOT NULL", "statut VARCHAR(10) NOT NULL",
                      "masque_par VARCHAR(254)", "masque_le DATETIME", "motif_masquage TEXT",
                      "partagee_territoires BOOLEAN NOT NULL", "cree_le DATETIME NOT NULL",
                      "modifie_le DATETIME NOT NULL", "version INTEGER NOT NULL", "PRIMARY KEY (id)",
                      "CONSTRAINT ck_ressource_statut CHECK (statut IN ('publiee', 'masquee'))",
                      "CONSTRAINT ck_ressource_url_ou_fichier CHECK ((url IS NULL) <> (fichier_chemin IS NULL))",
                      "CONSTRAINT ck_ressource_version CHECK (version >= 1)")
COLONNES_RESSOURCE_OPERATION = ("id INTEGER NOT NULL", "ressource_id INTEGER NOT NULL",
                                "operation_id INTEGER NOT NULL", "lie_par VARCHAR(254) NOT NULL",
                                "lie_le DATETIME NOT NULL", "PRIMARY KEY (id)",
                                "FOREIGN KEY(ressource_id) REFERENCES ressource (id) ON DELETE CASCADE",
                                "FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE CASCADE")
COLONNES_SUIVI_THEME = ("id INTEGER NOT NULL", "email VARCHAR(254) NOT NULL", "theme VARCHAR(40) NOT NULL",
                        "cree_le DATETIME NOT NULL", "PRIMARY KEY (id)")
AJOUTS_0012 = ("CREATE TABLE ressource (\n\t" + ", \n\t".join(COLONNES_RESSOURCE) + "\n);\n"
               "CREATE TABLE ressource_operation (\n\t" + ", \n\t".join(COLONNES_RESSOURCE_OPERATION) + "\n);\n"
               "CREATE INDEX ix_ressource_operation_operation_id ON ressource_operation (operation_id);\n"
               "CREATE UNIQUE INDEX ix_ressource_operation_lien ON ressource_operation (ressource_id, operation_id);\n"
               "CREATE TABLE suivi_theme (\n\t" + ", \n\t".join(COLONNES_SUIVI_THEME) + "\n);\n"
               "CREATE UNIQUE INDEX ix_suivi_theme_email_theme ON suivi_theme (email, theme)")
AJOUTS_0012_POSTGRESQL = (AJOUTS_0012.replace("DATETIME", "TIMESTAMP WITHOUT TIME ZONE")
                          .replace("(\n\tid INTEGER NOT NULL", "(\n\tid SERIAL NOT NULL"))
# Agenda (révision 0013, issue 16 partie 3) : événements, opérations liées, inscriptions.
COLONNES_EVENEMENT = ("id INTEGER NOT NULL", "uid VARCHAR(120) NOT NULL", "genre VARCHAR(40) NOT NULL",
                      "titre TEXT NOT NULL", "sujet TEXT", "debut DATETIME NOT NULL", "fin DATETIME NOT NULL",
                      "lieu TEXT", "longitude FLOAT", "latitude FLOAT", "en_ligne BOOLEAN NOT NULL", "url TEXT",
                      "places_max INTEGER", "statut VARCHAR(10) NOT NULL", "motif_annulation TEXT",
                      "partage_territoires BOOLEAN NOT NULL", "sequence INTEGER NOT NULL",
                      "cree_par VARCHAR(254) NOT NULL", "cree_le DATETIME NOT NULL", "modifie_le DATETIME NOT NULL",
                      "PRIMARY KEY (id)", "CONSTRAINT ck_evenement_statut CHECK (statut IN ('prevu', 'annule'))",
                      "CONSTRAINT ck_evenement_horaire CHECK (fin > debut)",
                      "CONSTRAINT ck_evenement_places CHECK (places_max IS NULL OR places_max >= 1)",
                      "CONSTRAINT ck_evenement_sequence CHECK (sequence >= 0)", "UNIQUE (uid)")
COLONNES_EVENEMENT_OPERATION = ("id INTEGER NOT NULL", "evenement_id INTEGER NOT NULL", "operation_id INTEGER NOT NULL",
                                "PRIMARY KEY (id)",
                                "FOREIGN KEY(evenement_id) REFERENCES evenement (id) ON DELETE CASCADE",
                                "FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE CASCADE")
COLONNES_EVENEMENT_RESSOURCE = ("id INTEGER NOT NULL", "evenement_id INTEGER NOT NULL", "ressource_id INTEGER NOT NULL",
                                "PRIMARY KEY (id)",
                                "FOREIGN KEY(evenement_id) REFERENCES evenement (id) ON DELETE CASCADE",
                                "FOREIGN KEY(ressource_id) REFERENCES ressource (id) ON DELETE CASCADE")
COLONNES_INSCRIPTION = ("id INTEGER NOT NULL", "evenement_id INTEGER NOT NULL", "email VARCHAR(254) NOT NULL",
                        "nom TEXT NOT NULL", "inscrit_le DATETIME NOT NULL", "rappel_le DATETIME", "PRIMARY KEY (id)",
                        "FOREIGN KEY(evenement_id) REFERENCES evenement (id) ON DELETE CASCADE")
AJOUTS_0013 = ("CREATE TABLE evenement (\n\t" + ", \n\t".join(COLONNES_EVENEMENT) + "\n);\n"
               "CREATE INDEX ix_evenement_debut ON evenement (debut);\n"
               "CREATE TABLE evenement_operation (\n\t" + ", \n\t".join(COLONNES_EVENEMENT_OPERATION) + "\n);\n"
               "CREATE INDEX ix_evenement_operation_operation_id ON evenement_operation (operation_id);\n"
               "CREATE UNIQUE INDEX ix_evenement_operation_lien ON evenement_operation (evenement_id, operation_id);\n"
               "CREATE TABLE evenement_ressource (\n\t" + ", \n\t".join(COLONNES_EVENEMENT_RESSOURCE) + "\n);\n"
               "CREATE INDEX ix_evenement_ressource_ressource_id ON evenement_ressource (ressource_id);\n"
               "CREATE UNIQUE INDEX ix_evenement_ressource_lien ON evenement_ressource (evenement_id, ressource_id);\n"
               "CREATE TABLE inscription_evenement (\n\t" + ", \n\t".join(COLONNES_INSCRIPTION) + "\n);\n"
               "CREATE UNIQUE INDEX ix_inscription_evenement_email ON inscription_evenement (evenement_id, email)")
# Annuaire des membres (révision 0014, issue 16 partie 4).
COLONNES_0014 = ("id INTEGER NOT NULL", "email VARCHAR(254) NOT NULL", "consentement BOOLEAN NOT NULL",
                 "consenti_le DATETIME", "fonction TEXT", "telephone VARCHAR(40)", "email_visible BOOLEAN NOT NULL",
                 "presentation TEXT", "sujets TEXT", "visible_autres_territoires BOOLEAN NOT NULL",
                 "masquee BOOLEAN NOT NULL", "masquee_par VARCHAR(254)", "masquee_le DATETIME", "motif_masquage TEXT",
                 "modifie_le DATETIME NOT NULL", "PRIMARY KEY (id)", "UNIQUE (email)")
AJOUTS_0014 = "CREATE TABLE fiche_annuaire (\n\t" + ", \n\t".join(COLONNES_0014) + "\n)"
AJOUTS_COMMUNAUTE = [
    (AJOUTS_0008, AJOUTS_0008_POSTGRESQL),
    (AJOUTS_0011, AJOUTS_0011.replace("DATETIME", "TIMESTAMP WITHOUT TIME ZONE")
     .replace("id INTEGER NOT NULL", "id SERIAL NOT NULL", 1)),
    (AJOUTS_0012, AJOUTS_0012_POSTGRESQL),
    (AJOUTS_0013, AJOUTS_0013.replace("DATETIME", "TIMESTAMP WITHOUT TIME ZONE")
     .replace("(\n\tid INTEGER NOT NULL", "(\n\tid SERIAL NOT NULL")),
    (AJOUTS_0014, AJOUTS_0014.replace("DATETIME", "TIMESTAMP WITHOUT TIME ZONE")
     .replace("id INTEGER NOT NULL", "id SERIAL NOT NULL", 1)),
]
AJOUTS_TETE = (AJOUTS_0002 + ";\n" + AJOUTS_0003 + ";\n" + AJOUTS_0004 + ";\n" + AJOUTS_0005 + ";\n"
               + AJOUTS_0006 + "".join(";\n" + sqlite for sqlite, _ in AJOUTS_COMMUNAUTE))
REVISION_SESSIONS = "0004"
REVISION_AGREGATS = "0005"
REVISION_SCENARIOS = "0006"
REVISION_ECHANGES = "0008"
# Révision d'essai : la suivante de la tête des migrations du magasin, quelle qu'elle soit.
REVISION_TETE = revision_tete()
REVISION_ESSAI_NUMERO = f"{int(REVISION_TETE) + 1:04d}"
REVISION_ESSAI = '''"""Révision d'essai : surface de la zone d'essai des opérations."""

import sqlalchemy as sa
from alembic import op

revision = "{numero}"
down_revision = "{precedente}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("operation", sa.Column("surface_essai_m2", sa.Float()))
    op.execute("UPDATE operation SET surface_essai_m2 = surface_declaree_m2 / 2")
    {suite}


def downgrade():
    op.drop_column("operation", "surface_essai_m2")
'''

# ------------------------------------------------------------------------------------------- outils


def base_v0_sqlite(chemin: Path, schema_seul: bool = False, suite: str = "") -> str:
    """Écrit la base de la version précédente (avec ses données, ou son seul schéma), puis ``suite``
    (SQL) ; renvoie son URL."""
    script = SQL_V0.read_text(encoding="utf-8")
    if schema_seul:
        script = "\n".join(ligne for ligne in script.splitlines() if not ligne.startswith("INSERT"))
    script += "\n" + suite + (";" if suite else "")
    connexion = sqlite3.connect(chemin)
    try:
        connexion.executescript(script)
    finally:
        connexion.close()
    return f"sqlite:///{chemin.as_posix()}"


def lignes_brutes_sqlite(chemin: Path) -> dict[str, list[tuple]]:
    """Toutes les lignes de toutes les tables, telles que stockées (octets des géométries compris)."""
    connexion = sqlite3.connect(chemin)
    try:
        return {t: connexion.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
    finally:
        connexion.close()


def schema_sqlite(url: str) -> set[tuple]:
    """Objets du schéma SQLite (type, nom, table, SQL), hors ``alembic_version``."""
    moteur = create_engine(url)
    try:
        with moteur.connect() as conn:
            lignes = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                          "WHERE name NOT LIKE 'sqlite_%' AND tbl_name != 'alembic_version'")
            return {tuple(ligne) for ligne in lignes}
    finally:
        moteur.dispose()


def revision_stockee(url: str) -> list[str]:
    moteur = create_engine(url)
    try:
        with moteur.connect() as conn:
            return [r for (r,) in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        moteur.dispose()


def instantane(magasin: Magasin) -> dict:
    """Tout ce que le magasin rend : opérations (même supprimées), comptes avec empreintes, journal."""
    operations = {}
    for i in magasin.lire_operations(inclure_supprimees=True)["id"]:
        operation = magasin.lire_operation(int(i))
        operation["zones"] = [{**z, "geometrie": shapely.to_wkb(z["geometrie"])} for z in operation["zones"]]
        operations[int(i)] = operation
    comptes = {email: magasin.lire_utilisateur(email) for email in magasin.lire_utilisateurs()["email"]}
    journal = magasin.lire_journal()
    journal["horodatage"] = [pd.Timestamp(h).to_pydatetime() for h in journal["horodatage"]]
    return {"compte": magasin.compter(), "operations": operations, "comptes": comptes,
            "journal": journal.astype(object).to_dict("records")}


def verifier_contenu_v0(etat: dict) -> None:
    """Le contenu connu de la base de la version précédente (voir fabriquer_base_v0.py)."""
    assert etat["compte"] == {"operation": 6, "zone": 7, "financement": 2, "photo": 2, "utilisateur": 3,
                              "journal": 21}
    cour = etat["operations"][1]
    assert (cour["nom"], cour["version"], cour["validation"], cour["arbres_plantes"]) == \
        ("Cour de l'école Jules-Ferry", 3, "validee", 6)
    assert cour["date_fin_travaux"] == date(2023, 6, 30) and cour["parcelles"] == ["34301000AB0123", "34301000AB0124"]
    assert [f["montant_eur"] for f in cour["financements"]] == [50_000.0, 20_000.5]
    assert [p["chemin"] for p in cour["photos"]] == ["photos/op1_avant.png", "photos/op1_apres.png"]
    assert len(cour["zones"]) == 2 and cour["surface_zones_m2"] == pytest.approx(12_500, rel=1e-3)
    assert etat["operations"][3]["supprimee"] and etat["operations"][2]["localisation_approximative"]
    assert etat["comptes"]["financeur@agence.fr"]["bloque_jusqua"] is not None
    assert etat["comptes"]["ref@sete.fr"]["communes"] == ["34301", "34108"]
    assert etat["comptes"]["financeur@agence.fr"]["mot_de_passe_hash"] is None
    cibles = [ligne["table_cible"] for ligne in etat["journal"]]
    assert cibles.count("objectifs") == 1 and cibles.count("parametres") == 1
    assert etat["journal"][-2]["diff"] == {"34301 2030": [None, 5000.0]}


def copier_migrations(tmp_path: Path, suite: str = "pass") -> Path:
    """Copie des migrations du magasin avec une révision d'essai après la tête (``suite`` : fin de ``upgrade``)."""
    dossier = tmp_path / "migrations"
    shutil.copytree(DOSSIER_MIGRATIONS, dossier, ignore=shutil.ignore_patterns("__pycache__"))
    texte = (REVISION_ESSAI.replace("{suite}", suite).replace("{numero}", REVISION_ESSAI_NUMERO)
             .replace("{precedente}", REVISION_TETE))
    (dossier / "versions" / f"{REVISION_ESSAI_NUMERO}_essai.py").write_text(texte, encoding="utf-8")
    return dossier


# ------------------------------------------------------------------------------------------- SQLite


def test_base_vide_creee_par_migration_au_schema_exact_de_la_version_precedente(tmp_path):
    magasin = Magasin(f"sqlite:///{(tmp_path / 'neuve.sqlite').as_posix()}")
    try:
        assert magasin.version_schema() is None
        assert magasin.mettre_a_niveau() == (None, revision_tete())
        assert magasin.version_schema() == revision_tete() == REVISION_TETE
        assert magasin.compter() == dict.fromkeys(TABLES, 0)
    finally:
        magasin.fermer()
    # Le schéma de la version précédente, plus les ajouts des révisions 0002 à 0008.
    ancienne = base_v0_sqlite(tmp_path / "v0.sqlite", schema_seul=True, suite=AJOUTS_TETE)
    assert schema_sqlite(magasin.url) == schema_sqlite(ancienne)
    assert revision_stockee(magasin.url) == [REVISION_TETE]


def test_base_de_la_version_precedente_mise_a_niveau_sans_rien_perdre(tmp_path):
    chemin = tmp_path / "v0.sqlite"
    url = base_v0_sqlite(chemin)
    avant = lignes_brutes_sqlite(chemin)
    schema_attendu = schema_sqlite(base_v0_sqlite(tmp_path / "attendu.sqlite", schema_seul=True, suite=AJOUTS_TETE))
    magasin = Magasin(url)
    try:
        assert magasin.version_schema() is None
        magasin.creer_tables()  # démarrage de l'application : mise à niveau en place
        assert magasin.version_schema() == revision_tete()
        # octet pour octet, la surface végétalisée (révision 0002) et le jeton de soumission (0003) ajoutés
        # vides aux opérations
        assert lignes_brutes_sqlite(chemin) == {**avant, "operation": [(*ligne, None, None)
                                                                       for ligne in avant["operation"]]}
        assert schema_sqlite(url) == schema_attendu
        etat = instantane(magasin)
        verifier_contenu_v0(etat)
        assert authentifier(magasin, "admin@bassin.fr", MOT_DE_PASSE_ADMIN).role == "administrateur"
        # la base mise à niveau s'écrit comme avant (verrouillage optimiste, journal)
        assert magasin.modifier_operation(1, 3, {"arbres_plantes": 8}, "admin@bassin.fr") == 4
        assert magasin.lire_journal(1).iloc[-1]["diff"] == {"arbres_plantes": [6, 8]}
        magasin.creer_tables()  # idempotent
    finally:
        magasin.fermer()
    assert revision_stockee(url) == [revision_tete()]


def test_revision_ajoutee_appliquee_sur_une_base_avec_donnees(tmp_path):
    chemin = tmp_path / "v0.sqlite"
    url = base_v0_sqlite(chemin)
    dossier = copier_migrations(tmp_path)
    magasin = Magasin(url)
    try:
        magasin.creer_tables()  # version actuelle : la tête
        etat = instantane(magasin)
        assert magasin.mettre_a_niveau(dossier) == (REVISION_TETE, REVISION_ESSAI_NUMERO)
        assert magasin.version_schema() == REVISION_ESSAI_NUMERO
        assert magasin.mettre_a_niveau(dossier) == (REVISION_ESSAI_NUMERO, REVISION_ESSAI_NUMERO)
        assert instantane(magasin) == etat  # les tables connues du magasin n'ont rien perdu
        with magasin.moteur.connect() as conn:
            valeurs = conn.execute(text("SELECT surface_declaree_m2, surface_essai_m2 FROM operation "
                                        "ORDER BY id")).all()
    finally:
        magasin.fermer()
    assert len(valeurs) == 6 and all(v == d / 2 for d, v in valeurs)


def test_revision_0002_surface_vegetalisee_sur_une_base_v0_avec_donnees(tmp_path):
    """Le champ ajouté par la démonstration « ajouter un champ » : colonne vide sur les opérations existantes,
    puis écrite et relue par le magasin sans autre changement que le modèle et la révision."""
    url = base_v0_sqlite(tmp_path / "v0.sqlite")
    magasin = Magasin(url)
    try:
        assert magasin.mettre_a_niveau() == (REVISION_INITIALE, revision_tete())
        etat = instantane(magasin)
        verifier_contenu_v0(etat)
        assert all(o["surface_vegetalisee_m2"] is None for o in etat["operations"].values())
        assert magasin.modifier_operation(1, 3, {"surface_vegetalisee_m2": 640.0}, "admin@bassin.fr") == 4
        assert magasin.lire_operation(1)["surface_vegetalisee_m2"] == 640.0
        assert magasin.lire_journal(1).iloc[-1]["diff"] == {"surface_vegetalisee_m2": [None, 640.0]}
    finally:
        magasin.fermer()


def test_revision_0003_jeton_soumission_sur_une_base_en_0002_avec_donnees(tmp_path):
    """Une base à la révision 0002, remplie : la révision 0003 ajoute le jeton vide aux opérations
    existantes sans rien perdre ; les créations d'après sont uniques par jeton, les anciennes restent."""
    chemin = tmp_path / "v0.sqlite"
    url = base_v0_sqlite(chemin)
    magasin = Magasin(url)
    try:
        migrations_0002 = copier_migrations_jusqua(tmp_path, REVISION_SURFACE_VEGETALISEE)
        assert magasin.mettre_a_niveau(migrations_0002) == (REVISION_INITIALE, REVISION_SURFACE_VEGETALISEE)
        avant = lignes_brutes_sqlite(chemin)
        migrations_0003 = copier_migrations_jusqua(tmp_path, REVISION_JETON_SOUMISSION)
        assert magasin.mettre_a_niveau(migrations_0003) == (REVISION_SURFACE_VEGETALISEE, REVISION_JETON_SOUMISSION)
        # octet pour octet, le jeton ajouté vide (plusieurs vides permis par l'index unique)
        assert lignes_brutes_sqlite(chemin) == {**avant, "operation": [(*ligne, None) for ligne in avant["operation"]]}
        etat = instantane(magasin)
        verifier_contenu_v0(etat)
        cour = {k: etat["operations"][1][k] for k in ("code_insee", "nom", "type_site", "statut",
                                                      "date_fin_travaux")}
        cour["zones"] = [{"geometrie": shapely.from_wkb(z["geometrie"]), "revetement_avant": z["revetement_avant"],
                          "revetement_apres": z["revetement_apres"]} for z in etat["operations"][1]["zones"]]
        premiere = magasin.creer_operation(cour, "ref@sete.fr", "8b0e3f1c-jeton-0003")
        assert magasin.creer_operation(cour, "ref@sete.fr", "8b0e3f1c-jeton-0003") == premiere == 7
        assert magasin.compter()["operation"] == 7
        with magasin.moteur.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(text("UPDATE operation SET jeton_soumission = '8b0e3f1c-jeton-0003' WHERE id = 1"))
    finally:
        magasin.fermer()
    assert revision_stockee(url) == [REVISION_JETON_SOUMISSION]


def test_revision_0004_sessions_sur_une_base_en_0003_avec_donnees(tmp_path):
    """Une base à la révision 0003, remplie : la révision 0004 ajoute la table des sessions, vide, sans toucher
    aux autres tables ; une session s'y ouvre, se relit avec le compte et se révoque ; la suppression d'un compte
    emporte ses sessions (clé étrangère)."""
    from donnees.comptes import lire_compte
    from donnees.sessions import empreinte_jeton, fermer_session, lire_session, ouvrir_session

    chemin = tmp_path / "v0.sqlite"
    url = base_v0_sqlite(chemin)
    magasin = Magasin(url)
    try:
        assert magasin.mettre_a_niveau(copier_migrations_jusqua(tmp_path, REVISION_JETON_SOUMISSION)) == (
            REVISION_INITIALE, REVISION_JETON_SOUMISSION)
        avant = lignes_brutes_sqlite(chemin)
        assert magasin.mettre_a_niveau(copier_migrations_jusqua(tmp_path, REVISION_SESSIONS)) == (
            REVISION_JETON_SOUMISSION, REVISION_SESSIONS)
        assert lignes_brutes_sqlite(chemin) == avant  # octet pour octet
        verifier_contenu_v0(instantane(magasin))
        with magasin.moteur.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM session_utilisateur")).scalar_one() == 0
        admin = lire_compte(magasin, "admin@bassin.fr")
        jeton = ouvrir_session(magasin, admin, agent="Firefox")
        assert lire_session(magasin, jeton).utilisateur == admin
        with magasin.moteur.connect() as conn:
            stockees = conn.execute(text("SELECT empreinte, agent FROM session_utilisateur")).all()
        assert stockees == [(empreinte_jeton(jeton), "Firefox")]  # l'empreinte, jamais le jeton
        assert fermer_session(magasin, jeton) and lire_session(magasin, jeton).motif == "revoquee"
        with magasin.moteur.begin() as conn:
            conn.execute(text("DELETE FROM utilisateur WHERE email = 'admin@bassin.fr'"))
            assert conn.execute(text("SELECT count(*) FROM session_utilisateur")).scalar_one() == 0
    finally:
        magasin.fermer()
    assert revision_stockee(url) == [REVISION_SESSIONS]


def test_revision_0005_agregats_sur_une_base_en_0004_avec_donnees(tmp_path):
    """Une base à la révision 0004, remplie : la révision 0005 ajoute les index couvrants des agrégats et la table
    des estimations par site (vide) sans toucher aux lignes ; les agrégats s'y calculent, par le seul index des
    zones ; une estimation suit son opération (clé étrangère)."""
    from indicateurs.agregats import coefficients_revetements

    chemin = tmp_path / "v0.sqlite"
    url = base_v0_sqlite(chemin)
    magasin = Magasin(url)
    try:
        assert magasin.mettre_a_niveau(copier_migrations_jusqua(tmp_path, REVISION_SESSIONS)) == (
            REVISION_INITIALE, REVISION_SESSIONS)
        avant = lignes_brutes_sqlite(chemin)
        assert magasin.mettre_a_niveau(copier_migrations_jusqua(tmp_path, REVISION_AGREGATS)) == (
            REVISION_SESSIONS, REVISION_AGREGATS)
        assert lignes_brutes_sqlite(chemin) == avant  # octet pour octet
        verifier_contenu_v0(instantane(magasin))
        with magasin.moteur.connect() as conn:
            index = {nom for (nom,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
            assert {"ix_zone_agregats", "ix_financement_agregats"} <= index
            assert conn.execute(text("SELECT count(*) FROM estimation_site")).scalar_one() == 0
            plan = " ".join(str(ligne[-1]) for ligne in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT operation_id, revetement_avant, revetement_apres, sum(surface_m2) "
                "FROM zone GROUP BY operation_id, revetement_avant, revetement_apres"))
            assert "COVERING INDEX ix_zone_agregats" in plan
        agregats = magasin.agreger_registre(*coefficients_revetements())
        visibles = magasin.lire_operations()
        assert int(agregats["operations"]["nombre_operations"].sum()) == len(visibles) == 5
        surfaces = magasin.lire_zones()
        surfaces = surfaces[~surfaces["operation_id"].isin(visibles.loc[visibles["localisation_approximative"]
                                                                        .fillna(False).astype(bool), "id"])]
        assert agregats["revetements"]["surface_m2"].sum() == pytest.approx(surfaces["surface_m2"].sum())
        assert agregats["financeurs"]["montant_aides"].sum() == pytest.approx(70_000.5)
        with magasin.moteur.begin() as conn:
            conn.execute(text("INSERT INTO estimation_site VALUES (1, 3, 'essai', 12.5, 10)"))
            conn.execute(text("DELETE FROM operation WHERE id = 1"))
            assert conn.execute(text("SELECT count(*) FROM estimation_site")).scalar_one() == 0
    finally:
        magasin.fermer()
    assert revision_stockee(url) == [REVISION_AGREGATS]


def test_revision_0006_scenarios_sur_une_base_en_0005_avec_donnees(tmp_path):
    """Une base à la révision 0005, remplie : la révision 0006 ajoute les tables des scénarios (vides) sans toucher
    aux lignes ; un scénario, un site et un avis s'y écrivent ; le site garde le lien vers l'opération née de lui,
    effacé (pas le site) si l'opération disparaît ; supprimer le scénario emporte ses sites et leurs avis."""
    chemin = tmp_path / "v0.sqlite"
    url = base_v0_sqlite(chemin)
    magasin = Magasin(url)
    try:
        assert magasin.mettre_a_niveau(copier_migrations_jusqua(tmp_path, REVISION_AGREGATS)) == (
            REVISION_INITIALE, REVISION_AGREGATS)
        avant = lignes_brutes_sqlite(chemin)
        assert magasin.mettre_a_niveau(copier_migrations_jusqua(tmp_path, REVISION_SCENARIOS)) == (
            REVISION_AGREGATS, REVISION_SCENARIOS)
        assert lignes_brutes_sqlite(chemin) == avant  # octet pour octet
        verifier_contenu_v0(instantane(magasin))
        with magasin.moteur.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM scenario")).scalar_one() == 0
            conn.execute(text("INSERT INTO scenario (nom, partage, cree_par, cree_le, version, supprime) "
                              "VALUES ('Cours d''école 2030', 0, 'admin@bassin.fr', '2026-12-03', 1, 0)"))
            conn.execute(text("INSERT INTO site_scenario (scenario_id, code_insee, geometrie, surface_m2, "
                              "revetement_avant, revetement_apres, type_site, annee, avis, operation_id, cree_par, "
                              "cree_le) VALUES (1, '34301', x'00', 120.5, 'enrobe', 'pleine_terre', 'cour_ecole', "
                              "2030, 'accepte', 1, 'admin@bassin.fr', '2026-12-03')"))
            conn.execute(text("INSERT INTO avis_site (site_id, auteur, avis, commentaire, cree_le) VALUES "
                              "(1, 'ref@sete.fr', 'faisable', 'Budget 2029', '2026-12-03')"))
            with pytest.raises(Exception, match="CHECK"):
                with conn.begin_nested():
                    conn.execute(text("INSERT INTO avis_site (site_id, auteur, avis, cree_le) VALUES "
                                      "(1, 'ref@sete.fr', 'peut-etre', '2026-12-03')"))
            conn.execute(text("DELETE FROM operation WHERE id = 1"))
            assert conn.execute(text("SELECT operation_id FROM site_scenario")).scalar_one() is None
            conn.execute(text("DELETE FROM scenario WHERE id = 1"))
            assert conn.execute(text("SELECT count(*) FROM avis_site")).scalar_one() == 0
    finally:
        magasin.fermer()
    assert revision_stockee(url) == [REVISION_SCENARIOS]


def _revision_0008_sur_une_base_en_0006_avec_donnees(magasin: Magasin, tmp_path: Path, lignes_brutes) -> None:
    """Monte la base remplie (version précédente) jusqu'à 0006 puis applique 0008 : les lignes existantes ne
    bougent pas ; un fil, un message, un abonnement et une notification s'y écrivent ; les contraintes tiennent."""
    assert magasin.mettre_a_niveau(copier_migrations_jusqua(tmp_path, REVISION_SCENARIOS))[1] == REVISION_SCENARIOS
    avant = lignes_brutes()
    assert magasin.mettre_a_niveau(copier_migrations_jusqua(tmp_path, REVISION_ECHANGES)) == (
        REVISION_SCENARIOS, REVISION_ECHANGES)
    assert lignes_brutes() == avant
    verifier_contenu_v0(instantane(magasin))
    # la base mise à niveau s'écrit par le magasin : question, abonnement de l'auteur, notification du référent
    magasin.creer_utilisateur("ref.sete@sete.fr", "Réf Sète", "referent", ["34301"], None, auteur="test")
    message = magasin.publier_message(1, "question", "Quel paillage ?", "admin@bassin.fr", "Admin")
    assert magasin.lire_messages([1])["id"].tolist() == [message]
    assert magasin.suit_fil(1, "admin@bassin.fr")
    assert magasin.lire_notifications("ref.sete@sete.fr")["genre"].tolist() == ["question_commune"]
    assert magasin.lire_notifications("ref@sete.fr")["genre"].tolist() == ["question_commune"]  # compte de la v0
    with magasin.moteur.begin() as conn:
        with pytest.raises(IntegrityError):
            with conn.begin_nested():
                conn.execute(text("INSERT INTO message_fil (fil_id, auteur_email, auteur_nom, genre, texte, cree_le, "
                                  "masque) VALUES (1, 'a@b.fr', 'A', 'avis', 'x', '2026-12-03', false)"))
        with pytest.raises(IntegrityError):
            with conn.begin_nested():
                conn.execute(text("INSERT INTO fil_discussion (objet, objet_id, cree_le) "
                                  "VALUES ('operation', 1, '2026-12-03')"))
        conn.execute(text("DELETE FROM fil_discussion"))
        assert conn.execute(text("SELECT count(*) FROM message_fil")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM abonnement_fil")).scalar_one() == 0


def test_revision_0008_echanges_sur_une_base_en_0006_avec_donnees(tmp_path):
    chemin = tmp_path / "v0.sqlite"
    url = base_v0_sqlite(chemin)
    magasin = Magasin(url)
    try:
        _revision_0008_sur_une_base_en_0006_avec_donnees(magasin, tmp_path, lambda: lignes_brutes_sqlite(chemin))
    finally:
        magasin.fermer()
    assert revision_stockee(url) == [REVISION_ECHANGES]


def _toutes_lignes_sqlite(chemin: Path) -> dict[str, list[tuple]]:
    """Lignes de chaque table de la base (hors ``alembic_version``), telles que stockées."""
    connexion = sqlite3.connect(chemin)
    try:
        noms = [n for (n,) in connexion.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                                                "IN ('alembic_version', 'sqlite_sequence')")]
        return {nom: connexion.execute(f"SELECT * FROM {nom} ORDER BY rowid").fetchall() for nom in noms}
    finally:
        connexion.close()


def test_revisions_de_la_communaute_sur_une_base_en_0006_avec_donnees(tmp_path):
    """Une base à la révision 0006, remplie : les révisions suivantes (communauté de pratiques) ajoutent leurs tables
    vides sans toucher aux lignes existantes ; une préférence de courriel s'y écrit et se relit."""
    chemin = tmp_path / "v0.sqlite"
    url = base_v0_sqlite(chemin)
    magasin = Magasin(url)
    try:
        assert magasin.mettre_a_niveau(copier_migrations_jusqua(tmp_path, REVISION_SCENARIOS)) == (
            REVISION_INITIALE, REVISION_SCENARIOS)
        avant = _toutes_lignes_sqlite(chemin)
        assert magasin.mettre_a_niveau() == (REVISION_SCENARIOS, REVISION_TETE)
        apres = _toutes_lignes_sqlite(chemin)
        assert {nom: lignes for nom, lignes in apres.items() if nom in avant} == avant  # octet pour octet
        nouvelles = set(apres) - set(avant)
        assert "preference_courriel" in nouvelles and not any(apres[nom] for nom in nouvelles)  # vides
        verifier_contenu_v0(instantane(magasin))
        magasin.ecrire_preference_courriel("admin@bassin.fr", "hebdomadaire", "admin@bassin.fr")
        assert magasin.lire_preference_courriel("admin@bassin.fr")["frequence"] == "hebdomadaire"
        # Ressources (révision 0012) : une ressource-lien s'écrit, se lie à une opération existante et se relit.
        assert {"ressource", "ressource_operation", "suivi_theme"} <= nouvelles
        ident = magasin.creer_ressource({"genre": "guide", "titre": "Guide", "url": "https://exemple.fr/guide",
                                         "themes": ["parkings"], "communes": ["34301"]}, "admin@bassin.fr", "Admin")
        assert magasin.lier_ressource(ident, 1, "admin@bassin.fr")
        assert magasin.lire_liens_ressources(operation_ids=[1])["ressource_id"].tolist() == [ident]
        assert magasin.lire_ressource(ident)["communes"] == ["34301"]
        # agenda (révision 0013) : un événement lié à une opération de la base d'avant, une inscription
        assert {"evenement", "evenement_operation", "evenement_ressource", "inscription_evenement"} <= nouvelles
        debut = datetime(2031, 5, 6, 8)
        evenement = magasin.creer_evenement({"genre": "visite_site", "titre": "Visite", "debut": debut,
                                             "fin": debut + timedelta(hours=2), "lieu": "Sur place"},
                                            "admin@bassin.fr", {"operation": [1], "ressource": [ident]})
        assert magasin.inscrire_evenement(evenement, "ref@sete.fr", "Référent de la v0")
        assert magasin.lire_evenement(evenement)["operation_ids"] == [1]
        assert magasin.lire_evenement(evenement)["ressource_ids"] == [ident]
        assert magasin.lire_notifications("ref@sete.fr")["lien"].tolist() == [f"/agenda?id={evenement}"]
        with magasin.moteur.begin() as conn:
            with pytest.raises(IntegrityError):  # une seule inscription par adresse
                with conn.begin_nested():
                    conn.execute(text("INSERT INTO inscription_evenement (evenement_id, email, nom, inscrit_le) "
                                      "VALUES (:e, 'ref@sete.fr', 'R', '2031-01-01')"), {"e": evenement})
            conn.execute(text("DELETE FROM operation WHERE id = 1"))  # lien retiré avec l'opération
            assert conn.execute(text("SELECT count(*) FROM evenement_operation")).scalar_one() == 0
        # annuaire (0014) : la fiche d'un compte existant s'écrit, se lit avec son nom relu du compte, se retire
        magasin.ecrire_fiche_annuaire("admin@bassin.fr", True, {"fonction": "Animatrice"}, "admin@bassin.fr")
        fiches = magasin.lire_fiches_annuaire()
        assert fiches["fonction"].tolist() == ["Animatrice"] and fiches["email"].tolist() == [None]
        assert "fiche_annuaire" in nouvelles
        assert magasin.retirer_fiche_annuaire("admin@bassin.fr", "admin@bassin.fr")
        assert magasin.lire_fiches_annuaire().empty
    finally:
        magasin.fermer()
    assert revision_stockee(url) == [REVISION_TETE]


def copier_migrations_jusqua(tmp_path: Path, revision: str) -> Path:
    """Copie des migrations du magasin arrêtée à ``revision`` (les suivantes retirées)."""
    dossier = tmp_path / f"migrations_{revision}"
    shutil.copytree(DOSSIER_MIGRATIONS, dossier, ignore=shutil.ignore_patterns("__pycache__"))
    for fichier in (dossier / "versions").glob("*.py"):
        if fichier.name[:4].isdigit() and fichier.name[:4] > revision:
            fichier.unlink()
    return dossier


def test_base_d_avant_les_migrations_mise_a_niveau_directement_jusqu_a_la_tete(tmp_path):
    url = base_v0_sqlite(tmp_path / "v0.sqlite")
    magasin = Magasin(url)
    try:
        assert magasin.mettre_a_niveau(copier_migrations(tmp_path)) == (REVISION_INITIALE, REVISION_ESSAI_NUMERO)
        verifier_contenu_v0(instantane(magasin))
    finally:
        magasin.fermer()
    assert revision_stockee(url) == [REVISION_ESSAI_NUMERO]


def test_migration_en_echec_ne_change_rien(tmp_path):
    chemin = tmp_path / "v0.sqlite"
    url = base_v0_sqlite(chemin)
    avant = lignes_brutes_sqlite(chemin)
    magasin = Magasin(url)
    try:
        with pytest.raises(IntegrityError, match="CHECK constraint failed"):
            magasin.mettre_a_niveau(copier_migrations(
                tmp_path, suite='op.execute("UPDATE operation SET version = 0")'))
        assert magasin.version_schema() is None  # pas même marquée : tout ou rien
        with magasin.moteur.connect() as conn:
            colonnes = [c[1] for c in conn.exec_driver_sql("PRAGMA table_info(operation)")]
    finally:
        magasin.fermer()
    assert not {"surface_vegetalisee_m2", "jeton_soumission", "surface_essai_m2"} & set(colonnes)
    assert lignes_brutes_sqlite(chemin) == avant


def test_base_incomplete_sans_version_refusee(tmp_path):
    chemin = tmp_path / "incomplete.sqlite"
    connexion = sqlite3.connect(chemin)
    connexion.execute("CREATE TABLE operation (id INTEGER PRIMARY KEY)")
    connexion.close()
    magasin = Magasin(f"sqlite:///{chemin.as_posix()}")
    try:
        with pytest.raises(ErreurDonnees, match="Base incomplète.*journal"):
            magasin.creer_tables()
    finally:
        magasin.fermer()


def test_commandes_base_migrer_et_version(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    dossier = tmp_path / "donnees"
    dossier.mkdir()
    base_v0_sqlite(dossier / "desimper.sqlite")
    assert cli.main(["base", "version", "--dossier", str(dossier)]) == 1
    assert "version d'avant les migrations" in capsys.readouterr().out
    assert cli.main(["base", "migrer", "--dossier", str(dossier)]) == 0
    assert f"mise à niveau : version d'avant les migrations (sans numéro de révision) → révision {revision_tete()}" \
        in capsys.readouterr().out
    assert cli.main(["base", "migrer", "--dossier", str(dossier)]) == 0
    assert "déjà à jour" in capsys.readouterr().out
    assert cli.main(["base", "version", "--dossier", str(dossier)]) == 0
    assert "à jour" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------ PostGIS


def _schema_postgresql(url: str) -> dict:
    """Colonnes (types compris), index et contraintes des tables du magasin sous PostgreSQL."""
    moteur = create_engine(url)
    try:
        with moteur.connect() as conn:
            colonnes = conn.execute(text(
                "SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable, "
                "character_maximum_length, column_default FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = ANY(:t)"), {"t": list(TABLES)}).all()
            index = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                                      "AND tablename = ANY(:t)"), {"t": list(TABLES)}).all()
            contraintes = conn.execute(text(
                "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = ANY(:t)"), {"t": list(TABLES)}).all()
            geometries = conn.execute(text("SELECT f_table_name, f_geometry_column, srid, type "
                                           "FROM geometry_columns")).all()
    finally:
        moteur.dispose()
    return {"colonnes": set(colonnes), "index": set(index), "contraintes": set(contraintes),
            "geometries": set(geometries)}


def _base_v0_postgresql(url: str, tmp_path: Path) -> None:
    """Schéma de la version précédente sous PostGIS, rempli avec les lignes de la base SQLite v0."""
    chemin = tmp_path / "v0.sqlite"
    base_v0_sqlite(chemin)
    lignes = lignes_brutes_sqlite(chemin)
    connexion = sqlite3.connect(chemin)
    noms = {t: [c[1] for c in connexion.execute(f"PRAGMA table_info({t})")] for t in TABLES}
    connexion.close()
    moteur = create_engine(url)
    try:
        with moteur.begin() as conn:
            conn.exec_driver_sql(DDL_V0_POSTGRESQL.read_text(encoding="utf-8"))
            booleens = {(t, c) for t, c in conn.execute(text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type = 'boolean'"))}
            for table in ("operation", "zone", "financement", "photo", "utilisateur", "journal"):
                colonnes = noms[table]
                valeurs = ", ".join("ST_SetSRID(ST_GeomFromWKB(:geometrie), 4326)" if c == "geometrie" else f":{c}"
                                    for c in colonnes)
                requete = text(f"INSERT INTO {table} ({', '.join(colonnes)}) VALUES ({valeurs})")
                for ligne in lignes[table]:
                    conn.execute(requete, {c: (bool(v) if (table, c) in booleens and v is not None else v)
                                           for c, v in zip(colonnes, ligne)})
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
    finally:
        moteur.dispose()


@pytest.mark.postgresql
def test_postgis_base_vide_creee_au_schema_exact_de_la_version_precedente(fabrique_base_postgresql):
    neuve, ancienne = fabrique_base_postgresql("desimper_migration_neuve"), fabrique_base_postgresql("desimper_v0")
    magasin = Magasin(neuve)
    try:
        assert magasin.mettre_a_niveau() == (None, revision_tete())
    finally:
        magasin.fermer()
    moteur = create_engine(ancienne)
    with moteur.begin() as conn:
        conn.exec_driver_sql(DDL_V0_POSTGRESQL.read_text(encoding="utf-8"))
        conn.exec_driver_sql(AJOUTS_0002)  # la colonne de la révision 0002
        for instruction in AJOUTS_0003.split(";"):  # la colonne et l'index unique de la révision 0003
            conn.exec_driver_sql(instruction)
        for instruction in AJOUTS_0004_POSTGRESQL.split(";"):  # la table des sessions (révision 0004)
            conn.exec_driver_sql(instruction)
        for instruction in AJOUTS_0005_POSTGRESQL.split(";"):  # index et estimations par site (révision 0005)
            conn.exec_driver_sql(instruction)
        for instruction in AJOUTS_0006_POSTGRESQL.split(";"):  # scénarios prospectifs (révision 0006)
            conn.exec_driver_sql(instruction)
        for _, ajouts in AJOUTS_COMMUNAUTE:  # communauté de pratiques (révisions suivantes)
            for instruction in ajouts.split(";"):
                conn.exec_driver_sql(instruction)
    moteur.dispose()
    schema_neuf, schema_ancien = _schema_postgresql(neuve), _schema_postgresql(ancienne)
    assert ("zone", "geometrie", 4326, "GEOMETRY") in schema_neuf["geometries"]
    assert any(nom == "ix_zone_geometrie" and "gist" in definition for nom, definition in schema_neuf["index"])
    assert schema_neuf == schema_ancien


@pytest.mark.postgresql
def test_postgis_base_de_la_version_precedente_mise_a_niveau_sans_rien_perdre(fabrique_base_postgresql,
                                                                             tmp_path):
    url = fabrique_base_postgresql("desimper_v0_donnees")
    _base_v0_postgresql(url, tmp_path)
    reference = Magasin(base_v0_sqlite(tmp_path / "reference.sqlite"))
    magasin = Magasin(url)
    try:
        reference.creer_tables()  # la même base v0 sous SQLite, mise à niveau elle aussi
        attendu = instantane(reference)
        assert magasin.version_schema() is None
        magasin.creer_tables()
        assert magasin.version_schema() == revision_tete()
        etat = instantane(magasin)
        verifier_contenu_v0(etat)
        assert etat == attendu
        assert authentifier(magasin, "admin@bassin.fr", MOT_DE_PASSE_ADMIN).role == "administrateur"
        assert magasin.modifier_operation(1, 3, {"arbres_plantes": 8}, "admin@bassin.fr") == 4
        nouvelle = magasin.creer_operation({**{k: etat["operations"][2][k] for k in (
            "code_insee", "nom", "type_site", "statut")}, "zones": [
            {"geometrie": shapely.from_wkb(z["geometrie"]), "revetement_avant": z["revetement_avant"],
             "revetement_apres": z["revetement_apres"]} for z in etat["operations"][2]["zones"]]}, "a@b.fr")
        assert nouvelle == 7  # les séquences reprennent après les identifiants existants
        assert magasin.mettre_a_niveau(copier_migrations(tmp_path)) == (revision_tete(), REVISION_ESSAI_NUMERO)
        assert instantane(magasin)["compte"]["operation"] == 7
    finally:
        reference.fermer()
        magasin.fermer()
    assert revision_stockee(url) == [REVISION_ESSAI_NUMERO]


@pytest.mark.parametrize("moteur", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_tables_du_magasin_conformes_a_la_tete_des_migrations(moteur, tmp_path, request):
    """Garde-fou : une table changée dans ``tables.py`` sans révision Alembic fait échouer ce test."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from donnees.magasin import metadonnees

    if moteur == "sqlite":
        url = f"sqlite:///{(tmp_path / 'tete.sqlite').as_posix()}"
    else:
        url = request.getfixturevalue("fabrique_base_postgresql")("desimper_tete")
    magasin = Magasin(url)
    try:
        magasin.creer_tables()
        with magasin.moteur.connect() as conn:
            contexte = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_name": lambda nom, genre, _parent: not (genre == "index" and nom == "ix_zone_geometrie")
                and not (genre == "table" and nom == "spatial_ref_sys")})
            differences = compare_metadata(contexte, metadonnees)
    finally:
        magasin.fermer()
    assert differences == []


def test_photos_d_une_base_mise_a_niveau_toujours_lues_et_gardees(tmp_path, monkeypatch):
    """Issue 13 : les noms de photos déjà stockés (photos/op1_avant.png…) suivent le format des noms du
    magasin (aucune migration de données nécessaire) : ils sont lus par resoudre_photo et gardés quand
    l'opération est modifiée par la façade, même sur le magasin du dossier de données."""
    from donnees.comptes import Utilisateur
    from donnees.droits import MagasinProtege
    from donnees.photos import resoudre_photo, verifier_nom_photo

    monkeypatch.setenv("DESIMPER_DONNEES", str(tmp_path))
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    chemin = tmp_path / "desimper.sqlite"
    magasin = Magasin(base_v0_sqlite(chemin))
    try:
        magasin.creer_tables()
        photos = magasin.lire_operation(1)["photos"]
        (tmp_path / "photos").mkdir()
        for photo in photos:
            assert verifier_nom_photo(photo["chemin"]) == photo["chemin"]
            (tmp_path / photo["chemin"]).write_bytes(b"\x89PNG")
            assert resoudre_photo(photo["chemin"], tmp_path) == (tmp_path / photo["chemin"]).resolve()
        admin = Utilisateur.depuis_compte(magasin.lire_utilisateur("admin@bassin.fr"))
        facade = MagasinProtege(magasin, admin, {"34301": "Sète"})
        assert facade.dossier_photos == tmp_path.resolve()  # contrôle des photos du magasin actif
        gardees = [{c: p[c] for c in ("moment", "chemin", "legende")} for p in photos[:1]]
        assert facade.modifier_operation(1, 3, {"photos": gardees}) == 4
        assert [p["chemin"] for p in magasin.lire_operation(1)["photos"]] == ["photos/op1_avant.png"]
    finally:
        magasin.fermer()


@pytest.mark.postgresql
def test_postgis_revision_0008_echanges_sur_une_base_en_0006_avec_donnees(fabrique_base_postgresql, tmp_path):
    url = fabrique_base_postgresql("desimper_v0_echanges")
    _base_v0_postgresql(url, tmp_path)
    magasin = Magasin(url)
    try:
        _revision_0008_sur_une_base_en_0006_avec_donnees(magasin, tmp_path, lambda: instantane(magasin))
    finally:
        magasin.fermer()
    assert revision_stockee(url) == [REVISION_ECHANGES]
