"""Home tab "N more" buttons: the full list in a modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.home import HomeAction, MoreRef, more_modal
from blocks.values import decode
from handlers.context import action_value, actor_id, services_of
from services.home import MODAL_ROWS, thread_urls


async def show_more(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
    await ack()
    services = services_of(context)
    ref = decode(MoreRef, action_value(body))
    data = await services.home_publisher.load(actor_id(body), limit=MODAL_ROWS)
    urls: dict[int, str] = {}
    if ref.section == "meetings":
        urls = await thread_urls(services.gateway, {m.id for m in data.meetings[:25]})
    await services.slack.open_view(body["trigger_id"], more_modal(ref.section, data, urls))


def register(app: AsyncApp) -> None:
    app.action(HomeAction.SHOW_MORE.value)(show_more)
