"""Migrations du schéma (Alembic, configuré par programme : pas d'``alembic.ini``).

- base vide : les tables sont créées par les migrations, jusqu'à la tête ;
- base de la version précédente (tables présentes, pas de table ``alembic_version``) : marquée à la
  révision initiale (son schéma exact), puis mise à niveau ;
- base déjà versionnée : mise à niveau jusqu'à la tête.

Les révisions sont dans ``migrations/versions`` (voir docs/CONTRAT_MAGASIN.md pour en ajouter une).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from donnees.magasin.tables import TABLES
from donnees.erreurs import ErreurDonnees

DOSSIER_MIGRATIONS = Path(__file__).resolve().with_name("migrations")
REVISION_INITIALE = "0001"
VERROU_POSTGRESQL = 7_240_001  # pg_advisory_xact_lock : une seule mise à niveau à la fois


def configurer_alembic(connexion: Connection | None = None, dossier: Path | None = None,
                       url: str | None = None) -> Config:
    """Configuration Alembic sans fichier : dossier des migrations, connexion ou URL de la base."""
    config = Config()
    config.set_main_option("script_location", str(dossier or DOSSIER_MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connexion"] = connexion
    return config


@lru_cache(maxsize=8)
def _tete(dossier: str) -> str:
    script = ScriptDirectory.from_config(configurer_alembic(dossier=Path(dossier)))
    tetes = script.get_heads()
    if len(tetes) != 1:
        raise ErreurDonnees(f"Migrations du magasin : une seule tête attendue, {len(tetes)} trouvées "
                            f"({', '.join(tetes)}). Fusionnez les révisions.", "magasin")
    return tetes[0]


def revision_tete(dossier: Path | None = None) -> str:
    """Dernière révision connue du schéma (tête des migrations)."""
    return _tete(str(dossier or DOSSIER_MIGRATIONS))


def revision_base(connexion: Connection) -> str | None:
    """Révision du schéma de la base (``None`` : base vide ou d'avant les migrations)."""
    return MigrationContext.configure(connexion).get_current_revision()


def mettre_a_niveau(connexion: Connection, dossier: Path | None = None) -> tuple[str | None, str]:
    """Met la base à niveau jusqu'à la tête, dans la transaction de ``connexion`` ; renvoie (avant, après).

    La connexion doit être dans une transaction d'écriture (tout ou rien : une migration qui échoue ne
    laisse rien).
    """
    if connexion.dialect.name == "postgresql":
        connexion.exec_driver_sql(f"SELECT pg_advisory_xact_lock({VERROU_POSTGRESQL})")
    avant = revision_base(connexion)
    tete = revision_tete(dossier)
    if avant == tete:
        return avant, tete
    config = configurer_alembic(connexion, dossier)
    if avant is None and _marquer_si_version_precedente(connexion, config):
        avant = REVISION_INITIALE
    command.upgrade(config, "head")
    return avant, revision_base(connexion) or tete


def _marquer_si_version_precedente(connexion: Connection, config: Config) -> bool:
    """Base non versionnée : marque la révision initiale si ses tables existent toutes ; ``False`` si vide."""
    presentes = set(TABLES) & set(inspect(connexion).get_table_names())
    if not presentes:
        return False
    if presentes != set(TABLES):
        manquantes = ", ".join(sorted(set(TABLES) - presentes))
        raise ErreurDonnees(f"Base incomplète et sans version de schéma : tables {manquantes} absentes. "
                            "Restaurez une sauvegarde complète ou partez d'une base vide.", "magasin")
    command.stamp(config, REVISION_INITIALE)
    return True
