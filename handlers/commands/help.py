"""`/os-help`: commands with examples and the configuration state."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.help import ConfigState, help_message
from handlers.context import services_of

COMMAND = "/os-help"


async def os_help(ack: Any, context: dict[str, Any], respond: Any) -> None:
    await ack()
    settings = services_of(context).settings
    state = ConfigState(
        claude_model=settings.claude_model if settings.claude_enabled else None,
        slack_mode="slack" if settings.slack_enabled else "sandbox",
        webhook_secret_set=bool(settings.webhook_secrets),
        os_path=str(settings.os_repo_path),
        default_channel=settings.slack_default_channel,
    )
    await respond(**help_message(state).as_kwargs(), response_type="ephemeral", replace_original=False)


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(os_help)
