"""Fixtures partagées des tests de Désimper.

Chaque bloc est indépendant et délimité par un bandeau ; ajoutez les vôtres dans un bloc à part.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from glob import glob
from pathlib import Path

import pytest

from outils import manquer, port_libre

# =====================================================================================================
# PostgreSQL + PostGIS (magasin des opérations)
#
# ``url_postgresql`` (session) : URL SQLAlchemy d'une base PostgreSQL où l'extension PostGIS est
# installée.
#   1. ``$DESIMPER_TEST_PG_URL`` si elle est définie (grappe lancée par la CI) ;
#   2. sinon une grappe jetable : ``initdb`` dans un dossier temporaire, ``pg_ctl start`` sur une
#      socket Unix seulement (pas de TCP), arrêtée et effacée en fin de session. En root, les
#      commandes tournent sous l'utilisateur système ``postgres`` (initdb refuse root).
#   3. PostgreSQL ou PostGIS indisponible : test ignoré (``skip``), sauf si ``CI=true`` (échec).
#
# ``fabrique_base_postgresql`` (session) : fonction ``creer(prefixe) -> url`` qui crée une base neuve
# avec PostGIS sur le même serveur (repli sur la base de ``url_postgresql`` si le rôle n'a pas le
# droit CREATEDB) ; les bases créées sont supprimées en fin de session.
# =====================================================================================================

_PG_VARIABLE_URL = "DESIMPER_TEST_PG_URL"
_PG_NOM_BASE = "desimper_test"
_PG_DELAI_DEMARRAGE_S = 60


def _pg_indisponible(message: str):
    """Ignore le test, ou le fait échouer sous CI où PostgreSQL doit être présent."""
    manquer(f"PostgreSQL/PostGIS indisponible : {message}")


def _pg_masquer(url: str) -> str:
    """URL sans mot de passe, pour les messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _pg_dossier_binaires() -> Path | None:
    """Dossier contenant ``initdb``, ``pg_ctl`` et ``postgres`` (PATH, puis /usr/lib/postgresql)."""
    candidats: list[Path] = []
    trouve = shutil.which("initdb")
    if trouve:
        candidats.append(Path(trouve).resolve().parent)
        candidats.append(Path(trouve).parent)

    def _version(chemin: str) -> tuple:
        return tuple(int(p) if p.isdigit() else 0 for p in Path(chemin).parent.name.split("."))

    candidats += [Path(d) for d in sorted(glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)]
    for dossier in candidats:
        if all((dossier / nom).is_file() for nom in ("initdb", "pg_ctl", "postgres")):
            return dossier
    return None


@pytest.fixture(scope="session")
def dossier_binaires_pg() -> Path | None:
    """Dossier des binaires PostgreSQL de la grappe jetable (pg_dump, pg_restore, psql y sont aussi)."""
    return _pg_dossier_binaires()


class _GrappeJetable:
    """Grappe PostgreSQL temporaire, accessible par socket Unix seulement."""

    def __init__(self, binaires: Path):
        self.binaires = binaires
        self.racine = Path(tempfile.mkdtemp(prefix="desimper-pg-"))
        self.donnees = self.racine / "data"
        self.journal = self.racine / "postgresql.log"
        self.port = port_libre()
        self.prefixe: list[str] = []
        if os.geteuid() == 0:
            try:
                compte = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("exécution en root sans utilisateur système « postgres » "
                                   "(initdb refuse root)") from None
            runuser = shutil.which("runuser")
            if not runuser:
                raise RuntimeError("exécution en root sans la commande « runuser »")
            os.chown(self.racine, compte.pw_uid, compte.pw_gid)
            self.prefixe = [runuser, "-u", "postgres", "--"]

    def _lancer(self, *args: str, delai: float = 120) -> None:
        commande = self.prefixe + [str(self.binaires / args[0]), *args[1:]]
        res = subprocess.run(commande, capture_output=True, text=True, timeout=delai, cwd=self.racine)
        if res.returncode != 0:
            fin = ""
            if self.journal.exists():
                try:
                    fin = self.journal.read_text(errors="replace")[-2000:]
                except OSError:
                    pass
            raise RuntimeError(f"{' '.join(args[:2])} a échoué ({res.returncode}) : "
                               f"{(res.stderr or res.stdout).strip()[-2000:]} {fin}".strip())

    def demarrer(self) -> str:
        self._lancer("initdb", "-D", str(self.donnees), "-U", "postgres", "-A", "trust",
                     "-E", "UTF8", "--no-locale", "-N")
        self.relancer()
        return f"postgresql+psycopg://postgres@/{{base}}?host={self.racine}&port={self.port}"

    def relancer(self) -> None:
        """Démarre le serveur de la grappe (déjà initialisée), sur le même port et la même socket."""
        options = (f"-p {self.port} -k {self.racine} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._lancer("pg_ctl", "-D", str(self.donnees), "-l", str(self.journal), "-w",
                     "-t", str(_PG_DELAI_DEMARRAGE_S), "-o", options, "start")

    def couper(self) -> None:
        """Arrête le serveur sans effacer la grappe (panne : connexions coupées net) ; :meth:`relancer` le
        redémarre."""
        self._lancer("pg_ctl", "-D", str(self.donnees), "-m", "fast", "-w", "stop", delai=60)

    def arreter(self) -> None:
        try:
            if (self.donnees / "postmaster.pid").exists():
                self._lancer("pg_ctl", "-D", str(self.donnees), "-m", "immediate", "-w", "stop", delai=60)
        finally:
            shutil.rmtree(self.racine, ignore_errors=True)


def _pg_autocommit(url: str):
    """Connexion psycopg en autocommit à partir d'une URL SQLAlchemy."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    params = {"dbname": u.database or "postgres", "user": u.username, "password": u.password,
              "host": u.query.get("host") or u.host, "port": u.query.get("port") or u.port,
              "connect_timeout": 10}
    return psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=True)


def _pg_verifier_postgis(url: str) -> str:
    """Installe PostGIS si besoin et renvoie sa version ; lève une exception si impossible."""
    import psycopg

    with _pg_autocommit(url) as conn:
        if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
                pass  # créée au même instant par un autre processus (pytest-xdist)
        return conn.execute("SELECT postgis_lib_version()").fetchone()[0]


def _pg_url_base(url: str, base: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=base).render_as_string(hide_password=False)


def _pg_preparer_grappe(binaires: Path, base: str) -> tuple[_GrappeJetable, str]:
    """Grappe jetable démarrée, base ``base`` créée avec PostGIS vérifié : (grappe, url) ; sinon test ignoré
    (échec sous CI=true), grappe arrêtée."""
    grappe = None
    try:
        grappe = _GrappeJetable(binaires)
        modele = grappe.demarrer()
        with _pg_autocommit(modele.format(base="postgres")) as conn:
            conn.execute(f'CREATE DATABASE "{base}"')
        url = modele.format(base=base)
        _pg_verifier_postgis(url)
    except Exception as exc:  # noqa: BLE001
        if grappe is not None:
            grappe.arreter()
        _pg_indisponible(f"grappe jetable impossible à préparer ({binaires}) : {exc}")
    return grappe, url


@pytest.fixture(scope="session")
def url_postgresql():
    """URL SQLAlchemy d'une base PostgreSQL avec PostGIS (CI ou grappe jetable)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _pg_indisponible("le pilote psycopg n'est pas installé")
    fournie = os.environ.get(_PG_VARIABLE_URL, "").strip()
    if fournie:
        try:
            _pg_verifier_postgis(fournie)
        except Exception as exc:  # noqa: BLE001 - tout échec rend la base inutilisable
            _pg_indisponible(f"base {_pg_masquer(fournie)} ({_PG_VARIABLE_URL}) inutilisable : {exc}")
        yield fournie
        return

    binaires = _pg_dossier_binaires()
    if binaires is None:
        _pg_indisponible("initdb/pg_ctl introuvables (PATH, /usr/lib/postgresql/*/bin) ; "
                         f"installez PostgreSQL + PostGIS ou définissez {_PG_VARIABLE_URL}")
    grappe, url = _pg_preparer_grappe(binaires, _PG_NOM_BASE)
    try:
        yield url
    finally:
        grappe.arreter()


@pytest.fixture(scope="session")
def fabrique_base_postgresql(url_postgresql):
    """Fabrique de bases neuves avec PostGIS : ``creer(prefixe) -> url``."""
    creees: list[str] = []

    def creer(prefixe: str = "desimper") -> str:
        nom = re.sub(r"[^a-z0-9_]", "_", f"{prefixe}_{uuid.uuid4().hex[:8]}".lower())[:60]
        try:
            with _pg_autocommit(url_postgresql) as conn:
                conn.execute(f'CREATE DATABASE "{nom}"')
        except Exception:  # noqa: BLE001 - pas le droit CREATEDB : on partage la base fournie
            return url_postgresql
        creees.append(nom)
        url = _pg_url_base(url_postgresql, nom)
        _pg_verifier_postgis(url)
        return url

    yield creer
    for nom in creees:
        for essai in range(3):
            try:
                with _pg_autocommit(url_postgresql) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{nom}" WITH (FORCE)')
                break
            except Exception:  # noqa: BLE001 - nettoyage au mieux
                time.sleep(0.2 * (essai + 1))


@pytest.fixture
def grappe_postgresql_redemarrable():
    """Grappe PostgreSQL + PostGIS jetable et propre au test, qu'il peut arrêter (``couper()``) et redémarrer
    (``relancer()``) sans gêner les autres tests ; ``grappe.url`` : URL SQLAlchemy de sa base."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _pg_indisponible("le pilote psycopg n'est pas installé")
    binaires = _pg_dossier_binaires()
    if binaires is None:
        _pg_indisponible("initdb/pg_ctl introuvables (PATH, /usr/lib/postgresql/*/bin) : une grappe à "
                         "redémarrer est nécessaire")
    grappe, url = _pg_preparer_grappe(binaires, "desimper_pannes")
    grappe.url = url
    try:
        yield grappe
    finally:
        grappe.arreter()

# ===================================================================================== fin PostgreSQL


# =====================================================================================================
# Territoire de démonstration (taille « petite ») pour les tests de l'application, de la CLI et du
# navigateur : généré une fois par session dans un dossier temporaire ; ``dossier_demo_copie`` en donne
# une copie que le test peut abîmer.
# =====================================================================================================


@pytest.fixture(scope="session")
def dossier_demo(tmp_path_factory) -> Path:
    """Dossier de données avec la démonstration « petite » (graine 7, grille de 20 m), base SQLite comprise."""
    from donnees.demo import generer_demo
    from donnees.referentiel import ecrire_territoire, lire_territoire

    dossier = tmp_path_factory.mktemp("demo_petite")
    ancien = os.environ.pop("DESIMPER_BASE_URL", None)
    try:
        generer_demo(dossier, taille="petite", graine=7)
        # Grille de 20 m pour les tests (4 fois moins de cellules que les 10 m par défaut).
        territoire = lire_territoire(dossier)
        territoire["parametres"] = {**territoire.get("parametres", {}), "resolution_grille_m": 20}
        ecrire_territoire(territoire, dossier)
    finally:
        if ancien is not None:
            os.environ["DESIMPER_BASE_URL"] = ancien
    return dossier


@pytest.fixture
def dossier_demo_copie(dossier_demo, tmp_path) -> Path:
    """Copie jetable du dossier de démonstration."""
    copie = tmp_path / "demo"
    shutil.copytree(dossier_demo, copie)
    return copie


# =====================================================================================================
# Magasin vide sur les deux moteurs (tests du magasin, des comptes et des droits) : fichier SQLite neuf,
# ou base PostgreSQL propre au module, vidée avant chaque test.
# =====================================================================================================

def _tables_magasin() -> str:
    """Toutes les tables du schéma du magasin (vidées entre deux tests PostgreSQL : une table ajoutée n'est jamais
    oubliée)."""
    from donnees.magasin.tables import metadonnees

    return ", ".join(table.name for table in metadonnees.sorted_tables)


TABLES_MAGASIN = _tables_magasin()


@pytest.fixture(scope="module")
def url_pg_module(request, fabrique_base_postgresql):
    """Base PostgreSQL neuve pour le module de test, tables créées une fois."""
    from donnees.magasin import Magasin

    url = fabrique_base_postgresql(f"desimper_{request.module.__name__.split('.')[-1]}")
    magasin = Magasin(url)
    magasin.creer_tables()
    magasin.fermer()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def magasin(request, tmp_path):
    """Magasin vide : fichier SQLite neuf, ou base PostgreSQL vidée (TRUNCATE)."""
    from donnees.magasin import Magasin

    if request.param == "sqlite":
        m = Magasin(f"sqlite:///{(tmp_path / 'magasin.sqlite').as_posix()}")
    else:
        m = Magasin(request.getfixturevalue("url_pg_module"))
        with m.moteur.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {TABLES_MAGASIN} RESTART IDENTITY CASCADE")
    m.creer_tables()
    yield m
    m.fermer()


# =====================================================================================================
# Sources de données ouvertes simulées (geo.api.gouv.fr, cadastre Etalab) sur 127.0.0.1, avec pannes
# injectables : voir tests/serveur_sources.py. Les variables DESIMPER_URL_* pointent vers ce serveur et
# les délais de téléchargement sont raccourcis.
# =====================================================================================================


@pytest.fixture
def serveur_sources(monkeypatch):
    """Serveur local des sources officielles (ServeurSources), arrêté en fin de test."""
    from serveur_sources import ServeurSources

    serveur = ServeurSources()
    monkeypatch.setenv("DESIMPER_URL_GEO_API", serveur.url)
    monkeypatch.setenv("DESIMPER_URL_CADASTRE", serveur.url)
    monkeypatch.setenv("DESIMPER_TELECHARGEMENT_DELAI_S", "0.5")
    monkeypatch.setenv("DESIMPER_TELECHARGEMENT_ESSAIS", "3")
    monkeypatch.setenv("DESIMPER_TELECHARGEMENT_ATTENTE_S", "0.01")
    yield serveur
    serveur.arreter()


# =====================================================================================================
# Ordre d'exécution : les modules longs d'abord (navigateur, serveurs multiples, imports tués), pour que
# pytest-xdist (`make test`, deux processus) finisse sur les tests courts au lieu d'attendre, seul, un test
# de 90 s lancé en dernier. L'ordre des tests dans un module ne change pas (ses fixtures de module servent
# une fois). Durées : `pytest --durations=30`.
# =====================================================================================================

MODULES_LONGS = (  # du plus long au moins long (somme des durées de leurs tests, décembre 2026)
    "navigateur/test_francais_navigateur.py", "navigateur/test_saisie_navigateur.py",
    "navigateur/test_pages_navigateur.py", "test_imports_bornes.py", "navigateur/test_sessions_navigateur.py",
    "test_multiprocessus.py", "navigateur/test_territoire_navigateur.py", "navigateur/test_carte_saisie_navigateur.py",
    "app/test_sessions_app.py", "test_pannes.py", "test_chaleur_site.py", "navigateur/test_carte_navigateur.py",
)


def pytest_collection_modifyitems(config, items):
    def rang(item) -> int:
        chemin = Path(str(item.fspath)).as_posix()
        return next((i for i, module in enumerate(MODULES_LONGS) if chemin.endswith("tests/" + module)),
                    len(MODULES_LONGS))

    items.sort(key=rang)  # tri stable : l'ordre de collecte est gardé dans chaque rang
