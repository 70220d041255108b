"""What an AI-audit meeting tells us about a client, in one shape for Claude and the heuristic.

The model doubles as Claude's structured-output schema, so it stays plain: strings, numbers,
dates, small enums and lists, with descriptions that guide the model. Anything derived (ranking,
compliance flags) is a method, not a field, so neither extractor can get it inconsistent.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Level = Literal["low", "medium", "high"]
_LEVEL_RANK: dict[str, int] = {"low": 1, "medium": 2, "high": 3}


class Figure(BaseModel):
    """A number the client stated, kept with its unit so KPIs can use it as a baseline."""

    label: str = Field(description="what is measured, e.g. 'No-show rate'")
    value: float
    unit: str = Field(description="'%', 'USD', 'USD/month', 'per day', 'minutes', 'hours/week'...")
    text: str = Field(description="the figure as said or summarised, e.g. '11%', '$18k/month'")
    source_timestamp: str | None = Field(default=None, description="HH:MM:SS in the recording")


class ClientProfile(BaseModel):
    name: str
    industry: str = Field(
        default="general", description="'healthcare', 'professional_services' or another short slug"
    )
    industry_detail: str | None = Field(default=None, description="e.g. 'dental clinics', 'law firm'")
    size: str | None = Field(default=None, description="e.g. '3 clinics, ~40 staff'")
    tools: list[str] = Field(default_factory=list, description="software the client already uses")


class Workflow(BaseModel):
    """How a piece of work is done today, before any automation."""

    name: str
    description: str
    steps: list[str] = Field(default_factory=list, description="current steps, in order")
    tools: list[str] = Field(default_factory=list)
    owner_role: str | None = None
    source_timestamp: str | None = None


class PainPoint(BaseModel):
    title: str
    description: str
    workflow: str | None = Field(default=None, description="name of the related workflow")
    figures: list[Figure] = Field(default_factory=list)
    monthly_cost_usd: float | None = Field(default=None, description="only when stated or computable")
    hours_per_week: float | None = Field(default=None, description="only when stated or computable")
    source_timestamp: str | None = None


class Opportunity(BaseModel):
    """An automation worth building; value and effort drive the ranking and the proposal phases."""

    title: str
    description: str
    workflow: str | None = Field(default=None, description="name of the workflow it automates")
    value: Level = "medium"
    effort: Level = "medium"
    phase: int = Field(default=1, description="1 for the first phase, 2+ for later phases")
    tools: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list, description="proposed automated steps")
    inputs: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    edge_cases: list[str] = Field(default_factory=list)
    estimated_monthly_value_usd: float | None = None
    needs_human_approval: bool = Field(
        default=True, description="a person reviews before anything reaches customers or records"
    )

    @property
    def score(self) -> int:
        """Value counts twice as much as effort: a big win that takes work beats a trivial one."""
        return 2 * _LEVEL_RANK[self.value] - _LEVEL_RANK[self.effort]


class Requirement(BaseModel):
    text: str
    kind: Literal["compliance", "security", "technical", "business"] = "business"
    source_timestamp: str | None = None


class Budget(BaseModel):
    amount_usd: float | None = None
    text: str | None = Field(default=None, description="as said, e.g. 'around forty thousand'")
    scope: str | None = Field(default=None, description="what it covers, e.g. 'phase one'")


class Timeline(BaseModel):
    deadline: date | None = Field(default=None, description="go-live date, resolved from the meeting date")
    text: str | None = Field(default=None, description="as said, e.g. 'live by the end of March'")
    milestones: list[str] = Field(default_factory=list)


class AuditStakeholder(BaseModel):
    name: str
    email: str | None = None
    organisation: str | None = None
    side: Literal["client", "agency"] = "client"
    role: str | None = None
    responsibilities: list[str] = Field(default_factory=list)


class Risk(BaseModel):
    text: str
    mitigation: str | None = None
    source_timestamp: str | None = None


class NextStep(BaseModel):
    text: str
    owner: str | None = None
    due_date: date | None = None


class KPI(BaseModel):
    name: str
    unit: str = Field(description="'%', 'USD/month', 'per day', 'minutes', 'hours/week'...")
    baseline: float | None = None
    baseline_text: str | None = Field(default=None, description="as stated in the meeting")
    target: float | None = None
    target_text: str | None = None
    source: str | None = Field(default=None, description="where the baseline came from")


class AuditExtraction(BaseModel):
    client: ClientProfile
    summary: str = Field(description="two or three sentences: who the client is and what hurts")
    workflows: list[Workflow] = Field(default_factory=list)
    pain_points: list[PainPoint] = Field(default_factory=list)
    opportunities: list[Opportunity] = Field(default_factory=list)
    requirements: list[Requirement] = Field(default_factory=list)
    compliance: list[str] = Field(default_factory=list, description="frameworks, e.g. 'HIPAA', 'BAA'")
    budget: Budget = Field(default_factory=Budget)
    timeline: Timeline = Field(default_factory=Timeline)
    stakeholders: list[AuditStakeholder] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)
    next_steps: list[NextStep] = Field(default_factory=list)
    kpis: list[KPI] = Field(default_factory=list)

    def ranked_opportunities(self) -> list[Opportunity]:
        """Earlier phase first, then higher score, then title, so the order never depends on input."""
        return sorted(self.opportunities, key=lambda o: (o.phase, -o.score, o.title.lower()))
