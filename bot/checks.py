"""`fathom-os check`: what is configured, what is reachable, and exactly how to fix what is not."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Literal

from bot.config import Settings


@dataclass(frozen=True)
class Check:
    name: str
    level: Literal["ok", "warn", "fail"]
    message: str
    fix: str | None = None


# what to do about a bad variable, by its name (the first word of a ConfigError line)
CONFIG_FIXES: dict[str, str] = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-) from the app's OAuth & Permissions page, "
    "or unset both Slack tokens for the local sandbox",
    "SLACK_APP_TOKEN": "create an app-level token (xapp-) with connections:write under Basic Information, "
    "or unset both Slack tokens for the local sandbox",
    "SLACK_API_URL": "unset it (https://slack.com/api/) or give the full http(s) URL of the Web API",
    "FATHOM_WEBHOOK_SECRET": "copy the signing secret (whsec_…) from Fathom's webhook settings; "
    "comma-separate two during a rotation",
    "FATHOM_API_URL": "unset it (Fathom's own API) or give a full http(s) URL",
    "FATHOM_API_KEYS": "write owner=key pairs separated by commas",
    "DATABASE_URL": "sqlite+aiosqlite:///./data/fathom_os.sqlite3 or postgresql+asyncpg://user@host/db",
}


def config_checks(problems: list[str]) -> list[Check]:
    """Every invalid setting as its own failed check, so one run of `check` shows them all (#16)."""
    checks = []
    for problem in problems:
        variable = problem.split(":", 1)[0].strip()
        fix = CONFIG_FIXES.get(variable, f"fix {variable} (see the configuration table in README.md)")
        checks.append(Check("config", "fail", problem, fix))
    return checks


async def run_checks(settings: Settings) -> list[Check]:
    intake = (
        [_intake_mode(settings)] if settings.polling_mode else [_webhook(settings), _intake_mode(settings)]
    )
    checks = [_mode(settings), await _database(settings), *intake, _claude(settings), await _slack(settings)]
    checks.append(await _os_repo(settings))
    checks.extend(await _integrations(settings))
    return checks


async def _integrations(settings: Settings) -> list[Check]:
    """One cheap read per connector whose secret is set (bot/integrations.py)."""
    from bot.integrations import connector_checks
    from services.os_config import load_or_default

    return list(await connector_checks(settings, load_or_default(settings.os_repo_path)))


async def _database(settings: Settings) -> Check:
    from sqlalchemy import text

    from bot.db import create_database, current_revision

    db = create_database(settings)
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        revision = await current_revision(db)
    except Exception as exc:
        return Check(
            "database",
            "fail",
            f"cannot connect ({type(exc).__name__})",
            "check DATABASE_URL, e.g. sqlite+aiosqlite:///./data/fathom_os.sqlite3",
        )
    finally:
        await db.dispose()
    if revision is None:
        return Check("database", "warn", "reachable, schema not created yet", "run `fathom-os db upgrade`")
    return Check("database", "ok", f"{db.engine.dialect.name}, schema revision {revision}")


def _intake_mode(settings: Settings) -> Check:
    """How meetings reach the bot: webhook, webhook + reconciliation, or polling (no public URL)."""
    keys = settings.fathom_keys
    if settings.polling_mode:
        return Check(
            "fathom intake",
            "ok",
            f"polling mode: no FATHOM_WEBHOOK_SECRET, so Fathom's API ({len(keys)} key(s)) is listed "
            f"every minute at {settings.fathom_api_url}; no public URL is needed",
        )
    if not keys:
        return Check(
            "fathom intake",
            "warn",
            "webhook mode; no FATHOM_API_KEY, so a webhook Fathom never delivers is never recovered",
            "set FATHOM_API_KEY (Fathom settings, API Access) to reconcile, or to poll with no public URL",
        )
    return Check(
        "fathom intake",
        "ok",
        f"webhook + reconciliation: Fathom's API ({len(keys)} key(s)) is listed every "
        f"{settings.reconcile_interval / 60:g} min to recover missed deliveries",
    )


def _mode(settings: Settings) -> Check:
    """Which mode `fathom-os run` starts in, and what is optional there (#16: say it before any FAIL)."""
    slack = "Slack" if settings.slack_enabled else "sandbox (local Slack page, no tokens)"
    intake = "polling Fathom's API" if settings.polling_mode else "webhooks"
    optional = ["ANTHROPIC_API_KEY (else the offline analyzer)", "FATHOM_API_KEY (reconciliation)"]
    if not settings.slack_enabled:
        optional.insert(0, "FATHOM_WEBHOOK_SECRET (the sandbox keeps its own in the data folder)")
    return Check("mode", "ok", f"{slack}, meetings by {intake}; optional here: {', '.join(optional)}")


def _webhook(settings: Settings) -> Check:
    if not settings.webhook_secrets and not settings.slack_enabled:
        return Check(
            "fathom webhook",
            "ok",
            "sandbox: no FATHOM_WEBHOOK_SECRET needed; the sandbox signs with its own secret "
            "(data folder), which `fathom-os send` also uses",
        )
    if not settings.webhook_secrets:
        return Check(
            "fathom webhook",
            "fail",
            "FATHOM_WEBHOOK_SECRET is not set: every delivery gets 401",
            "copy the signing secret (whsec_…) from Fathom's webhook settings into FATHOM_WEBHOOK_SECRET",
        )
    return Check(
        "fathom webhook",
        "ok",
        f"{len(settings.webhook_secrets)} signing secret(s); "
        f"POST http://{settings.webhook_host}:{settings.webhook_port}/webhooks/fathom",
    )


def _claude(settings: Settings) -> Check:
    if not settings.claude_enabled:
        return Check(
            "claude",
            "warn",
            "ANTHROPIC_API_KEY not set: the offline heuristic analyzer is used",
            "set ANTHROPIC_API_KEY for Claude analysis",
        )
    return Check("claude", "ok", f"model {settings.claude_model}, fallback {settings.claude_fallback_model}")


async def _slack(settings: Settings) -> Check:
    if not settings.slack_enabled:
        return Check(
            "slack",
            "warn",
            "no Slack tokens: `fathom-os run` starts the local Slack sandbox",
            "create the app from manifest.yml, then set SLACK_BOT_TOKEN (xoxb-) and SLACK_APP_TOKEN (xapp-)",
        )
    from slack_sdk.web.async_client import AsyncWebClient

    assert settings.slack_bot_token is not None
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    try:
        auth = await client.auth_test()
    except Exception as exc:
        error = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error")
        if error is None:  # no Slack answer at all: the URL or the network, not the token
            return Check(
                "slack",
                "fail",
                f"cannot reach {settings.slack_api_url} ({type(exc).__name__})",
                "check SLACK_API_URL (default https://slack.com/api/) and this machine's network/proxy",
            )
        fix = (
            "reinstall the app and copy a fresh Bot User OAuth Token into SLACK_BOT_TOKEN"
            if error in ("invalid_auth", "token_revoked", "account_inactive", "not_authed")
            else f"Slack answered {error!r}; see https://api.slack.com/methods/auth.test"
        )
        return Check("slack", "fail", f"auth.test failed: {error}", fix)
    if not settings.slack_default_channel:
        return Check(
            "slack",
            "warn",
            f"connected as {auth.get('user')} in {auth.get('team')}; SLACK_DEFAULT_CHANNEL not set",
            "set SLACK_DEFAULT_CHANNEL to a channel id the bot is in",
        )
    return Check("slack", "ok", f"connected as {auth.get('user')} in {auth.get('team')}")


async def _os_repo(settings: Settings) -> Check:
    path = settings.os_repo_path
    if shutil.which("git") is None:
        return Check("os repository", "fail", "git is not installed", "install git (apt-get install git)")
    if not (path / ".git").exists():
        return Check(
            "os repository",
            "warn",
            f"{path} is not a git repository yet",
            "run `fathom-os os init` (or `make run`, which creates it)",
        )
    from services.os_config import OSConfigError, load_os_config

    try:
        config = load_os_config(path)
    except OSConfigError as exc:
        return Check("os repository", "fail", f"fathom-os.yml is invalid: {exc}", "fix the key named above")
    if not config.approvers:
        return Check(
            "os repository",
            "warn",
            f"{path}: no approvers in fathom-os.yml",
            "list approvers' emails under `approvers:` so OS changes can be approved",
        )
    return Check(
        "os repository", "ok", f"{path}, {len(config.team)} team members, {len(config.approvers)} approvers"
    )
