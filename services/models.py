"""Storage: SQLAlchemy 2 ORM models for every core record in the design.

Schema changes ship as Alembic migrations (bot/migrations); `tests/test_migrations.py` fails
when these models and the migrations drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.clock import utcnow
from services.fathom import FathomMeeting


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """Every signed delivery, raw body kept, stored before it is acknowledged."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(255), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(20))  # accepted | duplicate | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    recording_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    # webhook | reconciliation | backfill: how the meeting reached the bot
    source: Mapped[str] = mapped_column(String(20), default="webhook", server_default="webhook")


class SyncState(Base):
    """Where a Fathom API listing stands: reconciliation's watermark, a backfill's resume cursors."""

    __tablename__ = "sync_state"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    watermark: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cursors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # key owner -> cursor (None: done)
    done: Mapped[int] = mapped_column(Integer, default=0)  # meetings handled so far (progress)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Job(Base, TimestampMixin):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "run_after"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # higher is claimed first
    run_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    leased_by: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(Text)


class Meeting(Base, TimestampMixin):
    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id"))
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(1000))
    share_url: Mapped[str | None] = mapped_column(String(1000))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the parsed Fathom meeting, for re-analysis
    status: Mapped[str] = mapped_column(String(20), default="received")  # received|analysing|analysed|failed
    analyzer: Mapped[str | None] = mapped_column(String(40))
    needs_reanalysis: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_type: Mapped[str | None] = mapped_column(String(40), index=True)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    client_slug: Mapped[str | None] = mapped_column(String(120), index=True)
    analysed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    transcript_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # retention

    def fathom(self) -> FathomMeeting:
        """The stored Fathom payload as a model, validated once per loaded row (a publish reads it
        for routing, attendees and the card; a long transcript costs milliseconds each time)."""
        cached = self.__dict__.get("_fathom")
        if cached is None or cached[0] is not self.payload:
            cached = (self.payload, FathomMeeting.model_validate(self.payload or {}))
            self.__dict__["_fathom"] = cached
        return cached[1]


class Person(Base, TimestampMixin):
    """Email <-> Slack user mapping; misses are cached too (slack_user_id NULL, looked_up_at set)."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    slack_user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    tz: Mapped[str | None] = mapped_column(String(64))
    is_external: Mapped[bool] = mapped_column(Boolean, default=False)
    looked_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ActionItem(Base, TimestampMixin):
    __tablename__ = "action_items"
    __table_args__ = (
        UniqueConstraint("meeting_id", "dedupe_key", name="uq_action_items_meeting_dedupe"),
        Index("ix_action_items_owner_status", "owner_slack_id", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))  # fathom | analysis | manual
    text: Mapped[str] = mapped_column(Text)
    owner_name: Mapped[str | None] = mapped_column(String(255))
    owner_email: Mapped[str | None] = mapped_column(String(320), index=True)
    owner_slack_id: Mapped[str | None] = mapped_column(String(32))
    owner_external: Mapped[bool] = mapped_column(Boolean, default=False)
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    priority: Mapped[str] = mapped_column(String(20), default="important")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | done
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(String(32))
    source_timestamp: Mapped[str | None] = mapped_column(String(16))
    playback_url: Mapped[str | None] = mapped_column(String(1000))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Decision(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    what: Mapped[str] = mapped_column(Text)
    why: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(255))
    source_timestamp: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OSProposal(Base, TimestampMixin):
    __tablename__ = "os_proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    action: Mapped[str] = mapped_column(String(20))  # create | append | update_section
    section: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    base_blob: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    origin: Mapped[str] = mapped_column(String(20), default="analysis", server_default="analysis")
    reason: Mapped[str | None] = mapped_column(Text)  # why it was refused or conflicted
    why: Mapped[str | None] = mapped_column(Text)  # why it is proposed (shown on the card)
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SlackMessageRef(Base, TimestampMixin):
    """Where an entity's message lives, recorded the moment a post succeeds."""

    __tablename__ = "slack_message_refs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(255), unique=True)  # "meeting:12", "action_item:5", ...
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))


class SlackPendingPost(Base):
    """A post under way: written before chat.postMessage, removed in the transaction that records its
    ref. One still here means an earlier attempt may have posted and died before recording, so the
    gateway looks for its own message (metadata key = entity) before posting again."""

    __tablename__ = "slack_pending_posts"
    entity: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReminderSent(Base):
    """One row per reminder claimed; the unique key makes one run its owner. A claim still `claimed`
    whose holder is dead (lease lapsed, or a `host:pid` of this host that is gone) is taken over and
    sent again under the same `post_key`, the gateway entity whose pending marker and message
    metadata tell whether the first send reached Slack (see `services.reminders`)."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("kind", "subject", "day", name="uq_reminders_kind_subject_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # due | overdue | snooze | digest | thread_note
    subject: Mapped[str] = mapped_column(String(255))  # "item:5" or "user:U123"
    day: Mapped[date] = mapped_column(Date)
    recipient: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="claimed")  # claimed | sent | skipped
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    holder: Mapped[str | None] = mapped_column(String(80))  # `host:pid:random` of the claiming run
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    post_key: Mapped[str | None] = mapped_column(String(255))  # gateway entity of the message sent


class LLMUsage(Base):
    __tablename__ = "llm_usage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(80))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_creation_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    @classmethod
    def of(cls, meeting_id: int | None, record: Any) -> LLMUsage:
        """A row from an `analysis.schema.UsageRecord` (one per Claude API call)."""
        return cls(
            meeting_id=meeting_id,
            purpose=record.purpose,
            model=record.model,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            cache_creation_tokens=record.cache_creation_tokens,
            cache_read_tokens=record.cache_read_tokens,
            cost_usd=Decimal(str(record.cost_usd)),
        )


class AuditLog(Base):
    """Every change made from Slack: who, when, before, after."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(255), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RedactionRecord(Base):
    """What was redacted before a Claude request about a meeting: counts by kind, never the values."""

    __tablename__ = "redaction_records"
    __table_args__ = (UniqueConstraint("meeting_id", "purpose", name="uq_redaction_records_meeting_purpose"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))  # analysis | audit_extraction
    mode: Mapped[str] = mapped_column(String(20))  # off | standard | strict
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"EMAIL": 3, "PHONE": 1}
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ErasureRecord(Base):
    """A person was erased (`fathom-os forget`): who ran it, when, what kinds, how many; no personal data."""

    __tablename__ = "erasure_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"meetings": 3, "items": 2, ...}


class SeenEvent(Base):
    """A Slack event id already handled by some instance: Slack re-delivers (retry_attempt > 0) over
    any of the app's Socket Mode connections, so de-duplication lives in the shared database."""

    __tablename__ = "seen_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class SchedulerRun(Base):
    """One row per scheduled job and tick: the instance that inserts it runs that tick, others skip."""

    __tablename__ = "scheduler_runs"
    job: Mapped[str] = mapped_column(String(64), primary_key=True)  # "reminders.tick"
    tick: Mapped[str] = mapped_column(String(32), primary_key=True)  # "2026-12-01T10:31" (UTC bucket)
    instance: Mapped[str] = mapped_column(String(128))  # host:pid of the runner, for operators
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class MeetingFacts(Base):
    """Numbers derived once per (re-)analysis from a meeting's payload and analysis, so the dashboard
    is plain SQL on both engines instead of JSON digging (services/analytics.py writes them)."""

    __tablename__ = "meeting_facts"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    week: Mapped[date | None] = mapped_column(Date, index=True)  # Monday of started_at's ISO week (UTC)
    client_slug: Mapped[str | None] = mapped_column(String(120), index=True)
    client_domain: Mapped[str | None] = mapped_column(String(255))  # first external invitee domain
    primary_type: Mapped[str] = mapped_column(String(40), default="other")
    scheduled_seconds: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    decisions: Mapped[int] = mapped_column(Integer, default=0)
    action_items: Mapped[int] = mapped_column(Integer, default=0)
    risks: Mapped[int] = mapped_column(Integer, default=0)
    sentiment: Mapped[float | None] = mapped_column(Numeric(6, 4))  # -1..1 (VADER compound, or Claude's)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MeetingSpeaker(Base):
    """One row per speaker of a meeting: talk time and tone, for talk share and sentiment by person."""

    __tablename__ = "meeting_speakers"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    speaker: Mapped[str] = mapped_column(String(255), primary_key=True)  # display name
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    is_external: Mapped[bool] = mapped_column(Boolean, default=False)
    talk_seconds: Mapped[int] = mapped_column(Integer, default=0)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    sentiment: Mapped[float | None] = mapped_column(Numeric(6, 4))


class ChartCache(Base):
    """An uploaded chart image: re-rendered and re-uploaded only when its data hash changes."""

    __tablename__ = "chart_cache"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)  # "home:U1:items_by_state"
    data_hash: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str] = mapped_column(String(64))
    alt_text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class OutboxEntry(Base, TimestampMixin):
    """One write to an outside system (Gamma, HubSpot, Linear, ...): proposed, approved, applied once.

    `dedupe_key` is unique: the same meeting or item proposed twice is one entry, so approving it
    twice (or a retried job) never creates a second record in the target."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_target_status", "target", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(20))  # gamma | hubspot | salesforce | asana | jira | linear
    operation: Mapped[str] = mapped_column(String(40))  # deck | meeting | task | note | issue
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    # proposed | approved (applying) | applied | rejected | failed | undone
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("action_items.id", ondelete="SET NULL"), index=True
    )
    summary: Mapped[str] = mapped_column(String(500), default="")  # one line for the card
    external_id: Mapped[str | None] = mapped_column(String(255))
    external_url: Mapped[str | None] = mapped_column(String(1000))
    progress: Mapped[str | None] = mapped_column(String(255))  # "generating (poll 3)" while a job runs
    error: Mapped[str | None] = mapped_column(Text)  # the target's own message on a 4xx
    approved_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remote_status: Mapped[str | None] = mapped_column(String(40))  # last status seen there (two-way sync)
