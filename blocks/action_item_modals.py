"""Modals opened from an action item: edit (text, owner, due date, priority) and snooze-until.

Inputs use `ItemField` values as both block_id and action_id, so the submit handler reads
`view["state"]["values"][F][F]`; `private_metadata` carries the ItemRef, ids only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from blocks.ids import ItemField, SnoozeField, ViewCallback
from blocks.limits import INPUT_VALUE
from blocks.text import esc_trunc, truncate, user_mention
from blocks.values import ItemRef, ItemVersionRef, encode
from services.views import ItemView

PRIORITIES = (("urgent", "Urgent"), ("important", "Important"), ("strategic", "Strategic"))


def edit_item_modal(item: ItemView, *, owner_slack_id: str | None) -> dict[str, Any]:
    """Edit form pre-filled with the item's current state."""
    owner = user_mention(owner_slack_id) or user_mention(item.owner_slack_id)
    options = [Option(text=label, value=value) for value, label in PRIORITIES]
    current = next((o for o in options if o.value == item.priority), options[1])
    blocks: list[Block] = [
        InputBlock(
            block_id=ItemField.TEXT,
            label="What needs doing",
            element=PlainTextInputElement(
                action_id=ItemField.TEXT,
                multiline=True,
                max_length=INPUT_VALUE,
                initial_value=truncate(item.text, INPUT_VALUE, ""),
            ),
        ),
        InputBlock(
            block_id=ItemField.OWNER,
            label="Owner",
            optional=True,
            element=UserSelectElement(
                action_id=ItemField.OWNER,
                placeholder="Pick a person",
                initial_user=owner[2:-1] if owner else None,
            ),
        ),
        InputBlock(
            block_id=ItemField.DUE_DATE,
            label="Due date",
            optional=True,
            element=DatePickerElement(
                action_id=ItemField.DUE_DATE,
                initial_date=item.due_date.isoformat() if item.due_date else None,
            ),
        ),
        InputBlock(
            block_id=ItemField.PRIORITY,
            label="Priority",
            element=StaticSelectElement(
                action_id=ItemField.PRIORITY, options=options, initial_option=current
            ),
        ),
    ]
    if not owner and (item.owner_name or item.owner_email):
        who = esc_trunc(item.owner_name or item.owner_email, 200)
        blocks.insert(
            2,
            ContextBlock(
                block_id="item_owner_note",
                elements=[MarkdownTextObject(text=f"Named in the meeting: {who} (no Slack account found)")],
            ),
        )
    view = View(
        type="modal",
        callback_id=ViewCallback.ACTION_ITEM_EDIT,
        title="Edit action item",
        submit="Save",
        close="Cancel",
        private_metadata=encode(ItemVersionRef(item_id=item.id, version=item.version)),
        blocks=blocks,
    )
    return view.to_dict()


def snooze_date_modal(item: ItemView, *, today: date | None = None) -> dict[str, Any]:
    """The "Pick a date…" snooze choice; the handler snoozes until 9:00 that day, owner's time."""
    initial = (today + timedelta(days=1)).isoformat() if today else None
    view = View(
        type="modal",
        callback_id=ViewCallback.SNOOZE_DATE,
        title="Snooze until…",
        submit="Snooze",
        close="Cancel",
        private_metadata=encode(ItemRef(item_id=item.id)),
        blocks=[
            ContextBlock(
                elements=[MarkdownTextObject(text=esc_trunc(item.text, 2900))], block_id="snooze_item"
            ),
            InputBlock(
                block_id=SnoozeField.DATE,
                label="Remind me on",
                element=DatePickerElement(action_id=SnoozeField.DATE, initial_date=initial),
            ),
        ],
    )
    return view.to_dict()
