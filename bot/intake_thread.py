"""The webhook intake on its own thread and event loop, so an ack never waits behind the bot's work.

The main loop runs the job workers, publishing, Block Kit rendering and the Socket Mode client; under
analysis it is busy most of the time, and a webhook served there waits for each of those steps to
yield. Here the aiohttp server (`POST /webhooks/fathom`, `/healthz`, `/metrics`) runs on a dedicated
thread with an event loop, a `Database` (engine and connection pool) and a `WebhookIntake` of its
own: verify, store delivery + job in one short transaction (group commit as before), 2xx; on a
SQLite file the delivery is committed to the intake inbox instead and moved into the main database
by the main loop (services/intake_inbox.py). Committed jobs (inbox rows) wake the main loop's
workers (the mover) through `call_soon_threadsafe`; the main loop's health probes
(Slack, job claims) are run on the main loop and time out like any other probe when it is stalled.

`sys.setswitchinterval` is lowered while the bot runs: a thread waiting for the GIL (this one, with
a request in its socket) gets it after at most SWITCH_INTERVAL instead of CPython's 5 ms.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.http import ConnectionLimits, HealthProbe, create_http_app, start_site
from services.db import Database
from services.intake_inbox import InboxMover, IntakeInbox, inbox_path
from services.jobs import JobQueue, QueuePolicy
from services.webhook import WebhookIntake

log = logging.getLogger(__name__)

SWITCH_INTERVAL = 0.001  # seconds; CPython's default is 0.005 (docs/benchmarks.md: measured); 0: unchanged
STOP_TIMEOUT = 70.0  # aiohttp's own graceful shutdown waits up to 60 s for requests in flight
POLL_BUSY_MS = 2  # SQLite: each try for the write lock waits this long inside SQLite ...
LOCK_WAIT = 30.0  # ... and the tries go on for this long (the main engine's busy timeout)
INBOX = True  # SQLite file databases: ack once in the intake inbox (services/intake_inbox.py)


class IntakeDatabase(Database):
    """The intake's own engine. On SQLite its write transactions try for the lock every ~2 ms.

    The main loop's writers (job claims, pipeline updates) hold SQLite's write lock for a few
    milliseconds each, back to back. Waiting for it with SQLite's busy handler means sleeps of up to
    100 ms, during which the next main-loop writer takes the lock again: measured, the intake's
    store transaction reached p99 1.9 s that way. Short tries win the lock as soon as it is free.
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        super().__init__(url, **engine_kwargs)
        if self.is_sqlite:
            # after the base class's connect hook (busy_timeout 30 s); probe_write restores it
            event.listen(self.engine.sync_engine, "connect", _short_busy_timeout)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        if not self.is_sqlite:
            async with super().session() as session:
                yield session
            return
        async with self._sessions() as session:
            await _begin_soon(session)
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise


def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={POLL_BUSY_MS}")
    cursor.close()


async def _begin_soon(session: AsyncSession) -> None:
    """Start the transaction (BEGIN IMMEDIATE on SQLite) in short tries until LOCK_WAIT has passed."""
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            await session.connection()
            return
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            await session.rollback()


def create_intake_database(settings: Settings) -> IntakeDatabase:
    if (database := sqlite_file(settings)) is not None:  # not for a file: URI (it made a "file:" dir)
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return IntakeDatabase(settings.database_url)


def sqlite_file(settings: Settings) -> str | None:
    url = make_url(settings.database_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return None if url.query.get("uri") else url.database  # a file: URI has no plain path
    return None


def on_loop(loop: asyncio.AbstractEventLoop, probe: HealthProbe) -> HealthProbe:
    """A probe of the main loop's objects, callable from the intake's loop."""

    async def call() -> dict[str, Any]:
        return await probe()

    async def run() -> dict[str, Any]:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(), loop))

    return run


class IntakeServer:
    """Start with `await start()` from the main loop (returns the bound port), stop with `await stop()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        secrets: list[str],
        notify: Callable[[], None],
        probes: dict[str, HealthProbe],
        switch_interval: float | None = None,  # None: SWITCH_INTERVAL
        inbox_to: WebhookIntake | None = None,  # the main loop's intake: the inbox mover's target
    ) -> None:
        self.settings = settings
        self.inbox: IntakeInbox | None = None
        self.mover: InboxMover | None = None
        database = sqlite_file(settings)
        if INBOX and inbox_to is not None and database is not None:
            self.inbox = IntakeInbox(inbox_path(database))
            self.mover = InboxMover(self.inbox, inbox_to, mark=self._mark_moved)
        self.secrets = secrets
        self.probes = probes
        self.switch_interval = switch_interval
        self.port: int | None = None
        self._main_notify = notify
        self._main: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._started: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._finished: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._previous_interval: float | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    async def start(self) -> int:
        self._main = asyncio.get_running_loop()
        main = self._main
        self.probes = {name: on_loop(main, probe) for name, probe in self.probes.items()}
        self._thread = threading.Thread(target=self._run, name="fathom-intake", daemon=True)
        self._thread.start()
        self.port = await asyncio.wrap_future(self._started)  # raises what the thread's start-up raised
        if self.mover is not None:
            self.mover.start()  # moves what a killed process left in the inbox first
        interval = SWITCH_INTERVAL if self.switch_interval is None else self.switch_interval
        if interval > 0:
            self._previous_interval = sys.getswitchinterval()
            sys.setswitchinterval(interval)
        return self.port

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish, close the thread's database, join it."""
        if self._previous_interval is not None:
            sys.setswitchinterval(self._previous_interval)
            self._previous_interval = None
        if self.mover is not None:
            await self.mover.stop()
        if self._thread is None:
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        try:
            await asyncio.wait_for(asyncio.wrap_future(self._finished), STOP_TIMEOUT)
        except TimeoutError:
            log.error("webhook intake thread did not stop within %.0f s", STOP_TIMEOUT)
        await asyncio.to_thread(self._thread.join, 5)
        self._thread = None
        if self.mover is not None and self.inbox is not None:
            try:  # what arrived before the server stopped: the intake thread is gone, marks are direct
                await self.mover.move_once()
            except Exception:
                log.exception("inbox deliveries left for the next start")
            self.inbox.close()

    async def _mark_moved(self, webhook_ids: list[str]) -> None:
        """The inbox is written by the intake thread only: run the mark there while it runs."""
        assert self.inbox is not None
        inbox, loop, thread = self.inbox, self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive() or loop.is_closed():
            inbox.mark_moved(webhook_ids)
            return

        async def mark() -> None:
            inbox.mark_moved(webhook_ids)

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(mark(), loop))

    def notify_workers(self) -> None:
        """Called on the intake's loop after a commit that queued jobs (with the inbox: a commit to
        the inbox): wake the main loop's workers (the mover)."""
        main = self._main
        if main is not None and not main.is_closed():
            main.call_soon_threadsafe(self.mover.wake if self.mover is not None else self._main_notify)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to whoever waits, never lost
            log.exception("webhook intake thread failed")
            if not self._started.done():
                self._started.set_exception(exc)
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()
                if not self._finished.done():
                    self._finished.set_result(None)

    async def _serve(self) -> None:
        settings = self.settings
        self._stopping = asyncio.Event()
        db = create_intake_database(settings)
        try:
            queue = JobQueue(
                db,
                QueuePolicy(lease_seconds=settings.job_lease_seconds, max_attempts=settings.job_max_attempts),
            )
            app = create_http_app(
                db=db,
                intake=WebhookIntake(db, queue, notify=self.notify_workers, inbox=self.inbox),
                secrets=self.secrets,
                max_bytes=settings.webhook_max_bytes,
                probes=self.probes,
                limits=ConnectionLimits(
                    header_timeout=settings.webhook_header_timeout,
                    body_timeout=settings.webhook_body_timeout,
                    max_connections=settings.webhook_max_connections,
                ),
            )
            runner, port = await start_site(app, settings.webhook_host, settings.webhook_port)
            try:
                self._started.set_result(port)
                await self._stopping.wait()
            finally:
                await runner.cleanup()
        finally:
            await db.dispose()
