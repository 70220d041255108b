"""The webhook intake in an OS process of its own, so an ack never waits for the bot's work (#15).

The bot's process runs the job workers, publishing, Block Kit rendering and the Socket Mode client;
under analysis it is busy most of the time, and a webhook served there (or on a thread of it: the
GIL) waits for that work. `IntakeProcess` (in the bot) binds the webhook port and starts
`python -m bot.intake_process`, which serves `POST /webhooks/fathom`, `/healthz` and `/metrics` on
that socket: verify the signature, apply the body limits and payload validation, commit the delivery
and answer 2xx. On a SQLite file the delivery is committed to the intake inbox
(`<db>.intake.sqlite3`, services/intake_inbox.py) and the bot's mover stores it in the main database
and marks it moved, across the two processes (SQLite WAL); on PostgreSQL (and a SQLite `file:` URI)
the intake stores delivery + job in the main database itself, as before.

The two processes talk over a socket pair, one JSON object a line: the child's configuration first
(it holds the webhook secrets: never on a command line), then "ready", "wake" (a commit the bot's
mover or workers should see), webhook timings for /metrics, and /healthz and /metrics questions the
bot answers (Slack, job claims, the intake's own state). The child exits when that socket reaches
EOF: a bot killed with SIGKILL leaves no orphan holding the port. The bot restarts a child that
exits; the listening socket stays open in the bot meanwhile, so a delivery sent during the restart
waits in the kernel's backlog and is answered by the new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import itertools
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from services import telemetry
from services.db import Database
from services.intake_inbox import InboxMover, IntakeInbox, inbox_path

if TYPE_CHECKING:
    from services.webhook import WebhookIntake

log = logging.getLogger(__name__)

ENTRY: list[str] = ["-m", "bot.intake_process"]  # what the child runs (bench/ wraps it with timers)
STOP_TIMEOUT = 70.0  # aiohttp's own graceful shutdown waits up to 60 s for requests in flight
START_TIMEOUT = 120.0  # a child that has not said "ready" by then (imports on a loaded machine) failed
ASK_TIMEOUT = 10.0  # a /metrics question the bot does not answer in time gets 503
BACKLOG = 128  # aiohttp's default; connections wait here while a child restarts
LINE_LIMIT = 64 * 1024 * 1024  # one control message (a /metrics exposition) fits
POLL_BUSY_MS = 2  # SQLite: each try for the write lock waits this long inside SQLite ...
LOCK_WAIT = 30.0  # ... and the tries go on for this long (the main engine's busy timeout)
PROBES = ("slack", "jobs", "intake")  # /healthz sections the bot answers

Probe = Callable[[], Awaitable[dict[str, Any]]]
Metrics = Callable[[], Awaitable[tuple[bytes, str]]]


@dataclasses.dataclass(frozen=True)
class IntakeConfig:
    """What the child needs, sent as the first control message (it carries the webhook secrets)."""

    database_url: str
    secrets: list[str]
    inbox: str | None  # the inbox file on SQLite, None: store in the main database
    max_bytes: int
    header_timeout: float
    body_timeout: float
    max_connections: int
    lease_seconds: float
    max_attempts: int
    log_level: str = "INFO"
    log_format: str = "text"


class IntakeDatabase(Database):
    """The intake's engine. On SQLite its write transactions try for the lock every ~2 ms.

    The bot's writers (job claims, pipeline updates) hold SQLite's write lock for a few milliseconds
    each, back to back. Waiting for it with SQLite's busy handler means sleeps of up to 100 ms,
    during which the next writer takes the lock again: measured, the intake's store transaction
    reached p99 1.9 s that way. Short tries win the lock as soon as it is free. (With the inbox
    only rejected deliveries are written to the main database from here.)
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        super().__init__(url, **engine_kwargs)
        if self.is_sqlite:
            # after the base class's connect hook (busy_timeout 30 s); probe_write restores it
            event.listen(self.engine.sync_engine, "connect", _short_busy_timeout)

    async def _begin(self, session: AsyncSession) -> None:
        if self.is_sqlite:
            await _begin_soon(session)


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


def create_intake_database(url: str) -> IntakeDatabase:
    if (database := sqlite_file(url)) is not None:  # not for a file: URI (it made a "file:" dir)
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return IntakeDatabase(url)


def sqlite_file(url: str) -> str | None:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        return None if parsed.query.get("uri") else parsed.database  # a file: URI has no plain path
    return None


class _Link:
    """One end of the control socket: JSON lines out, questions with ids answered by the other end."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}

    def send(self, message: dict[str, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(json.dumps(message).encode() + b"\n")

    async def ask(self, message: dict[str, Any], timeout: float | None = None) -> Any:
        ask_id = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._waiting[ask_id] = answer
        try:
            self.send({**message, "id": ask_id})
            return await asyncio.wait_for(answer, timeout)
        finally:
            self._waiting.pop(ask_id, None)

    def answered(self, message: dict[str, Any]) -> None:
        answer = self._waiting.get(int(message["id"]))
        if answer is not None and not answer.done():
            answer.set_result(message.get("value"))

    def lost(self) -> None:
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(ConnectionError("the other process is gone"))

    def close(self) -> None:
        self.writer.close()


def _bind(host: str, port: int) -> socket.socket:
    """The webhook port, bound by the bot and handed to each child (kept open across restarts)."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


@dataclasses.dataclass
class _Child:
    proc: asyncio.subprocess.Process
    link: _Link
    ready: asyncio.Future[int]
    started_at: float
    reader: asyncio.Task[None] | None = None


class IntakeProcess:
    """In the bot: `await start()` binds the port and starts the child, `await ready()` waits for it to
    serve; `await stop()` ends it. A child that exits is started again (its state is in /healthz)."""

    def __init__(
        self,
        config: IntakeConfig,
        *,
        host: str,
        port: int,
        probes: dict[str, Probe],
        metrics: Metrics,
        notify: Callable[[], None],  # no inbox: the child stored jobs, wake the workers
        inbox_to: WebhookIntake | None = None,  # the bot's intake: the inbox mover's target
    ) -> None:
        self.host, self.requested_port = host, port
        self.inbox: IntakeInbox | None = None
        self.mover: InboxMover | None = None
        database = sqlite_file(config.database_url)
        if inbox_to is not None and database is not None:
            path = inbox_path(database)
            self.inbox = IntakeInbox(path)
            self.mover = InboxMover(self.inbox, inbox_to, mark=self._mark_moved)
            config = dataclasses.replace(config, inbox=str(path.resolve()))
        else:
            config = dataclasses.replace(config, inbox=None)
        self.config = config
        self.probes = {**probes, "intake": self.probe}
        self.metrics = metrics
        self._notify = notify
        self.port: int | None = None
        self.restarts = 0
        self.last_exit: int | None = None
        self._listener: socket.socket | None = None
        self._child: _Child | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.proc.pid if child is not None and child.proc.returncode is None else None

    async def start(self) -> int:
        """Bind the port (raises OSError when it is taken) and start the child; returns the port."""
        self._listener = _bind(self.host, self.requested_port)
        self.port = int(self._listener.getsockname()[1])
        self._child = await self._spawn()
        if self.mover is not None:
            self.mover.start()  # moves what a killed process left in the inbox first
        return self.port

    async def ready(self) -> None:
        """Wait until the child serves (raises what its start-up raised); then supervise it."""
        assert self._child is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._child.ready), START_TIMEOUT)
        except BaseException:
            await self._retire(self._child, kill=True)  # no child left running that never served
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="intake-supervisor")

    async def _spawn(self) -> _Child:
        assert self._listener is not None
        ours, theirs = socket.socketpair()
        try:
            fds = (theirs.fileno(), self._listener.fileno())
            proc = await asyncio.create_subprocess_exec(
                sys.executable, *ENTRY, *map(str, fds), pass_fds=fds, stdin=asyncio.subprocess.DEVNULL
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours, limit=LINE_LIMIT)
        link = _Link(reader, writer)
        link.send(dataclasses.asdict(self.config))
        child = _Child(proc, link, asyncio.get_running_loop().create_future(), time.monotonic())
        child.reader = asyncio.create_task(self._read(child), name="intake-control")
        log.info("webhook intake process %s started", proc.pid)
        return child

    async def _read(self, child: _Child) -> None:
        link = child.link
        try:
            while line := await link.reader.readline():
                message = json.loads(line)
                kind = message.get("t")
                if kind == "wake" and self.mover is not None:
                    self.mover.wake()
                elif kind == "wake":
                    self._notify()
                elif kind == "obs":
                    telemetry.record_webhook(float(message["s"]), str(message["o"]))
                elif kind == "ask":
                    self._answer(link, message)
                elif kind == "ready" and not child.ready.done():
                    child.ready.set_result(int(message["pid"]))
                elif kind == "failed" and not child.ready.done():
                    child.ready.set_exception(RuntimeError(f"webhook intake: {message['error']}"))
        except (ConnectionError, ValueError) as exc:
            log.warning("webhook intake control channel broken: %s", exc)
        finally:
            link.lost()
            if not child.ready.done():
                child.ready.set_exception(RuntimeError("webhook intake process exited during start-up"))

    def _answer(self, link: _Link, message: dict[str, Any]) -> None:
        async def answer() -> None:
            value: Any
            try:
                if message["what"] == "metrics":
                    body, content_type = await self.metrics()
                    value = {"body": body.decode(), "type": content_type}
                else:
                    value = await self.probes[message["what"]]()
            except Exception as exc:
                value = {"ok": False, "error": type(exc).__name__, "reason": str(exc)[:200]}
            link.send({"t": "answer", "id": message["id"], "value": value})

        task = asyncio.create_task(answer())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _supervise(self) -> None:
        """Start the child again whenever it exits; quickly after a long life, slower if it keeps dying
        or does not come up (a child that never says ready is killed, not left holding connections)."""
        failures = 0
        while True:
            child = self._child
            assert child is not None
            code = await child.proc.wait()
            await self._retire(child)
            if self._stopping:
                return
            self.last_exit, self.restarts = code, self.restarts + 1
            failures = 0 if time.monotonic() - child.started_at > 30 else failures + 1
            log.error("webhook intake process %s exited (%s); starting it again", child.proc.pid, code)
            while True:
                if failures > 1:
                    await asyncio.sleep(min(5.0, 0.1 * 2**failures))  # back-off for a crash loop
                new: _Child | None = None
                try:
                    new = self._child = await self._spawn()
                    await asyncio.wait_for(asyncio.shield(new.ready), START_TIMEOUT)
                    break
                except Exception:
                    log.exception("webhook intake process did not start")
                    failures += 1
                    if new is not None:
                        await self._retire(new, kill=True)
                        self._child = child  # the dead one: nothing to wait for but the next try

    async def _retire(self, child: _Child, *, kill: bool = False) -> None:
        """Close a finished child's control socket and its reader (one descriptor per restart)."""
        if kill and child.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.proc.kill()
            await child.proc.wait()
        child.link.close()
        if child.reader is not None:
            await asyncio.gather(child.reader, return_exceptions=True)

    async def probe(self) -> dict[str, Any]:
        """The intake's part of /healthz: its process, restarts, and inbox rows not yet moved."""
        state: dict[str, Any] = {
            "ok": self.pid is not None,
            "mode": "process",
            "pid": self.pid,
            "restarts": self.restarts,
        }
        if self.last_exit is not None:
            state["last_exit"] = self.last_exit
        if self.inbox is not None and self.mover is not None:
            state["inbox_pending"] = await asyncio.to_thread(self.inbox.pending_count)
            if self.mover.last_error:
                state["ok"] = False
                state["reason"] = f"inbox deliveries cannot be moved: {self.mover.last_error}"
        return state

    async def _mark_moved(self, webhook_ids: list[str]) -> None:
        assert self.inbox is not None
        await asyncio.to_thread(self.inbox.mark_moved, webhook_ids)  # waits for the child's commit

    async def stop(self) -> None:
        """Stop the child (SIGTERM: requests in flight finish), move what it committed, free the port."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self.mover is not None:
            await self.mover.stop()
        child, self._child = self._child, None
        if child is not None:
            if child.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.terminate()
                try:
                    await asyncio.wait_for(child.proc.wait(), STOP_TIMEOUT)
                except TimeoutError:
                    log.error("webhook intake process did not stop within %.0f s: killed", STOP_TIMEOUT)
                    child.proc.kill()
                    await child.proc.wait()
            child.link.close()
            if child.reader is not None:
                await asyncio.gather(child.reader, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self.mover is not None and self.inbox is not None:
            try:  # what the child acknowledged before it stopped
                await self.mover.move_once()
            except Exception:
                log.exception("inbox deliveries left for the next start")
            self.inbox.close()


# ---------------------------------------------------------------------------------------- the child


async def _serve(control_fd: int, listen_fd: int) -> None:
    from bot.http import ConnectionLimits, create_http_app, start_site
    from bot.logging import configure_logging
    from services.jobs import JobQueue, QueuePolicy
    from services.webhook import WebhookIntake

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    reader, writer = await asyncio.open_unix_connection(
        sock=socket.socket(fileno=control_fd), limit=LINE_LIMIT
    )
    link = _Link(reader, writer)
    config = IntakeConfig(**json.loads(await reader.readline()))
    configure_logging(config.log_level, config.log_format, config.secrets)

    async def listen() -> None:  # answers from the bot; EOF: the bot is gone, stop
        try:
            while line := await reader.readline():
                message = json.loads(line)
                if message.get("t") == "answer":
                    link.answered(message)
        finally:
            link.lost()
            stopping.set()

    listening = asyncio.create_task(listen(), name="intake-control")

    def remote(what: str) -> Probe:
        async def ask() -> dict[str, Any]:
            return dict(await link.ask({"t": "ask", "what": what}))

        return ask

    async def metrics() -> tuple[bytes, str]:
        answer = await link.ask({"t": "ask", "what": "metrics"}, ASK_TIMEOUT)
        return str(answer["body"]).encode(), str(answer["type"])

    def observe(seconds: float, outcome: str) -> None:
        link.send({"t": "obs", "s": seconds, "o": outcome})

    db = create_intake_database(config.database_url)
    main = sqlite_file(config.database_url)
    inbox = IntakeInbox(Path(config.inbox), autocheckpoint=False, main=main) if config.inbox else None
    try:
        queue = JobQueue(
            db, QueuePolicy(lease_seconds=config.lease_seconds, max_attempts=config.max_attempts)
        )
        app = create_http_app(
            db=db,
            intake=WebhookIntake(db, queue, notify=lambda: link.send({"t": "wake"}), inbox=inbox),
            secrets=config.secrets,
            max_bytes=config.max_bytes,
            probes={name: remote(name) for name in PROBES},
            limits=ConnectionLimits(
                header_timeout=config.header_timeout,
                body_timeout=config.body_timeout,
                max_connections=config.max_connections,
            ),
            metrics=metrics,
            observe=observe,
        )
        runner, _port = await start_site(app, sock=socket.socket(fileno=listen_fd))
        try:
            link.send({"t": "ready", "pid": os.getpid()})
            gc.collect()
            gc.freeze()  # start-up objects out of the collector's way (full collections stall acks)
            await stopping.wait()
        finally:
            await runner.cleanup()  # stop accepting, let requests in flight finish
    except Exception as exc:
        link.send({"t": "failed", "error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        await db.dispose()
        if inbox is not None:
            inbox.close()
        listening.cancel()
        link.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.intake_process <control fd> <listening socket fd>`, started by IntakeProcess."""
    control_fd, listen_fd = (int(a) for a in (argv or sys.argv[1:])[:2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the bot, which stops this process
    try:
        asyncio.run(_serve(control_fd, listen_fd))
    except Exception:
        logging.getLogger(__name__).exception("webhook intake process failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
