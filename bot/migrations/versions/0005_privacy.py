"""privacy: redaction records (counts by kind per meeting), erasure records, transcript purge mark

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.add_column(sa.Column("transcript_purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "redaction_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "meeting_id", sa.Integer(), sa.ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "purpose", name="uq_redaction_records_meeting_purpose"),
    )
    op.create_index("ix_redaction_records_meeting_id", "redaction_records", ["meeting_id"])
    op.create_table(
        "erasure_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_erasure_records_at", "erasure_records", ["at"])


def downgrade() -> None:
    op.drop_index("ix_erasure_records_at", table_name="erasure_records")
    op.drop_table("erasure_records")
    op.drop_index("ix_redaction_records_meeting_id", table_name="redaction_records")
    op.drop_table("redaction_records")
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.drop_column("transcript_purged_at")
