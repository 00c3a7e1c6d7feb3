"""Annuaire des membres : table ``fiche_annuaire`` (consentement explicite et sa date, champs facultatifs montrés
par choix du membre, visibilité dans les autres territoires, modération par le syndicat).

Révision : 0014
Précédente : 0013 (agenda de la communauté)

Figé : n'importe rien du magasin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fiche_annuaire",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("consentement", sa.Boolean(), nullable=False),
        sa.Column("consenti_le", sa.DateTime()),
        sa.Column("fonction", sa.Text()),
        sa.Column("telephone", sa.String(40)),
        sa.Column("email_visible", sa.Boolean(), nullable=False),
        sa.Column("presentation", sa.Text()),
        sa.Column("sujets", sa.Text()),
        sa.Column("visible_autres_territoires", sa.Boolean(), nullable=False),
        sa.Column("masquee", sa.Boolean(), nullable=False),
        sa.Column("masquee_par", sa.String(254)),
        sa.Column("masquee_le", sa.DateTime()),
        sa.Column("motif_masquage", sa.Text()),
        sa.Column("modifie_le", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fiche_annuaire")
