"""The intake inbox (SQLite only): a webhook is acknowledged once it is durable in a small file of
its own, so the ack never waits for the main database's single write lock (#15, docs/benchmarks.md).

`<main db>.intake.sqlite3` (WAL) is written by the webhook intake process (bot/intake_process.py)
through the plain `sqlite3` driver: its transactions run start to end in one call and hold the
file's lock for their own work only. The mover in the bot's process (`InboxMover`) reads pending
rows (a WAL reader: it never blocks the intake), stores each as delivery + job through the main
`WebhookIntake` in one transaction (idempotent by webhook-id; a recording_id the main database
already has becomes a `duplicate` delivery), then marks them moved in a transaction of its own (the
file's lock is shared by the two processes; the intake's next commit waits a millisecond or two at
most). WAL checkpoints run on the mover's commits, never on the intake's (its ack would pay for
copying the log). A kill -9 of either process at any point loses nothing: the inbox row is committed
before the 2xx and stays pending until it is in the main database; moving it twice stores it once.
Moved rows keep their ids (body dropped) for KEEP_SECONDS, so a retry of a recent delivery is
answered as a duplicate without asking the main database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from services.errors import describe

if TYPE_CHECKING:
    from services.webhook import Receipt, WebhookIntake, _Pending

log = logging.getLogger(__name__)

KEEP_SECONDS = 3 * 24 * 3600  # Fathom (Svix) retries a delivery for about a day and a half
MOVE_BATCH = 200
MOVE_EVERY = 1.0  # seconds: the mover also looks without a wake-up (start-up, a missed signal)
PRUNE_EVERY = 60.0  # seconds between deletions of moved rows older than KEEP_SECONDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL UNIQUE,
    recording_id INTEGER NOT NULL,
    body BLOB,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at REAL NOT NULL,
    moved INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox (moved, seq);
CREATE INDEX IF NOT EXISTS inbox_recording ON inbox (recording_id);
"""


def inbox_path(database_path: str) -> Path:
    """data/fathom_os.sqlite3 -> data/fathom_os.intake.sqlite3 (one inbox per main database)."""
    path = Path(database_path)
    return path.with_name(f"{path.stem}.intake.sqlite3")


def _connect(path: Path, autocheckpoint: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed row survives kill -9
    if not autocheckpoint:
        conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


def _main_reader(path: str) -> Engine:
    """The main database, read only, on one autocommit connection: each read is its own WAL snapshot."""
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=StaticPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _read_only(dbapi: sqlite3.Connection, _record: object) -> None:
        dbapi.execute("PRAGMA query_only=1")

    return engine


class IntakeInbox:
    """`put` in the intake process (autocheckpoint=False); `pending`, `mark_moved` in the bot's."""

    def __init__(self, path: Path, *, autocheckpoint: bool = True, main: str | None = None) -> None:
        """`main`: the main database file, read by `put` for what it already has (the intake)."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _connect(path, autocheckpoint)
        self._writer.executescript(SCHEMA)
        self._reader = _connect(path, autocheckpoint)
        # a WAL reader of the main database (one connection, autocommit): never waits for its writer
        self._main = None if main is None else _main_reader(main)
        self._pruned_at = 0.0

    def put(self, batch: list[_Pending]) -> list[Receipt]:
        """Commit a batch (the intake process); the receipts say accepted or duplicate, counting what
        the main database already has (with `main`; a delivery stored there meanwhile is still caught
        by the mover: stored once, as duplicate). The main file is read with the intake's own rule,
        `known_deliveries`, in one synchronous call (an aiosqlite read costs thread hops under load)."""
        from services.webhook import Receipt, known_deliveries

        ids = list({p.webhook_id for p in batch})
        recordings = list({p.recording_id for p in batch})
        stored: set[str] = set()
        accepted_before: set[int] = set()
        if self._main is not None:
            with self._main.connect() as main:
                stored, accepted_before = known_deliveries(main, ids, recordings)
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            seen = stored | {
                row[0]
                for row in conn.execute(
                    f"SELECT webhook_id FROM inbox WHERE webhook_id IN ({','.join('?' * len(ids))})", ids
                )
            }
            accepted = accepted_before | {
                row[0]
                for row in conn.execute(
                    "SELECT recording_id FROM inbox WHERE status = 'accepted' AND recording_id IN"
                    f" ({','.join('?' * len(recordings))})",
                    recordings,
                )
            }
            receipts: list[Receipt] = []
            now = time.time()
            for p in batch:
                if p.webhook_id in seen:  # already received: not stored again
                    receipts.append(
                        Receipt("duplicate", "webhook-id already received", None, None, p.recording_id)
                    )
                    continue
                duplicate = p.recording_id in accepted
                status: Literal["accepted", "duplicate"] = "duplicate" if duplicate else "accepted"
                conn.execute(
                    "INSERT INTO inbox (webhook_id, recording_id, body, source, status, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (p.webhook_id, p.recording_id, p.body, p.source, status, now),
                )
                seen.add(p.webhook_id)
                accepted.add(p.recording_id)
                reason = "recording_id already received" if duplicate else None
                receipts.append(Receipt(status, reason, None, None, p.recording_id))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return receipts

    def pending(self, limit: int = MOVE_BATCH) -> list[tuple[str, int, bytes, str]]:
        """Rows not yet in the main database, oldest first (any thread: a WAL reader)."""
        rows = self._reader.execute(
            "SELECT webhook_id, recording_id, body, source FROM inbox WHERE moved = 0 ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [(str(w), int(r), bytes(b), str(s)) for w, r, b, s in rows]

    def pending_count(self) -> int:
        row = self._reader.execute("SELECT count(*) FROM inbox WHERE moved = 0").fetchone()
        return int(row[0]) if row else 0

    def mark_moved(self, webhook_ids: list[str]) -> None:
        """The mover, from any process: moved rows keep their id, lose their body."""
        conn = self._writer
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "UPDATE inbox SET moved = 1, body = NULL WHERE webhook_id = ?", [(w,) for w in webhook_ids]
            )
            if now - self._pruned_at > PRUNE_EVERY:  # not on every mark: it holds the intake's lock
                conn.execute("DELETE FROM inbox WHERE moved = 1 AND received_at < ?", (now - KEEP_SECONDS,))
                self._pruned_at = now
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
        if self._main is not None:
            self._main.dispose()


class InboxMover:
    """In the bot's process: inbox rows -> the main database (delivery + job), then marked moved."""

    def __init__(
        self,
        inbox: IntakeInbox,
        intake: WebhookIntake,
        mark: Callable[[list[str]], Awaitable[None]],
    ) -> None:
        self.inbox = inbox
        self.intake = intake
        self._mark = mark  # inbox.mark_moved, off the event loop
        self._wake = asyncio.Event()
        self.last_error: str | None = None  # the last move failed (shown in /healthz)
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="intake-inbox-mover")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def move_once(self) -> int:
        """Move what is pending now; returns how many rows were moved."""
        from services.webhook import _Pending

        moved = 0
        while rows := await asyncio.to_thread(self.inbox.pending):
            batch = [_Pending(w, r, b, s) for w, r, b, s in rows]
            await self.intake.store_batch(batch)
            await self._mark([p.webhook_id for p in batch])
            moved += len(batch)
        return moved

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before looking: a wake-up during the move is not lost
            try:
                await self.move_once()
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the main database is down: the rows wait in the inbox
                self.last_error = describe(exc)
                log.exception("could not move inbox deliveries into the database; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), MOVE_EVERY)
