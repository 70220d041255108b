"""Fathom's "new meeting content ready" payload (fields of the official fathom-python `Meeting`).

Optional parts (transcript, summary, action items, CRM matches) are often absent: a webhook can be
configured without them, and that is normal. Unknown fields are kept so nothing Fathom adds is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_RECORDING_ID = 2**63 - 1


class FathomPayloadError(ValueError):
    """The body is JSON but not a Fathom meeting; the message says why (safe to show the sender)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Invitee(_Model):
    name: str | None = None
    email: str | None = None
    email_domain: str | None = None
    is_external: bool = False
    matched_speaker_display_name: str | None = None


class RecordedBy(_Model):
    name: str | None = None
    email: str | None = None
    email_domain: str | None = None
    team: str | None = None


class Speaker(_Model):
    display_name: str = "Unknown"
    matched_calendar_invitee_email: str | None = None


class TranscriptLine(_Model):
    speaker: Speaker = Field(default_factory=Speaker)
    text: str = ""
    timestamp: str = "00:00:00"

    @property
    def seconds(self) -> int:
        return timestamp_seconds(self.timestamp)


class Summary(_Model):
    template_name: str | None = None
    markdown_formatted: str | None = None


class Assignee(_Model):
    name: str | None = None
    email: str | None = None
    team: str | None = None


class FathomActionItem(_Model):
    description: str
    user_generated: bool = False
    completed: bool = False
    recording_timestamp: str | None = None
    recording_playback_url: str | None = None
    assignee: Assignee | None = None


class CRMMatches(_Model):
    contacts: list[dict[str, Any]] = Field(default_factory=list)
    companies: list[dict[str, Any]] = Field(default_factory=list)
    deals: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None


class FathomMeeting(_Model):
    title: str
    meeting_title: str | None = None
    recording_id: int = Field(gt=0, le=MAX_RECORDING_ID)  # stored as a signed 64-bit integer
    url: str | None = None
    share_url: str | None = None
    created_at: datetime | None = None
    scheduled_start_time: datetime | None = None
    scheduled_end_time: datetime | None = None
    recording_start_time: datetime | None = None
    recording_end_time: datetime | None = None
    calendar_invitees_domains_type: str | None = None
    transcript_language: str | None = None
    calendar_invitees: list[Invitee] = Field(default_factory=list)
    recorded_by: RecordedBy | None = None
    transcript: list[TranscriptLine] | None = None
    default_summary: Summary | None = None
    action_items: list[FathomActionItem] | None = None
    crm_matches: CRMMatches | None = None

    @field_validator("recording_id", mode="before")
    @classmethod
    def _not_a_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be an integer, not true/false")
        return value

    @field_validator("title")
    @classmethod
    def _title_present(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("title is empty")
        return value

    @property
    def started_at(self) -> datetime | None:
        return self.recording_start_time or self.scheduled_start_time or self.created_at

    @property
    def ended_at(self) -> datetime | None:
        return self.recording_end_time or self.scheduled_end_time

    @property
    def duration_seconds(self) -> int | None:
        if self.started_at and self.ended_at:
            return max(0, int((self.ended_at - self.started_at).total_seconds()))
        return None

    @property
    def summary_markdown(self) -> str:
        return (self.default_summary.markdown_formatted or "") if self.default_summary else ""

    @property
    def internal_invitees(self) -> list[Invitee]:
        return [i for i in self.calendar_invitees if not i.is_external]

    @property
    def external_invitees(self) -> list[Invitee]:
        return [i for i in self.calendar_invitees if i.is_external]

    @property
    def external_domains(self) -> list[str]:
        seen: dict[str, None] = {}
        for invitee in self.external_invitees:
            domain = invitee.email_domain or (invitee.email or "").partition("@")[2]
            if domain:
                seen[domain.lower()] = None
        return list(seen)

    def transcript_text(self) -> str:
        return "\n".join(f"[{t.timestamp}] {t.speaker.display_name}: {t.text}" for t in self.transcript or [])

    def playback_url(self, timestamp: str | None) -> str | None:
        if not timestamp or not self.url:
            return None
        return f"{self.url}?timestamp={timestamp_seconds(timestamp)}"


def timestamp_seconds(value: str) -> int:
    """'HH:MM:SS' (or 'MM:SS') -> seconds; junk -> 0 rather than an error."""
    try:
        parts = [int(p) for p in value.split(":")]
    except ValueError:
        return 0
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def parse_meeting(data: Any) -> FathomMeeting:
    """Validate a decoded webhook body; raise FathomPayloadError with a short, readable reason."""
    if not isinstance(data, dict):
        raise FathomPayloadError("body is not a JSON object")
    if "recording_id" not in data:
        raise FathomPayloadError("not a Fathom meeting: recording_id is missing")
    try:
        return FathomMeeting.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FathomPayloadError(f"not a Fathom meeting: {where}: {first['msg']}") from None
