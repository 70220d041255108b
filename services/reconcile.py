"""Reconciliation and backfill: meetings listed from Fathom's API enter through the webhook intake.

Fathom does not document its webhook retries, so a delivery can be lost for good. Reconciliation
lists the meetings created since a stored watermark (minus an overlap: a meeting's content can be
ready a while after it was created) and hands every recording the bot has not accepted yet to
`WebhookIntake.receive` with source "reconciliation", the same transaction a webhook gets: a
recording is one meeting whichever of the two arrives first, and the later one is a duplicate.

The watermark moves only after a complete pass, so an interrupted pass is simply repeated (the
recordings it stored are skipped). A backfill stores its resume cursors after every page.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from services.clock import as_utc, utcnow
from services.db import Database
from services.fathom_api import ApiKey, FathomAPI
from services.models import SyncState, WebhookDelivery
from services.webhook import WebhookIntake

log = logging.getLogger(__name__)

RECONCILIATION = "reconciliation"
DEFAULT_OVERLAP = timedelta(hours=1)
DEFAULT_FIRST_LOOKBACK = timedelta(days=1)  # the first pass ever: no watermark yet


@dataclass(frozen=True)
class Recovered:
    recording_id: int
    created_at: datetime | None
    late_by: timedelta | None  # now - created_at: how long the webhook had been missing


@dataclass
class ReconcileReport:
    listed: int = 0
    recovered: list[Recovered] = field(default_factory=list)
    already_known: int = 0
    rejected: int = 0
    watermark: datetime | None = None


OnRecovered = Callable[[Recovered], Awaitable[None]]


def _created(item: dict[str, Any]) -> datetime | None:
    value = item.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


async def _load(db: Database, name: str) -> SyncState | None:
    async with db.session() as s:
        row = await s.get(SyncState, name)
        if row is not None:
            s.expunge(row)
        return row


async def _save(db: Database, name: str, **values: Any) -> None:
    async with db.write_session() as s:
        row = await s.get(SyncState, name)
        if row is None:
            row = SyncState(name=name, cursors={}, done=0)
            s.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = utcnow()


async def known_recordings(db: Database, recording_ids: list[int]) -> set[int]:
    if not recording_ids:
        return set()
    async with db.session() as s:
        rows = await s.scalars(
            select(WebhookDelivery.recording_id).where(
                WebhookDelivery.recording_id.in_(recording_ids), WebhookDelivery.status == "accepted"
            )
        )
        return {int(r) for r in rows if r is not None}


async def recovered_count(db: Database, since: datetime) -> int:
    """Meetings reconciliation brought in since `since` (the Home tab's weekly number, metrics)."""
    async with db.session() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(
                    WebhookDelivery.source == RECONCILIATION,
                    WebhookDelivery.status == "accepted",
                    WebhookDelivery.received_at >= since,
                )
            )
            or 0
        )


async def delivery_source(db: Database, delivery_id: int | None) -> str:
    """How a meeting came in: "webhook", "reconciliation" or "backfill" (its delivery's source)."""
    if delivery_id is None:
        return "webhook"
    async with db.session() as s:
        return str(
            await s.scalar(select(WebhookDelivery.source).where(WebhookDelivery.id == delivery_id))
            or "webhook"
        )


class Ingestor:
    """Hands listed meetings to the intake, skipping recordings already accepted (one query a page)."""

    def __init__(self, db: Database, intake: WebhookIntake, source: str) -> None:
        self.db, self.intake, self.source = db, intake, source
        self._page: list[dict[str, Any]] = []

    async def page(self, items: list[dict[str, Any]], report: ReconcileReport, now: datetime) -> None:
        ids = [int(i["recording_id"]) for i in items]
        known = await known_recordings(self.db, ids)
        fresh = [i for i in items if int(i["recording_id"]) not in known]
        report.listed += len(items)
        report.already_known += len(items) - len(fresh)
        # together: the intake's group commit stores a whole page in one transaction
        receipts = await asyncio.gather(
            *(
                self.intake.receive(
                    f"{self.source}:{item['recording_id']}",
                    json.dumps(item, separators=(",", ":")).encode(),
                    source=self.source,
                )
                for item in fresh
            )
        )
        for item, receipt in zip(fresh, receipts, strict=True):
            rid = int(item["recording_id"])
            if receipt.status == "accepted":
                created = _created(item)
                report.recovered.append(Recovered(rid, created, now - created if created else None))
            elif receipt.status == "rejected":
                report.rejected += 1
                log.warning("%s: recording %s rejected: %s", self.source, rid, receipt.reason)
            else:
                report.already_known += 1


class Reconciler:
    def __init__(
        self,
        db: Database,
        api: FathomAPI,
        intake: WebhookIntake,
        *,
        overlap: timedelta = DEFAULT_OVERLAP,
        first_lookback: timedelta = DEFAULT_FIRST_LOOKBACK,
        clock: Callable[[], datetime] = utcnow,
        on_recovered: list[OnRecovered] | None = None,
    ) -> None:
        self.db, self.api, self.intake = db, api, intake
        self.overlap, self.first_lookback, self.clock = overlap, first_lookback, clock
        self.on_recovered = on_recovered or []
        # one pass at a time in this process (a scheduled tick and `fathom-os` or a test calling
        # run() must not both see a meeting as unknown and hand it to the intake twice)
        self._running = asyncio.Lock()

    async def watermark(self) -> datetime | None:
        state = await _load(self.db, RECONCILIATION)
        return as_utc(state.watermark) if state and state.watermark else None

    async def run(self) -> ReconcileReport:
        async with self._running:
            return await self._run()

    async def _run(self) -> ReconcileReport:
        now = as_utc(self.clock())
        watermark = await self.watermark()
        since = watermark - self.overlap if watermark else now - self.first_lookback
        report = ReconcileReport()
        ingest = Ingestor(self.db, self.intake, RECONCILIATION)
        newest = watermark
        batch: list[dict[str, Any]] = []

        async def flush(_key: ApiKey | None = None, _cursor: str | None = None) -> None:
            if batch:
                await ingest.page(batch, report, now)
                batch.clear()

        async for item in self.api.meetings(created_after=since, on_page=flush):
            batch.append(item)
            created = _created(item)
            if created and created <= now and (newest is None or created > newest):
                newest = created
        await flush()
        # only after a complete pass: an interrupted one is repeated from the old watermark
        await _save(self.db, RECONCILIATION, watermark=newest or since)
        report.watermark = newest or since
        if report.recovered:
            log.info(
                "reconciliation recovered %d meeting(s) the webhook did not bring: %s",
                len(report.recovered),
                ", ".join(str(r.recording_id) for r in report.recovered[:20]),
            )
        for recovered in report.recovered:
            for hook in self.on_recovered:
                try:
                    await hook(recovered)
                except Exception:  # an alert must not undo the intake
                    log.exception("reconciliation alert failed for %s", recovered.recording_id)
        return report


@dataclass
class BackfillReport(ReconcileReport):
    resumed: bool = False


def backfill_name(since: datetime, until: datetime | None) -> str:
    return f"backfill:{since.isoformat()}:{until.isoformat() if until else ''}"


async def backfill(
    db: Database,
    api: FathomAPI,
    intake: WebhookIntake | None,
    *,
    since: datetime,
    until: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> BackfillReport:
    """Every meeting created in [since, until) through the intake (source "backfill"), resumable.

    Cursors are stored after each page, so an interrupted backfill continues where it stopped.
    `intake=None` is a dry run: it lists and counts, stores nothing (not even progress).
    """
    name = backfill_name(since, until)
    state = await _load(db, name) if intake is not None else None
    report = BackfillReport(resumed=bool(state and state.cursors))
    cursors: dict[str, str | None] | None = dict(state.cursors) if state and state.cursors else None
    done = state.done if state else 0
    now = as_utc(clock())
    ingest = Ingestor(db, intake, "backfill") if intake is not None else None
    batch: list[dict[str, Any]] = []
    progress_cursors: dict[str, str | None] = dict(cursors or {})

    async def on_page(key: ApiKey, cursor: str | None) -> None:
        nonlocal done
        if ingest is not None:
            await ingest.page(batch, report, now)
            progress_cursors[key.owner] = cursor
            done += len(batch)
            await _save(db, name, cursors=dict(progress_cursors), done=done)
        else:
            report.listed += len(batch)
        if progress is not None:
            progress(len(batch))
        batch.clear()

    async for item in api.meetings(
        created_after=since, created_before=until, cursors=cursors, on_page=on_page
    ):
        batch.append(item)
    return report
