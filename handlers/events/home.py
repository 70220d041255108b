"""Home tab: rebuilt on every app_home_opened."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.home import home_view
from handlers.context import services_of


async def app_home_opened(event: dict[str, Any], context: dict[str, Any]) -> None:
    if event.get("tab", "home") != "home":
        return
    services = services_of(context)
    await services.slack.publish_home(event["user"], home_view())


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(app_home_opened)
