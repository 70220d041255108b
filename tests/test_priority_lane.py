"""The first card of a meeting is posted while every general worker slot is busy with analyses.

Real SQLite file, real job table and worker, the real pipeline; the analyzer blocks until the test
releases it, so "ten analyses are running" is a fact the test waits for, not a sleep.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from services.analysis.heuristic import HeuristicAnalyzer
from services.analysis.schema import AnalysisOutcome
from services.db import Database
from services.fathom import FathomMeeting
from services.jobs import JobQueue, QueuePolicy, Worker
from services.meetings import MeetingStore
from services.models import WebhookDelivery
from services.pipeline import INGEST_JOB, INGEST_PRIORITY, MeetingPipeline
from tests.helpers import load_fixture

TIMEOUT = 20.0  # generous: a loaded 2-core machine; every wait below ends on an event


class BlockingAnalyzer:
    """Real heuristic analysis, held until `release` is set; counts the analyses in flight."""

    def __init__(self, expected: int) -> None:
        self.running = 0
        self.finished = 0
        self.expected = expected
        self.all_running = asyncio.Event()
        self.release = asyncio.Event()
        self.heuristic = HeuristicAnalyzer()

    async def __call__(self, meeting: FathomMeeting, *, os_context: str = "") -> AnalysisOutcome:
        self.running += 1
        if self.running >= self.expected:
            self.all_running.set()
        await self.release.wait()
        try:
            return await self.heuristic.analyze(meeting, os_context=os_context)
        finally:
            self.running -= 1
            self.finished += 1


class FirstCards:
    """The pipeline's publisher seam: records which meetings got their first (pre-analysis) card."""

    def __init__(self) -> None:
        self.store: MeetingStore | None = None
        self.first_card: dict[int, asyncio.Event] = {}
        self.statuses: dict[int, list[str]] = {}

    def wait_for(self, recording_id: int) -> asyncio.Event:
        return self.first_card.setdefault(recording_id, asyncio.Event())

    async def publish_meeting(self, meeting_id: int, *, with_items: bool = True) -> None:
        assert self.store is not None
        meeting = await self.store.get(meeting_id)
        self.statuses.setdefault(meeting.recording_id, []).append(meeting.status)
        if meeting.status == "received":
            self.wait_for(meeting.recording_id).set()


async def deliver(db: Database, queue: JobQueue, recording_id: int) -> None:
    """What the intake does: store the delivery and its ingest job at the first-card priority."""
    payload: dict[str, Any] = {**load_fixture("partner_sync"), "recording_id": recording_id}
    async with db.write_session() as s:
        delivery = WebhookDelivery(
            webhook_id=f"msg_{recording_id}",
            status="accepted",
            body=json.dumps(payload).encode(),
            recording_id=recording_id,
        )
        s.add(delivery)
        await s.flush()
        await queue.enqueue(
            s,
            INGEST_JOB,
            {"delivery_id": delivery.id},
            key=f"recording:{recording_id}",
            priority=INGEST_PRIORITY,
        )
    queue.notify()


async def test_first_card_is_posted_while_ten_analyses_are_running(db: Database) -> None:
    queue = JobQueue(db, QueuePolicy(lease_seconds=30))
    analyzer = BlockingAnalyzer(expected=10)
    cards = FirstCards()
    pipeline = MeetingPipeline(db, queue, analyzer, publisher=cards)
    cards.store = pipeline.store
    worker = Worker(queue, pipeline.handlers(), concurrency=10, priority_slots=1, poll_interval=0.5)
    worker.start()
    try:
        for rid in range(1, 11):
            await deliver(db, queue, rid)
        await asyncio.wait_for(analyzer.all_running.wait(), TIMEOUT)
        assert worker.busy == 10 and analyzer.running == 10  # every general slot holds an analysis

        await deliver(db, queue, 11)
        await asyncio.wait_for(cards.wait_for(11).wait(), TIMEOUT)
        assert analyzer.finished == 0 and analyzer.running == 10  # the ten are still running
        assert cards.statuses[11] == ["received"]

        analyzer.release.set()
        await asyncio.wait_for(
            _until(lambda: all(len(cards.statuses.get(rid, [])) == 2 for rid in range(1, 12))), TIMEOUT
        )
        for rid in range(1, 12):
            assert cards.statuses[rid] == ["received", "analysed"]  # first card, then the enriched one
    finally:
        analyzer.release.set()
        await worker.stop()


async def _until(predicate: Any) -> None:
    while not predicate():
        await asyncio.sleep(0.02)
