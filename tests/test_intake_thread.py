"""The webhook intake runs on its own thread and event loop (bot/intake_thread.py): a webhook is
acknowledged while the main event loop is blocked, and stopping the bot stops that thread."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError

from bot import intake_thread
from bot.config import load_settings
from bot.intake_thread import IntakeDatabase
from bot.runtime import Runtime
from bot.sandbox import LocalSlack
from services.jobs import Job
from services.models import WebhookDelivery
from services.webhook import sign_delivery
from tests.harness import SECRET, running_bot
from tests.helpers import load_fixture

BLOCK_SECONDS = 2.0
ACK_BOUND = 1.0  # generous on a loaded 2-core machine; the ordering below is the real assertion


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers=sign_delivery(SECRET, body), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - a local test server
        return int(response.status)


async def test_a_webhook_is_acknowledged_while_a_job_blocks_the_main_loop(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        blocking = threading.Event()
        seen: dict[str, Any] = {}

        async def block_the_loop(_job: Job) -> None:  # a handler that never yields: time.sleep
            blocking.set()
            time.sleep(BLOCK_SECONDS)
            seen["unblocked_at"] = time.monotonic()

        assert bot.runtime.worker is not None
        bot.runtime.worker.handlers["test.block"] = block_the_loop
        body = json.dumps({**load_fixture("partner_sync"), "recording_id": 881_001}).encode()

        def sender() -> None:  # another thread: the main loop cannot send while it is blocked
            assert blocking.wait(30), "the blocking job never started"
            started = time.monotonic()
            seen["status"] = _post(bot.webhook_url, body)
            seen["acked_at"] = time.monotonic()
            seen["latency"] = seen["acked_at"] - started

        thread = threading.Thread(target=sender)
        thread.start()
        await bot.runtime.queue.submit("test.block", {})
        await bot.wait_for(lambda: "unblocked_at" in seen and not thread.is_alive(), timeout=60)
        thread.join()

        assert seen["status"] == 202
        assert seen["acked_at"] < seen["unblocked_at"], seen  # answered while the main loop was blocked
        assert seen["latency"] < ACK_BOUND, seen
        async with bot.runtime.db.read_session() as s:  # and it was committed, not only answered
            stored = await s.scalar(
                select(WebhookDelivery.status).where(WebhookDelivery.recording_id == 881_001)
            )
        assert stored == "accepted"
        await bot.wait_for(lambda: len(bot.parents()) == 1, timeout=30)  # the main loop's workers woke up


async def test_stop_ends_the_intake_thread_and_frees_the_port(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        server = bot.runtime.intake_server
        assert server is not None and server.thread is not None
        thread, port = server.thread, bot.runtime.http_port
        assert thread.is_alive() and thread.name == "fathom-intake"
    assert not thread.is_alive()
    with socket.socket() as probe:  # the listening socket is closed: the port can be bound again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


async def test_a_port_in_use_fails_start_with_the_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        slack = await LocalSlack.start()
        settings = load_settings(
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
            OS_REPO_PATH=str(tmp_path / "os"),
            FATHOM_WEBHOOK_SECRET=SECRET,
            WEBHOOK_PORT=taken.getsockname()[1],
        )
        runtime = Runtime(settings, sandbox_slack=slack)
        try:
            with pytest.raises(OSError):
                await runtime.start()
        finally:
            await runtime.stop()
            await slack.stop()
        assert runtime.intake_server is not None and runtime.intake_server.thread is None


async def test_intake_write_tries_for_a_held_lock_then_succeeds_or_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "intake.sqlite3"
    db = IntakeDatabase(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.session() as s:
            await s.execute(text("CREATE TABLE t (x INTEGER)"))
        refused = threading.Event()
        event.listen(db.engine.sync_engine, "handle_error", lambda _ctx: refused.set())
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")  # another writer holds the lock

        async def write() -> None:
            async with db.write_session() as s:
                await s.execute(text("INSERT INTO t VALUES (1)"))

        task = asyncio.create_task(write())
        assert await asyncio.to_thread(refused.wait, 30)  # a try was refused: the write is waiting
        assert not task.done()
        await asyncio.to_thread(holder.execute, "ROLLBACK")
        await asyncio.wait_for(task, 30)  # the next try gets the lock
        async with db.read_session() as s:
            assert await s.scalar(text("SELECT count(*) FROM t")) == 1

        monkeypatch.setattr(intake_thread, "LOCK_WAIT", 0.2)
        await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
        try:
            with pytest.raises(OperationalError, match="locked"):  # held for good: a clear error (503)
                await write()
        finally:
            await asyncio.to_thread(holder.execute, "ROLLBACK")
            holder.close()
    finally:
        await db.dispose()
