"""Main-loop units of work that only look take no SQLite write lock (#15, docs/benchmarks.md).

The webhook intake's insert waits for SQLite's single write lock; every main-loop unit of work that
took it only to read (a job poll that finds nothing due, a message-ref lookup) made it wait longer.
Here another connection holds the write lock (`BEGIN IMMEDIATE`, checked: a third connection cannot
take it) while the call runs; it must return while the lock is still held. Before the change each
of these started `BEGIN IMMEDIATE` itself and waited for the busy timeout (30 s): `wait_for` fails.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import make_url

from services.db import Database
from services.jobs import JobQueue
from services.models import SlackMessageRef
from services.slack.gateway import MessageRef, SlackGateway


@contextmanager
def write_lock_held(db: Database) -> Iterator[None]:
    path = make_url(db.url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # the lock really is held
            other.execute("BEGIN IMMEDIATE")
        other.close()
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_a_job_poll_that_finds_nothing_takes_no_write_lock(db: Database) -> None:
    queue = JobQueue(db)
    with write_lock_held(db):
        assert await asyncio.wait_for(queue.claim(limit=2), 10) == []


async def test_a_due_job_is_still_claimed_once(db: Database) -> None:
    queue, other = JobQueue(db), JobQueue(db)
    await queue.submit("ingest", {"delivery_id": 1})
    first, second = await asyncio.gather(queue.claim(limit=1), other.claim(limit=1))
    assert len(first) + len(second) == 1  # the guarded UPDATE settles the race of two pollers


async def test_message_ref_lookups_take_no_write_lock(db: Database) -> None:
    async with db.session() as s:
        s.add(SlackMessageRef(entity="meeting:1", channel="C1", ts="1.000100", thread_ts=None))
    gateway = SlackGateway(AsyncWebClient(token="xoxb-test", base_url="http://127.0.0.1:9/"), db)
    with write_lock_held(db):
        assert await asyncio.wait_for(gateway.ref("meeting:1"), 10) == MessageRef("C1", "1.000100", None)
        refs = await asyncio.wait_for(SlackGateway(gateway.client, db).refs(["meeting:1", "item:9"]), 10)
    assert refs == {"meeting:1": MessageRef("C1", "1.000100", None)}
