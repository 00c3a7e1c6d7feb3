"""Environnement Alembic du magasin : connexion fournie par le magasin, ou URL (hors ligne : SQL)."""

from __future__ import annotations

from alembic import context

from donnees.magasin.tables import creer_moteur, metadonnees


def _executer(connexion) -> None:
    context.configure(connection=connexion, target_metadata=metadonnees, compare_type=True,
                      render_as_batch=connexion.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _executer_hors_ligne() -> None:
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=metadonnees,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _executer_en_ligne() -> None:
    connexion = context.config.attributes.get("connexion")
    if connexion is not None:
        _executer(connexion)
        return
    from donnees.config import url_base

    moteur, _ = creer_moteur(context.config.get_main_option("sqlalchemy.url") or url_base())
    try:
        with moteur.begin() as connexion:
            _executer(connexion)
    finally:
        moteur.dispose()


if context.is_offline_mode():
    _executer_hors_ligne()
else:
    _executer_en_ligne()
