"""The "details" thread reply: decisions, risks, requirements, budget and timeline.

One section per topic so a long list in one topic cannot push the others out; each section
keeps as many bullets as fit and ends with "+N more".
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from blocks.common import Message, build, mrkdwn
from blocks.ids import block_id
from blocks.limits import SECTION_TEXT
from blocks.text import bullet_lines, esc_trunc, inline_code
from services.analysis.schema import DecisionOut, MeetingAnalysis, Mention

BULLET_TEXT = 600


def details_card(meeting_id: int | None, analysis: MeetingAnalysis) -> Message:
    topics: list[tuple[str, str, list[str]]] = [
        ("decisions", ":white_check_mark: Decisions", [_decision(d) for d in analysis.decisions]),
        ("risks", ":warning: Risks", [_mention(m) for m in analysis.risks]),
        ("requirements", ":clipboard: Requirements", [_mention(m) for m in analysis.requirements]),
        (
            "budget_timeline",
            ":moneybag: Budget & timeline",
            [_mention(m) for m in analysis.budget] + [_mention(m) for m in analysis.timeline],
        ),
    ]
    blocks: list[Block] = []
    for key, label, lines in topics:
        if not lines:
            continue
        heading = f"*{label} ({len(lines)})*\n"
        body = bullet_lines(lines, SECTION_TEXT - len(heading) - 10)
        blocks.append(
            SectionBlock(block_id=block_id("details", meeting_id, key), text=mrkdwn(heading + body))
        )
    if not blocks:
        blocks.append(
            ContextBlock(
                block_id=block_id("details", meeting_id, "empty"),
                elements=[mrkdwn("No decisions, risks, requirements, budget or timeline were recorded.")],
            )
        )
    counts = ", ".join(f"{len(lines)} {key.replace('_', ' & ')}" for key, _, lines in topics if lines)
    return build(f"Meeting details: {counts or 'nothing recorded'}", blocks)


def _when(timestamp: str | None) -> str:
    return f" {inline_code(timestamp, 14)}" if timestamp else ""


def _mention(item: Mention) -> str:
    return f"• {esc_trunc(item.text, BULLET_TEXT)}{_when(item.source_timestamp)}"


def _decision(item: DecisionOut) -> str:
    line = f"• *{esc_trunc(item.what, BULLET_TEXT)}*"
    if item.why:
        line += f" — {esc_trunc(item.why, BULLET_TEXT // 2)}"
    if item.owner:
        line += f" ({esc_trunc(item.owner, 80)})"
    return line + _when(item.source_timestamp)
