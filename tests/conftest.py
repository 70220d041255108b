"""Shared fixtures: real SQLite files (and PostgreSQL when TEST_DATABASE_URL is set), fixtures on disk."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.db import upgrade
from services.db import Database
from tests.helpers import load_fixture
from tests.support.access import World, visibility_world

PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture
def fixture_payload() -> Any:
    return load_fixture


async def _sqlite_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}")
    await upgrade(db)
    return db


async def _postgres_db() -> tuple[Database, str]:
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    db = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    await upgrade(db)
    return db, schema


async def _drop_schema(schema: str) -> None:
    admin = Database(PG_URL or "")
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await _sqlite_db(tmp_path)
    yield database
    await database.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """Storage tests run on both engines; PostgreSQL is skipped with a reason when not configured."""
    if request.param == "sqlite":
        database = await _sqlite_db(tmp_path)
        yield database
        await database.dispose()
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL not set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)")
    database, schema = await _postgres_db()
    yield database
    await database.dispose()
    await _drop_schema(schema)


@pytest.fixture
async def world(any_db: Database) -> AsyncIterator[World]:
    """Every fixture meeting carded in the local Slack, with an outsider, attendees, a channel member
    and an admin (tests/support/access.py); on both engines, like any_db."""
    async with visibility_world(any_db) as built:
        yield built
