"""Home tab "N more" buttons: the full list in a modal."""

from __future__ import annotations

from typing import Any

from blocks.home import HomeAction, MoreRef
from blocks.values import decode
from handlers.context import action_value, actor_id, app_of
from handlers.registrar import Registrar
from services.home import MODAL_ROWS


async def show_more(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
    await ack()
    app, ref = app_of(context), decode(MoreRef, action_value(body))
    await app.slack.home.open_more(body["trigger_id"], actor_id(body), ref.section, limit=MODAL_ROWS)


def register(app: Registrar) -> None:
    app.action(HomeAction.SHOW_MORE.value)(show_more)
