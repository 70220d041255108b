"""Meetings store: turn a stored delivery into a meeting, and store analysis results idempotently."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from services.analysis.schema import ActionItemOut, AnalysisOutcome
from services.clock import utcnow
from services.db import Database
from services.errors import NotFound, PermanentJobError
from services.fathom import FathomMeeting, FathomPayloadError, parse_meeting
from services.models import ActionItem, Decision, LLMUsage, Meeting, WebhookDelivery


def dedupe_key(text: str) -> str:
    """Same task said twice (Fathom and the analysis) -> one item."""
    norm = " ".join(re.findall(r"[a-z0-9]+", text.lower()))
    return hashlib.sha1(norm.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Ingested:
    meeting_id: int
    created: bool
    status: str = "received"  # the stored meeting's: the pipeline decides on it without a re-read


class MeetingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ingest_delivery(self, delivery_id: int) -> Ingested:
        async with self.db.read_session() as s:
            delivery = await s.get(WebhookDelivery, delivery_id)
            if delivery is None:
                raise PermanentJobError(f"delivery {delivery_id} not found")
            try:
                fathom = parse_meeting(json.loads(delivery.body))
            except (ValueError, FathomPayloadError) as exc:
                raise PermanentJobError(f"delivery {delivery_id} is not a Fathom meeting: {exc}") from None
        return await self.ingest(fathom, delivery_id=delivery_id)

    async def ingest(self, fathom: FathomMeeting, *, delivery_id: int | None = None) -> Ingested:
        """Create the meeting and Fathom's own action items; an existing recording_id is reused."""
        async with self.db.read_session() as s:
            existing = (
                await s.execute(
                    select(Meeting.id, Meeting.status).where(Meeting.recording_id == fathom.recording_id)
                )
            ).first()
            if existing is not None:
                return Ingested(existing.id, False, existing.status)
        try:
            async with self.db.session() as s:
                meeting = Meeting(
                    recording_id=fathom.recording_id,
                    delivery_id=delivery_id,
                    title=fathom.title[:500],
                    url=fathom.url,
                    share_url=fathom.share_url,
                    started_at=fathom.started_at,
                    ended_at=fathom.ended_at,
                    payload=fathom.model_dump(mode="json"),
                    status="received",
                )
                s.add(meeting)
                await s.flush()
                external = set(fathom.external_domains)
                seen: set[str] = set()
                for position, item in enumerate(fathom.action_items or []):
                    if dedupe_key(item.description) in seen:
                        continue
                    seen.add(dedupe_key(item.description))
                    email = item.assignee.email if item.assignee else None
                    _add_item(
                        s,
                        meeting.id,
                        position,
                        ActionItemOut(
                            text=item.description[:2000] or "(no description)",
                            owner_name=item.assignee.name if item.assignee else None,
                            owner_email=email,
                            source_timestamp=item.recording_timestamp,
                            source="fathom",
                        ),
                        external,
                        playback_url=item.recording_playback_url,
                        done=item.completed,
                    )
                await s.flush()
                return Ingested(meeting.id, True)
        except IntegrityError:
            async with self.db.session() as s:
                raced = (
                    await s.execute(
                        select(Meeting.id, Meeting.status).where(Meeting.recording_id == fathom.recording_id)
                    )
                ).first()
            if raced is None:
                raise
            return Ingested(raced.id, False, raced.status)

    async def get(self, meeting_id: int) -> Meeting:
        async with self.db.read_session() as s:
            meeting = await s.get(Meeting, meeting_id)
            if meeting is None:
                raise NotFound(f"Meeting {meeting_id} was not found.")
            return meeting

    async def by_recording(self, recording_id: int) -> Meeting | None:
        async with self.db.read_session() as s:
            return await s.scalar(select(Meeting).where(Meeting.recording_id == recording_id))

    async def items(self, meeting_id: int) -> list[ActionItem]:
        async with self.db.read_session() as s:
            rows = await s.scalars(
                select(ActionItem).where(ActionItem.meeting_id == meeting_id).order_by(ActionItem.position)
            )
            return list(rows.all())

    async def link_owners(self, meeting_id: int, mentions: dict[str, str]) -> list[ActionItem]:
        """Store the Slack user of internal owners whose email maps to one; returns fresh items."""
        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(ActionItem)
                    .where(ActionItem.meeting_id == meeting_id)
                    .order_by(ActionItem.position)
                )
            ).all()
            for item in rows:
                slack_id = mentions.get((item.owner_email or "").lower())
                if slack_id and not item.owner_external and item.owner_slack_id is None:
                    item.owner_slack_id = slack_id
            return list(rows)

    async def set_status(self, meeting_id: int, status: str, error: str | None = None) -> None:
        async with self.db.session() as s:
            meeting = await s.get_one(Meeting, meeting_id)
            meeting.status = status
            meeting.error = error

    async def store_analysis(
        self, meeting_id: int, outcome: AnalysisOutcome, *, loaded: Meeting | None = None
    ) -> Meeting:
        """Idempotent: re-running adds no duplicate items and never overwrites a user's edits.

        `loaded`: the row the analysis was made from (the pipeline's one read); the meeting's columns
        are then written with one UPDATE and set on that row, which is returned, without reading it again."""
        analysis = outcome.analysis
        # the payload is validated before the write transaction, not while it holds SQLite's lock
        if loaded is None:
            loaded = await self.get(meeting_id)
        fathom = loaded.fathom()
        external = set(fathom.external_domains)
        async with self.db.session() as s:
            existing = {
                i.dedupe_key: i
                for i in (
                    await s.scalars(select(ActionItem).where(ActionItem.meeting_id == meeting_id))
                ).all()
            }
            position = max((i.position for i in existing.values()), default=-1) + 1
            for out in analysis.action_items:
                item = existing.get(dedupe_key(out.text))
                if item is None:
                    existing[dedupe_key(out.text)] = _add_item(
                        s,
                        meeting_id,
                        position,
                        out,
                        external,
                        playback_url=fathom.playback_url(out.source_timestamp),
                    )
                    position += 1
                elif item.version == 1:  # untouched by people: let the analysis enrich it
                    item.due_date = item.due_date or out.due_date
                    item.priority = out.priority
                    item.owner_email = item.owner_email or out.owner_email
                    item.owner_name = item.owner_name or out.owner_name
            await s.execute(delete(Decision).where(Decision.meeting_id == meeting_id))
            for d in analysis.decisions:
                s.add(
                    Decision(
                        meeting_id=meeting_id,
                        what=d.what,
                        why=d.why,
                        owner=d.owner,
                        source_timestamp=d.source_timestamp,
                    )
                )
            s.add_all(LLMUsage.of(meeting_id, u) for u in outcome.usage)
            values: dict[str, Any] = {
                "analysis": analysis.model_dump(mode="json"),
                "primary_type": analysis.primary_type,
                "analyzer": outcome.model or outcome.analyzer,
                "needs_reanalysis": outcome.degraded,
                "error": outcome.error,
                "status": "analysed",
                "analysed_at": (now := utcnow()),
                "updated_at": now,
                "client_slug": next(iter(sorted(external)), "").split(".")[0] or None,
            }
            written = await s.execute(update(Meeting).where(Meeting.id == meeting_id).values(**values))
            if cast(CursorResult[Any], written).rowcount != 1:
                raise NotFound(f"Meeting {meeting_id} was not found.")
        for name, value in values.items():  # the detached row now says what the database holds
            set_committed_value(loaded, name, value)
        return loaded


def _add_item(
    s: AsyncSession,
    meeting_id: int,
    position: int,
    out: ActionItemOut,
    external_domains: set[str],
    *,
    playback_url: str | None,
    done: bool = False,
) -> ActionItem:
    email = (out.owner_email or "").lower() or None
    item = ActionItem(
        meeting_id=meeting_id,
        position=position,
        dedupe_key=dedupe_key(out.text),
        source=out.source,
        text=out.text,
        owner_name=out.owner_name,
        owner_email=email,
        owner_external=bool(email and email.partition("@")[2] in external_domains),
        due_date=out.due_date,
        priority=out.priority,
        status="done" if done else "open",
        completed_at=utcnow() if done else None,
        source_timestamp=out.source_timestamp,
        playback_url=playback_url,
        version=1,
    )
    s.add(item)
    return item
