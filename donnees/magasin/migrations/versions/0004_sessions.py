"""Sessions de connexion persistantes et révocables : table ``session_utilisateur``.

Révision : 0004
Précédente : 0003

Une ligne par session ouverte à la connexion : empreinte SHA-256 du jeton (jamais le jeton lui-même),
compte, création, dernière activité, expiration absolue, révocation (heure et motif), agent utilisateur.
Les bases existantes n'ont aucune session : chacun se reconnecte une fois après la mise à niveau.

Figé : n'importe rien du magasin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_utilisateur",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("empreinte", sa.String(64), nullable=False, unique=True),
        sa.Column("utilisateur_id", sa.Integer(), sa.ForeignKey("utilisateur.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("cree_le", sa.DateTime(), nullable=False),
        sa.Column("derniere_activite", sa.DateTime(), nullable=False),
        sa.Column("expire_le", sa.DateTime(), nullable=False),
        sa.Column("revoquee_le", sa.DateTime()),
        sa.Column("motif_revocation", sa.String(20)),
        sa.Column("agent", sa.Text()),
    )
    op.create_index("ix_session_utilisateur_utilisateur_id", "session_utilisateur", ["utilisateur_id"])


def downgrade() -> None:
    op.drop_index("ix_session_utilisateur_utilisateur_id", table_name="session_utilisateur")
    op.drop_table("session_utilisateur")
