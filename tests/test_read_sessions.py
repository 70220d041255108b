"""Read-only units of work take no write lock: the webhook intake's insert never queues behind one.

Real SQLite file (WAL), the real intake behind the real HTTP server, a signed Fathom delivery.
With `db.session()` in place of `db.read_session()` below, the post waits for SQLite's busy timeout
(30 s) and the `wait_for` fails.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from services.db import Database, ReadOnlySessionError
from services.models import Meeting, WebhookDelivery
from services.webhook import sign_delivery
from tests.support.webhook import SECRET, body_of, serving


async def test_an_open_read_session_does_not_block_the_intakes_write(db: Database) -> None:
    async with serving(db) as server:
        async with db.read_session() as reader:
            before = await reader.scalar(select(func.count()).select_from(WebhookDelivery))
            body = body_of(recording_id=555_001)
            status, reply = await asyncio.wait_for(server.post(body, sign_delivery(SECRET, body)), 10)
            assert status == 202 and reply["status"] == "accepted"
            # still inside the read's snapshot: it sees what it saw when it started
            assert await reader.scalar(select(func.count()).select_from(WebhookDelivery)) == before
        assert await server.count(WebhookDelivery, status="accepted") == 1


async def test_many_open_reads_and_the_intake_at_once(db: Database) -> None:
    release = asyncio.Event()
    reading = 0
    all_reading = asyncio.Event()

    async def reader() -> None:
        nonlocal reading
        async with db.read_session() as s:
            await s.scalar(select(func.count()).select_from(Meeting))
            reading += 1
            if reading == 5:
                all_reading.set()
            await release.wait()

    async with serving(db) as server:
        readers = [asyncio.create_task(reader()) for _ in range(5)]
        await asyncio.wait_for(all_reading.wait(), 10)
        for i in range(3):
            body = body_of(recording_id=555_100 + i)
            status, _ = await asyncio.wait_for(server.post(body, sign_delivery(SECRET, body)), 10)
            assert status == 202
        release.set()
        await asyncio.gather(*readers)
        assert await server.count(WebhookDelivery, status="accepted") == 3


async def test_a_write_inside_a_read_session_is_refused(db: Database) -> None:
    with pytest.raises(ReadOnlySessionError):
        async with db.read_session() as s:
            s.add(WebhookDelivery(webhook_id="msg_x", status="accepted", body=b"{}"))
            await s.flush()
    async with db.read_session() as s:
        assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


async def test_objects_read_in_a_read_session_stay_usable_after_it(db: Database) -> None:
    async with db.session() as s:
        s.add(WebhookDelivery(webhook_id="msg_y", status="accepted", body=b"{}", recording_id=7))
    async with db.read_session() as s:
        delivery = await s.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == "msg_y"))
    assert delivery is not None and delivery.recording_id == 7 and delivery.body == b"{}"
