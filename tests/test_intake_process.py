"""The webhook intake runs in an OS process of its own (bot/intake_process.py): a webhook is
acknowledged while the bot's event loop is blocked, the process is restarted when it dies and dies
with the bot, and what it acknowledged is stored exactly once whichever process is killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
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

from bot import intake_process
from bot.config import load_settings
from bot.intake_process import IntakeDatabase
from bot.runtime import Runtime
from bot.sandbox import LocalSlack
from services.jobs import Job
from services.models import WebhookDelivery
from services.webhook import sign_delivery
from tests.harness import MEETINGS_CHANNEL, SECRET, running_bot
from tests.helpers import load_fixture

BLOCK_SECONDS = 2.0
ACK_BOUND = 1.0  # generous on a loaded 2-core machine; the ordering below is the real assertion


def _alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def _health(url: str) -> dict[str, Any]:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(url) as r:
        return dict(await r.json())


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

        async def stored() -> bool:  # committed (to the inbox), then moved into the database
            async with bot.runtime.db.read_session() as s:
                status = await s.scalar(
                    select(WebhookDelivery.status).where(WebhookDelivery.recording_id == 881_001)
                )
            return status == "accepted"

        await bot.wait_for(stored, timeout=30)
        await bot.wait_for(lambda: len(bot.parents()) == 1, timeout=30)  # the main loop's workers woke up


async def test_a_webhook_is_acknowledged_by_the_intake_process_and_carded(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        status, reply = await bot.send("partner_sync", recording_id=881_100)
        assert (status, reply["status"]) == (202, "accepted")
        await bot.wait_for(lambda: len(bot.parents()) == 1, timeout=30)  # moved, then carded
        health = await _health(bot.webhook_url.replace("/webhooks/fathom", "/healthz"))
        intake = bot.runtime.intake_process
        assert intake is not None
        # /healthz is answered by the intake process, with the bot's own sections asked over its socket
        assert health["intake"]["pid"] == intake.pid != os.getpid(), health
        assert health["intake"]["ok"] is True and health["intake"]["restarts"] == 0
        assert health["slack"]["ok"] is True and health["jobs"]["ok"] is True


async def test_a_killed_intake_process_is_restarted_and_the_next_delivery_acked(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        intake = bot.runtime.intake_process
        assert intake is not None and intake.pid is not None
        first = intake.pid
        os.kill(first, signal.SIGKILL)
        # sent at once: the port stays open in the bot, the delivery waits for the new process
        status, reply = await bot.send("partner_sync", recording_id=881_200)
        assert (status, reply["status"]) == (202, "accepted")
        assert intake.restarts == 1 and intake.pid not in (None, first)
        await bot.wait_for(lambda: len(bot.parents()) == 1, timeout=30)
        health = await _health(bot.webhook_url.replace("/webhooks/fathom", "/healthz"))
        assert health["intake"]["restarts"] == 1 and health["intake"]["last_exit"] == -signal.SIGKILL
        assert health["ok"] is True, health


async def test_stop_ends_the_intake_process_and_frees_the_port(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        intake = bot.runtime.intake_process
        assert intake is not None and intake.pid is not None
        pid, port = intake.pid, bot.runtime.http_port
        assert pid != os.getpid() and _alive(pid)
    assert not _alive(pid)  # stop() waited for it
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
        assert runtime.intake_process is not None and runtime.intake_process.pid is None


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

        monkeypatch.setattr(intake_process, "LOCK_WAIT", 0.2)
        await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
        try:
            with pytest.raises(OperationalError, match="locked"):  # held for good: a clear error (503)
                await write()
        finally:
            await asyncio.to_thread(holder.execute, "ROLLBACK")
            holder.close()
    finally:
        await db.dispose()


async def test_kill_9_after_the_acks_loses_nothing_and_the_restart_moves_the_inbox(tmp_path: Path) -> None:
    """Acks while the main database's write lock is held by someone else: the deliveries are in the
    inbox only. kill -9 the bot: its intake process exits (no orphan holding the port). Release the
    lock, start again: every delivery is stored once, with its job, and carded once; a retry of one
    of them (same webhook-id) is answered 200 duplicate."""
    import aiohttp

    from services.db import Database
    from tests.support.bot_process import bot_env, start_bot

    slack = await LocalSlack.start()
    env = bot_env(slack)
    main = tmp_path / "data" / "fathom_os.sqlite3"
    recordings = [950_000 + n for n in range(5)]
    signed = []
    for rid in recordings:
        body = json.dumps({**load_fixture("partner_sync"), "recording_id": rid}).encode()
        signed.append((body, sign_delivery(SECRET, body)))
    proc, webhook = await start_bot(tmp_path, env)
    lock = sqlite3.connect(main, isolation_level=None, timeout=30)
    holder: sqlite3.Connection | None = lock
    db = Database(f"sqlite+aiosqlite:///{main}")
    try:
        lock.execute("BEGIN IMMEDIATE")  # nothing can be moved into the main database now
        async with aiohttp.ClientSession() as http:

            async def post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
                async with http.post(webhook, data=body, headers=headers) as r:
                    return r.status, (await r.json())["status"]

            replies = await asyncio.wait_for(asyncio.gather(*[post(b, h) for b, h in signed]), 30)
            assert replies == [(202, "accepted")] * len(recordings)
            inbox = sqlite3.connect(main.with_name("fathom_os.intake.sqlite3"))
            pending = sorted(r for (r,) in inbox.execute("SELECT recording_id FROM inbox WHERE moved = 0"))
            inbox.close()
            assert pending == recordings  # durable before the 2xx, not yet in the main database
            async with http.get(webhook.replace("/webhooks/fathom", "/healthz")) as r:
                child = int((await r.json())["intake"]["pid"])
            assert _alive(child)
            proc.kill()  # SIGKILL with everything still in the inbox
            await proc.wait()
            deadline = time.monotonic() + 30
            while _alive(child):  # it sees its control socket close and exits
                assert time.monotonic() < deadline, "the intake process outlived the bot"
                await asyncio.sleep(0.05)
            lock.execute("ROLLBACK")
            lock.close()
            holder = None
            proc, webhook = await start_bot(tmp_path, env)
            assert await post(*signed[0]) == (200, "duplicate")

        async def stored() -> tuple[list[int], int]:
            async with db.read_session() as s:
                rows = (
                    await s.scalars(
                        select(WebhookDelivery.recording_id).where(WebhookDelivery.status == "accepted")
                    )
                ).all()
                jobs = await s.scalar(text("SELECT count(*) FROM jobs WHERE kind = 'meeting.ingest'"))
            return sorted(r for r in rows if r is not None), int(jobs or 0)

        async def done() -> int:
            async with db.read_session() as s:
                n = await s.scalar(
                    text("SELECT count(*) FROM jobs WHERE kind = 'meeting.ingest' AND status = 'done'")
                )
            return int(n or 0)

        deadline = time.monotonic() + 60
        while (state := await stored()) != (recordings, len(recordings)) or await done() < len(recordings):
            assert time.monotonic() < deadline, f"after the restart: {state}"
            await asyncio.sleep(0.05)
        proc.send_signal(15)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert await stored() == (recordings, len(recordings))  # nothing stored twice
        titles = [m.get("text", "") for m in slack.messages(MEETINGS_CHANNEL)]
        assert len(titles) == len(recordings), titles  # every ingest job done: one card each
    finally:
        if holder is not None:
            holder.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await db.dispose()
        await slack.stop()


async def test_the_inbox_answers_duplicates_and_keeps_moved_ids(tmp_path: Path) -> None:
    from bot.db import upgrade
    from services.db import Database
    from services.intake_inbox import IntakeInbox
    from services.webhook import _Pending

    main = tmp_path / "x.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{main}")
    await upgrade(db)
    async with db.session() as s:
        s.add(WebhookDelivery(webhook_id="msg_0", recording_id=8, status="accepted", body=b"{}"))
    await db.dispose()
    inbox = IntakeInbox(tmp_path / "x.intake.sqlite3", main=str(main))
    try:
        first = inbox.put(
            [_Pending("msg_1", 7, b"{}"), _Pending("msg_2", 7, b"{}"), _Pending("msg_1", 7, b"{}")]
        )
        assert [r.status for r in first] == ["accepted", "duplicate", "duplicate"]
        # what the main database already has (recording 8) is a duplicate before it is ever moved
        assert [r.status for r in inbox.put([_Pending("msg_3", 8, b"{}")])] == ["duplicate"]
        assert [w for w, *_ in inbox.pending()] == ["msg_1", "msg_2", "msg_3"]
        inbox.mark_moved(["msg_1", "msg_2"])
        assert [w for w, *_ in inbox.pending()] == ["msg_3"]
        retry = inbox.put([_Pending("msg_1", 7, b"{}"), _Pending("msg_4", 7, b"{}")])  # moved ids are kept
        assert [(r.status, r.reason) for r in retry] == [
            ("duplicate", "webhook-id already received"),
            ("duplicate", "recording_id already received"),
        ]
    finally:
        inbox.close()


async def test_the_inbox_answers_what_the_main_database_has_as_duplicate(tmp_path: Path) -> None:
    """A recording the main database already accepted (e.g. from reconciliation) and a webhook-id
    it already stored are duplicates in the inbox, read from the main file without its write lock."""
    from bot.db import upgrade
    from services.db import Database
    from services.intake_inbox import IntakeInbox
    from services.webhook import _Pending

    main = tmp_path / "main.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{main}")
    await upgrade(db)
    async with db.session() as s:
        s.add(WebhookDelivery(webhook_id="msg_old", recording_id=70, status="accepted", body=b"{}"))
    holder = sqlite3.connect(main, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the main database's writer is busy: the intake reads anyway
    inbox = IntakeInbox(tmp_path / "main.intake.sqlite3", main=str(main))
    try:
        receipts = inbox.put(
            [_Pending("msg_new", 70, b"{}"), _Pending("msg_old", 71, b"{}"), _Pending("msg_x", 72, b"{}")]
        )
        assert [(r.status, r.reason) for r in receipts] == [
            ("duplicate", "recording_id already received"),
            ("duplicate", "webhook-id already received"),
            ("accepted", None),
        ]
    finally:
        inbox.close()
        holder.execute("ROLLBACK")
        holder.close()
        await db.dispose()


def _silent_intake(tmp_path: Path) -> Any:
    """An IntakeProcess whose child never says "ready" (it only sleeps)."""
    config = intake_process.IntakeConfig(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", secrets=["s"], inbox=None,
        max_bytes=1 << 20, header_timeout=5, body_timeout=5, max_connections=10, lease_seconds=30,
        max_attempts=3,
    )  # fmt: skip

    async def metrics() -> tuple[bytes, str]:
        return b"", "text/plain"

    return intake_process.IntakeProcess(
        config, host="127.0.0.1", port=0, probes={}, metrics=metrics, notify=lambda: None
    )


async def test_a_child_that_never_serves_is_killed_not_left_running(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(intake_process, "ENTRY", ["-c", "import time; time.sleep(600)"])
    monkeypatch.setattr(intake_process, "START_TIMEOUT", 0.5)
    intake = _silent_intake(tmp_path)
    await intake.start()
    child = intake._child
    assert child is not None and child.proc.returncode is None
    with pytest.raises(TimeoutError):
        await intake.ready()
    assert child.proc.returncode is not None  # killed: it would hold webhook connections unanswered
    assert child.link.writer.is_closing()
    await intake.stop()
