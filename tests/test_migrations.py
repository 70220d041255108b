"""Alembic migrations create exactly what the ORM models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select, text

from bot.db import alembic_config, current_revision, upgrade
from services.clock import utcnow
from services.db import Database
from services.models import Base, ReminderSent, SlackMessageRef, SlackPendingPost

PG_URL = os.environ.get("TEST_DATABASE_URL")


async def test_migrations_match_models(any_db: Database) -> None:
    async with any_db.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    # search tables created by raw SQL in migrations are not ORM models
    diff = [d for d in diff if not _search_table(d)]
    assert diff == []


def _search_table(change: tuple) -> bool:  # type: ignore[type-arg]
    kind, obj = change[0], change[1]
    table = obj if kind == "remove_table" else getattr(obj, "table", None)
    return kind in ("remove_table", "remove_index") and str(getattr(table, "name", "")).startswith("search")


async def test_upgrade_is_idempotent_and_records_the_head(any_db: Database) -> None:
    before = await current_revision(any_db)
    await upgrade(any_db)
    assert await current_revision(any_db) == before
    async with any_db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"webhook_deliveries", "jobs", "meetings", "action_items", "audit_log", "reminders_sent"} <= tables


async def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    from sqlalchemy import text

    async with db.engine.connect() as conn:
        mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
    assert mode == "wal"


@pytest.fixture(params=["sqlite", "postgres"])
async def db_at_0012(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database migrated only to 0012 (before refs of settled reminders were purged), both engines."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'at_0012.sqlite3'}")
        await upgrade(database, "0012")
        yield database
        await database.dispose()
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL not set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade(database, "0012")
        yield database
    finally:
        await database.dispose()
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def test_upgrade_purges_only_the_refs_of_settled_reminder_claims(db_at_0012: Database) -> None:
    """Refs and pending markers left by reminders settled before claims took them along go; those of
    a claim still open (one message's claim may still be taken over) and a meeting card's stay."""
    db = db_at_0012
    day = date(2026, 1, 14)
    sent, skipped, live, shared = (f"reminder:U02JONAS:{n:012x}" for n in range(4))
    claims = [
        ("due", "item:1", sent, "sent"),
        ("overdue", "item:2", skipped, "skipped"),  # a taken-over DM whose items were done since
        ("due", "item:3", live, "claimed"),
        ("due", "item:4", shared, "sent"),  # one DM's claims: one settled, one still open
        ("due", "item:5", shared, "claimed"),
        ("digest", "user:U02JONAS", None, "sent"),  # a claim from before post keys
    ]
    async with db.session() as s:
        await s.execute(
            insert(ReminderSent),
            [
                {"kind": kind, "subject": subject, "day": day, "recipient": "U02JONAS", "status": status,
                 "sent_at": utcnow(), "holder": "host:1:abc", "leased_until": utcnow() + timedelta(minutes=10),
                 "post_key": key}
                for kind, subject, key, status in claims
            ],
        )  # fmt: skip
        await s.execute(
            insert(SlackMessageRef),
            [
                {"entity": e, "channel": "D02JONAS", "ts": f"170000000{i}.000100"}
                for i, e in enumerate((sent, live, shared))
            ]
            + [{"entity": "meeting:1", "channel": "C02MEETINGS", "ts": "1700000009.000100"}],
        )
        await s.execute(
            insert(SlackPendingPost),
            [{"entity": e, "channel": "D02JONAS", "started_at": utcnow()} for e in (skipped, live)]
            + [{"entity": "meeting:2", "channel": "C02MEETINGS", "started_at": utcnow()}],
        )

    await upgrade(db)

    assert await current_revision(db) == ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with db.session() as s:
        refs = sorted((await s.scalars(select(SlackMessageRef.entity))).all())
        pending = sorted((await s.scalars(select(SlackPendingPost.entity))).all())
        statuses = sorted((await s.scalars(select(ReminderSent.status))).all())
    assert refs == sorted(["meeting:1", live, shared])
    assert pending == sorted(["meeting:2", live])
    assert statuses == ["claimed", "claimed", "sent", "sent", "sent", "skipped"]  # claims untouched
