"""Home tab: rebuilt on every app_home_opened from the user's items, proposals and meetings."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.context import services_of


async def app_home_opened(event: dict[str, Any], context: dict[str, Any]) -> None:
    if event.get("tab", "home") != "home":
        return
    await services_of(context).home_publisher.publish(event["user"])


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(app_home_opened)
