"""Agenda de la communauté de pratiques (issue 16, partie 3) : tables ``evenement`` (atelier, visite de site,
réunion… : début et fin en UTC, lieu et point WGS84 facultatif ou en ligne, places, statut prévu ou annulé avec
motif, partage avec les autres territoires, uid et séquence iCalendar), ``evenement_operation`` (opérations liées),
``evenement_ressource`` (ressources liées) et ``inscription_evenement`` (une inscription par adresse ;
``rappel_le`` : rappel déjà fait).

Révision : 0013
Précédente : 0012 (ressources de la communauté)

Figé : n'importe rien du magasin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evenement",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(120), nullable=False, unique=True),
        sa.Column("genre", sa.String(40), nullable=False),
        sa.Column("titre", sa.Text(), nullable=False),
        sa.Column("sujet", sa.Text()),
        sa.Column("debut", sa.DateTime(), nullable=False),
        sa.Column("fin", sa.DateTime(), nullable=False),
        sa.Column("lieu", sa.Text()),
        sa.Column("longitude", sa.Float()),
        sa.Column("latitude", sa.Float()),
        sa.Column("en_ligne", sa.Boolean(), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("places_max", sa.Integer()),
        sa.Column("statut", sa.String(10), nullable=False),
        sa.Column("motif_annulation", sa.Text()),
        sa.Column("partage_territoires", sa.Boolean(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("cree_par", sa.String(254), nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.Column("modifie_le", sa.DateTime(), nullable=False),
        sa.CheckConstraint("statut IN ('prevu', 'annule')", name="ck_evenement_statut"),
        sa.CheckConstraint("fin > debut", name="ck_evenement_horaire"),
        sa.CheckConstraint("places_max IS NULL OR places_max >= 1", name="ck_evenement_places"),
        sa.CheckConstraint("sequence >= 0", name="ck_evenement_sequence"),
    )
    op.create_index("ix_evenement_debut", "evenement", ["debut"])
    op.create_table(
        "evenement_operation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("evenement_id", sa.Integer(), sa.ForeignKey("evenement.id", ondelete="CASCADE"), nullable=False),
        sa.Column("operation_id", sa.Integer(), sa.ForeignKey("operation.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_evenement_operation_operation_id", "evenement_operation", ["operation_id"])
    op.create_index("ix_evenement_operation_lien", "evenement_operation", ["evenement_id", "operation_id"],
                    unique=True)
    op.create_table(
        "evenement_ressource",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("evenement_id", sa.Integer(), sa.ForeignKey("evenement.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ressource_id", sa.Integer(), sa.ForeignKey("ressource.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_evenement_ressource_ressource_id", "evenement_ressource", ["ressource_id"])
    op.create_index("ix_evenement_ressource_lien", "evenement_ressource", ["evenement_id", "ressource_id"],
                    unique=True)
    op.create_table(
        "inscription_evenement",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("evenement_id", sa.Integer(), sa.ForeignKey("evenement.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("inscrit_le", sa.DateTime(), nullable=False),
        sa.Column("rappel_le", sa.DateTime()),
    )
    op.create_index("ix_inscription_evenement_email", "inscription_evenement", ["evenement_id", "email"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("ix_inscription_evenement_email", table_name="inscription_evenement")
    op.drop_table("inscription_evenement")
    op.drop_index("ix_evenement_ressource_lien", table_name="evenement_ressource")
    op.drop_index("ix_evenement_ressource_ressource_id", table_name="evenement_ressource")
    op.drop_table("evenement_ressource")
    op.drop_index("ix_evenement_operation_lien", table_name="evenement_operation")
    op.drop_index("ix_evenement_operation_operation_id", table_name="evenement_operation")
    op.drop_table("evenement_operation")
    op.drop_index("ix_evenement_debut", table_name="evenement")
    op.drop_table("evenement")
