"""Jeton de soumission des opérations : colonne ``operation.jeton_soumission`` et index unique.

Révision : 0003
Précédente : 0002

Le formulaire de saisie crée un jeton (uuid) à son ouverture et le passe au magasin avec la création :
un second envoi du même jeton (double clic, relance de la page, deux envois simultanés) retrouve
l'opération déjà créée au lieu d'en créer une autre. L'index unique en est la garantie, même en
concurrence. Les opérations existantes gardent la colonne vide (plusieurs valeurs vides sont permises).

Figé : n'importe rien du magasin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("operation", sa.Column("jeton_soumission", sa.String(64), nullable=True))
    op.create_index("ix_operation_jeton_soumission", "operation", ["jeton_soumission"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_operation_jeton_soumission", table_name="operation")
    with op.batch_alter_table("operation") as table:
        table.drop_column("jeton_soumission")
