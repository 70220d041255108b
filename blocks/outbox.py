"""Outside writes in Slack: the approval card of a meeting's proposed writes, and the "Send to …"
buttons and task links an action item card shows. Pure builders over `OutboxLine` view models.

One card per meeting, in its thread, updated in place: each write shows its target, what it is,
its status (with Gamma's progress while a deck generates, or the target's own message when it
refused), and its buttons: Approve / Edit / Reject while proposed, Open and Undo once applied,
and Approve all when several wait. Edit opens a modal over the write's title, text and due date.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    HeaderBlock,
    InputBlock,
    InteractiveElement,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from blocks.common import Message, build, mrkdwn
from blocks.ids import OutboxAction, OutboxField, ViewCallback, block_id
from blocks.limits import HEADER_TEXT, INPUT_VALUE
from blocks.text import esc_trunc, link, plain, slack_len
from blocks.values import MeetingRef, OutboxRef, SendRef, encode
from services.views import OutboxEdit, OutboxLine

MAX_SHOWN = 20  # header + summary + 2 per write + approve all <= 50 blocks
TARGET_NAMES = {
    "gamma": "Gamma",
    "hubspot": "HubSpot",
    "salesforce": "Salesforce",
    "asana": "Asana",
    "jira": "Jira",
    "linear": "Linear",
}
STATUS = {
    "proposed": ":large_yellow_circle: waiting for approval",
    "approved": ":hourglass_flowing_sand: applying",
    "applied": ":white_check_mark: applied",
    "rejected": ":x: rejected",
    "failed": ":warning: failed",
    "undone": ":leftwards_arrow_with_hook: undone",
}


def name(target: str) -> str:
    return TARGET_NAMES.get(target, esc_trunc(target, 20))


def outbox_card(meeting_id: int | None, meeting_title: str | None, lines: Sequence[OutboxLine]) -> Message:
    title = f"Outside writes: {meeting_title}" if meeting_title else "Outside writes"
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    summary = " · ".join(f"{n} {status}" for status, n in counts.items()) or "nothing proposed"
    blocks: list[Block] = [
        HeaderBlock(block_id=block_id("outbox", meeting_id, "header"), text=plain(title, HEADER_TEXT)),
        ContextBlock(
            block_id=block_id("outbox", meeting_id, "summary"), elements=[mrkdwn(esc_trunc(summary, 500))]
        ),
    ]
    for line in lines[:MAX_SHOWN]:
        blocks.append(SectionBlock(block_id=block_id("outbox_entry", line.id), text=mrkdwn(describe(line))))
        buttons = _buttons(line)
        if buttons:
            blocks.append(
                ActionsBlock(block_id=block_id("outbox_entry", line.id, "actions"), elements=buttons)
            )
    if len(lines) > MAX_SHOWN:
        more = len(lines) - MAX_SHOWN
        blocks.append(
            ContextBlock(block_id=block_id("outbox", meeting_id, "more"), elements=[mrkdwn(f"+{more} more")])
        )
    waiting = counts.get("proposed", 0)
    if meeting_id is not None and waiting > 1:
        blocks.append(
            ActionsBlock(
                block_id=block_id("outbox", meeting_id, "approve_all"),
                elements=[
                    ButtonElement(
                        text=f"Approve all ({waiting})",
                        action_id=OutboxAction.APPROVE_ALL,
                        value=encode(MeetingRef(meeting_id=meeting_id)),
                        style="primary",
                        confirm=ConfirmObject(
                            title="Approve all?",
                            text=f"Write {waiting} records to the outside systems named on this card?",
                            confirm="Approve all",
                            deny="Cancel",
                        ),
                    )
                ],
            )
        )
    return build(f"{title} — {summary}", blocks)


def describe(line: OutboxLine) -> str:
    status = STATUS.get(line.status, esc_trunc(line.status, 40))
    if line.status == "approved" and line.progress:
        status += f": {esc_trunc(line.progress, 200)}"
    if line.status == "failed" and line.error:
        status += f"\n> {esc_trunc(line.error, 600)}"
    if line.status == "applied" and line.external_url:
        status += f" — {link(line.external_url, 'open in ' + name(line.target))}"
    who = (
        f" (by <@{line.approved_by}>)" if line.approved_by and line.approved_by.startswith(("U", "W")) else ""
    )
    if line.approved_by == "auto-apply":
        who = " (auto-applied by fathom-os.yml)"
    return f"*{name(line.target)}* — {esc_trunc(line.summary, 300)}\n{status}{who if line.status != 'proposed' else ''}"


def _buttons(line: OutboxLine) -> list[InteractiveElement]:
    ref = encode(OutboxRef(entry_id=line.id))
    if line.status in ("proposed", "failed"):
        return [
            ButtonElement(
                text="Approve" if line.status == "proposed" else "Try again",
                action_id=OutboxAction.APPROVE,
                value=ref,
                style="primary",
            ),
            ButtonElement(text="Edit", action_id=OutboxAction.EDIT, value=ref),
            ButtonElement(text="Reject", action_id=OutboxAction.REJECT, value=ref, style="danger"),
        ]
    if line.status == "applied":
        buttons: list[InteractiveElement] = []
        if line.external_url:
            buttons.append(
                ButtonElement(
                    text=f"Open in {name(line.target)}", action_id=OutboxAction.OPEN, url=line.external_url
                )
            )
        if line.undoable:
            buttons.append(
                ButtonElement(
                    text="Undo",
                    action_id=OutboxAction.UNDO,
                    value=ref,
                    confirm=ConfirmObject(
                        title="Undo?",
                        text=f"Archive this record in {name(line.target)}?",
                        confirm="Undo",
                        deny="Cancel",
                    ),
                )
            )
        return buttons
    return []


def item_outside(item_id: int, targets: Sequence[str], lines: Sequence[OutboxLine]) -> list[Block]:
    """What an action item card adds: the created task's link, or a "Send to …" button per
    configured project-management target that has no live task for this item yet."""
    live = [line for line in lines if line.status not in ("rejected", "undone")]
    parts: list[str] = []
    for line in live:
        if line.status == "applied" and line.external_url:
            parts.append(link(line.external_url, f"{name(line.target)} task"))
        else:
            parts.append(f"{name(line.target)}: {STATUS.get(line.status, line.status).split(' ', 1)[-1]}")
    blocks: list[Block] = []
    if parts:
        blocks.append(
            ContextBlock(
                block_id=block_id("action_item", item_id, "outside"), elements=[mrkdwn(" · ".join(parts))]
            )
        )
    sent = {line.target for line in live}
    buttons: list[InteractiveElement] = [
        ButtonElement(
            text=f"Send to {name(t)}",
            action_id=OutboxAction.SEND,
            value=encode(SendRef(item_id=item_id, target=t)),
        )
        for t in targets
        if t not in sent
    ]
    if buttons:
        blocks.append(ActionsBlock(block_id=block_id("action_item", item_id, "send"), elements=buttons[:5]))
    return blocks


def outbox_edit_modal(form: OutboxEdit) -> dict[str, Any]:
    """Edit a proposed write before approving it: its title, text and due date, where it has them.
    A text longer than a Slack input holds is not offered (saving a cut copy would lose the rest)."""
    blocks: list[Block] = [
        ContextBlock(
            block_id="outbox_edit_target",
            elements=[mrkdwn(f"*{name(form.target)}* — {esc_trunc(form.summary, 300)}")],
        )
    ]
    if form.title_key:
        blocks.append(
            InputBlock(
                block_id=OutboxField.TITLE,
                label="Title",
                element=PlainTextInputElement(
                    action_id=OutboxField.TITLE,
                    max_length=255,
                    initial_value=(form.title or "")[:255] or None,
                ),
            )
        )
    if form.body_key and slack_len(form.body or "") <= INPUT_VALUE:
        blocks.append(
            InputBlock(
                block_id=OutboxField.BODY,
                label="Text",
                optional=form.body_key != "input_text",
                element=PlainTextInputElement(
                    action_id=OutboxField.BODY,
                    multiline=True,
                    max_length=INPUT_VALUE,
                    initial_value=form.body or None,
                ),
            )
        )
    elif form.body_key:
        size = slack_len(form.body or "")
        note = (
            f":information_source: The text is {size:,} characters, more than a Slack box holds; "
            "it is sent as proposed."
        )
        blocks.append(SectionBlock(block_id="outbox_edit_long", text=mrkdwn(note)))
    if form.due_key:
        blocks.append(
            InputBlock(
                block_id=OutboxField.DUE,
                label="Due date",
                optional=True,
                element=DatePickerElement(action_id=OutboxField.DUE, initial_date=form.due or None),
            )
        )
    view = View(
        type="modal",
        callback_id=ViewCallback.OUTBOX_EDIT,
        title=f"Edit {name(form.target)} write"[:24],
        submit="Save",
        close="Cancel",
        private_metadata=encode(OutboxRef(entry_id=form.id)),
        blocks=blocks,
    )
    return view.to_dict()


def edited_fields(view: dict[str, Any]) -> dict[str, str | None]:
    """The modal's submitted values by field (title / body / due); absent inputs are left out."""
    values = (view.get("state") or {}).get("values") or {}
    out: dict[str, str | None] = {}
    for key, field in (("title", OutboxField.TITLE), ("body", OutboxField.BODY), ("due", OutboxField.DUE)):
        if field.value in values:
            state = (values[field.value] or {}).get(field.value) or {}
            out[key] = state.get("selected_date") if field is OutboxField.DUE else state.get("value")
    return out
