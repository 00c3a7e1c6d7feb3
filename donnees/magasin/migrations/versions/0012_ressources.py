"""Ressources de la communauté de pratiques (issue 16, partie 1) : tables ``ressource`` (guide, cahier des charges,
fiche technique, appel à projets, subvention, étude… : fichier stocké sous ``ressources/`` ou lien, échéance,
communes, thèmes, auteur, statut publiée ou masquée avec motif, partage avec les autres territoires, version),
``ressource_operation`` (liens vers les opérations) et ``suivi_theme`` (thèmes suivis, pour les notifications).

Révision : 0012
Précédente : 0011 (résumé des notifications par courriel)

Figé : n'importe rien du magasin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ressource",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("genre", sa.String(40), nullable=False),
        sa.Column("titre", sa.Text(), nullable=False),
        sa.Column("resume", sa.Text(), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("fichier_nom", sa.Text()),
        sa.Column("fichier_chemin", sa.String(120)),
        sa.Column("fichier_type", sa.String(120)),
        sa.Column("fichier_taille", sa.Integer()),
        sa.Column("fichier_sha256", sa.String(64)),
        sa.Column("echeance", sa.Date()),
        sa.Column("communes", sa.Text(), nullable=False),
        sa.Column("themes", sa.Text(), nullable=False),
        sa.Column("auteur_email", sa.String(254), nullable=False),
        sa.Column("auteur_nom", sa.Text(), nullable=False),
        sa.Column("statut", sa.String(10), nullable=False),
        sa.Column("masque_par", sa.String(254)),
        sa.Column("masque_le", sa.DateTime()),
        sa.Column("motif_masquage", sa.Text()),
        sa.Column("partagee_territoires", sa.Boolean(), nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.Column("modifie_le", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("statut IN ('publiee', 'masquee')", name="ck_ressource_statut"),
        sa.CheckConstraint("(url IS NULL) <> (fichier_chemin IS NULL)", name="ck_ressource_url_ou_fichier"),
        sa.CheckConstraint("version >= 1", name="ck_ressource_version"),
    )
    op.create_table(
        "ressource_operation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ressource_id", sa.Integer(), sa.ForeignKey("ressource.id", ondelete="CASCADE"), nullable=False),
        sa.Column("operation_id", sa.Integer(), sa.ForeignKey("operation.id", ondelete="CASCADE"), nullable=False),
        sa.Column("lie_par", sa.String(254), nullable=False),
        sa.Column("lie_le", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_ressource_operation_operation_id", "ressource_operation", ["operation_id"])
    op.create_index("ix_ressource_operation_lien", "ressource_operation", ["ressource_id", "operation_id"],
                    unique=True)
    op.create_table(
        "suivi_theme",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("theme", sa.String(40), nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_suivi_theme_email_theme", "suivi_theme", ["email", "theme"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_suivi_theme_email_theme", table_name="suivi_theme")
    op.drop_table("suivi_theme")
    op.drop_index("ix_ressource_operation_lien", table_name="ressource_operation")
    op.drop_index("ix_ressource_operation_operation_id", table_name="ressource_operation")
    op.drop_table("ressource_operation")
    op.drop_table("ressource")
