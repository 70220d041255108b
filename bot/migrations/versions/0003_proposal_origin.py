"""proposal origin: analysis or audit, so a re-analysis only supersedes its own proposals

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("os_proposals") as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=20), server_default="analysis", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("os_proposals") as batch_op:
        batch_op.drop_column("origin")
