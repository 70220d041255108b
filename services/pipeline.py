"""The meeting pipeline, run by job workers: ingest -> first card -> analysis -> enriched card.

The ingest job (high priority, `PRIORITY_FIRST_CARD`) stores the meeting, posts its first card from
what Fathom sent and queues the analysis as its own normal-priority job: under a stream of meetings
the first card never waits behind the analysis of earlier ones.

Each step can run twice without visible effect: the meeting is keyed by recording_id, items by a
dedupe key, and the publisher updates the message it recorded instead of posting again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from services import audit_log
from services.analysis.schema import AnalysisOutcome
from services.db import Database
from services.fathom import FathomMeeting
from services.jobs import PRIORITY_FIRST_CARD, JobHandler, JobQueue
from services.meetings import MeetingStore
from services.models import Job, Meeting

log = logging.getLogger(__name__)

INGEST_JOB = "meeting.ingest"
ANALYZE_JOB = "meeting.analyze"
INGEST_PRIORITY = PRIORITY_FIRST_CARD  # the intake enqueues INGEST_JOB at this priority


class MeetingPublisher(Protocol):
    async def publish_meeting(self, meeting_id: int, *, with_items: bool = True) -> None: ...


class AnalyzeFn(Protocol):
    async def __call__(self, meeting: FathomMeeting, *, os_context: str = "") -> AnalysisOutcome: ...


# a hook gets the meeting as stored with its analysis (one read per pipeline step, #13): it reads
# what else it needs, never the meeting row again
AfterAnalysis = Callable[[Meeting, AnalysisOutcome], Awaitable[object]]
ContextFn = Callable[[FathomMeeting], Awaitable[str]]


class NullPublisher:
    """Used when no Slack is configured at all (CLI ingest)."""

    async def publish_meeting(self, meeting_id: int, *, with_items: bool = True) -> None:
        log.debug("no Slack publisher; meeting %s not posted", meeting_id)


async def _no_context(_meeting: FathomMeeting) -> str:
    return ""


class MeetingPipeline:
    def __init__(
        self,
        db: Database,
        queue: JobQueue,
        analyze: AnalyzeFn,
        *,
        store: MeetingStore | None = None,
        publisher: MeetingPublisher | None = None,
        context_for: ContextFn | None = None,
        after_analysis: list[AfterAnalysis] | None = None,
        fast_analysis: bool = False,
    ) -> None:
        """`fast_analysis`: the analyzer answers in milliseconds (the offline heuristic), so the first
        card is the parent alone and the item cards follow with the analysis a moment later, instead
        of posting every item card twice. With Claude (seconds) the first card brings Fathom's items."""
        self.db = db
        self.queue = queue
        self.store = store or MeetingStore(db)
        self.analyze = analyze
        self.publisher = publisher or NullPublisher()
        self.context_for = context_for or _no_context
        self.after_analysis = after_analysis or []
        self.fast_analysis = fast_analysis

    def handlers(self) -> dict[str, JobHandler]:
        return {INGEST_JOB: self.handle_ingest, ANALYZE_JOB: self.handle_analyze}

    async def handle_ingest(self, job: Job) -> None:
        ingested = await self.store.ingest_delivery(int(job.payload["delivery_id"]))
        meeting_id = ingested.meeting_id
        # first card, from what Fathom sent; the analysis is its own job, behind every first card
        await self.publisher.publish_meeting(meeting_id, with_items=not self.fast_analysis)
        if ingested.status != "analysed":
            async with self.db.write_session() as s:
                # its own key: a Retry click while this one finishes still queues a re-analysis
                queued = await self.queue.enqueue(
                    s, ANALYZE_JOB, {"meeting_id": meeting_id}, key=f"first-analysis:{meeting_id}"
                )
            if queued is not None:
                self.queue.notify()
        elif self.fast_analysis:  # a retry after a crash past the analysis: the card above had no items
            await self.publisher.publish_meeting(meeting_id)

    async def handle_analyze(self, job: Job) -> None:
        await self.run_analysis(int(job.payload["meeting_id"]))

    async def request_reanalysis(self, meeting_id: int, actor: str = "cli") -> bool:
        """Queue a fresh analysis (Retry button, `fathom-os reanalyze`); False if one is already queued."""
        meeting = await self.store.get(meeting_id)
        async with self.db.session() as s:
            job = await self.queue.enqueue(
                s, ANALYZE_JOB, {"meeting_id": meeting_id}, key=f"analyze:{meeting_id}"
            )
            if job is not None:
                row = await s.get_one(Meeting, meeting_id)
                row.status = "analysing"
                audit_log.record(
                    s,
                    actor,
                    "meeting.reanalyze",
                    f"meeting:{meeting_id}",
                    {"status": meeting.status},
                    {"status": "analysing"},
                )
        if job is not None:
            self.queue.notify()
        return job is not None

    async def run_analysis(self, meeting_id: int) -> AnalysisOutcome:
        meeting = await self.store.get(meeting_id)
        fathom = meeting.fathom()
        extra = {"meeting_id": meeting_id, "recording_id": meeting.recording_id}
        try:
            context = await self.context_for(fathom)
            outcome = await self.analyze(fathom, os_context=context)
            stored = await self.store.store_analysis(meeting_id, outcome, loaded=meeting)
        except Exception as exc:
            log.warning("analysis failed: %s", type(exc).__name__, extra=extra)
            await self.store.set_status(meeting_id, "failed", f"{type(exc).__name__}")
            await self._publish_quietly(meeting_id)
            raise
        log.info("analysed as %s by %s", outcome.analysis.primary_type, outcome.analyzer, extra=extra)
        for hook in self.after_analysis:
            await hook(stored, outcome)
        await self.publisher.publish_meeting(meeting_id)
        return outcome

    async def _publish_quietly(self, meeting_id: int) -> None:
        try:
            await self.publisher.publish_meeting(meeting_id)
        except Exception:
            log.warning("could not show the failed state for meeting %s", meeting_id)
