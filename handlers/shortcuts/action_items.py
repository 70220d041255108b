"""The message shortcut "Make an action item": a reply in a meeting card's thread (or the card
itself) becomes an action item of that meeting, owned by the person it mentions, else its author."""

from __future__ import annotations

from typing import Any

from blocks.common import error_message, notice
from handlers.context import actor_id, app_of, channel_id
from handlers.registrar import Registrar
from services.errors import UserFacingError
from services.views import ItemView

MAKE_ACTION_ITEM = "action_item.from_message"  # manifest.yml features.shortcuts callback_id
NOT_A_MEETING_THREAD = "“Make an action item” works on messages in a meeting card's thread."


async def make_action_item(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, message = app_of(context), body.get("message") or {}
    channel = channel_id(body) or ""
    thread_ts = message.get("thread_ts") or message.get("ts")
    meeting_id = await app.domain.conversations.meeting_of_thread(channel, thread_ts)
    if meeting_id is None:
        await respond(**notice(NOT_A_MEETING_THREAD).as_kwargs(), response_type="ephemeral")
        return
    author = str(message.get("user") or actor_id(body))
    try:
        item = await app.domain.conversations.add_action(
            meeting_id, str(message.get("text") or ""), actor_id(body), author=author
        )
    except UserFacingError as refused:
        await respond(**error_message(str(refused)).as_kwargs(), response_type="ephemeral")
        return
    await app.slack.meeting_cards.publish_item(ItemView.of(item))


def register(app: Registrar) -> None:
    app.shortcut(MAKE_ACTION_ITEM)(make_action_item)
