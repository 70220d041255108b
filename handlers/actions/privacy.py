"""The admin-only "Erase a person's data" button on the Home tab (#18): opens the e-mail modal."""

from __future__ import annotations

from typing import Any

from blocks.ids import PrivacyAction
from handlers.context import actor_id, app_of
from handlers.registrar import Registrar


async def open_forget(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    await app_of(context).slack.privacy.open_forget(body["trigger_id"], actor_id(body))


def register(app: Registrar) -> None:
    app.action(PrivacyAction.FORGET.value)(open_forget)
