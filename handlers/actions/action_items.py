"""Action item buttons, wherever they are drawn (thread card, reminder DM, /os-actions list).

Values carry ids only: every click reloads the item, the service checks who may change it and
whether the transition still applies (once, inside its unit of work), then the publisher redraws.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from blocks.ids import ActionItemAction, SnoozeOption, entity_id_from_block_id
from blocks.values import ItemRef, PageRef, SnoozeChoice, decode
from handlers.context import action_value, actor_id, app_of, clicked
from handlers.registrar import Registrar
from services.clock import utcnow
from services.errors import StaleState

T = TypeVar("T")


async def _redrawn_if_stale(
    context: dict[str, Any], body: dict[str, Any], respond: Any, item_id: int, change: Awaitable[T]
) -> T:
    """On a stale click the clicked message shows the current state before the user hears why."""
    app = app_of(context)
    try:
        return await change
    except StaleState:
        await app.slack.action_items.refresh(
            await app.domain.action_items.get(item_id), clicked(body), respond
        )
        raise


async def done(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(ItemRef, action_value(body))
    item = await _redrawn_if_stale(
        context, body, respond, ref.item_id, app.domain.action_items.complete(ref.item_id, actor_id(body))
    )
    await app.slack.action_items.refresh(item, clicked(body), respond)


async def reopen(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(ItemRef, action_value(body))
    item = await _redrawn_if_stale(
        context, body, respond, ref.item_id, app.domain.action_items.reopen(ref.item_id, actor_id(body))
    )
    await app.slack.action_items.refresh(item, clicked(body), respond)


async def snooze(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, choice, actor = app_of(context), decode(SnoozeChoice, action_value(body)), actor_id(body)
    service = app.domain.action_items
    if choice.choice == SnoozeOption.PICK_DATE:
        item = await service.ensure_can_change(choice.item_id, actor)
        tz = await service.timezone_for(item.owner_slack_id or actor)
        await app.slack.action_items.open_snooze_date(
            body["trigger_id"], item, utcnow().astimezone(tz).date()
        )
        return
    snoozing = service.snooze(choice.item_id, choice.choice.value, actor)
    item = await _redrawn_if_stale(context, body, respond, choice.item_id, snoozing)
    await app.slack.action_items.refresh(item, clicked(body), respond)


async def reassign(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app = app_of(context)
    action = (body.get("actions") or [{}])[0]
    item_id = entity_id_from_block_id(str(action.get("block_id") or ""), "action_item")
    new_owner = str(action.get("selected_user") or "")
    reassigning = app.domain.action_items.reassign(item_id, new_owner, actor_id(body))
    change = await _redrawn_if_stale(context, body, respond, item_id, reassigning)
    await app.slack.action_items.changed(change.item, change.notify, actor_id(body), clicked(body), respond)


async def edit(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
    await ack()
    app, ref = app_of(context), decode(ItemRef, action_value(body))
    item = await app.domain.action_items.ensure_can_change(ref.item_id, actor_id(body))
    await app.slack.action_items.open_edit(body["trigger_id"], item)


async def page(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, wanted, caller = app_of(context), decode(PageRef, action_value(body)), actor_id(body)
    user = wanted.user or caller
    items = await app.domain.action_items.open_items_for(user, overdue_only=wanted.overdue)
    message = await app.slack.action_items.item_list(
        items, user, caller, overdue=wanted.overdue, page=wanted.page
    )
    await respond(**message.as_kwargs(), replace_original=True)


def register(app: Registrar) -> None:
    app.action(ActionItemAction.DONE.value)(done)
    app.action(ActionItemAction.REOPEN.value)(reopen)
    app.action(ActionItemAction.SNOOZE.value)(snooze)
    app.action(ActionItemAction.REASSIGN.value)(reassign)
    app.action(ActionItemAction.ASSIGN.value)(reassign)
    app.action(ActionItemAction.EDIT.value)(edit)
    app.action(ActionItemAction.NEXT_PAGE.value)(page)
    app.action(ActionItemAction.PREV_PAGE.value)(page)
