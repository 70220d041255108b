"""The unit of work: one `async with db.session() as s:` per service call (commit on success).

`db.read_session()` is the unit of work of a pure read (search, Home, lists, loading a meeting): on
SQLite it starts a deferred transaction, so it never takes the write lock and the webhook intake's
insert does not queue behind it (WAL readers see a snapshot and never block the writer).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            engine_kwargs.setdefault("connect_args", {"timeout": 30})
        else:
            engine_kwargs.setdefault("pool_size", 10)
            engine_kwargs.setdefault("pool_pre_ping", True)
        self.engine: AsyncEngine = create_async_engine(url, **engine_kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            await self._begin(session)
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def _begin(self, session: AsyncSession) -> None:
        """How a unit of work starts its transaction: lazily, at its first statement (a subclass may
        start it at once, e.g. the webhook intake's short lock tries)."""

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that only reads: no write lock on SQLite, nothing committed.

        A flush in it (an ORM change) raises `ReadOnlySessionError`: a read that starts writing
        belongs in `session()`, where SQLite's lock is taken up front (see `_sqlite_begin_immediate`).
        """
        async with self._sessions() as session:
            event.listen(session.sync_session, "before_flush", _refuse_flush)
            await session.connection(execution_options={READ_ONLY: True})
            yield session
            # closing (not rollback) ends the transaction without expiring the loaded objects

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        """A short write transaction on the hot path (webhook intake, job claims).

        SQLite has one writer: letting many connections race for its lock means busy-wait sleeps of up
        to 100 ms each, which is what a webhook sender sees as tail latency. Queueing the writers of
        this process on an asyncio lock keeps every transaction a few milliseconds long instead.
        On PostgreSQL this is a plain session.
        """
        if not self.is_sqlite:
            async with self.session() as session:
                yield session
            return
        async with self._write_lock, self.session() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


READ_ONLY = "fathom_read_only"  # connection execution option set by Database.read_session


class ReadOnlySessionError(RuntimeError):
    """An ORM write inside `Database.read_session()`."""


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySessionError("a read-only unit of work tried to write; use db.session()")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin_immediate); the driver must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    """Take SQLite's write lock when a transaction starts, not at its first write.

    In WAL mode a deferred transaction that has read and then tries to write after another
    connection committed fails at once with SQLITE_BUSY ("database is locked"): the busy timeout
    does not apply to a stale snapshot. Starting every unit of work IMMEDIATE makes concurrent
    sessions queue on the busy timeout instead. Units of work are short and never nested.
    A read-only unit of work (`read_session`) begins deferred: it never writes, so it never needs
    the lock, and holding it would make every writer wait for a read.
    """
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
