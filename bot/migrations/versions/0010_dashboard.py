"""meeting_facts, meeting_speakers, chart_cache: the dashboard's numbers as plain SQL, uploaded charts (#20)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_facts",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("week", sa.Date(), nullable=True),
        sa.Column("client_slug", sa.String(length=120), nullable=True),
        sa.Column("client_domain", sa.String(length=255), nullable=True),
        sa.Column("primary_type", sa.String(length=40), nullable=False),
        sa.Column("scheduled_seconds", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("action_items", sa.Integer(), nullable=False),
        sa.Column("risks", sa.Integer(), nullable=False),
        sa.Column("sentiment", sa.Numeric(6, 4), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("meeting_id"),
    )
    op.create_index("ix_meeting_facts_started_at", "meeting_facts", ["started_at"])
    op.create_index("ix_meeting_facts_week", "meeting_facts", ["week"])
    op.create_index("ix_meeting_facts_client_slug", "meeting_facts", ["client_slug"])
    op.create_table(
        "meeting_speakers",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("is_external", sa.Boolean(), nullable=False),
        sa.Column("talk_seconds", sa.Integer(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("sentiment", sa.Numeric(6, 4), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("meeting_id", "speaker"),
    )
    op.create_index("ix_meeting_speakers_email", "meeting_speakers", ["email"])
    op.create_table(
        "chart_cache",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("data_hash", sa.String(length=64), nullable=False),
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.Column("alt_text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("chart_cache")
    op.drop_index("ix_meeting_speakers_email", table_name="meeting_speakers")
    op.drop_table("meeting_speakers")
    op.drop_index("ix_meeting_facts_client_slug", table_name="meeting_facts")
    op.drop_index("ix_meeting_facts_week", table_name="meeting_facts")
    op.drop_index("ix_meeting_facts_started_at", table_name="meeting_facts")
    op.drop_table("meeting_facts")
