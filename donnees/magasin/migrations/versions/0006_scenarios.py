"""Scénarios prospectifs : tables ``scenario``, ``site_scenario`` (sites candidats) et ``avis_site`` (avis des
communes, co-construction).

Révision : 0006
Précédente : 0005

Un scénario est un ensemble nommé de projets futurs ; chaque site porte sa géométrie (WGS84 : BLOB WKB sous
SQLite, ``geometry(GEOMETRY, 4326)`` sous PostGIS, comme les zones), ses revêtements avant et après, son année,
l'avis de la commune et, une fois accepté et converti, l'opération programmée qui en est née.

Figé : n'importe rien du magasin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

AVIS = "('propose', 'faisable', 'non_faisable', 'deja_prevu', 'accepte')"


GEOMETRIE = sa.LargeBinary().with_variant(
    Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scenario",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("partage", sa.Boolean(), nullable=False),
        sa.Column("cree_par", sa.Text(), nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.Column("modifie_par", sa.Text()),
        sa.Column("modifie_le", sa.DateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supprime", sa.Boolean(), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_scenario_version"),
    )
    op.create_table(
        "site_scenario",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scenario_id", sa.Integer(), sa.ForeignKey("scenario.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_insee", sa.String(5), nullable=False),
        sa.Column("parcelle_id", sa.String(20)),
        sa.Column("geometrie", GEOMETRIE, nullable=False),
        sa.Column("surface_m2", sa.Float(), nullable=False),
        sa.Column("revetement_avant", sa.String(40), nullable=False),
        sa.Column("revetement_apres", sa.String(40), nullable=False),
        sa.Column("type_site", sa.String(40), nullable=False),
        sa.Column("annee", sa.Integer(), nullable=False),
        sa.Column("avis", sa.String(20), nullable=False),
        sa.Column("operation_id", sa.Integer(), sa.ForeignKey("operation.id", ondelete="SET NULL")),
        sa.Column("cree_par", sa.Text(), nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.CheckConstraint("surface_m2 > 0", name="ck_site_scenario_surface"),
        sa.CheckConstraint(f"avis IN {AVIS}", name="ck_site_scenario_avis"),
    )
    op.create_index("ix_site_scenario_scenario_id", "site_scenario", ["scenario_id"])
    op.create_table(
        "avis_site",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site_scenario.id", ondelete="CASCADE"), nullable=False),
        sa.Column("auteur", sa.Text(), nullable=False),
        sa.Column("avis", sa.String(20), nullable=False),
        sa.Column("commentaire", sa.Text()),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.CheckConstraint(f"avis IN {AVIS}", name="ck_avis_site_avis"),
    )
    op.create_index("ix_avis_site_site_id", "avis_site", ["site_id"])


def downgrade() -> None:
    op.drop_index("ix_avis_site_site_id", table_name="avis_site")
    op.drop_table("avis_site")
    op.drop_index("ix_site_scenario_scenario_id", table_name="site_scenario")
    op.drop_table("site_scenario")
    op.drop_table("scenario")
