"""`/os-help`: commands with examples and the configuration state; `/os-help privacy`: the compliance report."""

from __future__ import annotations

from typing import Any

from blocks.help import ConfigState, PrivacyState, help_message, privacy_report
from handlers.context import app_of
from handlers.registrar import Registrar
from services.container import Domain
from services.privacy import privacy_settings

COMMAND = "/os-help"


async def os_help(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    domain = app_of(context).domain
    settings = domain.settings
    if (command.get("text") or "").strip().lower() == "privacy":
        report = privacy_report(_privacy_state(domain))
        await respond(**report.as_kwargs(), response_type="ephemeral", replace_original=False)
        return
    state = ConfigState(
        claude_model=settings.claude_model if settings.claude_enabled else None,
        slack_mode="slack" if settings.slack_enabled else "sandbox",
        webhook_secret_set=bool(settings.webhook_secrets),
        os_path=str(settings.os_repo_path),
        default_channel=settings.slack_default_channel,
    )
    await respond(**help_message(state).as_kwargs(), response_type="ephemeral", replace_original=False)


def _privacy_state(domain: Domain) -> PrivacyState:
    settings = domain.settings
    current = privacy_settings(domain.os_config())
    return PrivacyState(
        claude_model=settings.claude_model if settings.claude_enabled else None,
        mode=current["mode"],
        clients=current["clients"],
        meeting_types=current["meeting_types"],
        patterns=current["patterns"],
        terms=current["terms"],
        transcripts_days=current["transcripts_days"],
        webhook_bodies_days=current["webhook_bodies_days"],
        database="SQLite" if domain.db.is_sqlite else "PostgreSQL",
        os_path=str(settings.os_repo_path),
        phone_region=current["phone_region"],
    )


def register(app: Registrar) -> None:
    app.command(COMMAND)(os_help)
