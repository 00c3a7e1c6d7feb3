"""Surface végétalisée des opérations (m², facultative) : colonne ``operation.surface_vegetalisee_m2``.

Révision : 0002
Précédente : 0001

Figé : n'importe rien du magasin. Les opérations existantes gardent la colonne vide (inconnue).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("operation", sa.Column("surface_vegetalisee_m2", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operation") as table:
        table.drop_column("surface_vegetalisee_m2")
