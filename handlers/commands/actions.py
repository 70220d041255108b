"""`/os-actions`, `/os-actions @user`, `/os-actions overdue`: open items as an ephemeral list."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.action_items import action_item_list
from handlers.actions.action_items import PAGE_SIZE, item_service, list_title
from handlers.context import services_of
from services.clock import utcnow

COMMAND = "/os-actions"
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def parse(text: str, caller: str) -> tuple[str, bool]:
    """Whose list and whether only overdue items: Slack sends a mention as `<@U123|name>`."""
    found = _MENTION.search(text or "")
    overdue = "overdue" in (text or "").lower().split()
    return (found.group(1) if found else caller), overdue


async def os_actions(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    caller = str(command.get("user_id") or "")
    user, overdue = parse(str(command.get("text") or ""), caller)
    items = await item_service(services).open_items_for(user, overdue_only=overdue)
    title = await list_title(services, user, caller, overdue)
    message = action_item_list(
        items,
        title=title,
        page=1,
        page_size=PAGE_SIZE,
        mentions={},
        now=utcnow(),
        for_user=None if user == caller else user,
        overdue=overdue,
    )
    await respond(**message.as_kwargs(), response_type="ephemeral")


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(os_actions)
