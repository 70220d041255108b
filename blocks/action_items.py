"""Action item cards (one thread reply each), the `/os-actions` list, reminder and digest DMs.

Every place an item appears draws the same section + actions pair with the same block ids
(`action_item:<id>`, `action_item:<id>:actions`), so one handler serves a click from any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    Option,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)

from blocks.action_item_modals import edit_item_modal, snooze_date_modal
from blocks.common import Message, build, mrkdwn
from blocks.ids import ActionItemAction, SnoozeOption, block_id
from blocks.limits import HEADER_TEXT, SECTION_TEXT
from blocks.text import bullet_lines, esc_trunc, escape, link, plain, slack_date, user_mention
from blocks.values import ItemRef, PageRef, SnoozeChoice, encode
from services.views import ItemView

PRIORITY_EMOJI = {
    "urgent": ":red_circle:",
    "important": ":large_orange_circle:",
    "strategic": ":large_blue_circle:",
}
SNOOZE_LABELS = {
    SnoozeOption.ONE_HOUR: "1 hour",
    SnoozeOption.TOMORROW: "Tomorrow 9:00",
    SnoozeOption.NEXT_MONDAY: "Next Monday 9:00",
    SnoozeOption.PICK_DATE: "Pick a date…",
}
__all__ = [
    "action_item_card",
    "action_item_list",
    "digest_dm",
    "edit_item_modal",
    "reminder_dm",
    "snooze_date_modal",
]
ITEM_TEXT = 1500  # leaves room in a 3,000-char section for the owner / due / link line
MAX_LIST_PAGE = 20  # header + context + 2 blocks per item + nav stays under 50
MAX_REMINDER_ITEMS = 20


def action_item_card(
    item: ItemView,
    *,
    owner_mention: str | None,
    meeting_url: str | None,
    now: datetime,
    outside: Sequence[Block] = (),
) -> Message:
    """One thread reply. `owner_mention` is the owner's Slack user id (or `<@U…>`) when known."""
    owner = _owner(item, owner_mention)
    meta = [owner, *schedule(item, now), *links(item, meeting_url)]
    blocks: list[Block] = [
        SectionBlock(block_id=block_id("action_item", item.id), text=mrkdwn(headline(item))),
        ContextBlock(block_id=block_id("action_item", item.id, "meta"), elements=[mrkdwn(" · ".join(meta))]),
        _actions(item, owner_mention),
        *outside,  # the item's task in Linear, or "Send to …" (blocks/outbox.item_outside)
    ]
    return build(f"Action item: {item.text}", blocks)


def action_item_list(
    items: Sequence[ItemView],
    *,
    title: str,
    page: int,
    page_size: int,
    mentions: dict[str, str],
    now: datetime,
    for_user: str | None = None,
    overdue: bool = False,
) -> Message:
    """One page of `/os-actions` (pages start at 1), with the same buttons as the thread cards.

    `for_user` / `overdue` ride along in the paging buttons so the next page shows the same list."""
    mentions = {email.lower(): user for email, user in mentions.items()}
    size = max(1, min(page_size, MAX_LIST_PAGE))
    pages = max(1, -(-len(items) // size))
    page = max(1, min(page, pages))
    shown = items[(page - 1) * size : page * size]
    blocks: list[Block] = [
        HeaderBlock(block_id="action_items:header", text=plain(title, HEADER_TEXT, "Action items")),
        ContextBlock(
            block_id="action_items:page",
            elements=[mrkdwn(f"{len(items)} item{'s' if len(items) != 1 else ''} · page {page} of {pages}")],
        ),
    ]
    if not shown:
        blocks.append(SectionBlock(block_id="action_items:empty", text=mrkdwn("Nothing here. :tada:")))
    for item in shown:
        mention = _mention_for(item, mentions)
        meta = " · ".join([_owner(item, mention), *schedule(item, now), *links(item, None)])
        text = f"{headline(item)}\n{meta}"
        blocks.append(SectionBlock(block_id=block_id("action_item", item.id), text=mrkdwn(text)))
        blocks.append(_actions(item, mention))
    nav: list[InteractiveElement] = []
    if page > 1:
        nav.append(
            ButtonElement(
                text="Previous page",
                action_id=ActionItemAction.PREV_PAGE,
                value=encode(PageRef(page=page - 1, user=for_user, overdue=overdue)),
            )
        )
    if page < pages:
        nav.append(
            ButtonElement(
                text="Next page",
                action_id=ActionItemAction.NEXT_PAGE,
                value=encode(PageRef(page=page + 1, user=for_user, overdue=overdue)),
            )
        )
    if nav:
        blocks.append(ActionsBlock(block_id="action_items:nav", elements=nav))
    return build(f"{title}: {len(items)} action items (page {page} of {pages})", blocks)


def reminder_dm(person_name: str, items: Sequence[ItemView], now: datetime) -> Message:
    """One DM per person listing what needs them, each item with Done and Snooze."""
    first = escape(person_name.split()[0]) if person_name.strip() else "there"
    count = len(items)
    noun = "action item needs" if count == 1 else "action items need"
    blocks: list[Block] = [
        SectionBlock(block_id="reminder:intro", text=mrkdwn(f"Hi {first}, {count} {noun} you:"))
    ]
    for item in items[:MAX_REMINDER_ITEMS]:
        blocks += _reminder_item(item, now)
    if count > MAX_REMINDER_ITEMS:
        rest = count - MAX_REMINDER_ITEMS
        blocks.append(
            ContextBlock(
                block_id="reminder:more",
                elements=[mrkdwn(f"+{rest} more — run `/os-actions` to see them all")],
            )
        )
    return build(f"Reminder: {count} {noun} you", blocks)


def _reminder_item(item: ItemView, now: datetime) -> list[Block]:
    meta = " · ".join([*schedule(item, now), *links(item, None)])
    text = headline(item) + (f"\n{meta}" if meta else "")
    return [
        SectionBlock(block_id=block_id("action_item", item.id), text=mrkdwn(text)),
        ActionsBlock(
            block_id=block_id("action_item", item.id, "actions"), elements=done_snooze_buttons(item)
        ),
    ]


def reminder_item_blocks(item: ItemView, now: datetime) -> list[dict[str, Any]]:
    """One item as a reminder DM or list draws it: spliced into a clicked message by block_id."""
    return [b.to_dict() for b in _reminder_item(item, now)]


def assigned_dm(item: ItemView, actor: str, now: datetime) -> Message:
    """The DM a new owner gets: who gave it to them, then the item with Done and Snooze."""
    intro = SectionBlock(block_id="assigned:intro", text=mrkdwn(f"<@{actor}> gave you an action item:"))
    return build("You have a new action item", [intro, *_reminder_item(item, now)])


def digest_dm(
    due_today: Sequence[ItemView],
    overdue: Sequence[ItemView],
    completed: Sequence[ItemView],
    now: datetime,
) -> Message:
    """The daily digest: overdue first (what hurts), then today, then what got done."""
    blocks: list[Block] = [HeaderBlock(block_id="digest:header", text="Your action items today")]
    groups = (
        ("overdue", ":rotating_light: Overdue", overdue),
        ("due_today", ":date: Due today", due_today),
        ("completed", ":white_check_mark: Completed", completed),
    )
    for key, label, group in groups:
        if not group:
            continue
        lines = [
            f"• {headline(i, limit=300)} — {' · '.join(schedule(i, now)) or 'no due date'}" for i in group
        ]
        body = bullet_lines(lines, SECTION_TEXT - 100)
        blocks.append(
            SectionBlock(block_id=f"digest:{key}", text=mrkdwn(f"*{label} ({len(group)})*\n{body}"))
        )
    if len(blocks) == 1:
        blocks.append(
            SectionBlock(block_id="digest:empty", text=mrkdwn("Nothing due and nothing overdue. :sunny:"))
        )
    text = f"Digest: {len(overdue)} overdue, {len(due_today)} due today, {len(completed)} completed"
    return build(text, blocks)


def _mention_for(item: ItemView, mentions: dict[str, str]) -> str | None:
    return item.owner_slack_id or (mentions.get(item.owner_email.lower()) if item.owner_email else None)


def headline(item: ItemView, limit: int = ITEM_TEXT) -> str:
    text = esc_trunc(" ".join(item.text.split()) or "(no text)", limit)
    if item.done:
        return f":white_check_mark: ~{text}~"
    return f"{PRIORITY_EMOJI.get(item.priority, ':white_circle:')} *{text}*"


def _owner(item: ItemView, owner_mention: str | None) -> str:
    mention = user_mention(owner_mention) or user_mention(item.owner_slack_id)
    if mention:
        return f"Owner: {mention}"
    if item.owner_name or item.owner_email:
        name = esc_trunc(item.owner_name or item.owner_email, 100)
        return f"Owner: {name}" + (" (external)" if item.owner_external else "")
    return "Owner: _unassigned_"


def _utc(value: datetime) -> datetime:
    """`now` as UTC (a naive value is taken as UTC); the view's datetimes already are."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_time(when: datetime) -> str:
    """A moment as Slack draws it in each reader's own time zone ("tomorrow at 9:00 AM"); the UTC
    fallback is only for places Slack cannot format (notifications, old clients)."""
    fallback = _utc(when).strftime("%a %d %b %H:%M UTC")
    return slack_date(when.timestamp(), "{date_short_pretty} at {time}", fallback)


def _day(value: date) -> str:
    return value.strftime("%a %d %b %Y")


def schedule(item: ItemView, now: datetime) -> list[str]:
    parts: list[str] = []
    if item.done:
        by = user_mention(item.completed_by)
        when = item.completed_at
        done = "Done" + (f" by {by}" if by else "")
        if when:
            done += " " + slack_date(
                when.timestamp(), "{date_short_pretty} {time}", when.strftime("%d %b %Y %H:%M UTC")
            )
        return [done]
    today = now.date()
    if item.due_date:
        if item.due_date < today:
            parts.append(f":rotating_light: *overdue* (due {_day(item.due_date)})")
        elif item.due_date == today:
            parts.append("due *today*")
        else:
            parts.append(f"due {_day(item.due_date)}")
    if item.snoozed_until and item.snoozed_until > _utc(now):
        until = item.snoozed_until
        parts.append(":zzz: snoozed until " + local_time(until))
    return parts


def links(item: ItemView, meeting_url: str | None) -> list[str]:
    if item.playback_url:
        label = f"▶ {item.source_timestamp}" if item.source_timestamp else "▶ recording"
        return [link(item.playback_url, label)]
    if meeting_url:
        return [link(meeting_url, "meeting")]
    return []


def _snooze_select(item: ItemView) -> StaticSelectElement:
    options = [
        Option(text=label, value=encode(SnoozeChoice(item_id=item.id, choice=choice)))
        for choice, label in SNOOZE_LABELS.items()
    ]
    return StaticSelectElement(action_id=ActionItemAction.SNOOZE, placeholder="Snooze", options=options)


def done_snooze_buttons(item: ItemView) -> list[InteractiveElement]:
    ref = encode(ItemRef(item_id=item.id))
    if item.done:
        return [ButtonElement(text="Reopen", action_id=ActionItemAction.REOPEN, value=ref)]
    return [
        ButtonElement(text="Done", action_id=ActionItemAction.DONE, value=ref, style="primary"),
        _snooze_select(item),
    ]


def _actions(item: ItemView, owner_mention: str | None) -> ActionsBlock:
    """Done/Reopen, Snooze, Reassign (or Assign when nobody owns it), Edit."""
    elements = done_snooze_buttons(item)
    if not item.done:
        known = user_mention(owner_mention) or user_mention(item.owner_slack_id)
        if known:
            elements.append(
                UserSelectElement(
                    action_id=ActionItemAction.REASSIGN, placeholder="Reassign", initial_user=known[2:-1]
                )
            )
        elif not (item.owner_name or item.owner_email):
            elements.append(UserSelectElement(action_id=ActionItemAction.ASSIGN, placeholder="Assign"))
        else:
            elements.append(UserSelectElement(action_id=ActionItemAction.REASSIGN, placeholder="Reassign"))
    elements.append(
        ButtonElement(text="Edit", action_id=ActionItemAction.EDIT, value=encode(ItemRef(item_id=item.id)))
    )
    return ActionsBlock(block_id=block_id("action_item", item.id, "actions"), elements=elements)
