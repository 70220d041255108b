"""Several `fathom-os run` instances on one database (#17 item 6).

The unit test (SQLite and PostgreSQL): a Slack event re-delivered to another instance's app is handled
once. The process test (PostgreSQL only): two real `fathom-os run` subprocesses on one database and one
local Slack server, webhooks spread over both, one killed with SIGKILL half-way: every meeting is
carded exactly once with its items, and every due-date reminder of the people whose items are due
today is DMed exactly once (both schedulers ticking every REMINDER_INTERVAL_SECONDS).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bot.config import load_settings
from bot.container import build
from bot.db import upgrade
from bot.runtime import Runtime
from bot.sandbox import LocalSlack
from bot.slack_app import create_app
from services.db import Database
from services.models import Job, SeenEvent
from services.slack.gateway import RateGate
from services.webhook import sign_delivery
from tests.harness import MEETINGS_CHANNEL, SECRET
from tests.helpers import load_fixture
from tests.support.bot_process import bot_env, carded_state, start_bot
from tests.support.reminders import (
    due_claims,
    due_dms,
    due_today,
    last_tick,
    ticks_after,
    until,
    working_zone,
)

PG_URL = os.environ.get("TEST_DATABASE_URL")
needs_pg = pytest.mark.skipif(
    not PG_URL, reason="TEST_DATABASE_URL not set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
)


async def _fresh_pg_database() -> str:
    """A new PostgreSQL database (subprocesses get a plain URL, so a schema would not carry over)."""
    assert PG_URL
    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(url: str) -> None:
    assert PG_URL
    admin = Database(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL not set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)")
    url = await _fresh_pg_database()
    yield url
    await _drop_pg_database(url)


def _mention(event_id: str) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T01AGENCY",
        "api_app_id": "A01FATHOM",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "event": {"type": "reaction_added", "user": "U01MAYA", "reaction": "eyes", "item": {"type": "message", "channel": MEETINGS_CHANNEL,
                  "ts": "1700000000.000100"}, "event_ts": "1700000000.000100"},
    }  # fmt: skip


async def test_an_event_redelivered_to_another_instance_is_handled_once(
    tmp_path: Path, shared_url: str
) -> None:
    slack = await LocalSlack.start()
    runtimes = [
        Runtime(load_settings(DATABASE_URL=shared_url, OS_REPO_PATH=str(tmp_path / "os"))) for _ in range(2)
    ]
    handled: list[tuple[str, str]] = []
    arrived = asyncio.Event()
    try:
        await upgrade(runtimes[0].db)
        apps = []
        for name, runtime in zip("ab", runtimes, strict=True):
            client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
            app = create_app(build(runtime.infra, client, RateGate(), MEETINGS_CHANNEL))

            app.event("reaction_added")(_counter(name, handled, arrived))  # no product listener claims it
            apps.append(app)
        a, b = apps
        for app, event_id in (
            (a, "Ev-1"),
            (b, "Ev-1"),
            (a, "Ev-1"),
            (b, "Ev-2"),
            (a, "Ev-2"),
            (b, "Ev-last"),
        ):
            response = await app.async_dispatch(AsyncBoltRequest(body=_mention(event_id), mode="socket_mode"))
            assert response.status == 200
        await asyncio.wait_for(arrived.wait(), 10)  # every decision was made before its dispatch returned
        async with asyncio.timeout(10):
            while len(handled) < 3:  # Ev-1 and Ev-2 run as tasks too: wait for their own arrival
                await asyncio.sleep(0.01)
        assert sorted(e for _, e in handled) == ["Ev-1", "Ev-2", "Ev-last"], handled
        assert dict((e, n) for n, e in handled) == {"Ev-1": "a", "Ev-2": "b", "Ev-last": "b"}
        async with runtimes[0].db.session() as s:
            assert await s.scalar(select(func.count()).select_from(SeenEvent)) == 3
    finally:
        for runtime in runtimes:
            await runtime.db.dispose()
        await slack.stop()


def _counter(name: str, handled: list[tuple[str, str]], arrived: asyncio.Event) -> Any:
    async def count(body: dict[str, Any], ack: Any) -> None:
        await ack()
        handled.append((name, body["event_id"]))
        if body["event_id"] == "Ev-last":
            arrived.set()

    return count


@needs_pg
async def test_two_processes_one_killed_every_meeting_carded_once(tmp_path: Path) -> None:
    url = await _fresh_pg_database()
    slack = await LocalSlack.start()
    zone = working_zone(datetime.now(UTC))
    if zone is None:
        pytest.skip("no time zone has a weekday between 10:00 and 19:00 now (Sat 07:00-Sun 20:00 UTC)")
    env = {**bot_env(slack), "DATABASE_URL": url, "JOB_LEASE_SECONDS": "3", "REMINDER_INTERVAL_SECONDS": "2"}
    db = Database(url)
    meetings = int(os.environ.get("MULTI_INSTANCE_MEETINGS", "40"))  # bench-size: 200
    people = 10  # per half
    procs: list[asyncio.subprocess.Process] = []
    try:
        started = await asyncio.gather(start_bot(tmp_path, env), start_bot(tmp_path, env))  # race on start
        procs = [p for p, _ in started]
        hooks = [w for _, w in started]
        # the first half's reminders are for either scheduler (each tick runs on one instance)
        before = await due_today(db, slack, 0, people, *zone)

        async def send(http: aiohttp.ClientSession, n: int, webhook: str) -> None:
            payload = {**load_fixture("partner_sync"), "recording_id": 950_000 + n, "title": f"Sync {n}"}
            body = json.dumps(payload).encode()
            async with http.post(webhook, data=body, headers=sign_delivery(SECRET, body)) as r:
                assert r.status == 202, await r.text()

        async with aiohttp.ClientSession() as http:
            half = meetings // 2
            await asyncio.gather(*(send(http, n, hooks[n % 2]) for n in range(half)))
            deadline = time.monotonic() + 60
            while not slack.messages(MEETINGS_CHANNEL):  # work is under way on both: kill one now
                assert time.monotonic() < deadline, "no card was ever posted"
                await asyncio.sleep(0.01)

            async def first_half_sent() -> bool:  # all sent before the kill: none waits for a lease
                claims = await due_claims(db, before)
                return claims == {"sent": 2 * people} and all(due_dms(slack, u) for u in before)

            await until("the first half's due-date DMs", first_half_sent)
            procs[0].kill()  # SIGKILL: its claimed jobs wait for their lease to lapse
            await procs[0].wait()
            after = await due_today(db, slack, people, people, *zone)  # only the survivor is left for these
            await asyncio.gather(*(send(http, n, hooks[1]) for n in range(half, meetings)))

        async def every_person_dmed() -> bool:
            return all(due_dms(slack, u) for u in before + after)

        await until("every due-date DM", every_person_dmed)
        seen = await last_tick(db)

        async def later_tick_ran() -> bool:  # the 2nd claim after `seen` means the 1st one's run finished
            return await ticks_after(db, seen) >= 2  # (max_instances=1: no claim while a run is going)

        await until("two later reminder ticks on the survivor", later_tick_ran)
        assert {u: due_dms(slack, u) for u in before + after} == {u: 1 for u in before + after}
        assert await due_claims(db, before + after) == {"sent": 4 * people}

        deadline = time.monotonic() + 180
        while True:
            complete, twice = await carded_state(db, slack)
            async with db.session() as s:
                counts = dict((await s.execute(select(Job.status, func.count()).group_by(Job.status))).all())
            if complete == meetings and set(counts) == {"done"}:
                break
            assert time.monotonic() < deadline, f"{complete}/{meetings} carded, jobs {counts}"
            await asyncio.sleep(0.1)
        titles = [str(p.get("text", "")).split(" — ")[0] for p in slack.messages(MEETINGS_CHANNEL)]
        assert sorted(titles) == sorted(f"Sync {n}" for n in range(meetings)), "a card missing or twice"
        assert not twice, twice
        procs[1].send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(procs[1].wait(), 30) == 0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await db.dispose()
        await slack.stop()
        await _drop_pg_database(url)


async def test_instances_starting_together_create_the_os_once(tmp_path: Path) -> None:
    """Two instances starting at once on one host: one creates the OS, the other adopts it."""
    from services.os_repo import OSRepo

    context = {"agency_name": "Our Agency", "default_channel": MEETINGS_CHANNEL}
    created = await asyncio.gather(*(OSRepo(tmp_path / "os").init(context=context) for _ in range(3)))
    assert sorted(created) == [False, False, True]
    assert len(await OSRepo(tmp_path / "os").history()) == 1
