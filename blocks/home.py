"""Home tab: the user's open items, proposals awaiting them, recent meetings, and a team panel.

Each list shows its first few rows and collapses the rest into an "N more" button that opens a
modal list, so the view stays far inside 100 blocks whatever the user's backlog.
Items reuse the thread cards' Done / Snooze controls and block ids (`action_item:<id>`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)

from blocks.action_items import done_snooze_buttons, headline, links, schedule
from blocks.charts import home_charts_blocks
from blocks.common import mrkdwn
from blocks.ids import HomeAction
from blocks.limits import MAX_VIEW_BLOCKS
from blocks.privacy import forget_button
from blocks.proposals import approve_button
from blocks.text import esc_trunc, link, user_mention
from blocks.values import encode
from services.views import HomeData, ItemView, ProposalView, RecentMeeting, TeamPanel

WELCOME = (
    "*Fathom OS* turns every recorded meeting into a threaded card with action items, decisions and "
    "proposed updates to your operating system.\n\n"
    "*Connect Fathom:* in Fathom, Settings → API → Webhooks, add `https://<your-host>/webhooks/fathom` "
    'for "new meeting content ready" (include transcript, summary and action items) and put the '
    "signing secret in `FATHOM_WEBHOOK_SECRET`."
)
Section = Literal["items", "proposals", "meetings"]


class MoreRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    section: Section


def home_view(data: HomeData, thread_urls: dict[int, str] | None = None) -> dict[str, Any]:
    urls = thread_urls or {}
    blocks: list[Block] = [HeaderBlock(block_id="home:header", text=PlainTextObject(text="Fathom OS"))]
    if data.is_new:
        blocks.append(SectionBlock(block_id="home:welcome", text=mrkdwn(WELCOME)))
    blocks += _items(data)
    if data.is_approver:
        blocks += _proposals(data, urls)
    blocks += _meetings(data, urls)
    blocks += _team(data.team)
    if data.recovered_week is not None:  # admins only
        blocks.append(
            ContextBlock(
                block_id="home:admin:recovered",
                elements=[
                    mrkdwn(
                        f"*Admin* · meetings recovered by reconciliation this week "
                        f"(webhook missed): *{data.recovered_week}*"
                    )
                ],
            )
        )
        blocks += forget_button()  # erase a person's data (#18, blocks/privacy.py)
    blocks += home_charts_blocks(data.charts)  # the dashboard's charts, when uploaded (#20)
    blocks.append(
        ContextBlock(
            block_id="home:help",
            elements=[mrkdwn("`/os-actions` your items · `/os-meetings` search · `/os-help` everything")],
        )
    )
    assert len(blocks) <= MAX_VIEW_BLOCKS
    return {"type": "home", "blocks": [b.to_dict() for b in blocks]}


def _title(key: str, text: str) -> list[Block]:
    return [
        DividerBlock(block_id=f"home:{key}:divider"),
        SectionBlock(block_id=f"home:{key}", text=mrkdwn(text)),
    ]


def _more(section: Section, hidden: int) -> list[Block]:
    if hidden <= 0:
        return []
    button = ButtonElement(
        text=f"{hidden} more", action_id=HomeAction.SHOW_MORE, value=encode(MoreRef(section=section))
    )
    return [ActionsBlock(block_id=f"home:{section}:more", elements=[button])]


def item_line(item: ItemView, data: HomeData) -> str:
    meta = [*schedule(item, data.now), *links(item, None)]
    title = data.meeting_titles.get(item.meeting_id)
    if title:
        meta.append(f"from _{esc_trunc(title, 120)}_")
    return headline(item, limit=600) + (f"\n{' · '.join(meta)}" if meta else "")


def _items(data: HomeData) -> list[Block]:
    if not data.open_total:
        return _title("items", "*Your open action items*\nNothing open. :tada:")
    blocks = _title("items", f"*Your open action items ({data.open_total})* — overdue first")
    for item in data.open_items:
        blocks.append(SectionBlock(block_id=f"action_item:{item.id}", text=mrkdwn(item_line(item, data))))
        blocks.append(
            ActionsBlock(block_id=f"action_item:{item.id}:actions", elements=done_snooze_buttons(item))
        )
    return blocks + _more("items", data.open_total - len(data.open_items))


def proposal_line(p: ProposalView, titles: dict[int, str], urls: dict[int, str]) -> str:
    where = f"`{esc_trunc(p.path, 200)}` ({p.action})"
    source = titles.get(p.meeting_id or 0)
    thread = urls.get(p.meeting_id or 0)
    tail = f" · from {link(thread, source) if thread else esc_trunc(source, 120)}" if source else ""
    return f"{where}{tail}\n{esc_trunc(' '.join((p.reason or p.content).split()), 200)}"


def _proposals(data: HomeData, urls: dict[int, str]) -> list[Block]:
    if not data.proposals_total:
        return _title("proposals", "*OS changes awaiting approval*\nNone right now.")
    blocks = _title("proposals", f"*OS changes awaiting your approval ({data.proposals_total})*")
    for p in data.proposals:  # the first few, each with its Approve; the rest behind "N more"
        text = proposal_line(p, data.meeting_titles, urls)
        button = approve_button(p) if p.status == "proposed" else None
        blocks.append(SectionBlock(block_id=f"home:proposal:{p.id}", text=mrkdwn(text), accessory=button))
    return blocks + _more("proposals", data.proposals_total - len(data.proposals))


def meeting_line(m: RecentMeeting, urls: dict[int, str]) -> str:
    parts = [f"*{esc_trunc(m.title, 200)}*"]
    if m.started_at:
        parts.append(m.started_at.strftime("%a %d %b"))
    if urls.get(m.id):
        parts.append(link(urls[m.id], "thread"))
    if m.url:
        parts.append(link(m.url, "recording"))
    return "• " + " · ".join(parts)


def _meetings(data: HomeData, urls: dict[int, str]) -> list[Block]:
    if not data.meetings:
        return _title("meetings", "*Your recent meetings*\nNone recorded yet.")
    lines = "\n".join(meeting_line(m, urls) for m in data.meetings)
    blocks = _title("meetings", f"*Your recent meetings*\n{lines}")
    return blocks + _more("meetings", data.meetings_total - len(data.meetings))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _team(team: TeamPanel) -> list[Block]:
    types = ", ".join(f"{t.replace('_', ' ')} {n}" for t, n in team.meetings_by_type_week.items()) or "none"
    hours = (
        ", ".join(f"{esc_trunc(c, 60)} {h:.1f} h" for c, h in list(team.hours_by_client_month.items())[:8])
        or "none"
    )
    median = team.median_time_to_done
    done_in = f"{median.total_seconds() / 86400:.1f} days" if median is not None else "—"
    overdue = (
        ", ".join(
            f"{user_mention(who) or esc_trunc(who, 60)} {n}"
            for who, n in list(team.overdue_by_person.items())[:8]
        )
        or "nobody"
    )
    fields = [
        mrkdwn(f"*Completion*\n7 days {_pct(team.completion_7d)} · 30 days {_pct(team.completion_30d)}"),
        mrkdwn(f"*Median time to done*\n{done_in}"),
        mrkdwn(f"*Overdue by person*\n{overdue}", 2000),
        mrkdwn(f"*Claude cost this month*\n${team.claude_cost_month:.2f}"),
        mrkdwn(f"*Meetings this week*\n{types}", 2000),
        mrkdwn(f"*Hours in meetings this month*\n{hours}", 2000),
    ]
    return [*_title("team", "*Team*"), SectionBlock(block_id="home:team:stats", fields=fields)]


def compact_item_line(item: ItemView, data: HomeData) -> str:
    meta = " · ".join([*schedule(item, data.now), *links(item, None)])
    return headline(item, limit=140) + (f" — {meta}" if meta else "")


def more_modal(section: Section, data: HomeData, urls: dict[int, str] | None = None) -> dict[str, Any]:
    """The full list behind an "N more" button: text rows, 10 to a section, within view limits."""
    urls = urls or {}
    titles = {"items": "Your open items", "proposals": "Awaiting approval", "meetings": "Your meetings"}
    if section == "items":
        lines, total = [compact_item_line(i, data) for i in data.open_items], data.open_total
    elif section == "proposals":
        lines = [proposal_line(p, data.meeting_titles, urls) for p in data.proposals]
        total = data.proposals_total
    else:
        lines, total = [meeting_line(m, urls) for m in data.meetings], data.meetings_total
    per = 10 if section == "items" else 5
    sections: list[Block] = [
        SectionBlock(block_id=f"more:{start}", text=mrkdwn("\n".join(lines[start : start + per])))
        for start in range(0, len(lines), per)
    ]
    blocks = sections[: MAX_VIEW_BLOCKS - 1]
    shown = min(len(lines), len(blocks) * per)
    if total > shown:
        note = f"Showing {shown} of {total}." + (
            " `/os-actions` pages through all." if section == "items" else ""
        )
        blocks.append(ContextBlock(block_id="more:note", elements=[mrkdwn(note)]))
    if not blocks:
        blocks.append(SectionBlock(block_id="more:empty", text=mrkdwn("Nothing here any more.")))
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": titles[section]},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [b.to_dict() for b in blocks],
    }
