"""The one schema every analyzer returns (Claude structured output and the offline heuristic)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

MeetingType = Literal[
    "ai_audit", "discovery", "client", "internal_partner", "coaching", "sales", "networking", "other"
]
MEETING_TYPES: tuple[str, ...] = MeetingType.__args__  # type: ignore[attr-defined]
Priority = Literal["urgent", "important", "strategic"]
DecisionStatus = Literal["made", "tentative", "recap"]


class TypeScore(BaseModel):
    type: MeetingType
    confidence: float = Field(ge=0, le=1)


class ActionItemOut(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    owner_name: str | None = None
    owner_email: str | None = None
    due_date: date | None = None
    priority: Priority = "important"
    source_timestamp: str | None = Field(default=None, description="HH:MM:SS in the recording")
    source: Literal["fathom", "analysis"] = "analysis"


class DecisionOut(BaseModel):
    what: str
    why: str | None = None
    owner: str | None = None
    source_timestamp: str | None = None
    status: DecisionStatus = "made"


class Mention(BaseModel):
    """A risk, requirement, budget or timeline statement with where it was said."""

    text: str
    source_timestamp: str | None = None


class Stakeholder(BaseModel):
    name: str
    email: str | None = None
    organisation: str | None = None
    role: str | None = None


class OSUpdate(BaseModel):
    path: str = Field(description="relative path inside the OS repository, e.g. clients/acme/log.md")
    action: Literal["create", "append", "update_section"]
    section: str | None = Field(default=None, description="markdown heading for update_section")
    content: str
    reason: str | None = None


class MeetingAnalysis(BaseModel):
    types: list[TypeScore] = Field(description="every type that applies, highest confidence first")
    summary_one_line: str
    summary: str = Field(description="markdown, a few short paragraphs or bullets")
    action_items: list[ActionItemOut] = Field(default_factory=list)
    decisions: list[DecisionOut] = Field(default_factory=list)
    risks: list[Mention] = Field(default_factory=list)
    requirements: list[Mention] = Field(default_factory=list)
    budget: list[Mention] = Field(default_factory=list)
    timeline: list[Mention] = Field(default_factory=list)
    stakeholders: list[Stakeholder] = Field(default_factory=list)
    roadmap_ideas: list[Mention] = Field(default_factory=list)
    os_updates: list[OSUpdate] = Field(default_factory=list)

    @property
    def primary_type(self) -> str:
        return max(self.types, key=lambda t: t.confidence).type if self.types else "other"

    @property
    def confidence(self) -> float:
        return max((t.confidence for t in self.types), default=0.0)


class AnalysisOutcome(BaseModel):
    """What the pipeline stores: the analysis plus how it was made."""

    analysis: MeetingAnalysis
    analyzer: Literal["claude", "heuristic"]
    model: str | None = None
    degraded: bool = Field(default=False, description="Claude failed; heuristic used; re-analyse later")
    error: str | None = None
    usage: list[UsageRecord] = Field(default_factory=list)


class UsageRecord(BaseModel):
    purpose: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0


AnalysisOutcome.model_rebuild()
