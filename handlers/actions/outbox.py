"""Outside-write buttons: Approve, Edit, Reject, Approve all, Undo on the outbox card; "Send to …" on
items. Edit opens the modal; its submission is handlers/views/outbox.py.

Values carry ids only; the outbox service reloads the entry and checks that the clicker is an
approver. Each step redraws the card through the outbox publisher (the service notifies it).
"""

from __future__ import annotations

from typing import Any

from blocks.common import notice
from blocks.ids import OutboxAction
from blocks.outbox import name, outbox_edit_modal
from blocks.values import MeetingRef, OutboxRef, SendRef, decode
from handlers.context import action_value, actor_id, app_of
from handlers.registrar import Registrar


async def tell(respond: Any, text: str) -> None:
    await respond(**notice(text).as_kwargs(), response_type="ephemeral", replace_original=False)


async def approve(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    ref = decode(OutboxRef, action_value(body))
    await app_of(context).domain.outbox.approve(ref.entry_id, actor_id(body))


async def reject(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    ref = decode(OutboxRef, action_value(body))
    await app_of(context).domain.outbox.reject(ref.entry_id, actor_id(body))


async def approve_all(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    ref = decode(MeetingRef, action_value(body))
    await app_of(context).domain.outbox.approve_all(ref.meeting_id, actor_id(body))


async def undo(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    ref = decode(OutboxRef, action_value(body))
    entry = await app_of(context).domain.outbox.undo(ref.entry_id, actor_id(body))
    await tell(respond, f"Undone: the {name(entry.target)} record was archived.")


async def send(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    ref = decode(SendRef, action_value(body))
    entry = await app_of(context).domain.outbox.send_item(ref.item_id, ref.target, actor_id(body))
    if entry.status == "proposed":
        await tell(
            respond, f"Proposed for {name(entry.target)}: an approver's click on the outbox card sends it."
        )


async def edit(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(OutboxRef, action_value(body))
    form = await app.domain.outbox.for_editing(ref.entry_id, actor_id(body))
    await app.slack.gateway.open_view(body["trigger_id"], outbox_edit_modal(form))


async def opened(ack: Any) -> None:
    await ack()  # a link button: Slack opens the URL and still sends the click


def register(app: Registrar) -> None:
    app.action(OutboxAction.APPROVE.value)(approve)
    app.action(OutboxAction.REJECT.value)(reject)
    app.action(OutboxAction.APPROVE_ALL.value)(approve_all)
    app.action(OutboxAction.UNDO.value)(undo)
    app.action(OutboxAction.SEND.value)(send)
    app.action(OutboxAction.OPEN.value)(opened)
    app.action(OutboxAction.EDIT.value)(edit)
