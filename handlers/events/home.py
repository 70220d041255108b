"""Home tab: rebuilt on every app_home_opened from the user's items, proposals and meetings."""

from __future__ import annotations

from typing import Any

from handlers.context import app_of
from handlers.registrar import Registrar


async def app_home_opened(event: dict[str, Any], context: dict[str, Any]) -> None:
    if event.get("tab", "home") != "home":
        return
    await app_of(context).slack.home.publish(event["user"])


def register(app: Registrar) -> None:
    app.event("app_home_opened")(app_home_opened)
