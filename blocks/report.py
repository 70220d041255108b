"""`/os-report` and the weekly report: figures, decisions, risks, tone, and chart images.

Pure: a `ReportView` (a `services.views.Dashboard`, charts already uploaded) in, a Message out.
Charts are image blocks referencing the uploaded file (`slack_file: {"id": …}`), each with alt text
carrying the chart's key numbers, so the report reads the same to a screen reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock

from blocks.charts import chart_block
from blocks.common import Message, build, mrkdwn
from blocks.limits import SECTION_TEXT
from blocks.text import esc_trunc
from services.views import ChartImage, Dashboard

__all__ = ["ChartImage", "ReportView", "report_message", "tone"]


def tone(score: float) -> str:
    """VADER's thresholds (services/sentiment.py)."""
    return "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"


MAX_BLOCKS = 50
SHOW_DECISIONS = 10
SHOW_RISKS = 8


@dataclass(frozen=True)
class ReportView:
    dashboard: Dashboard
    kind: str  # week | month
    charts: list[ChartImage] = field(default_factory=list)
    titles: dict[int, str] = field(default_factory=dict)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:g}{unit}"


def report_message(view: ReportView) -> Message:
    d = view.dashboard
    e = d.efficiency
    scope = f" · {d.period.client}" if d.period.client else ""
    blocks: list[Block] = [
        HeaderBlock(text=esc_trunc(f"Fathom OS {view.kind}ly report{scope}", 150), block_id="report:header"),
        ContextBlock(elements=[mrkdwn(esc_trunc(d.period.label, 200))], block_id="report:period"),
    ]
    figures = (
        f"*Meetings* {e.meetings} · {e.hours:g} h (scheduled {e.scheduled_hours:g} h, "
        f"overrun {_num(e.overrun_minutes_avg, ' min')} on average)\n"
        f"*Per hour* {_num(e.questions_per_hour)} questions · {_num(e.decisions_per_hour)} decisions · "
        f"{_num(e.items_per_hour)} items · {e.without_outcome} meetings with no decision and no item"
    )
    blocks.append(SectionBlock(text=mrkdwn(figures), block_id="report:efficiency"))
    people = d.items_by.get("person", [])[:8]
    if people:
        lines = [
            f"• {esc_trunc(p.key, 40)}: {p.done}/{p.created} done ({_pct(p.completion_rate)}), "
            f"median {_num(p.median_hours_to_done, ' h')}, p90 {_num(p.p90_hours_to_done, ' h')}, "
            f"overdue {_pct(p.overdue_share)}"
            for p in people
        ]
        blocks.append(
            SectionBlock(
                text=mrkdwn("*Action items by person*\n" + "\n".join(lines)), block_id="report:items"
            )
        )
    if d.roi:
        lines = [
            f"• {r.type}: {r.meetings} meetings, {r.hours:g} h, {r.decisions} decisions, "
            f"{r.items_done}/{r.items_created} items done, Claude ${r.claude_cost_usd:.2f}"
            for r in d.roi
        ]
        blocks.append(
            SectionBlock(text=mrkdwn("*By meeting type*\n" + "\n".join(lines)), block_id="report:roi")
        )
    if d.allocation.by_client:
        top = ", ".join(f"{esc_trunc(c, 40)} {h:g} h" for c, h in list(d.allocation.by_client.items())[:8])
        blocks.append(SectionBlock(text=mrkdwn(f"*Time by client* {top}"), block_id="report:allocation"))
    if d.sentiment_by_week:
        trend = " → ".join(f"{v:+.2f}" for v in d.sentiment_by_week.values())
        last = list(d.sentiment_by_week.values())[-1]
        blocks.append(
            SectionBlock(text=mrkdwn(f"*Tone* {tone(last)} ({trend})"), block_id="report:sentiment")
        )
    blocks.append(DividerBlock())
    decisions = d.decisions[:SHOW_DECISIONS]
    if decisions:
        lines = [f"• {esc_trunc(x.what, 200)} _({esc_trunc(x.meeting_title, 60)})_" for x in decisions]
        more = len(d.decisions) - len(decisions)
        text = "*Decisions*\n" + "\n".join(lines) + (f"\n…and {more} more" if more > 0 else "")
        blocks.append(SectionBlock(text=mrkdwn(text, SECTION_TEXT), block_id="report:decisions"))
    risks = d.risks[:SHOW_RISKS]
    if risks:
        lines = [f"• {esc_trunc(r, 200)} _({esc_trunc(t, 60)})_" for _, t, r in risks]
        blocks.append(
            SectionBlock(text=mrkdwn("*Risks raised*\n" + "\n".join(lines)), block_id="report:risks")
        )
    if not decisions and not risks:
        blocks.append(SectionBlock(text=mrkdwn("_No decisions or risks recorded in this period._")))
    for i, chart in enumerate(view.charts[: MAX_BLOCKS - len(blocks)]):
        blocks.append(chart_block(chart, f"report:chart:{i}"))
    fallback = (
        f"Fathom OS {view.kind}ly report{scope}: {e.meetings} meetings, {e.hours:g} h, "
        f"{len(d.decisions)} decisions"
    )
    return build(fallback, blocks)


@dataclass(frozen=True)
class CoachingRow:
    day: str
    commitments: int
    followed: int
    not_mentioned: int


def coaching_message(name: str, path: str, rows: list[CoachingRow]) -> Message:
    """Progress over time from the person's coaching file, one line per call."""
    lines = []
    for r in rows[-20:]:
        earlier = r.followed + r.not_mentioned
        progress = f", {r.followed}/{earlier} earlier followed up" if earlier else ""
        lines.append(f"• {r.day}: {r.commitments} commitments{progress}")
    made = sum(r.commitments for r in rows)
    followed = sum(r.followed for r in rows)
    asked = sum(r.followed + r.not_mentioned for r in rows)
    rate = f"{followed}/{asked} ({followed / asked:.0%})" if asked else "–"
    head = f"*{esc_trunc(name, 80)}* · {len(rows)} calls · {made} commitments · followed up {rate}"
    blocks: list[Block] = [
        HeaderBlock(text=esc_trunc(f"Coaching: {name}", 150), block_id="coaching:header"),
        SectionBlock(text=mrkdwn(head), block_id="coaching:summary"),
        SectionBlock(text=mrkdwn("\n".join(lines) or "_No calls recorded._"), block_id="coaching:calls"),
        ContextBlock(
            elements=[mrkdwn(f"From `{esc_trunc(path, 200)}` in the OS")], block_id="coaching:source"
        ),
    ]
    return build(f"Coaching: {name}, {len(rows)} calls, followed up {rate}", blocks)
