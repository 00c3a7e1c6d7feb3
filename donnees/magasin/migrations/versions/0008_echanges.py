"""Échanges et notifications (issue 16) : tables ``fil_discussion`` (un fil par objet : une opération),
``message_fil`` (question ou réponse, masquable par le syndicat avec motif), ``abonnement_fil`` (membres qui suivent
un fil) et ``notification`` (notifications dans l'application ; ``envoyee_le`` : résumé par courriel).

Révision : 0008
Précédente : 0006 (la révision 0007, écrite en parallèle, la précédera à la fusion)

Figé : n'importe rien du magasin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fil_discussion",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("objet", sa.String(20), nullable=False),
        sa.Column("objet_id", sa.Integer(), nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_fil_discussion_objet", "fil_discussion", ["objet", "objet_id"], unique=True)
    op.create_table(
        "message_fil",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("fil_id", sa.Integer(), sa.ForeignKey("fil_discussion.id", ondelete="CASCADE"), nullable=False),
        sa.Column("auteur_email", sa.String(254), nullable=False),
        sa.Column("auteur_nom", sa.Text(), nullable=False),
        sa.Column("genre", sa.String(10), nullable=False),
        sa.Column("texte", sa.Text(), nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.Column("masque", sa.Boolean(), nullable=False),
        sa.Column("masque_par", sa.String(254)),
        sa.Column("masque_le", sa.DateTime()),
        sa.Column("motif_masquage", sa.Text()),
        sa.CheckConstraint("genre IN ('question', 'reponse')", name="ck_message_fil_genre"),
    )
    op.create_index("ix_message_fil_fil_id", "message_fil", ["fil_id"])
    op.create_table(
        "abonnement_fil",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("fil_id", sa.Integer(), sa.ForeignKey("fil_discussion.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_abonnement_fil_fil_email", "abonnement_fil", ["fil_id", "email"], unique=True)
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("destinataire", sa.String(254), nullable=False),
        sa.Column("genre", sa.String(40), nullable=False),
        sa.Column("texte", sa.Text(), nullable=False),
        sa.Column("lien", sa.Text()),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.Column("lue_le", sa.DateTime()),
        sa.Column("envoyee_le", sa.DateTime()),
    )
    op.create_index("ix_notification_destinataire", "notification", ["destinataire", "lue_le"])


def downgrade() -> None:
    op.drop_index("ix_notification_destinataire", table_name="notification")
    op.drop_table("notification")
    op.drop_index("ix_abonnement_fil_fil_email", table_name="abonnement_fil")
    op.drop_table("abonnement_fil")
    op.drop_index("ix_message_fil_fil_id", table_name="message_fil")
    op.drop_table("message_fil")
    op.drop_index("ix_fil_discussion_objet", table_name="fil_discussion")
    op.drop_table("fil_discussion")
