"""Action item buttons, wherever they are drawn (thread card, reminder DM, /os-actions list).

Values carry ids only: every click reloads the item, the service checks who may change it and
whether the transition still applies, then the thread card is refreshed in place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.action_item_modals import edit_item_modal
from blocks.action_items import action_item_list, reminder_dm, snooze_date_modal
from blocks.common import Message
from blocks.ids import ActionItemAction, SnoozeOption, entity_id_from_block_id
from blocks.values import ItemRef, PageRef, SnoozeChoice, decode
from bot.services import Services
from handlers.context import action_value, actor_id, channel_id, services_of
from services.action_items import ActionItemService, Change
from services.clock import utcnow
from services.errors import StaleState
from services.models import ActionItem

PAGE_SIZE = 10


def item_service(services: Services) -> ActionItemService:
    return services.action_items  # type: ignore[no-any-return]  # wired by bot/runtime.py


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return (body.get("actions") or [{}])[0]  # type: ignore[no-any-return]


async def list_title(services: Services, user: str, caller: str, overdue: bool) -> str:
    kind = "overdue" if overdue else "open"
    if user == caller:
        return f"Your {kind} action items"
    return f"{(await services.slack.user_info(user)).name}'s {kind} action items"


async def refresh(services: Services, item: ActionItem, body: dict[str, Any] | None, respond: Any) -> None:
    """Redraw the thread card; when the click came from a DM or the Home tab, redraw that too."""
    if services.publisher is not None:
        await services.publisher.publish_item(item)
    if services.home_publisher is not None:  # the owner's and the clicker's Home tabs, debounced
        services.home_publisher.refresh_soon([item.owner_slack_id, actor_id(body) if body else None])
    if body and (body.get("view") or {}).get("type") == "home":
        return
    if not body or respond is None:
        return
    message = body.get("message")
    container = body.get("container") or {}
    card = await services.slack.ref(f"action_item:{item.id}")
    if card and card.channel == channel_id(body) and card.ts == container.get("message_ts"):
        return  # the clicked message is the card itself, already redrawn
    if message and message.get("blocks"):
        fresh = reminder_dm("", [item], utcnow()).blocks[1:]
        blocks = splice(message["blocks"], fresh)
        await respond(text=message.get("text") or "", blocks=blocks, replace_original=True)


def splice(blocks: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace the blocks that share a block_id with `fresh` ones, keeping everything else."""
    by_id = {b.get("block_id"): b for b in fresh}
    return [by_id.get(b.get("block_id"), b) for b in blocks]


async def _change(
    body: dict[str, Any],
    context: dict[str, Any],
    respond: Any,
    item_id: int,
    run: Callable[[ActionItemService], Awaitable[ActionItem | Change]],
) -> ActionItem:
    """Run one change; on a stale click show the current state before telling the user why."""
    services = services_of(context)
    service = item_service(services)
    try:
        result = await run(service)
    except StaleState:
        await refresh(services, await service.get(item_id), body, respond)
        raise
    item = result.item if isinstance(result, Change) else result
    await refresh(services, item, body, respond)
    if isinstance(result, Change) and result.notify and result.notify != actor_id(body):
        await tell_new_owner(services, item, result.notify, actor_id(body))
    return item


async def tell_new_owner(services: Services, item: ActionItem, owner: str, actor: str) -> None:
    dm = reminder_dm("", [item], utcnow())
    intro = {
        "type": "section",
        "block_id": "assigned:intro",
        "text": {"type": "mrkdwn", "text": f"<@{actor}> gave you an action item:"},
    }
    await services.slack.send_dm(
        owner, Message(text="You have a new action item", blocks=[intro, *dm.blocks[1:]])
    )


async def done(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    ref = decode(ItemRef, action_value(body))
    await _change(body, context, respond, ref.item_id, lambda s: s.complete(ref.item_id, actor_id(body)))


async def reopen(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    ref = decode(ItemRef, action_value(body))
    await _change(body, context, respond, ref.item_id, lambda s: s.reopen(ref.item_id, actor_id(body)))


async def snooze(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    choice = decode(SnoozeChoice, action_value(body))
    actor = actor_id(body)
    if choice.choice == SnoozeOption.PICK_DATE:
        services = services_of(context)
        service = item_service(services)
        item = await service.ensure_can_change(choice.item_id, actor)
        tz = await service.timezone_for(item.owner_slack_id or actor)
        view = snooze_date_modal(item, today=utcnow().astimezone(tz).date())
        await services.slack.open_view(body["trigger_id"], view)
        return
    await _change(
        body, context, respond, choice.item_id, lambda s: s.snooze(choice.item_id, choice.choice.value, actor)
    )


async def reassign(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    action = _action(body)
    item_id = entity_id_from_block_id(str(action.get("block_id") or ""), "action_item")
    new_owner = str(action.get("selected_user") or "")
    await _change(body, context, respond, item_id, lambda s: s.reassign(item_id, new_owner, actor_id(body)))


async def edit(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
    await ack()
    services = services_of(context)
    ref = decode(ItemRef, action_value(body))
    item = await item_service(services).ensure_can_change(ref.item_id, actor_id(body))
    view = edit_item_modal(item, owner_slack_id=item.owner_slack_id)
    await services.slack.open_view(body["trigger_id"], view)


async def page(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    wanted = decode(PageRef, action_value(body))
    caller = actor_id(body)
    user = wanted.user or caller
    items = await item_service(services).open_items_for(user, overdue_only=wanted.overdue)
    message = action_item_list(
        items,
        title=await list_title(services, user, caller, wanted.overdue),
        page=wanted.page,
        page_size=PAGE_SIZE,
        mentions={},
        now=utcnow(),
        for_user=None if user == caller else user,
        overdue=wanted.overdue,
    )
    await respond(**message.as_kwargs(), replace_original=True)


def register(app: AsyncApp) -> None:
    app.action(ActionItemAction.DONE.value)(done)
    app.action(ActionItemAction.REOPEN.value)(reopen)
    app.action(ActionItemAction.SNOOZE.value)(snooze)
    app.action(ActionItemAction.REASSIGN.value)(reassign)
    app.action(ActionItemAction.ASSIGN.value)(reassign)
    app.action(ActionItemAction.EDIT.value)(edit)
    app.action(ActionItemAction.NEXT_PAGE.value)(page)
    app.action(ActionItemAction.PREV_PAGE.value)(page)
