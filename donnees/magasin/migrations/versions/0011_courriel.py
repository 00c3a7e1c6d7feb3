"""Résumé des notifications par courriel : table ``preference_courriel`` (fréquence choisie par compte, jeton du
lien de désabonnement, date du dernier résumé envoyé).

Révision : 0011
Précédente : 0008 (échanges et notifications)

Figé : n'importe rien du magasin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "preference_courriel",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("email", sa.Text(), nullable=False, unique=True),
        sa.Column("frequence", sa.String(20), nullable=False),
        sa.Column("jeton", sa.String(64), nullable=False, unique=True),
        sa.Column("dernier_envoi", sa.DateTime()),
        sa.Column("modifie_le", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("preference_courriel")
