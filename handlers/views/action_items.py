"""Modal submissions for action items: the edit form and the "pick a date" snooze.

Validation problems go back into the modal (`response_action: errors`) next to the field; an item
changed since the form opened is refused the same way, so a stale form never overwrites newer state.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from blocks.ids import ItemField, SnoozeField, ViewCallback
from blocks.values import ItemRef, ItemVersionRef, decode
from handlers.context import actor_id, app_of
from handlers.registrar import Registrar
from services.action_items import SnoozeKind, ValidationFailed
from services.errors import NotAllowed, NotFound, StaleState

FIELD_BLOCKS = {
    "text": ItemField.TEXT.value,
    "owner": ItemField.OWNER.value,
    "due_date": ItemField.DUE_DATE.value,
    "priority": ItemField.PRIORITY.value,
}


def _value(view: dict[str, Any], field: str, key: str) -> Any:
    return ((view.get("state") or {}).get("values") or {}).get(field, {}).get(field, {}).get(key)


async def edit_submitted(
    ack: Any, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]
) -> None:
    app = app_of(context)
    ref = decode(ItemVersionRef, view.get("private_metadata"))
    actor = actor_id(body)
    priority = (_value(view, ItemField.PRIORITY, "selected_option") or {}).get("value")
    try:
        change = await app.domain.action_items.edit(
            ref.item_id,
            actor,
            version=ref.version,
            text=_value(view, ItemField.TEXT, "value"),
            owner_slack_id=_value(view, ItemField.OWNER, "selected_user"),
            due_date=_value(view, ItemField.DUE_DATE, "selected_date"),
            priority=priority,
        )
    except ValidationFailed as exc:
        errors = {FIELD_BLOCKS.get(k, ItemField.TEXT.value): v for k, v in exc.errors.items()}
        await ack(response_action="errors", errors=errors)
        return
    except (StaleState, NotAllowed, NotFound) as exc:
        await ack(response_action="errors", errors={ItemField.TEXT.value: str(exc)})
        return
    await ack()
    await app.slack.action_items.changed(change.item, change.notify, actor)


async def snooze_date_submitted(
    ack: Any, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]
) -> None:
    app = app_of(context)
    ref = decode(ItemRef, view.get("private_metadata"))
    picked = _value(view, SnoozeField.DATE, "selected_date")
    try:
        if not picked:
            raise ValidationFailed({"date": "Pick a day."})
        item = await app.domain.action_items.snooze(
            ref.item_id, SnoozeKind.PICK_DATE, actor_id(body), picked=date.fromisoformat(picked)
        )
    except ValidationFailed as exc:
        await ack(response_action="errors", errors={SnoozeField.DATE.value: "; ".join(exc.errors.values())})
        return
    except (StaleState, NotAllowed, NotFound) as exc:
        await ack(response_action="errors", errors={SnoozeField.DATE.value: str(exc)})
        return
    await ack()
    await app.slack.action_items.refresh(item)


def register(app: Registrar) -> None:
    app.view(ViewCallback.ACTION_ITEM_EDIT.value)(edit_submitted)
    app.view(ViewCallback.SNOOZE_DATE.value)(snooze_date_submitted)
