"""Scheduled jobs run once per tick across instances sharing one database (services/once.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.scheduler import Scheduler, tick_of
from services.db import Database
from services.once import purge_old

NOW = datetime(2026, 12, 1, 10, 31, 20, tzinfo=UTC)


class CountingReminders:
    def __init__(self) -> None:
        self.runs = 0

    async def tick(self) -> None:
        self.runs += 1


async def test_two_schedulers_on_one_database_run_a_tick_once(any_db: Database) -> None:
    reminders = CountingReminders()
    a = Scheduler(reminders, db=any_db)
    b = Scheduler(reminders, db=await second_instance(any_db))
    try:
        ran = await asyncio.gather(
            *(s.run_once("reminders.tick", 60, reminders.tick, now=NOW) for s in (a, b, a, b))
        )
        assert sorted(ran) == [False, False, False, True] and reminders.runs == 1
        # 30 s later, the other instance's timer fires inside the same minute: still that tick
        assert not await b.run_once("reminders.tick", 60, reminders.tick, now=NOW + timedelta(seconds=30))
        # the next minute is a new tick, and another job is its own
        assert await b.run_once("reminders.tick", 60, reminders.tick, now=NOW + timedelta(seconds=41))
        assert await a.run_once("fathom.reconcile", 60, reminders.tick, now=NOW)
        assert reminders.runs == 3
    finally:
        assert b.db is not None
        await b.db.dispose()


async def test_without_a_database_every_instance_runs(db: Database) -> None:
    reminders = CountingReminders()
    a, b = Scheduler(reminders), Scheduler(reminders)
    assert await a.run_once("reminders.tick", 60, reminders.tick, now=NOW)
    assert await b.run_once("reminders.tick", 60, reminders.tick, now=NOW)
    assert reminders.runs == 2


async def test_tick_buckets_and_daily_purge(db: Database) -> None:
    assert tick_of(NOW, 60) == "2026-12-01T10:31:00"
    assert tick_of(NOW, 600) == "2026-12-01T10:30:00"
    assert tick_of(NOW, 86_400) == "2026-12-01"
    scheduler = Scheduler(CountingReminders(), db=db)
    assert await scheduler.run_once("privacy.retention", 86_400, _noop, now=NOW)
    assert await purge_old(db, now=NOW + timedelta(days=1)) == 0  # kept while Slack may retry
    assert await purge_old(db, now=NOW + timedelta(days=3)) == 1
    # purged ticks are in the past: a purge never lets a tick run twice in practice, but the row is gone
    assert await scheduler.run_once("privacy.retention", 86_400, _noop, now=NOW + timedelta(days=3))


async def test_a_database_error_skips_the_tick_instead_of_crashing() -> None:
    broken = Database("sqlite+aiosqlite:////nonexistent-dir/none.sqlite3")
    reminders = CountingReminders()
    try:
        assert not await Scheduler(reminders, db=broken).run_once("reminders.tick", 60, reminders.tick)
        assert reminders.runs == 0
    finally:
        await broken.dispose()


async def _noop() -> None:
    return None


async def second_instance(db: Database) -> Database:
    """A second engine (another instance's) on the same database and schema as `db`."""
    if db.is_sqlite:
        return Database(db.url)
    async with db.session() as s:
        schema = (await s.execute(text("SELECT current_schema()"))).scalar_one()
    return Database(db.url, connect_args={"server_settings": {"search_path": schema}})
