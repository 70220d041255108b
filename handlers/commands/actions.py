"""`/os-actions`, `/os-actions @user`, `/os-actions overdue`: open items as an ephemeral list."""

from __future__ import annotations

import re
from typing import Any

from handlers.context import app_of
from handlers.registrar import Registrar

COMMAND = "/os-actions"
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def parse(text: str, caller: str) -> tuple[str, bool]:
    """Whose list and whether only overdue items: Slack sends a mention as `<@U123|name>`."""
    found = _MENTION.search(text or "")
    overdue = "overdue" in (text or "").lower().split()
    return (found.group(1) if found else caller), overdue


async def os_actions(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, caller = app_of(context), str(command.get("user_id") or "")
    user, overdue = parse(str(command.get("text") or ""), caller)
    items = await app.domain.action_items.open_items_for(user, overdue_only=overdue)
    message = await app.slack.action_items.item_list(items, user, caller, overdue=overdue)
    await respond(**message.as_kwargs(), response_type="ephemeral")


def register(app: Registrar) -> None:
    app.command(COMMAND)(os_actions)
