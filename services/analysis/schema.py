"""The one schema every analyzer returns (Claude structured output and the offline heuristic)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    evidence: str | None = Field(default=None, description="the words said, quoted from the transcript")


class DecisionOut(BaseModel):
    what: str
    why: str | None = None
    owner: str | None = None
    source_timestamp: str | None = None
    status: DecisionStatus = "made"
    evidence: str | None = None


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
    sentiment: float | None = Field(default=None, ge=-1, le=1, description="overall tone, -1 to 1")

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


# --- what Claude is asked to return --------------------------------------------------------------
# A strict structured-output schema: every field is required and nullable where it may be unknown, so
# an owner or a due date can never vanish silently. `to_analysis` maps it onto the internal models
# (which keep defaults so the heuristic can build them field by field).


def _no_titles(schema: dict[str, Any]) -> None:
    """Titles repeat the field names; dropping them saves ~300 input tokens on every request."""
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


class _Out(BaseModel):
    model_config = ConfigDict(json_schema_extra=_no_titles)


class ClaudeActionItem(_Out):
    text: str = Field(description="starts with a verb")
    owner: str | None = Field(description='the person\'s name, "team" for a shared task, null if unsaid')
    owner_email: str | None
    due_date: date | None = Field(description="ISO date, resolved against the meeting date; null if unsaid")
    priority: Priority
    evidence: str | None = Field(description="the words said, copied exactly from one transcript turn")
    source_timestamp: str | None = Field(description="timestamp of the evidence turn")
    source: Literal["fathom", "analysis"]


class ClaudeDecision(_Out):
    what: str
    why: str | None
    status: DecisionStatus
    owner: str | None
    evidence: str | None = Field(description="the words said, copied exactly from one transcript turn")
    source_timestamp: str | None


class ClaudeMention(_Out):
    text: str
    source_timestamp: str | None


class ClaudeStakeholder(_Out):
    name: str
    email: str | None
    organisation: str | None
    role: str | None


class ClaudeSectionChange(_Out):
    """A targeted edit to an EXISTING OS file this meeting changes (standard updates are built in code)."""

    path: str
    section: str = Field(description="the markdown heading whose body is replaced")
    content: str
    reason: str


class ClaudeAnalysis(_Out):
    types: list[TypeScore]
    summary_one_line: str
    summary: str
    action_items: list[ClaudeActionItem]
    decisions: list[ClaudeDecision]
    risks: list[ClaudeMention]
    requirements: list[ClaudeMention]
    budget: list[ClaudeMention]
    timeline: list[ClaudeMention]
    stakeholders: list[ClaudeStakeholder]
    roadmap_ideas: list[ClaudeMention]
    section_changes: list[ClaudeSectionChange]
    sentiment: float | None = Field(default=None, description="overall tone of the meeting, -1 to 1")

    def to_analysis(self) -> MeetingAnalysis:
        def mentions(items: list[ClaudeMention]) -> list[Mention]:
            return [
                Mention(text=m.text, source_timestamp=m.source_timestamp) for m in items if m.text.strip()
            ]

        return MeetingAnalysis(
            types=self.types,
            summary_one_line=self.summary_one_line,
            summary=self.summary,
            action_items=[
                ActionItemOut(
                    text=a.text[:2000],
                    owner_name=a.owner,
                    owner_email=a.owner_email,
                    due_date=a.due_date,
                    priority=a.priority,
                    source_timestamp=a.source_timestamp,
                    source=a.source,
                    evidence=a.evidence,
                )
                for a in self.action_items
                if a.text.strip()
            ],
            decisions=[
                DecisionOut(
                    what=d.what,
                    why=d.why,
                    owner=d.owner,
                    source_timestamp=d.source_timestamp,
                    status=d.status,
                    evidence=d.evidence,
                )
                for d in self.decisions
                if d.what.strip()
            ],
            risks=mentions(self.risks),
            requirements=mentions(self.requirements),
            budget=mentions(self.budget),
            timeline=mentions(self.timeline),
            stakeholders=[Stakeholder(**s.model_dump()) for s in self.stakeholders if s.name.strip()],
            roadmap_ideas=mentions(self.roadmap_ideas),
            os_updates=[
                OSUpdate(
                    path=c.path,
                    action="update_section",
                    section=c.section,
                    content=c.content,
                    reason=c.reason,
                )
                for c in self.section_changes
            ],
            sentiment=None if self.sentiment is None else max(-1.0, min(1.0, self.sentiment)),
        )


class ClaudeMerge(_Out):
    """The merge step over chunk results of a long meeting: one headline, one summary, one set of types."""

    types: list[TypeScore]
    summary_one_line: str
    summary: str
