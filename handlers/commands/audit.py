"""`/os-audit [meeting or client]`: open the options modal, newest meetings first, pre-filtered by the text."""

from __future__ import annotations

from typing import Any

from handlers.actions.audit import open_options
from handlers.context import app_of
from handlers.registrar import Registrar

AUDIT = "/os-audit"


async def audit(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app = app_of(context)
    await app.domain.audit.ensure_can_generate(str(command.get("user_id") or ""))
    await open_options(
        app,
        str(command["trigger_id"]),
        query=str(command.get("text") or "").strip(),
        channel=command.get("channel_id"),
        user=str(command.get("user_id") or ""),
    )


def register(app: Registrar) -> None:
    app.command(AUDIT)(audit)
