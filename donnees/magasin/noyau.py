"""La classe :class:`Magasin` : moteur, transactions, schéma (migrations), comptages et journal."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from donnees.config import url_base
from donnees.magasin import schema
from donnees.magasin.agenda import AgendaMagasin
from donnees.magasin.agregats import AgregatsMagasin
from donnees.magasin.annuaire import AnnuaireMagasin
from donnees.magasin.comptes import ComptesMagasin
from donnees.magasin.courriels import CourrielsMagasin
from donnees.magasin.echanges import EchangesMagasin
from donnees.magasin.convertisseurs import _verifier_auteur
from donnees.magasin.journal import _ligne_journal, _maintenant
from donnees.magasin.notifications import NotificationsMagasin
from donnees.magasin.operations import OperationsMagasin
from donnees.magasin.ressources import RessourcesMagasin
from donnees.magasin.scenarios import ScenariosMagasin
from donnees.magasin.sessions import SessionsMagasin
from donnees.magasin.tables import TABLES, creer_moteur, table_journal
from donnees.erreurs import ErreurDonnees, sur_panne


class Magasin(OperationsMagasin, AgregatsMagasin, ComptesMagasin, SessionsMagasin, ScenariosMagasin,
              EchangesMagasin, NotificationsMagasin, CourrielsMagasin, RessourcesMagasin, AgendaMagasin,
              AnnuaireMagasin):
    """Magasin des saisies (SQLite par défaut, PostgreSQL + PostGIS selon l'URL)."""

    def __init__(self, url: str | None = None):
        self.url = url or url_base()
        with sur_panne("le dossier de la base"):
            self.moteur, self.est_postgresql = creer_moteur(self.url)

    def __repr__(self) -> str:
        return f"Magasin({self.moteur.url.render_as_string(hide_password=True)!r})"

    def fermer(self) -> None:
        """Ferme les connexions ouvertes."""
        self.moteur.dispose()

    # ---------------------------------------------------------------- connexions et schéma

    def _lieu(self) -> str:
        """Ce que désignent les messages de panne : le dossier de la base SQLite, ou la base PostgreSQL."""
        if self.est_postgresql:
            return "la base PostgreSQL"
        base = self.moteur.url.database or ""
        return f"le dossier de données {Path(base).parent}" if base and base != ":memory:" else "la base"

    @contextmanager
    def _ecrire(self):
        """Transaction d'écriture : tout ou rien. Une panne (disque plein, dossier en lecture seule, base
        injoignable) annule la transaction et lève :class:`ErreurPanne` (message français)."""
        with sur_panne(self._lieu(), "ecriture"), self.moteur.connect() as conn:
            if not self.est_postgresql:
                conn.execution_options(desimper_ecriture=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _lire(self):
        """Transaction de lecture (instantané cohérent sous PostgreSQL) ; panne → :class:`ErreurPanne`."""
        with sur_panne(self._lieu(), "lecture"), self.moteur.connect() as conn:
            if self.est_postgresql:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def creer_tables(self) -> None:
        """Crée les tables d'une base vide ou met le schéma d'une base existante à niveau (migrations)."""
        self.mettre_a_niveau()

    def mettre_a_niveau(self, dossier_migrations: Path | None = None) -> tuple[str | None, str]:
        """Met le schéma à niveau jusqu'à la dernière révision, en une transaction ; renvoie (avant, après).

        Base vide : tables créées ; base d'avant les migrations : marquée à la révision initiale puis
        mise à niveau ; base versionnée : révisions manquantes appliquées. L'extension PostGIS est
        installée au besoin sous PostgreSQL.
        """
        if self.est_postgresql:
            self._installer_postgis()
        with self._ecrire() as conn:
            return schema.mettre_a_niveau(conn, dossier_migrations)

    def version_schema(self) -> str | None:
        """Révision du schéma de la base (``None`` : base vide ou d'avant les migrations)."""
        with self._lire() as conn:
            return schema.revision_base(conn)

    def _installer_postgis(self) -> None:
        with sur_panne(self._lieu(), "lecture"), self.moteur.connect() as conn:
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

    # ---------------------------------------------------------------- journal

    def journaliser(self, auteur: str, action: str, table_cible: str, diff: dict, enregistrement_id: int = 0) -> None:
        """Une ligne de journal pour un changement hors des opérations (ex. objectifs du référentiel)."""
        auteur = _verifier_auteur(auteur)
        with self._ecrire() as conn:
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, action, table_cible,
                                                        enregistrement_id, diff)])

    def _inserer_journal(self, conn: Connection, lignes: list[dict]) -> None:
        if lignes:
            conn.execute(table_journal.insert(), lignes)
