"""reminders_sent: holder, lease and post key, so a claim left by a killed process is re-sent once (#17)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminders_sent") as batch:
        batch.add_column(sa.Column("holder", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("post_key", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminders_sent") as batch:
        batch.drop_column("post_key")
        batch.drop_column("leased_until")
        batch.drop_column("holder")
