"""The unit of work on SQLite: concurrent read-then-write sessions never fail with "database is locked"."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from services.db import Database
from services.models import AuditLog


async def test_concurrent_read_then_write_units_of_work_all_commit(any_db: Database) -> None:
    async def unit(i: int) -> None:
        async with any_db.session() as s:
            await s.scalar(select(func.count()).select_from(AuditLog))
            await asyncio.sleep(0.01)  # other units commit meanwhile: a stale snapshot on SQLite
            s.add(AuditLog(actor="test", action="write", entity=f"e{i}"))

    await asyncio.gather(*[unit(i) for i in range(20)])
    async with any_db.session() as s:
        assert await s.scalar(select(func.count()).select_from(AuditLog)) == 20


async def test_a_failed_unit_of_work_leaves_nothing_behind(db: Database) -> None:
    try:
        async with db.session() as s:
            s.add(AuditLog(actor="test", action="write", entity="lost"))
            await s.flush()
            raise RuntimeError("crash mid-work")
    except RuntimeError:
        pass
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(AuditLog)) == 0
