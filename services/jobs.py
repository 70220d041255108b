"""Durable job queue in the database: leases with expiry, retries with backoff + jitter, dead letters.

Claiming is optimistic (a conditional UPDATE whose rowcount says who won) so it is safe on SQLite,
and on PostgreSQL the candidate SELECT uses FOR UPDATE SKIP LOCKED so instances share one queue.
A worker keeps its short lease alive with a heartbeat and stops a job whose lease it lost (so a job
never runs twice at once). A worker killed with -9 stops renewing: its lease expires and another
worker picks the job up again; a restart on the same host does not wait for that, it releases the
leases of its dead predecessors at once (worker ids are `host:pid:random`).

Priorities and per-kind concurrency live on the same table: claims take the highest `priority`
first, and a worker keeps `priority_slots` slots that only claim jobs at `PRIORITY_FIRST_CARD` or
above, so a meeting's first card is posted while every general slot is busy with analyses.
`kind_limits` caps how many jobs of one kind a worker runs at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import utcnow
from services.db import Database
from services.errors import PermanentJobError, describe
from services.holders import dead_local_holder, new_holder_id
from services.models import Job

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
PRIORITY_NORMAL = 0
PRIORITY_FIRST_CARD = 10  # posting a meeting's parent card from what Fathom sent
JobHandler = Callable[[Job], Awaitable[None]]

_job_priority: contextvars.ContextVar[int | None] = contextvars.ContextVar("job_priority", default=None)


def current_job_priority() -> int | None:
    """The priority of the job whose handler is running in this task; None outside any job
    (a Slack handler answering a click): the Slack pacer serves that first."""
    return _job_priority.get()


@dataclass
class QueuePolicy:
    lease_seconds: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 2.0
    backoff_max: float = 600.0


class JobQueue:
    def __init__(self, db: Database, policy: QueuePolicy | None = None, worker_id: str | None = None) -> None:
        self.db = db
        self.policy = policy or QueuePolicy()
        self.worker_id = worker_id or new_holder_id()
        self._wakeup = asyncio.Event()
        self._lanes: list[asyncio.Event] = []  # one wake-up per worker lane: none steals another's
        self.last_claim_error: str | None = None  # set while claims fail (shown in /healthz)

    def notify(self) -> None:
        """Wake local workers now instead of at the next poll."""
        self._wakeup.set()
        for lane in self._lanes:
            lane.set()

    def lane_wakeup(self) -> asyncio.Event:
        """A wake-up of its own for one claim loop (with a shared event, one loop's clear could
        swallow the notify another loop was about to wait for)."""
        event = asyncio.Event()
        self._lanes.append(event)
        return event

    async def wait_for_work(self, timeout: float, wakeup: asyncio.Event | None = None) -> None:
        event = wakeup or self._wakeup
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()

    async def enqueue(
        self,
        session: AsyncSession,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        delay: float = 0.0,
        max_attempts: int | None = None,
        priority: int = PRIORITY_NORMAL,
    ) -> Job | None:
        """Add a job inside the caller's transaction. With a key, an active job with that key wins."""
        if key is not None:
            existing = await session.scalar(
                select(Job.id).where(Job.key == key, Job.status.in_(ACTIVE)).limit(1)
            )
            if existing is not None:
                return None
        job = Job(
            kind=kind,
            payload=payload,
            key=key,
            status="queued",
            attempts=0,
            max_attempts=max_attempts or self.policy.max_attempts,
            run_after=utcnow() + timedelta(seconds=delay),
            priority=priority,
        )
        session.add(job)
        await session.flush()
        return job

    async def enqueue_many(
        self,
        session: AsyncSession,
        kind: str,
        items: list[tuple[dict[str, Any], str | None]],
        *,
        check_keys: bool = True,
        priority: int = PRIORITY_NORMAL,
    ) -> dict[int, int | None]:
        """Bulk enqueue (payload, key) pairs in one statement; returns index -> job id (None: key active)."""
        keys = [key for _, key in items if key is not None]
        active: set[str] = set()
        if keys and check_keys:
            found = await session.scalars(select(Job.key).where(Job.key.in_(keys), Job.status.in_(ACTIVE)))
            active = {key for key in found.all() if key is not None}
        now = utcnow()
        rows: list[dict[str, Any]] = []
        index: list[int] = []
        for i, (payload, key) in enumerate(items):
            if key is not None and key in active:
                continue
            if key is not None:
                active.add(key)
            index.append(i)
            rows.append(
                {
                    "kind": kind,
                    "payload": payload,
                    "key": key,
                    "status": "queued",
                    "attempts": 0,
                    "max_attempts": self.policy.max_attempts,
                    "priority": priority,
                    "run_after": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        out: dict[int, int | None] = {i: None for i in range(len(items))}
        if rows:
            result = await session.execute(insert(Job).returning(Job.id, sort_by_parameter_order=True), rows)
            for i, job_id in zip(index, result.scalars().all(), strict=True):
                out[i] = job_id
        return out

    async def submit(
        self, kind: str, payload: dict[str, Any], *, key: str | None = None, priority: int = PRIORITY_NORMAL
    ) -> Job | None:
        async with self.db.write_session() as s:
            job = await self.enqueue(s, kind, payload, key=key, priority=priority)
        if job is not None:
            self.notify()
        return job

    def _claimable(self, now: datetime) -> Any:
        return or_(
            and_(Job.status == "queued", Job.run_after <= now),
            and_(Job.status == "running", Job.leased_until < now),
        )

    async def claim(
        self, limit: int = 1, *, min_priority: int | None = None, exclude_kinds: Collection[str] = ()
    ) -> list[Job]:
        """Lease up to `limit` due jobs, highest priority first, then oldest first."""
        now = utcnow()
        claimed: list[Job] = []
        where = [self._claimable(now)]
        if min_priority is not None:
            where.append(Job.priority >= min_priority)
        if exclude_kinds:
            where.append(Job.kind.not_in(list(exclude_kinds)))
        stmt = (
            select(Job.id).where(*where).order_by(Job.priority.desc(), Job.run_after, Job.id).limit(limit * 4)
        )
        if self.db.is_sqlite:
            # find candidates without SQLite's write lock (a poll that finds nothing never takes it);
            # the guarded UPDATE below settles any race with another claimer (docs/benchmarks.md, #15)
            async with self.db.read_session() as s:
                candidates = list((await s.scalars(stmt)).all())
            if not candidates:
                return claimed
        async with self.db.write_session() as s:
            if not self.db.is_sqlite:
                candidates = list((await s.scalars(stmt.with_for_update(skip_locked=True))).all())
            for job_id in candidates:
                if len(claimed) >= limit:
                    break
                result = await s.execute(
                    update(Job)
                    .where(Job.id == job_id, self._claimable(now))
                    .values(
                        status="running",
                        attempts=Job.attempts + 1,
                        leased_until=now + timedelta(seconds=self.policy.lease_seconds),
                        leased_by=self.worker_id,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(await s.get_one(Job, job_id, populate_existing=True))
        return claimed

    async def release_dead_workers(self) -> int:
        """Re-queue jobs leased by workers of this host whose process is gone (start-up recovery).

        Their attempt counts (a job that crashes its process still reaches the dead letters). Ids of
        other hosts, of live processes and ids that are not `host:pid:...` are left to lease expiry.
        """
        async with self.db.session() as s:
            holders = (await s.scalars(select(Job.leased_by).where(Job.status == "running").distinct())).all()
            dead = [h for h in holders if h and h != self.worker_id and dead_local_holder(h)]
            if not dead:
                return 0
            result = await s.execute(
                update(Job)
                .where(Job.status == "running", Job.leased_by.in_(dead))
                .values(status="queued", leased_until=None, leased_by=None, run_after=utcnow())
                .execution_options(synchronize_session=False)
            )
            released = int(result.rowcount or 0)  # type: ignore[attr-defined]
        log.warning("released %d job(s) held by dead workers %s", released, ", ".join(dead))
        self.notify()
        return released

    async def heartbeat(self, job_id: int) -> bool:
        """Extend our lease; False when the job is no longer ours (lease lost)."""
        async with self.db.session() as s:
            result = await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running", Job.leased_by == self.worker_id)
                .values(leased_until=utcnow() + timedelta(seconds=self.policy.lease_seconds))
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def complete(self, job_id: int) -> None:
        async with self.db.write_session() as s:
            await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.leased_by == self.worker_id)
                .values(status="done", leased_until=None, last_error=None)
            )

    def backoff(self, attempts: int) -> float:
        ceiling = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** max(0, attempts - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def fail(self, job_id: int, error: str, *, permanent: bool = False) -> str:
        """Schedule a retry with backoff, or dead-letter it. Returns the new status."""
        async with self.db.session() as s:
            job = await s.get_one(Job, job_id)
            if job.leased_by != self.worker_id:
                return job.status
            job.last_error = error[:2000]
            job.leased_until = None
            if permanent or job.attempts >= job.max_attempts:
                job.status = "dead"
            else:
                job.status = "queued"
                job.run_after = utcnow() + timedelta(seconds=self.backoff(job.attempts))
            return job.status

    async def release(self, job_id: int) -> None:
        """Give a job back untouched (shutdown): the attempt does not count."""
        async with self.db.session() as s:
            await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.leased_by == self.worker_id, Job.status == "running")
                .values(
                    status="queued",
                    leased_until=None,
                    leased_by=None,
                    run_after=utcnow(),
                    attempts=func.max(Job.attempts - 1, 0)
                    if self.db.is_sqlite
                    else func.greatest(Job.attempts - 1, 0),
                )
            )

    async def retry(self, job_id: int) -> bool:
        """Operator retry of a dead job (`fathom-os jobs retry ID`)."""
        async with self.db.session() as s:
            result = await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "dead")
                .values(status="queued", attempts=0, run_after=utcnow(), last_error=None)
            )
            ok = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        if ok:
            self.notify()
        return ok

    async def list_jobs(self, statuses: tuple[str, ...] = ("dead",), limit: int = 100) -> list[Job]:
        async with self.db.session() as s:
            stmt = select(Job).order_by(Job.id.desc()).limit(limit)
            if statuses:
                stmt = stmt.where(Job.status.in_(statuses))
            return list((await s.scalars(stmt)).all())

    async def failing(self, limit: int = 100) -> list[Job]:
        """Dead jobs and queued jobs that already failed at least once."""
        async with self.db.session() as s:
            stmt = (
                select(Job)
                .where(or_(Job.status == "dead", and_(Job.status == "queued", Job.last_error.is_not(None))))
                .order_by(Job.id.desc())
                .limit(limit)
            )
            return list((await s.scalars(stmt)).all())

    async def counts(self) -> dict[str, int]:
        async with self.db.session() as s:
            rows = await s.execute(select(Job.status, func.count()).group_by(Job.status))
            return {status: n for status, n in rows.all()}


@dataclass
class _Lane:
    """One claim loop with its own slots; `min_priority` None takes any job."""

    name: str
    slots: asyncio.Semaphore
    min_priority: int | None
    wakeup: asyncio.Event


class Worker:
    """Runs handlers for claimed jobs with a concurrency limit; stop() finishes or releases work.

    `concurrency` general slots claim any job, highest priority first; `priority_slots` more only
    claim jobs at `PRIORITY_FIRST_CARD` or above, so those never wait behind long jobs.
    `kind_limits` caps the running jobs of a kind (`{"meeting.analyze": 2}`) across both.
    """

    def __init__(
        self,
        queue: JobQueue,
        handlers: dict[str, JobHandler],
        *,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        priority_slots: int = 1,
        kind_limits: dict[str, int] | None = None,
    ) -> None:
        if concurrency < 1 or priority_slots < 0:
            raise ValueError("a worker needs concurrency >= 1 and priority_slots >= 0")
        self.queue = queue
        self.handlers = handlers
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.kind_limits = dict(kind_limits or {})
        self._claim_errors: dict[str, str] = {}  # lane -> why its last claim failed
        self._lanes = [_Lane("general", asyncio.Semaphore(concurrency), None, queue.lane_wakeup())]
        if priority_slots:
            self._lanes.append(
                _Lane(
                    "first-card", asyncio.Semaphore(priority_slots), PRIORITY_FIRST_CARD, queue.lane_wakeup()
                )
            )
        self._running: dict[int, asyncio.Task[None]] = {}
        self._kinds: Counter[str] = Counter()
        self._stopping = asyncio.Event()
        self._loop_tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._loop_tasks = [
            asyncio.create_task(self._loop(lane), name=f"job-worker-{lane.name}") for lane in self._lanes
        ]

    def _full_kinds(self) -> list[str]:
        return [kind for kind, cap in self.kind_limits.items() if self._kinds[kind] >= cap]

    async def _loop(self, lane: _Lane) -> None:
        while not self._stopping.is_set():
            await lane.slots.acquire()
            if self._stopping.is_set():
                lane.slots.release()
                break
            try:
                jobs = await self.queue.claim(
                    1, min_priority=lane.min_priority, exclude_kinds=self._full_kinds()
                )
                self._claim_errors.pop(lane.name, None)
            except Exception as exc:
                log.exception("claiming jobs failed; retrying")
                self._claim_errors[lane.name] = describe(exc)
                jobs = []
            # failing while any lane's last claim failed: a lane with nothing to claim writes nothing,
            # so its success says nothing about a database that refuses writes (read-only, disk full)
            self.queue.last_claim_error = next(iter(self._claim_errors.values()), None)
            if not jobs:
                lane.slots.release()
                await self.queue.wait_for_work(self.poll_interval, lane.wakeup)
                continue
            job = jobs[0]
            self._kinds[job.kind] += 1
            task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
            self._running[job.id] = task
            task.add_done_callback(functools.partial(self._done, job.id, job.kind, lane))

    def _done(self, job_id: int, kind: str, lane: _Lane, _task: asyncio.Task[None] | None = None) -> None:
        self._running.pop(job_id, None)
        self._kinds[kind] -= 1
        lane.slots.release()
        if self._running or not self._stopping.is_set():
            self.queue.notify()

    async def _execute(self, job: Job) -> None:
        extra = {"job_id": job.id}
        handler = self.handlers.get(job.kind)
        if handler is None:
            await self.queue.fail(job.id, f"no handler for job kind {job.kind!r}", permanent=True)
            log.error("no handler for job kind %s", job.kind, extra=extra)
            return
        lease_lost = asyncio.Event()
        beat = asyncio.create_task(self._heartbeat(job.id, lease_lost, asyncio.current_task()))
        _job_priority.set(job.priority)  # this task's own context: what the Slack pacer orders by
        try:
            await handler(job)
        except asyncio.CancelledError:
            beat.cancel()
            task = asyncio.current_task()
            if lease_lost.is_set() and task is not None and task.uncancel() == 0:
                # another worker owns the job now: stop here, write nothing (the job is not ours)
                log.warning("job %s (%s) stopped: its lease was lost", job.id, job.kind, extra=extra)
                return
            await asyncio.shield(self.queue.release(job.id))
            raise
        except PermanentJobError as exc:
            beat.cancel()  # no lease-loss cancellation may land in the bookkeeping below
            await self.queue.fail(job.id, f"{type(exc).__name__}: {exc}", permanent=True)
            log.error("job %s (%s) failed permanently: %s", job.id, job.kind, exc, extra=extra)
        except Exception as exc:
            beat.cancel()
            status = await self.queue.fail(job.id, f"{type(exc).__name__}: {exc}")
            log.warning(
                "job %s (%s) failed, now %s: %s",
                job.id,
                job.kind,
                status,
                exc,
                extra=extra,
                exc_info=status == "dead",
            )
        else:
            beat.cancel()
            await self.queue.complete(job.id)
        finally:
            beat.cancel()

    async def _heartbeat(self, job_id: int, lost: asyncio.Event, job_task: asyncio.Task[Any] | None) -> None:
        """Renew the lease every third of it; when it is gone (or unrenewable past its end), stop the job."""
        lease = self.queue.policy.lease_seconds
        interval = max(0.05, lease / 3)
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                ours = await self.queue.heartbeat(job_id)
                if ours:
                    renewed = time.monotonic()
            except Exception:
                log.warning("lease heartbeat failed for job %s", job_id)
                ours = time.monotonic() - renewed < lease
            if not ours:
                log.warning("lease of job %s lost: stopping it", job_id)
                lost.set()
                if job_task is not None:
                    job_task.cancel()
                return

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let running jobs finish within `grace`, release the rest for another worker."""
        self._stopping.set()
        self.queue.notify()
        for loop_task in self._loop_tasks:
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
        running = list(self._running.values())
        if running:
            _done, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)

    @property
    def busy(self) -> int:
        return len(self._running)
