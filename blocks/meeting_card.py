"""The parent message of a meeting thread: posted first from Fathom's data, updated in place.

The same builder draws every state (received, analysing, analysed, failed) so `chat.update`
only ever swaps one complete card for another.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    LinkButtonElement,
    Option,
    OverflowMenuElement,
    SectionBlock,
    TextObject,
)

from blocks.common import Message, build, mrkdwn
from blocks.ids import MeetingAction, block_id
from blocks.limits import FIELD_TEXT, HEADER_TEXT, SECTION_TEXT
from blocks.report import tone
from blocks.text import (
    esc_trunc,
    escape,
    fit_markdown,
    link,
    markdown_to_mrkdwn,
    plain,
    safe_url,
    slack_date,
    user_mention,
)
from blocks.values import MeetingRef, encode
from services.analysis.schema import MeetingAnalysis
from services.fathom import FathomMeeting, Invitee
from services.views import MeetingView

TYPE_LABELS = {
    "ai_audit": "AI audit",
    "discovery": "Discovery",
    "client": "Client",
    "internal_partner": "Internal / partner",
    "coaching": "Coaching",
    "sales": "Sales",
    "networking": "Networking",
    "other": "Other",
}
OS_TYPES = frozenset({"ai_audit", "discovery"})
MAX_PEOPLE = 25


def meeting_card(meeting: MeetingView, *, thread_count: int | None = None) -> Message:
    """Parent card: its items, @mentions (lower-case email -> Slack id) and related meetings
    (title, link to its thread or None) come with the view.

    `thread_count` is how many item cards sit in the thread (defaults to the number of items).
    """
    fathom = meeting.fathom
    mentions = meeting.mentions
    items = meeting.items
    status = meeting.status
    analysis = meeting.analysis_shown
    url = meeting.url
    title = meeting.title or "Meeting"
    blocks: list[Block] = [
        HeaderBlock(block_id=block_id("meeting", meeting.id, "header"), text=plain(title, HEADER_TEXT)),
        ContextBlock(
            block_id=block_id("meeting", meeting.id, "meta"),
            elements=[mrkdwn(_meta_line(meeting, analysis))],
        ),
    ]
    attendees = _attendees(fathom, mentions)
    if attendees:
        blocks.append(SectionBlock(block_id=block_id("meeting", meeting.id, "attendees"), fields=attendees))
    summary = _summary(fathom, analysis, url)
    if summary:
        blocks.append(SectionBlock(block_id=block_id("meeting", meeting.id, "summary"), text=mrkdwn(summary)))
    count = len(items) if thread_count is None else thread_count
    if count:
        done = sum(1 for i in items if i.done)
        noun = "action item" if count == 1 else "action items"
        extra = f" ({done} done)" if done else ""
        blocks.append(
            ContextBlock(
                block_id=block_id("meeting", meeting.id, "items"),
                elements=[mrkdwn(f":memo: {count} {noun}{extra} in the thread")],
            )
        )
    if meeting.related:
        links = [link(target, plain(name, 80)) for name, target in meeting.related[:3]]  # labels escaped
        blocks.append(
            ContextBlock(
                block_id=block_id("meeting", meeting.id, "related"),
                elements=[mrkdwn(":link: Related: " + " · ".join(links))],
            )
        )
    buttons = _buttons(meeting, status, analysis, url)
    if buttons:
        blocks.append(ActionsBlock(block_id=block_id("meeting", meeting.id, "actions"), elements=buttons))
    return build(f"{title} — meeting notes", blocks)


def _meta_line(meeting: MeetingView, analysis: MeetingAnalysis | None) -> str:
    status = meeting.status
    parts: list[str] = []
    started: datetime | None = meeting.started_at
    if started:
        fallback = started.strftime("%a %d %b %Y %H:%M UTC")
        parts.append(":calendar: " + slack_date(started.timestamp(), "{date_short_pretty} {time}", fallback))
    seconds = meeting.duration_seconds
    if seconds is not None:
        parts.append(f":stopwatch: {_duration(seconds)}")
    if analysis and status == "analysed":
        label = TYPE_LABELS.get(analysis.primary_type, analysis.primary_type)
        parts.append(f":label: {escape(label)} ({analysis.confidence:.0%})")
        if analysis.sentiment is not None:  # the meeting's tone (#20)
            parts.append(f"tone: {tone(analysis.sentiment)} ({analysis.sentiment:+.2f})")
    if status in ("received", "analysing"):
        parts.append(":hourglass_flowing_sand: analysing…")
    if status == "failed":
        parts.append(":warning: Analysis failed")
    elif meeting.needs_reanalysis:
        parts.append(":warning: Analysis failed — showing a basic analysis")
    return " · ".join(parts) or "Meeting"


def _duration(seconds: int) -> str:
    minutes = max(1, round(seconds / 60)) if seconds else 0
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _person(invitee: Invitee, mentions: Mapping[str, str]) -> str:
    email = (invitee.email or "").lower()
    mention = user_mention(mentions.get(email)) if email else None
    return mention or escape(invitee.name or invitee.email or "someone")


def _people_field(label: str, names: list[str]) -> str:
    shown = names[:MAX_PEOPLE]
    more = f" +{len(names) - len(shown)} more" if len(names) > len(shown) else ""
    return fit_markdown(f"*{label}*\n" + ", ".join(shown) + more, FIELD_TEXT)


def _attendees(fathom: FathomMeeting | None, mentions: Mapping[str, str]) -> list[TextObject]:
    if not fathom or not fathom.calendar_invitees:
        return []
    fields: list[TextObject] = []
    internal = [_person(i, mentions) for i in fathom.internal_invitees]
    if internal:
        fields.append(mrkdwn(_people_field("Team", internal)))
    external = [_person(i, mentions) for i in fathom.external_invitees]
    if external:
        domains = ", ".join(escape(d) for d in fathom.external_domains[:5])
        label = f"External ({domains})" if domains else "External"
        fields.append(mrkdwn(_people_field(label, external)))
    return fields


def _summary(fathom: FathomMeeting | None, analysis: MeetingAnalysis | None, url: str | None) -> str:
    if analysis:
        body = markdown_to_mrkdwn(analysis.summary)
        one_line = esc_trunc(analysis.summary_one_line, 500)
        text = f"*{one_line}*\n{body}" if one_line else body
    else:
        text = markdown_to_mrkdwn(fathom.summary_markdown if fathom else "")
    if not text.strip():
        return ""
    label = "full summary in Fathom" if fathom and fathom.summary_markdown.strip() else "recording in Fathom"
    tail = f" ({link(url, label)})" if safe_url(url) else ""
    return fit_markdown(text, SECTION_TEXT, tail)


def _buttons(
    meeting: MeetingView, status: str, analysis: MeetingAnalysis | None, url: str | None
) -> list[InteractiveElement]:
    ref = encode(MeetingRef(meeting_id=meeting.id or 0))
    buttons: list[InteractiveElement] = []
    target = safe_url(url)
    if target:
        buttons.append(
            LinkButtonElement(text="View in Fathom", url=target, action_id=MeetingAction.OPEN_FATHOM)
        )
    if status == "failed" or meeting.needs_reanalysis:
        buttons.append(
            ButtonElement(text="Retry analysis", action_id=MeetingAction.RETRY_ANALYSIS, value=ref)
        )
    primary = analysis.primary_type if analysis else meeting.primary_type
    if primary in OS_TYPES:
        buttons.append(
            ButtonElement(
                text="Generate client OS", action_id=MeetingAction.GENERATE_OS, value=ref, style="primary"
            )
        )
    summarise = Option(text="Summarise the discussion", value=ref)  # the thread -> the meeting note
    buttons.append(OverflowMenuElement(action_id=MeetingAction.SUMMARISE_THREAD, options=[summarise]))
    return buttons
