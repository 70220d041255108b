"""Once across instances: several `fathom-os run` processes on one database agree through it.

`first_sighting` is the Slack event de-duplication (Slack re-delivers an event over any of the app's
Socket Mode connections); `claim_tick` lets exactly one instance run a scheduled job's tick. Both are
an insert-or-ignore on a primary key, so the database decides and no process keeps state.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.clock import utcnow
from services.db import Database
from services.models import SchedulerRun, SeenEvent

KEEP_SEEN = timedelta(days=2)  # Slack retries within minutes; a day of margin either side
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


async def _insert_or_ignore(db: Database, model: Any, values: dict[str, Any]) -> bool:
    """True when this call inserted the row (first), False when it was already there."""
    insert = sqlite_insert if db.is_sqlite else pg_insert
    stmt = insert(model).values(**values).on_conflict_do_nothing()
    async with db.write_session() as s:
        result = await s.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def first_sighting(db: Database, event_id: str, now: datetime | None = None) -> bool:
    """True for the first instance to see this Slack event id; False for a re-delivery."""
    if not event_id or len(event_id) > 64:
        raise ValueError(f"not a Slack event id: {event_id[:80]!r}")
    return await _insert_or_ignore(db, SeenEvent, {"event_id": event_id, "seen_at": now or utcnow()})


async def claim_tick(db: Database, job: str, tick: str, now: datetime | None = None) -> bool:
    """True for the one instance that runs `job` for `tick`; every other caller gets False."""
    values = {"job": job, "tick": tick, "instance": INSTANCE, "started_at": now or utcnow()}
    return await _insert_or_ignore(db, SchedulerRun, values)


async def purge_old(db: Database, now: datetime | None = None, keep: timedelta = KEEP_SEEN) -> int:
    """Daily: forget event ids and tick claims older than `keep` (ticks are never reused)."""
    cutoff = (now or utcnow()) - keep
    async with db.write_session() as s:
        events = await s.execute(delete(SeenEvent).where(SeenEvent.seen_at < cutoff))
        runs = await s.execute(delete(SchedulerRun).where(SchedulerRun.started_at < cutoff))
        return int(events.rowcount or 0) + int(runs.rowcount or 0)  # type: ignore[attr-defined]
