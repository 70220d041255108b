"""full-text search over meetings (SQLite FTS5, PostgreSQL tsvector) and meeting attendees

Revision ID: 0002
Revises: 0001

The search tables are not ORM models: FTS5 is a virtual table (with shadow tables of its own) and
the PostgreSQL variant carries a generated tsvector column, neither of which the ORM should manage.
Both are derived data, rebuilt by `services.search.SearchIndex.index_meeting`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_attendees",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "meeting_id", sa.Integer(), sa.ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False
        ),
        sa.PrimaryKeyConstraint("email", "meeting_id"),
    )
    # No extra index on meeting_id: reindexing deletes by it, a cheap scan of a small table, and
    # tests/test_migrations.py compares indexes against the ORM (which does not know this table).
    if op.get_bind().dialect.name == "sqlite":
        # One column per passage kind so bm25() can weigh titles above transcript lines.
        # rowid = meeting_id * 100000 + n: a meeting's rows are deleted by rowid range, no scan.
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "title, summary, decision, line, meeting_id UNINDEXED, kind UNINDEXED, "
            "ts UNINDEXED, seconds UNINDEXED, tokenize='porter unicode61')"
        )
        return
    op.execute(
        "CREATE TABLE search_passages ("
        " id BIGSERIAL PRIMARY KEY,"
        " meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,"
        " kind VARCHAR(16) NOT NULL,"
        " ts VARCHAR(16),"
        " seconds INTEGER,"
        " body TEXT NOT NULL,"
        " tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED)"
    )
    op.execute("CREATE INDEX ix_search_passages_tsv ON search_passages USING GIN (tsv)")
    op.execute("CREATE INDEX ix_search_passages_meeting ON search_passages (meeting_id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        op.execute("DROP TABLE IF EXISTS search_passages")
    op.drop_table("search_attendees")
