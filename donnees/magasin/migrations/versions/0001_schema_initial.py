"""Schéma initial : celui de la version d'avant les migrations (opérations, zones, financements,
photos, utilisateurs, journal).

Révision : 0001
Précédente : aucune

Figé : n'importe rien du magasin (ses tables évoluent, cette révision non). Sous SQLite la géométrie
est un BLOB (WKB) ; sous PostGIS, ``geometry(GEOMETRY, 4326)`` avec un index GiST.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GEOMETRIE = sa.LargeBinary().with_variant(
    Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False), "postgresql")
ACTIONS_JOURNAL = ("creation", "modification", "suppression", "restauration", "validation")


def _cle_operation() -> sa.Column:
    return sa.Column("operation_id", sa.Integer(), sa.ForeignKey("operation.id", ondelete="CASCADE"),
                     nullable=False)


def _creer_operation() -> None:
    op.create_table(
        "operation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("code_insee", sa.String(5), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("type_site", sa.String(40), nullable=False),
        sa.Column("statut", sa.String(20), nullable=False),
        sa.Column("validation", sa.String(20), nullable=False),
        sa.Column("commentaire_validation", sa.Text()),
        sa.Column("date_fin_travaux", sa.Date()),
        sa.Column("maitre_ouvrage", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("retour_experience", sa.Text()),
        sa.Column("contact", sa.Text()),
        sa.Column("cout_ht_eur", sa.Float()),
        sa.Column("arbres_plantes", sa.Integer(), nullable=False),
        sa.Column("deconnexion_reseau", sa.Boolean(), nullable=False),
        sa.Column("volume_stockage_m3", sa.Float()),
        sa.Column("parcelles", sa.Text(), nullable=False),
        sa.Column("surface_declaree_m2", sa.Float()),
        sa.Column("localisation_approximative", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("cree_par", sa.Text()),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.Column("modifie_par", sa.Text()),
        sa.Column("modifie_le", sa.DateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supprimee", sa.Boolean(), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_operation_version"),
        sa.CheckConstraint("arbres_plantes >= 0", name="ck_operation_arbres"),
    )
    op.create_index("ix_operation_supprimee", "operation", ["supprimee"])
    op.create_index("ix_operation_code_insee", "operation", ["code_insee"])


def _creer_utilisateur_et_journal() -> None:
    op.create_table(
        "utilisateur",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("communes", sa.Text(), nullable=False),
        sa.Column("mot_de_passe_hash", sa.Text()),
        sa.Column("actif", sa.Boolean(), nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.Column("echecs_connexion", sa.Integer(), nullable=False),
        sa.Column("bloque_jusqua", sa.DateTime()),
        sa.Column("derniere_connexion", sa.DateTime()),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("horodatage", sa.DateTime(), nullable=False),
        sa.Column("auteur", sa.Text(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("table_cible", sa.String(30), nullable=False),
        sa.Column("enregistrement_id", sa.Integer(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.CheckConstraint("action IN (" + ", ".join(f"'{a}'" for a in ACTIONS_JOURNAL) + ")",
                           name="ck_journal_action"),
    )
    op.create_index("ix_journal_cible", "journal", ["table_cible", "enregistrement_id"])
    op.create_index("ix_journal_horodatage", "journal", ["horodatage"])


def _creer_zone_financement_photo() -> None:
    op.create_table(
        "zone",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _cle_operation(),
        sa.Column("geometrie", GEOMETRIE, nullable=False),
        sa.Column("revetement_avant", sa.String(40), nullable=False),
        sa.Column("revetement_apres", sa.String(40), nullable=False),
        sa.Column("surface_m2", sa.Float(), nullable=False),
        sa.CheckConstraint("surface_m2 >= 0", name="ck_zone_surface"),
    )
    op.create_index("ix_zone_operation_id", "zone", ["operation_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS ix_zone_geometrie ON zone USING gist (geometrie)")
    op.create_table(
        "financement",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _cle_operation(),
        sa.Column("financeur", sa.Text(), nullable=False),
        sa.Column("montant_eur", sa.Float(), nullable=False),
        sa.CheckConstraint("montant_eur >= 0", name="ck_financement_montant"),
    )
    op.create_index("ix_financement_operation_id", "financement", ["operation_id"])
    op.create_table(
        "photo",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _cle_operation(),
        sa.Column("moment", sa.String(10), nullable=False),
        sa.Column("chemin", sa.Text(), nullable=False),
        sa.Column("legende", sa.Text()),
        sa.Column("ajoutee_le", sa.DateTime(), nullable=False),
        sa.CheckConstraint("moment IN ('avant', 'apres')", name="ck_photo_moment"),
    )
    op.create_index("ix_photo_operation_id", "photo", ["operation_id"])


def upgrade() -> None:
    _creer_operation()
    _creer_utilisateur_et_journal()
    _creer_zone_financement_photo()


def downgrade() -> None:
    for table in ("photo", "financement", "zone", "journal", "utilisateur", "operation"):
        op.drop_table(table)
