"""Outside-write Edit modal submission: the edited payload, re-validated by the outbox service; a
field the target would refuse keeps the modal open with the reason under that input."""

from __future__ import annotations

from typing import Any

from blocks.ids import OutboxField, ViewCallback
from blocks.outbox import edited_fields
from blocks.values import OutboxRef, decode
from handlers.context import actor_id, app_of
from handlers.registrar import Registrar
from services.outbox import InvalidEdit

FIELDS = {"title": OutboxField.TITLE, "body": OutboxField.BODY, "due": OutboxField.DUE}


async def save_edit(ack: Any, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    app, ref = app_of(context), decode(OutboxRef, view.get("private_metadata"))
    try:
        await app.domain.outbox.edit(ref.entry_id, edited_fields(view), actor_id(body))
    except InvalidEdit as exc:
        await ack(response_action="errors", errors={FIELDS[exc.field].value: str(exc)[:300]})
        return
    await ack()  # the service redraws the card (its notifier)


def register(app: Registrar) -> None:
    app.view(ViewCallback.OUTBOX_EDIT.value)(save_edit)
