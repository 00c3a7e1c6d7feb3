"""Agrégats du registre : index couvrants des zones et des financements, table ``estimation_site``.

Révision : 0005
Précédente : 0004

Les agrégats par commune, année, statut et type de site (``donnees/magasin/agregats.py``) joignent zones et
financements aux opérations : les index ``ix_zone_agregats`` et ``ix_financement_agregats`` portent toutes les
colonnes lues, la base ne parcourt plus les géométries. ``estimation_site`` garde le rafraîchissement local
estimé de chaque opération réalisée (somme pondérée et cellules, version de l'opération, clé des paramètres) :
un résultat de calcul, vide après la mise à niveau, rempli à la première lecture des agrégats.

Figé : n'importe rien du magasin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_zone_agregats", "zone", ["operation_id", "revetement_avant", "revetement_apres", "surface_m2"])
    op.create_index("ix_financement_agregats", "financement", ["operation_id", "financeur", "montant_eur"])
    op.create_table(
        "estimation_site",
        sa.Column("operation_id", sa.Integer(), sa.ForeignKey("operation.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cle", sa.String(64), nullable=False),
        sa.Column("somme_ponderee", sa.Float(), nullable=False),
        sa.Column("cellules", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("estimation_site")
    op.drop_index("ix_financement_agregats", table_name="financement")
    op.drop_index("ix_zone_agregats", table_name="zone")
