"""What `blocks/` draws: the typed view models the domain hands to the Slack side.

Blocks import only this module, the analysis schema and the Fathom payload models, never ORM rows
or other services; the shapes here are either plain frozen data or protocols that the domain's own
results satisfy structurally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from pydantic import ValidationError

from services.analysis.schema import MeetingAnalysis
from services.audit.generator import GeneratedPack
from services.audit.schema import AuditExtraction
from services.clock import as_utc
from services.fathom import FathomMeeting, timestamp_seconds
from services.models import ActionItem, Meeting, OSProposal, OutboxEntry
from services.templating import steers_the_bot


class SnoozeKind(StrEnum):
    """Snooze choices: carried in a button's value (`blocks.values.SnoozeChoice`), turned into a
    datetime by `services.action_items.snooze_until`. Defined once, for both sides."""

    ONE_HOUR = "1h"
    TOMORROW = "tomorrow_9"
    NEXT_MONDAY = "next_monday_9"
    PICK_DATE = "pick_date"  # opens snooze_date_modal


# -- meetings, action items, proposals ---------------------------------------------------------------


@dataclass(frozen=True)
class ItemView:
    """One action item as every surface draws it (thread card, list, DMs, Home, modals).

    Built from the row by `of`: unsaved rows' missing defaults filled in, datetimes made UTC."""

    id: int
    meeting_id: int
    text: str
    owner_name: str | None = None
    owner_email: str | None = None
    owner_slack_id: str | None = None
    owner_external: bool = False
    due_date: date | None = None
    priority: str = "important"
    status: str = "open"
    snoozed_until: datetime | None = None  # UTC
    completed_at: datetime | None = None  # UTC
    completed_by: str | None = None
    source_timestamp: str | None = None
    playback_url: str | None = None
    version: int = 1

    @property
    def done(self) -> bool:
        return self.status == "done"

    @classmethod
    def of(cls, row: ActionItem) -> ItemView:
        return cls(
            id=row.id or 0,
            meeting_id=row.meeting_id or 0,
            text=row.text or "",
            owner_name=row.owner_name,
            owner_email=row.owner_email,
            owner_slack_id=row.owner_slack_id,
            owner_external=bool(row.owner_external),
            due_date=row.due_date,
            priority=row.priority or "important",
            status=row.status or "open",
            snoozed_until=as_utc(row.snoozed_until) if row.snoozed_until else None,
            completed_at=as_utc(row.completed_at) if row.completed_at else None,
            completed_by=row.completed_by,
            source_timestamp=row.source_timestamp,
            playback_url=row.playback_url,
            version=row.version or 1,
        )


def item_views(rows: Sequence[ActionItem]) -> list[ItemView]:
    return [ItemView.of(r) for r in rows]


@dataclass(frozen=True)
class MeetingView:
    """A meeting as its card draws it, built once per publish: the stored Fathom payload and the
    analysis validated once here (None when absent or no longer valid), its items, the
    email -> Slack id mentions (lower-case keys) and the related meetings (title, thread link)."""

    id: int
    title: str
    url: str | None
    status: str
    needs_reanalysis: bool
    primary_type: str | None
    started_at: datetime | None
    duration_seconds: int | None
    fathom: FathomMeeting | None
    analysis: MeetingAnalysis | None
    items: tuple[ItemView, ...] = ()
    mentions: Mapping[str, str] = field(default_factory=dict)
    related: tuple[tuple[str, str | None], ...] = ()

    @property
    def analysis_shown(self) -> MeetingAnalysis | None:
        """The analysis the card shows: once analysed, or the basic one after a degraded run."""
        return self.analysis if self.status == "analysed" or self.needs_reanalysis else None

    @property
    def internal_emails(self) -> list[str]:
        return [i.email for i in self.fathom.internal_invitees if i.email] if self.fathom else []

    @classmethod
    def of(
        cls,
        row: Meeting,
        items: Sequence[ItemView] = (),
        *,
        mentions: Mapping[str, str] | None = None,
        related: Sequence[tuple[str, str | None]] = (),
    ) -> MeetingView:
        try:
            fathom: FathomMeeting | None = FathomMeeting.model_validate(row.payload or {})
        except ValidationError:
            fathom = None
        analysis = None
        if row.analysis:
            try:
                analysis = MeetingAnalysis.model_validate(row.analysis)
            except ValidationError:
                analysis = None
        started = row.started_at or (fathom.started_at if fathom else None)
        seconds = fathom.duration_seconds if fathom else None
        if seconds is None and row.started_at and row.ended_at:
            seconds = int((row.ended_at - row.started_at).total_seconds())
        return cls(
            id=row.id or 0,
            title=row.title or (fathom.title if fathom else "") or "",
            url=row.share_url or row.url or (fathom.share_url or fathom.url if fathom else None),
            status=row.status or "received",  # unsaved ORM objects have no column defaults yet
            needs_reanalysis=bool(row.needs_reanalysis),
            primary_type=row.primary_type,
            started_at=started,
            duration_seconds=seconds,
            fathom=fathom,
            analysis=analysis,
            items=tuple(items),
            mentions={email.lower(): user for email, user in (mentions or {}).items()},
            related=tuple(related),
        )

    def with_(
        self,
        *,
        items: Sequence[ItemView] | None = None,
        mentions: Mapping[str, str] | None = None,
        related: Sequence[tuple[str, str | None]] | None = None,
    ) -> MeetingView:
        """The same meeting with its items, mentions or related links filled in (no re-parse)."""
        return replace(
            self,
            items=self.items if items is None else tuple(items),
            mentions=self.mentions
            if mentions is None
            else {email.lower(): user for email, user in mentions.items()},
            related=self.related if related is None else tuple(related),
        )


class MeetingHeading(Protocol):
    """What an approval card needs of its meeting (a `MeetingView` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class MeetingTitle:
    id: int
    title: str


@dataclass(frozen=True)
class ProposalView:
    """An OS proposal as its card, Home and the full diff draw it. `steers_the_bot` is the domain's
    verdict ("template", "configuration" or None): such a change needs its own approval."""

    id: int
    meeting_id: int | None
    path: str
    action: str
    content: str
    status: str
    section: str | None = None
    reason: str | None = None
    why: str | None = None
    commit_sha: str | None = None
    steers_the_bot: str | None = None

    @property
    def held(self) -> bool:
        """Pending and steering the bot: needs its own approval, never part of Approve all."""
        return self.status == "proposed" and self.steers_the_bot is not None

    @classmethod
    def of(cls, row: OSProposal) -> ProposalView:
        return cls(
            id=row.id or 0,
            meeting_id=row.meeting_id,
            path=row.path or "",
            action=row.action or "",
            content=row.content or "",
            status=row.status or "proposed",
            section=row.section,
            reason=row.reason,
            why=row.why,
            commit_sha=row.commit_sha,
            steers_the_bot=steers_the_bot(row.path or ""),
        )


def proposal_views(rows: Sequence[OSProposal]) -> list[ProposalView]:
    return [ProposalView.of(r) for r in rows]


class CommitLine(Protocol):
    @property
    def short(self) -> str: ...
    @property
    def date(self) -> datetime: ...
    @property
    def author_name(self) -> str: ...
    @property
    def subject(self) -> str: ...


class HistoryLine(Protocol):
    """One commit of `/os-history` (`services.proposals.HistoryEntry`)."""

    @property
    def commit(self) -> CommitLine: ...
    @property
    def meeting_title(self) -> str | None: ...


class RevertView(Protocol):
    """A rollback's outcome (`services.proposals.Reverted`)."""

    @property
    def sha(self) -> str: ...
    @property
    def reverted_sha(self) -> str: ...
    @property
    def push_error(self) -> str | None: ...


# -- from services/search.py ------------------------------------------------------------------------


HIT_OPEN, HIT_CLOSE = "\u27e6", "\u27e7"  # marks matched words in snippets; blocks turn them bold


@dataclass(frozen=True)
class Hit:
    meeting_id: int
    title: str
    started_at: datetime | None
    url: str | None
    client: str | None
    meeting_type: str | None
    kind: str  # title | summary | decision | line
    ts: str | None
    snippet: str  # raw text; matched words wrapped in HIT_OPEN / HIT_CLOSE
    score: float

    @property
    def recording_url(self) -> str | None:
        """The moment in the recording (Fathom accepts `?timestamp=<seconds>`)."""
        if not self.url:
            return None
        return f"{self.url}?timestamp={timestamp_seconds(self.ts)}" if self.ts else self.url


# -- from services/qa.py ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    question: str
    text: str | None  # the answer (Claude's, or offline from the transcript); None: nothing found
    sources: list[Hit] = field(default_factory=list)  # citations: moments in the recording
    model: str | None = None  # None: answered offline
    error: str | None = None  # short reason Claude was not used (never shown raw to users)
    choices: list[MeetingChoice] = field(default_factory=list)  # "Which meeting?" candidates
    meeting_id: int | None = None  # the meeting answered from
    in_thread: bool = False  # asked in a meeting card's thread: answer there, not to the asker alone


# -- from services/home.py --------------------------------------------------------------------------


@dataclass(frozen=True)
class RecentMeeting:
    id: int
    title: str
    started_at: datetime | None
    url: str | None
    thread_url: str | None = None


@dataclass(frozen=True)
class TeamPanel:
    completion_7d: float | None  # share of items created in the window that are done
    completion_30d: float | None
    median_time_to_done: timedelta | None
    overdue_by_person: dict[str, int]  # Slack id (or name/email) -> overdue items
    meetings_by_type_week: dict[str, int]
    hours_by_client_month: dict[str, float]
    claude_cost_month: Decimal


# -- from services/analytics.py (drawn by blocks/report.py) -----------------------------------------


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    client: str | None = None  # a client slug, or None for all

    @property
    def label(self) -> str:
        return f"{self.since:%d %b} – {(self.until - timedelta(seconds=1)):%d %b %Y}"


@dataclass(frozen=True)
class Efficiency:
    meetings: int
    hours: float
    scheduled_hours: float  # over meetings with a schedule
    overrun_minutes_avg: float | None  # duration - scheduled, mean over scheduled meetings
    questions_per_hour: float | None
    decisions_per_hour: float | None
    items_per_hour: float | None
    without_outcome: int  # meetings with no decision and no action item
    talk_share: dict[str, float]  # speaker -> share of all talk time in the period, largest first


@dataclass(frozen=True)
class ItemStats:
    key: str
    created: int
    done: int
    overdue: int
    median_hours_to_done: float | None
    p90_hours_to_done: float | None

    @property
    def completion_rate(self) -> float | None:
        return self.done / self.created if self.created else None

    @property
    def overdue_share(self) -> float | None:
        return self.overdue / self.created if self.created else None


@dataclass(frozen=True)
class Allocation:
    by_client: dict[str, float]  # hours
    by_person: dict[str, float]  # internal attendee email -> hours
    by_week: dict[date, float]
    client_weeks: dict[tuple[str, date], float]  # the heatmap


@dataclass(frozen=True)
class TypeROI:
    type: str
    meetings: int
    hours: float
    decisions: int
    items_created: int
    items_done: int
    claude_cost_usd: Decimal

    @property
    def cost_per_decision(self) -> Decimal | None:
        return (self.claude_cost_usd / self.decisions).quantize(Decimal("0.0001")) if self.decisions else None


@dataclass(frozen=True)
class ItemStates:
    open: int
    overdue: int
    snoozed: int
    done_30d: int


@dataclass(frozen=True)
class Workload:
    person: str
    open: int
    overdue: int


@dataclass(frozen=True)
class WeekTrend:
    week: date
    created: int
    done: int


@dataclass(frozen=True)
class TimelineRow:
    client: str
    week: date
    meetings: int
    decisions: int
    items: int


@dataclass(frozen=True)
class DecisionRow:
    meeting_id: int
    meeting_title: str
    client: str | None
    what: str
    at: datetime | None


@dataclass(frozen=True)
class Dashboard:
    """Everything a report draws, loaded in one read unit of work."""

    period: Period
    efficiency: Efficiency
    items_by: dict[str, list[ItemStats]]
    allocation: Allocation
    roi: list[TypeROI]
    sentiment_by_week: dict[date, float]
    decisions: list[DecisionRow]
    risks: list[tuple[int, str, str]]  # (meeting id, meeting title, risk)
    network: list[tuple[str, str, int]]  # (person, client, shared meetings)
    timeline: list[TimelineRow]
    trend: list[WeekTrend] = field(default_factory=list)


# -- from services/outbox.py (drawn by blocks/outbox.py) --------------------------------------------


@dataclass(frozen=True)
class OutboxLine:
    """One outside write as the cards draw it (built once from the row)."""

    id: int
    target: str
    operation: str
    summary: str
    status: str
    progress: str | None = None
    error: str | None = None
    external_url: str | None = None
    approved_by: str | None = None
    undoable: bool = True

    @classmethod
    def of(cls, e: OutboxEntry) -> OutboxLine:
        return cls(
            id=e.id,
            target=e.target,
            operation=e.operation,
            summary=e.summary,
            status=e.status,
            progress=e.progress,
            error=e.error,
            external_url=e.external_url,
            approved_by=e.approved_by,
        )


TITLE_KEYS = ("title", "subject")  # the payload keys an outside write's Edit modal changes
BODY_KEYS = ("body", "description", "input_text")
DUE_KEYS = ("due", "due_date")


@dataclass(frozen=True)
class OutboxEdit:
    """What the Edit modal shows of a proposed write: the payload keys it edits, and their text."""

    id: int
    target: str
    summary: str
    title_key: str | None
    title: str | None
    body_key: str | None
    body: str | None
    due_key: str | None
    due: str | None

    @classmethod
    def of(cls, e: OutboxEntry) -> OutboxEdit:
        p = e.payload or {}  # the payload keys each target's proposals use

        def first(keys: tuple[str, ...]) -> str | None:
            return next((k for k in keys if k in p), None)

        t, b, d = first(TITLE_KEYS), first(BODY_KEYS), first(DUE_KEYS)
        if d is None and e.operation in ("task", "issue"):
            d = "due" if e.target in ("hubspot", "salesforce") else "due_date"
        return cls(
            e.id, e.target, e.summary, t, str(p[t] or "") if t else None, b, str(p[b] or "") if b else None,
            d, (str(p.get(d) or "")[:10] or None) if d else None,
        )  # fmt: skip


@dataclass(frozen=True)
class ChartImage:
    """A dashboard chart uploaded to Slack: drawn as an image block by its file id (#20)."""

    file_id: str
    title: str
    alt_text: str


@dataclass
class HomeData:
    user_id: str
    open_items: list[ItemView]
    open_total: int
    proposals: list[ProposalView]
    proposals_total: int
    is_approver: bool
    meetings: list[RecentMeeting]
    meetings_total: int
    team: TeamPanel
    now: datetime
    meeting_titles: dict[int, str] = field(default_factory=dict)
    charts: list[ChartImage] = field(default_factory=list)  # the dashboard, uploaded already
    recovered_week: int | None = None  # admins: meetings reconciliation recovered this week (#17)

    @property
    def is_new(self) -> bool:
        """Nothing of theirs yet: the tab leads with the welcome and how to connect Fathom."""
        return not (self.open_total or self.meetings_total or self.proposals_total)


# -- from services/audit/service.py -----------------------------------------------------------------


NO_INDUSTRY = "general"  # matches no pack: base templates only


class Output(StrEnum):
    ZIP = "zip"
    OS = "os"
    BOTH = "both"


class Stage(StrEnum):
    ANALYSING = "analysing"
    READY = "ready"
    GENERATING = "generating"
    UPLOADING = "uploading"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditOptions:
    meeting_id: int
    client_name: str | None = None
    industry: str | None = None  # a pack name, NO_INDUSTRY, or None to detect
    output: Output = Output.ZIP

    @property
    def wants_zip(self) -> bool:
        return self.output in (Output.ZIP, Output.BOTH)

    @property
    def wants_os(self) -> bool:
        return self.output in (Output.OS, Output.BOTH)


@dataclass(frozen=True)
class MeetingChoice:
    id: int
    title: str
    client_slug: str | None
    started_at: datetime | None
    primary_type: str | None


@dataclass
class Preview:
    options: AuditOptions
    meeting_title: str
    extraction: AuditExtraction
    pack: GeneratedPack
    source: str  # "claude" | "heuristic"


@dataclass
class Delivery:
    preview: Preview
    zip_name: str | None = None
    zip_bytes: int = 0
    proposals: list[OSProposal] = field(default_factory=list)
    zip_only: list[str] = field(default_factory=list)  # files the OS does not hold (code, config)
    already_in_os: list[str] = field(default_factory=list)  # exist there already: not proposed again
