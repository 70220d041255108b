"""`/os-help`: commands with examples and the configuration state; `/os-help privacy`: the compliance report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blocks.help import ConfigState, Intake, PrivacyState, help_message, privacy_report
from handlers.context import app_of
from handlers.registrar import Registrar
from services.container import Domain
from services.privacy import privacy_settings

if TYPE_CHECKING:
    from bot.config import Settings

COMMAND = "/os-help"


async def os_help(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    domain = app_of(context).domain
    settings = domain.settings
    if (command.get("text") or "").strip().lower() == "privacy":
        report = privacy_report(_privacy_state(domain))
        await respond(**report.as_kwargs(), response_type="ephemeral", replace_original=False)
        return
    await respond(
        **help_message(config_state(settings)).as_kwargs(), response_type="ephemeral", replace_original=False
    )


def config_state(settings: Settings) -> ConfigState:
    """The live configuration, read the way `bot.runtime` reads it when it starts the intake."""
    intake: Intake
    if settings.webhook_secrets:
        intake = "webhook"
    elif settings.polling_mode:
        intake = "polling"
    elif not settings.slack_enabled:
        intake = "sandbox"  # the runtime keeps its own secret in the data folder
    else:
        intake = "refused"
    reconcile = settings.reconcile_every
    return ConfigState(
        commands=registered_commands(),
        claude_model=settings.claude_model if settings.claude_enabled else None,
        slack_mode="slack" if settings.slack_enabled else "sandbox",
        intake=intake,
        webhook_secrets=len(settings.webhook_secrets),
        reconcile_minutes=reconcile / 60 if reconcile else None,
        os_path=str(settings.os_repo_path),
        default_channel=settings.slack_default_channel,
    )


class _Commands:
    """Stands in for the app while each command module registers: records the commands only."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def command(self, command: Any) -> Any:
        self.seen.append(str(command))
        return lambda listener: listener

    def __getattr__(self, _kind: str) -> Any:
        return lambda *_a, **_k: lambda listener: listener


def registered_commands() -> tuple[str, ...]:
    """The slash commands the command modules register, so /os-help lists exactly what answers."""
    from handlers.commands import actions, audit, meetings, os, report

    recorder = _Commands()
    for module in (actions, meetings, audit, os, report):
        module.register(recorder)
    recorder.command(COMMAND)
    return tuple(recorder.seen)


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
