"""slack_message_refs, slack_pending_posts: drop the rows of reminder messages whose claims are settled

Revision ID: 0013
Revises: 0012

Since d578ee4 a reminder claim that is settled (sent, skipped) or released deletes its message's ref
and pending marker in the same transaction. Reminders settled before that left them behind for good:
nothing sends under a settled claim's post key again. This deletes the ones whose post key belongs
to a settled claim and to no claim still open (a message's claims are settled together, but a claim
still `claimed` under the same key may yet be taken over and needs the ref to update, not repost).
Meeting cards and other refs are never post keys and are filtered out by prefix besides. Refs left
by claims released before d578ee4 (their rows deleted, so no claim names them) are not touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SETTLED = ("sent", "skipped")

reminders_sent = sa.table("reminders_sent", sa.column("status", sa.String), sa.column("post_key", sa.String))
gateway_rows = [
    sa.table("slack_message_refs", sa.column("entity", sa.String)),
    sa.table("slack_pending_posts", sa.column("entity", sa.String)),
]


def upgrade() -> None:
    keyed = reminders_sent.c.post_key.is_not(None)
    settled = sa.select(reminders_sent.c.post_key).where(keyed, reminders_sent.c.status.in_(SETTLED))
    open_ = sa.select(reminders_sent.c.post_key).where(keyed, reminders_sent.c.status.not_in(SETTLED))
    for table in gateway_rows:
        entity = table.c.entity
        op.execute(
            sa.delete(table).where(entity.like("reminder:%"), entity.in_(settled), entity.not_in(open_))
        )


def downgrade() -> None:
    """Nothing to undo: the deleted rows are not recoverable, and no schema changed."""
