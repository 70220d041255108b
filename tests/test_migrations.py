"""Alembic migrations create exactly what the ORM models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db import current_revision
from services.db import Database
from services.models import Base


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
    from bot.db import upgrade

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
