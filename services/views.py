"""What `blocks/` draws: the typed view models the domain hands to the Slack side.

Blocks import only this module, the analysis schema and the Fathom payload models, never ORM rows
or other services; the shapes here are either plain frozen data or protocols that the domain's own
results satisfy structurally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from services.audit.generator import GeneratedPack
from services.audit.schema import AuditExtraction
from services.fathom import timestamp_seconds
from services.models import ActionItem, OSProposal


class SnoozeKind(StrEnum):
    """Snooze choices: carried in a button's value (`blocks.values.SnoozeChoice`), turned into a
    datetime by `services.action_items.snooze_until`. Defined once, for both sides."""

    ONE_HOUR = "1h"
    TOMORROW = "tomorrow_9"
    NEXT_MONDAY = "next_monday_9"
    PICK_DATE = "pick_date"  # opens snooze_date_modal


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
    text: str | None  # Claude's answer; None offline or when Claude failed
    sources: list[Hit] = field(default_factory=list)
    model: str | None = None
    error: str | None = None  # short reason Claude was not used (never shown raw to users)


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


@dataclass
class HomeData:
    user_id: str
    open_items: list[ActionItem]
    open_total: int
    proposals: list[OSProposal]
    proposals_total: int
    is_approver: bool
    meetings: list[RecentMeeting]
    meetings_total: int
    team: TeamPanel
    now: datetime
    meeting_titles: dict[int, str] = field(default_factory=dict)

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
