"""proposal why: the reason a change is proposed, shown on the approval card

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("os_proposals") as batch_op:
        batch_op.add_column(sa.Column("why", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("os_proposals") as batch_op:
        batch_op.drop_column("why")
