"""Instantané et restauration de la base des opérations, pour :mod:`donnees.sauvegarde`.

- **SQLite** : API de sauvegarde en ligne (``sqlite3.Connection.backup``, en une seule étape : un instantané
  cohérent pris pendant que l'application écrit, jamais une copie du fichier d'une base ouverte). Comptes et
  révision sont lus dans la copie.
- **PostgreSQL + PostGIS** : ``pg_dump`` au format custom, des seules tables du magasin, sur un instantané
  exporté (``pg_export_snapshot``) dans lequel les comptes et la révision Alembic sont lus : manifeste et
  copie décrivent le même instant. La restauration passe le script de ``pg_restore`` à ``psql`` en une seule
  transaction, précédé de l'effacement des anciennes tables et suivi du contrôle des comptes : tout ou rien.

Les binaires PostgreSQL doivent être de la version majeure du serveur (ou plus récents pour ``pg_dump``) :
``$DESIMPER_PG_BIN``, puis ``/usr/lib/postgresql/<majeure>/bin``, puis le ``PATH``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
from glob import glob
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from donnees.config import chemin_sqlite as chemin_base_sqlite
from donnees.erreurs import ErreurDonnees, traduire_panne
from donnees.magasin import schema
from donnees.magasin.tables import metadonnees

_journal = logging.getLogger(__name__)

TABLE_VERSION = "alembic_version"
# Tables sauvegardées : celles du magasin (sessions comprises) et la version du schéma.
TABLES_SAUVEGARDEES = tuple(metadonnees.tables) + (TABLE_VERSION,)
VARIABLE_BINAIRES = "DESIMPER_PG_BIN"
DELAI_COMMANDE_S = 3600
ETAPES_PG = {"pg_dump": "Copie de la base PostgreSQL impossible", "pg_restore": "Lecture de la copie PostgreSQL "
             "impossible", "psql": "Restauration de la base PostgreSQL impossible"}


# ------------------------------------------------------------------------------------------ SQLite


def chemin_sqlite(url: str) -> Path:
    """Fichier d'une URL SQLite (``sqlite:///…``) ; refus pour une base en mémoire."""
    base = chemin_base_sqlite(url)
    if base is None:
        raise ErreurDonnees(f"Base SQLite « {make_url(url).database or '(vide)'} » : seule une base dans un fichier "
                            "se sauvegarde.", "sauvegarde")
    return base.resolve()


def compter_sqlite(connexion: sqlite3.Connection) -> tuple[dict[str, int], str | None]:
    """Comptes par table (tables absentes omises) et révision Alembic d'une base SQLite ouverte."""
    presentes = {ligne[0] for ligne in connexion.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    comptes = {nom: int(connexion.execute(f'SELECT count(*) FROM "{nom}"').fetchone()[0])
               for nom in TABLES_SAUVEGARDEES if nom in presentes and nom != TABLE_VERSION}
    revision = None
    if TABLE_VERSION in presentes:
        ligne = connexion.execute(f"SELECT version_num FROM {TABLE_VERSION}").fetchone()
        revision = ligne[0] if ligne else None
    return comptes, revision


def verifier_integrite_sqlite(connexion: sqlite3.Connection, nom: str) -> None:
    """Lève :class:`ErreurDonnees` si ``PRAGMA integrity_check`` ne répond pas « ok »."""
    resultat = [ligne[0] for ligne in connexion.execute("PRAGMA integrity_check")]
    if resultat != ["ok"]:
        raise ErreurDonnees(f"Base {nom} abîmée (contrôle d'intégrité de SQLite : {'; '.join(resultat[:3])}).",
                            "sauvegarde")


def instantane_sqlite(url: str, cible: Path) -> dict:
    """Copie cohérente de la base SQLite dans ``cible`` (API de sauvegarde en ligne) ; renvoie sa description."""
    source = chemin_sqlite(url)
    if not source.is_file():
        raise ErreurDonnees(f"Base des opérations introuvable ({source}) : rien à sauvegarder. Vérifiez --dossier "
                            "ou DESIMPER_BASE_URL.", "sauvegarde")
    origine = copie = None
    try:
        origine = sqlite3.connect(f"file:{source.as_posix()}?mode=ro", uri=True, timeout=30)
        copie = sqlite3.connect(cible)
        origine.execute("PRAGMA busy_timeout=30000")
        origine.backup(copie)  # une seule étape (pages=-1) : un seul instantané de lecture
        copie.execute("PRAGMA journal_mode=DELETE")  # un seul fichier, sans -wal ni -shm
        verifier_integrite_sqlite(copie, "copiée")
        comptes, revision = compter_sqlite(copie)
    except sqlite3.Error as exc:
        raise ErreurDonnees(f"Copie de la base {source} impossible : {_traduire_sqlite(exc)}.", "sauvegarde") from None
    finally:
        for connexion in (copie, origine):
            if connexion is not None:
                connexion.close()
    return {"moteur": "sqlite", "revision_schema": revision, "comptes": comptes}


def _traduire_sqlite(exc: sqlite3.Error) -> str:
    """Cause française d'une erreur SQLite pendant la copie (le texte anglais reste au journal du serveur)."""
    _journal.warning("Sauvegarde SQLite : %s : %s", type(exc).__name__, exc)
    panne = traduire_panne(exc, lieu="la destination de la sauvegarde")
    if panne is not None:
        return str(panne).rstrip(".")
    return "base illisible ou abîmée (vérifiez-la avec `desimper verifier`)"


def preparer_sqlite(fichier: Path, attendu: dict, motif_revocation: str) -> None:
    """Contrôle une base SQLite extraite d'une archive (intégrité, comptes, révision) et révoque ses sessions."""
    connexion = sqlite3.connect(fichier)
    try:
        verifier_integrite_sqlite(connexion, "de l'archive")
        comptes, revision = compter_sqlite(connexion)
        _comparer(attendu, comptes, revision)
        if "session_utilisateur" in comptes:
            with connexion:
                connexion.execute("UPDATE session_utilisateur SET revoquee_le = CURRENT_TIMESTAMP, "
                                  "motif_revocation = ? WHERE revoquee_le IS NULL", (motif_revocation,))
    except sqlite3.DatabaseError as exc:
        raise ErreurDonnees(f"Archive refusée : sa base SQLite est illisible ({exc}). Reprenez une autre sauvegarde.",
                            "sauvegarde") from None
    finally:
        connexion.close()


def _comparer(attendu: dict, comptes: dict, revision: str | None) -> None:
    if comptes != attendu.get("comptes") or revision != attendu.get("revision_schema"):
        raise ErreurDonnees("Archive refusée : la base qu'elle contient ne correspond pas à son manifeste (comptes "
                            "par table ou version du schéma). Elle est altérée : reprenez une autre sauvegarde.",
                            "sauvegarde")


# ------------------------------------------------------------------------------------- PostgreSQL


def _environnement_pg(url: str) -> dict[str, str]:
    """Variables libpq (PGHOST…) d'une URL SQLAlchemy : le mot de passe ne paraît pas dans la ligne de commande."""
    adresse = make_url(url)
    valeurs = {"PGHOST": adresse.query.get("host") or adresse.host, "PGPORT": adresse.query.get("port") or adresse.port,
               "PGUSER": adresse.username, "PGPASSWORD": adresse.password, "PGDATABASE": adresse.database}
    environnement = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    environnement.update({k: str(v) for k, v in valeurs.items() if v not in (None, "")})
    return environnement


def _version_majeure(texte: str) -> int | None:
    """Version majeure d'une sortie ``--version`` (« pg_dump (PostgreSQL) 15.18 (Debian…) » → 15)."""
    trouve = re.search(r"\(PostgreSQL\)\s+(\d+)", texte or "")
    return int(trouve[1]) if trouve else None


def trouver_binaire_pg(nom: str, majeure_serveur: int) -> Path:
    """Binaire PostgreSQL (``pg_dump``, ``pg_restore``, ``psql``) de la version majeure du serveur."""
    candidats = []
    if os.environ.get(VARIABLE_BINAIRES, "").strip():
        candidats.append(Path(os.environ[VARIABLE_BINAIRES].strip()) / nom)
    candidats.append(Path(f"/usr/lib/postgresql/{majeure_serveur}/bin") / nom)
    candidats += [Path(d) / nom for d in sorted(glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    if shutil.which(nom):
        candidats.append(Path(shutil.which(nom)))
    vus = []
    for candidat in dict.fromkeys(candidats):
        if not candidat.is_file() or not os.access(candidat, os.X_OK):
            continue
        sortie = subprocess.run([str(candidat), "--version"], capture_output=True, text=True, timeout=30)
        majeure = _version_majeure(sortie.stdout)
        vus.append(f"{candidat} ({majeure})")
        if majeure == majeure_serveur:
            return candidat
    raise ErreurDonnees(f"{nom} de PostgreSQL {majeure_serveur} introuvable (version du serveur) ; essayés : "
                        f"{', '.join(vus) or 'aucun'}. Installez le client PostgreSQL {majeure_serveur} ou indiquez "
                        f"son dossier bin dans {VARIABLE_BINAIRES}.", "sauvegarde")


def _lancer(commande: list, url: str, entree: bytes | None = None, sortie=None) -> bytes:
    """Lance une commande PostgreSQL ; lève :class:`ErreurDonnees` (fin de son message d'erreur) si elle échoue."""
    resultat = subprocess.run([str(c) for c in commande], input=entree, stdout=sortie or subprocess.PIPE,
                              stderr=subprocess.PIPE, env=_environnement_pg(url), timeout=DELAI_COMMANDE_S)
    if resultat.returncode != 0:
        erreur = resultat.stderr.decode("utf-8", "replace").strip().splitlines()
        _journal.warning("%s a échoué (%s) : %s", Path(str(commande[0])).name, resultat.returncode, erreur[-5:])
        nom = Path(str(commande[0])).name
        raise ErreurDonnees(f"{ETAPES_PG.get(nom, nom)} : échec de {nom} ; rien n'a été modifié dans la base "
                            f"(une seule transaction). Détail de PostgreSQL : {' '.join(erreur[-2:])[:400]}",
                            "sauvegarde")
    return resultat.stdout or b""


def _majeure_serveur(conn) -> int:
    return int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000


def instantane_postgresql(url: str, cible: Path) -> dict:
    """``pg_dump`` (format custom) des tables du magasin sur un instantané exporté ; comptes du même instant."""
    moteur = create_engine(url)
    try:
        with moteur.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                instantane = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                schema_courant = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
                presentes = set(inspect(conn).get_table_names())
                if TABLE_VERSION not in presentes:
                    raise ErreurDonnees("La base PostgreSQL ne contient pas de magasin Désimper (table "
                                        f"{TABLE_VERSION} absente) : rien à sauvegarder.", "sauvegarde")
                comptes = {nom: int(conn.execute(select(func.count()).select_from(metadonnees.tables[nom]))
                                    .scalar_one()) for nom in metadonnees.tables if nom in presentes}
                revision = schema.revision_base(conn)
                majeure = _majeure_serveur(conn)
                tables = [a for nom in TABLES_SAUVEGARDEES if nom in presentes
                          for a in ("-t", f'"{schema_courant}"."{nom}"')]
                _lancer([trouver_binaire_pg("pg_dump", majeure), "--format=custom", "--no-owner", "--no-privileges",
                         f"--snapshot={instantane}", "--file", cible, *tables], url)
    except SQLAlchemyError as exc:
        raise ErreurDonnees(f"Base PostgreSQL injoignable ({type(exc).__name__}) : vérifiez DESIMPER_BASE_URL et que "
                            "le serveur tourne.", "sauvegarde") from None
    finally:
        moteur.dispose()
    return {"moteur": "postgresql", "revision_schema": revision, "comptes": comptes, "version_serveur": majeure}


def base_postgresql_occupee(url: str) -> bool:
    """Vrai si la base PostgreSQL contient déjà des données du magasin (une ligne dans l'une de ses tables) ; des
    tables vides, créées par un premier démarrage de l'application, ne comptent pas."""
    moteur = create_engine(url)
    try:
        with moteur.connect() as conn:
            presentes = set(inspect(conn).get_table_names()) & set(metadonnees.tables)
            return any(conn.execute(select(metadonnees.tables[nom]).limit(1)).first() is not None
                       for nom in sorted(presentes))
    except SQLAlchemyError as exc:
        raise ErreurDonnees(f"Base PostgreSQL injoignable ({type(exc).__name__}) : vérifiez DESIMPER_BASE_URL et que "
                            "le serveur tourne.", "sauvegarde") from None
    finally:
        moteur.dispose()


def _script_controle(attendu: dict, schema_courant: str, motif_revocation: str) -> str:
    """Fin du script de restauration : sessions révoquées, puis comptes et révision comparés au manifeste."""
    tests = [f'(SELECT count(*) FROM "{schema_courant}"."{nom}") <> {int(n)}' for nom, n in attendu["comptes"].items()]
    revision = str(attendu.get("revision_schema") or "").replace("'", "")
    tests.append(f"(SELECT max(version_num) FROM \"{schema_courant}\".{TABLE_VERSION}) IS DISTINCT FROM '{revision}'")
    revocation = (f"UPDATE \"{schema_courant}\".session_utilisateur SET revoquee_le = now() AT TIME ZONE 'UTC', "
                  f"motif_revocation = '{motif_revocation}' WHERE revoquee_le IS NULL;\n"
                  if "session_utilisateur" in attendu["comptes"] else "")
    return (revocation + "DO $$ BEGIN IF " + " OR ".join(tests) + " THEN RAISE EXCEPTION 'restauration : "
            "comptes ou version du schema differents du manifeste'; END IF; END $$;\n")


def restaurer_postgresql(url: str, fichier: Path, attendu: dict, motif_revocation: str) -> None:
    """Remplace les tables du magasin par celles du fichier ``pg_dump``, en une transaction (tout ou rien)."""
    from donnees.magasin import Magasin

    magasin = Magasin(url)
    try:
        magasin._installer_postgis()  # noqa: SLF001 - même installation que la mise à niveau du magasin
        with magasin.moteur.connect() as conn:
            majeure = _majeure_serveur(conn)
            schema_courant = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    except SQLAlchemyError as exc:
        raise ErreurDonnees(f"Base PostgreSQL injoignable ({type(exc).__name__}) : vérifiez DESIMPER_BASE_URL et que "
                            "le serveur tourne.", "sauvegarde") from None
    finally:
        magasin.fermer()
    script = _lancer([trouver_binaire_pg("pg_restore", majeure), "--no-owner", "--no-privileges", "--no-comments",
                      "--file", "-", fichier], url)
    effacement = ", ".join(f'"{schema_courant}"."{nom}"' for nom in TABLES_SAUVEGARDEES)
    complet = (f"DROP TABLE IF EXISTS {effacement} CASCADE;\n".encode() + script + b"\n"
               + _script_controle(attendu, schema_courant, motif_revocation).encode())
    _lancer([trouver_binaire_pg("psql", majeure), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
             "-f", "-"], url, entree=complet)
