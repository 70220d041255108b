"""Delivery plan and pricing for a client pack: weeks up to the deadline, budget split into lines.

Kept apart from rendering so templates only print; every date comes from the meeting date and the
stated deadline, never from the clock, so the same extraction always yields the same proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

DEFAULT_WEEKS = 12
MIN_WEEKS = 4
MAX_WEEKS = 52
HYPERCARE_WEEKS = 2
_EFFORT_WEIGHT = {"low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class Week:
    number: int
    start: date
    end: date
    activities: tuple[str, ...]


@dataclass(frozen=True)
class Milestone:
    week: int
    due: date
    title: str


@dataclass(frozen=True)
class PriceLine:
    item: str
    amount: float | None

    @property
    def text(self) -> str:
        return money(self.amount) if self.amount is not None else "[PRICE TBD]"


@dataclass(frozen=True)
class BuildItem:
    """What the plan needs to know about one automation (no template objects here)."""

    title: str
    effort: str


@dataclass
class Plan:
    start: date
    go_live: date
    deadline_stated: bool
    weeks: list[Week]
    milestones: list[Milestone]
    price_lines: list[PriceLine]
    total: float | None
    hypercare_end: date
    warnings: list[str] = field(default_factory=list)

    @property
    def week_count(self) -> int:
        return len(self.weeks)


def money(amount: float) -> str:
    return f"${amount:,.0f}"


def next_monday(day: date) -> date:
    return day + timedelta(days=7 - day.weekday())


def build_plan(
    *,
    meeting_date: date,
    deadline: date | None,
    budget: float | None,
    phase_one: list[BuildItem],
    compliance: bool,
) -> Plan:
    start = next_monday(meeting_date)
    warnings: list[str] = []
    if deadline is not None and deadline >= start + timedelta(weeks=MIN_WEEKS) - timedelta(days=3):
        weeks = min(MAX_WEEKS, ((deadline - start).days // 7) + 1)
        stated = True
    else:
        if deadline is not None:
            warnings.append(
                f"The stated deadline ({deadline.isoformat()}) leaves less than {MIN_WEEKS} weeks; "
                f"the plan uses {MIN_WEEKS} weeks and needs the client's agreement."
            )
        weeks = DEFAULT_WEEKS if deadline is None else MIN_WEEKS
        stated = False
    go_live = deadline if stated and deadline else start + timedelta(weeks=weeks, days=-3)
    activities = _activities(weeks, phase_one, compliance)
    week_rows = []
    for index in range(weeks):
        week_start = start + timedelta(weeks=index)
        week_end = (
            min(week_start + timedelta(days=4), go_live)
            if index == weeks - 1
            else week_start + timedelta(days=4)
        )
        week_rows.append(Week(index + 1, week_start, week_end, tuple(activities[index])))
    milestones = _milestones(week_rows, phase_one, compliance, go_live)
    lines = _price_lines(budget, phase_one)
    return Plan(
        start=start,
        go_live=go_live,
        deadline_stated=stated,
        weeks=week_rows,
        milestones=milestones,
        price_lines=lines,
        total=budget,
        hypercare_end=go_live + timedelta(weeks=HYPERCARE_WEEKS),
        warnings=warnings,
    )


def _segments(weeks: int) -> tuple[int, int, int]:
    setup = max(1, round(weeks * 0.15))
    pilot = max(1, round(weeks * 0.15))
    build = max(1, weeks - setup - pilot - 1)
    return setup, build, pilot


def _activities(weeks: int, items: list[BuildItem], compliance: bool) -> list[list[str]]:
    setup, build, pilot = _segments(weeks)
    rows: list[list[str]] = [[] for _ in range(weeks)]
    rows[0].append("Kick-off, access to systems and data, success metrics agreed")
    if compliance:
        rows[0].append("Compliance review started (BAA / data-processing terms)")
    for i in range(setup):
        rows[i].append("Workflow mapping and baseline measurement")
    for n, item in enumerate(items or [BuildItem("First automation", "medium")]):
        first = setup + (n * build) // max(1, len(items))
        last = max(first, setup + ((n + 1) * build) // max(1, len(items)) - 1)
        for i in range(first, min(last, weeks - 1) + 1):
            rows[i].append(f"Build and test: {item.title}")
    for i in range(setup + build, min(setup + build + pilot, weeks - 1)):
        rows[i].append("Pilot with one team or site, fixes, staff training")
    rows[-1].append("Go-live, handover and training")
    return rows


def _milestones(
    weeks: list[Week], items: list[BuildItem], compliance: bool, go_live: date
) -> list[Milestone]:
    out = [Milestone(1, weeks[0].end, "Kick-off done, system access granted")]
    if compliance:
        out.append(
            Milestone(min(2, len(weeks)), weeks[min(2, len(weeks)) - 1].end, "Compliance paperwork signed")
        )
    for item in items:
        last = max(
            (w for w in weeks if f"Build and test: {item.title}" in w.activities),
            key=lambda w: w.number,
            default=None,
        )
        if last:
            out.append(Milestone(last.number, last.end, f"{item.title} ready for pilot"))
    pilots = [w for w in weeks if any(a.startswith("Pilot") for a in w.activities)]
    if pilots:
        out.append(Milestone(pilots[-1].number, pilots[-1].end, "Pilot signed off"))
    out.append(Milestone(weeks[-1].number, go_live, "Go-live"))
    return sorted(out, key=lambda m: (m.due, m.title))


def _price_lines(budget: float | None, items: list[BuildItem]) -> list[PriceLine]:
    items = items or [BuildItem("First automation", "medium")]
    shares: list[tuple[str, float]] = [("Discovery, access and compliance setup", 0.15)]
    weight = sum(_EFFORT_WEIGHT.get(i.effort, 2) for i in items)
    shares += [(f"Build: {i.title}", 0.60 * _EFFORT_WEIGHT.get(i.effort, 2) / weight) for i in items]
    shares += [("Pilot, training and go-live", 0.15), (f"Hypercare ({HYPERCARE_WEEKS} weeks)", 0.10)]
    if budget is None:
        return [PriceLine(name, None) for name, _ in shares]
    amounts: list[float] = [round(budget * share / 100) * 100.0 for _, share in shares]
    amounts[-1] += budget - sum(amounts)  # rounding never changes the total the client named
    return [PriceLine(name, amount) for (name, _), amount in zip(shares, amounts, strict=True)]
