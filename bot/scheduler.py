"""APScheduler in the bot's own event loop: the reminder tick (every REMINDER_INTERVAL_SECONDS, a
minute by default), Fathom reconciliation, the daily retention purge.

The tick's state lives in the database (claimed reminders), so the scheduler itself keeps nothing:
a restart simply resumes. With a database, every job runs once per tick across instances: a tick is
the job's interval bucket of UTC time (the day, for daily jobs), and the instance that inserts the
`scheduler_runs` row for (job, tick) runs it; the others skip (services/once.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.clock import utcnow
from services.db import Database
from services.once import claim_tick, purge_old

log = logging.getLogger(__name__)

RETENTION_HOUR_UTC = 3  # the daily retention purge (services/privacy.py)
PURGE_MINUTE = 30  # 03:30 UTC: forget old Slack event ids and tick claims
REPORT_MINUTE = 5  # the weekly report's hourly check, at :05


def tick_of(now: datetime, every_seconds: float) -> str:
    """The bucket of UTC time a run at `now` belongs to: equal for every instance in that interval."""
    if every_seconds >= 86_400:
        return now.strftime("%Y-%m-%d")
    start = int(now.timestamp() // every_seconds * every_seconds)
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class Scheduler:
    def __init__(
        self,
        reminders: Any,
        interval_seconds: float = 60.0,  # REMINDER_INTERVAL_SECONDS (bot/config.py)
        *,
        reconciler: Any = None,
        reconcile_seconds: float | None = None,
        retention: Callable[[], Awaitable[Any]] | None = None,
        db: Database | None = None,
        outbox_sync: tuple[Callable[[], Awaitable[Any]], float] | None = None,
        weekly_report: Callable[[datetime], Awaitable[bool]] | None = None,
    ) -> None:
        self.reminders = reminders
        self.interval = interval_seconds
        # Fathom reconciliation (services/reconcile.py): every RECONCILE_INTERVAL_SECONDS, every
        # minute in polling mode; its watermark is in the database, so a restart resumes it
        self.reconciler = reconciler
        self.reconcile_seconds = reconcile_seconds
        self.retention = retention  # daily purge of what `retention:` in fathom-os.yml lets go
        self.db = db  # shared by every instance: each tick runs once across them
        self.outbox_sync = outbox_sync  # (sync, seconds): two-way status with PM targets (#21)
        # the admins' weekly report: asked hourly, it posts when the hour and day are those of
        # `reports:` in fathom-os.yml (read fresh, so a changed day applies without a restart)
        self.weekly_report = weekly_report
        self._scheduler: AsyncIOScheduler | None = None

    def start(self, first_run: datetime | None = None) -> None:
        """Call from inside the running loop; the first tick waits one interval unless told."""
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self._once("reminders.tick", self.interval, self._tick),
            "interval",
            seconds=self.interval,
            id="reminders.tick",
            max_instances=1,  # a slow run (rate limits) is never overlapped by the next
            coalesce=True,
            misfire_grace_time=int(self.interval),
            next_run_time=first_run or utcnow() + timedelta(seconds=self.interval),
        )
        if self.reconciler is not None and self.reconcile_seconds:
            scheduler.add_job(
                self._once("fathom.reconcile", self.reconcile_seconds, self._reconcile),
                "interval",
                seconds=self.reconcile_seconds,
                id="fathom.reconcile",
                max_instances=1,  # a pass paced by the API's limit is never overlapped by the next
                coalesce=True,
                misfire_grace_time=int(self.reconcile_seconds),
                next_run_time=utcnow() + timedelta(seconds=1),  # first pass at start: catch up
            )
        if self.retention is not None:
            scheduler.add_job(
                self._once("privacy.retention", 86_400, self._purge),
                "cron",
                hour=RETENTION_HOUR_UTC,
                id="privacy.retention",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=6 * 3600,  # a bot down at 03:00 purges when it is back that morning
            )
        if self.outbox_sync is not None:
            every = self.outbox_sync[1]
            scheduler.add_job(
                self._once("outbox.sync", every, self._outbox),
                "interval",
                seconds=every,
                id="outbox.sync",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(every),
            )
        if self.db is not None:
            scheduler.add_job(
                self._once("once.purge", 86_400, self._purge_seen),
                "cron",
                hour=RETENTION_HOUR_UTC,
                minute=PURGE_MINUTE,
                id="once.purge",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=6 * 3600,
            )
        if self.weekly_report is not None:
            scheduler.add_job(
                self._once("report.weekly", 3600, self._weekly),
                "cron",
                minute=REPORT_MINUTE,
                id="report.weekly",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=1800,
            )
        scheduler.start()
        self._scheduler = scheduler

    def _once(
        self, job: str, every_seconds: float, run: Callable[[], Awaitable[None]]
    ) -> Callable[[], Awaitable[bool]]:
        async def once() -> bool:
            return await self.run_once(job, every_seconds, run)

        return once

    async def run_once(
        self,
        job: str,
        every_seconds: float,
        run: Callable[[], Awaitable[None]],
        now: datetime | None = None,
    ) -> bool:
        """Run `run` unless another instance already ran `job` this tick; True when it ran here."""
        if self.db is not None:
            tick = tick_of(now or utcnow(), every_seconds)
            try:
                if not await claim_tick(self.db, job, tick):
                    log.debug("%s %s already run by another instance", job, tick)
                    return False
            except Exception as exc:  # the database down: this run would fail anyway
                log.warning("%s skipped: could not claim tick %s (%s)", job, tick, type(exc).__name__)
                return False
        await run()
        return True

    async def _purge_seen(self) -> None:
        try:
            assert self.db is not None
            removed = await purge_old(self.db)
            if removed:
                log.info("forgot %d old Slack event ids and tick claims", removed)
        except Exception:
            log.exception("purge of seen events failed")

    async def _purge(self) -> None:
        try:
            assert self.retention is not None
            await self.retention()  # services.privacy.purge_expired logs the counts
        except Exception:  # one bad run must not stop the schedule
            log.exception("retention purge failed")

    async def _weekly(self) -> None:
        try:
            assert self.weekly_report is not None
            if await self.weekly_report(utcnow()):
                log.info("weekly report posted")
        except Exception:  # one bad run must not stop the schedule
            log.exception("weekly report failed")

    async def _outbox(self) -> None:
        try:
            assert self.outbox_sync is not None
            report = await self.outbox_sync[0]()
            log.info("outbox sync: %s", report)
        except Exception:  # one bad run must not stop the schedule
            log.exception("outbox sync failed")

    async def _reconcile(self) -> None:
        try:
            await self.reconciler.run()
        except Exception as exc:  # one bad run (API down, key revoked) must not stop the schedule
            log.warning("reconciliation failed: %s", exc)

    async def _tick(self) -> None:
        try:
            report = await self.reminders.tick()
            if report.dms or report.digests or report.notes:
                log.info(
                    "reminders: %d DMs (%d items), %d digests, %d thread notes",
                    report.dms,
                    report.reminded_items,
                    report.digests,
                    report.notes,
                )
        except Exception:  # one bad run must not stop the schedule
            log.exception("reminder run failed")

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
