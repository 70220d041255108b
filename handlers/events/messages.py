"""@-mentions: a short pointer to what the bot can do (Q&A over meetings builds on this)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.common import notice
from handlers.context import services_of


async def app_mention(event: dict[str, Any], context: dict[str, Any]) -> None:
    services = services_of(context)
    text = "I post a card for every Fathom meeting. Try `/os-actions` for your open action items."
    await services.slack.post(
        event["channel"], notice(text), thread_ts=event.get("thread_ts") or event.get("ts")
    )


def register(app: AsyncApp) -> None:
    app.event("app_mention")(app_mention)
