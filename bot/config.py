"""Settings: the design's config contract, read from the environment or `.env`.

Names are fixed (deploy scripts and tests rely on them). Anything invalid becomes one
`ConfigError` listing every bad variable, so `fathom-os` can exit with a clear message.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.fathom_api import ApiKey, parse_keys


class ConfigError(Exception):
    """Invalid or contradictory configuration: one line per problem, each naming its variable."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


# USD per million tokens: input, output, cache write, cache read. Override with CLAUDE_PRICES (JSON).
DEFAULT_PRICES: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {
    "claude-opus-4-5": (Decimal("5"), Decimal("25"), Decimal("6.25"), Decimal("0.50")),
    "claude-sonnet-4-6": (Decimal("3"), Decimal("15"), Decimal("3.75"), Decimal("0.30")),
    "claude-sonnet-4-5": (Decimal("3"), Decimal("15"), Decimal("3.75"), Decimal("0.30")),
    "claude-haiku-4-5": (Decimal("1"), Decimal("5"), Decimal("1.25"), Decimal("0.10")),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    slack_default_channel: str | None = Field(default=None, alias="SLACK_DEFAULT_CHANNEL")

    anthropic_api_key: SecretStr | None = Field(default=None, alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(default=None, alias="ANTHROPIC_BASE_URL")
    claude_model: str = Field(default="claude-sonnet-4-6", alias="CLAUDE_MODEL")
    claude_fallback_model: str = Field(default="claude-haiku-4-5", alias="CLAUDE_FALLBACK_MODEL")
    claude_prices: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES), alias="CLAUDE_PRICES"
    )
    claude_chunk_tokens: int = Field(default=150_000, alias="CLAUDE_CHUNK_TOKENS", ge=1_000)
    claude_light_model: str = Field(default="claude-haiku-4-5", alias="CLAUDE_LIGHT_MODEL")
    claude_use_batches: bool = Field(default=False, alias="CLAUDE_USE_BATCHES")
    claude_max_concurrency: int = Field(default=4, alias="CLAUDE_MAX_CONCURRENCY", ge=1)

    fathom_webhook_secret: SecretStr | None = Field(default=None, alias="FATHOM_WEBHOOK_SECRET")
    fathom_api_key: SecretStr | None = Field(default=None, alias="FATHOM_API_KEY")
    # External API: base URL (a local stand-in in tests), several per-user keys ("owner=key,…")
    fathom_api_url: str = Field(default="https://api.fathom.ai/external/v1", alias="FATHOM_API_URL")
    fathom_api_keys: SecretStr | None = Field(default=None, alias="FATHOM_API_KEYS")
    reconcile_interval: float = Field(default=600.0, alias="RECONCILE_INTERVAL_SECONDS", ge=10)
    # the due-date/overdue reminder job (bot/scheduler.py); each tick runs once across instances
    reminder_interval: float = Field(default=60.0, alias="REMINDER_INTERVAL_SECONDS", ge=1)
    ops_channel: str | None = Field(default=None, alias="OPS_CHANNEL")
    # a meeting reconciliation recovers this long after it was created is reported (OPS_CHANNEL, admins)
    recovery_alert_minutes: float = Field(default=60.0, alias="RECOVERY_ALERT_MINUTES", ge=0)
    recovery_alert_admins: bool = Field(default=True, alias="RECOVERY_ALERT_ADMINS")
    # backfill: one summary card per day and channel, the day's meetings as replies in its thread
    backfill_day_threads: bool = Field(default=True, alias="BACKFILL_DAY_THREADS")
    webhook_max_bytes: int = Field(default=10 * 1024 * 1024, alias="WEBHOOK_MAX_BYTES", ge=1024)
    # slow senders: a request's headers, then its body, must arrive within these; connections are capped
    webhook_header_timeout: float = Field(default=10.0, alias="WEBHOOK_HEADER_TIMEOUT", gt=0)
    webhook_body_timeout: float = Field(default=30.0, alias="WEBHOOK_BODY_TIMEOUT", gt=0)
    webhook_max_connections: int = Field(default=256, alias="WEBHOOK_MAX_CONNECTIONS", ge=1)

    database_url: str = Field(default="sqlite+aiosqlite:///./data/fathom_os.sqlite3", alias="DATABASE_URL")
    os_repo_path: Path = Field(default=Path("./os"), alias="OS_REPO_PATH")
    os_remote: str | None = Field(default=None, alias="OS_REMOTE")

    webhook_host: str = Field(default="127.0.0.1", alias="WEBHOOK_HOST")
    webhook_port: int = Field(default=8080, alias="WEBHOOK_PORT", ge=0, le=65535)
    sandbox_port: int = Field(default=3000, alias="SANDBOX_PORT", ge=0, le=65535)

    job_workers: int = Field(default=4, alias="JOB_WORKERS", ge=1, le=64)
    job_max_attempts: int = Field(default=5, alias="JOB_MAX_ATTEMPTS", ge=1)
    # short, renewed by the heartbeat every third of it: a killed worker's job is free within this
    job_lease_seconds: float = Field(default=30.0, alias="JOB_LEASE_SECONDS", gt=0)

    # outside systems (#21): a connector is on when its secret is set; URLs point at local stand-ins in tests
    gamma_api_key: SecretStr | None = Field(default=None, alias="GAMMA_API_KEY")
    gamma_api_url: str = Field(default="https://public-api.gamma.app", alias="GAMMA_API_URL")
    hubspot_token: SecretStr | None = Field(default=None, alias="HUBSPOT_TOKEN")
    hubspot_api_url: str = Field(default="https://api.hubapi.com", alias="HUBSPOT_API_URL")
    linear_api_key: SecretStr | None = Field(default=None, alias="LINEAR_API_KEY")
    linear_api_url: str = Field(default="https://api.linear.app/graphql", alias="LINEAR_API_URL")
    salesforce_instance_url: str | None = Field(default=None, alias="SALESFORCE_INSTANCE_URL")
    salesforce_access_token: SecretStr | None = Field(default=None, alias="SALESFORCE_ACCESS_TOKEN")
    asana_token: SecretStr | None = Field(default=None, alias="ASANA_TOKEN")
    asana_api_url: str = Field(default="https://app.asana.com/api/1.0", alias="ASANA_API_URL")
    jira_url: str | None = Field(default=None, alias="JIRA_URL")
    jira_email: str | None = Field(default=None, alias="JIRA_EMAIL")
    jira_token: SecretStr | None = Field(default=None, alias="JIRA_TOKEN")
    outbox_sync_seconds: float = Field(default=300.0, alias="OUTBOX_SYNC_SECONDS", ge=5)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", alias="LOG_LEVEL")
    log_format: Literal["text", "json"] = Field(default="text", alias="LOG_FORMAT")

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _normalise_case(cls, value: object, info: object) -> object:
        if isinstance(value, str):
            return value.upper() if getattr(info, "field_name", "") == "log_level" else value.lower()
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path.sqlite3 or postgresql+asyncpg://user@host/db")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        problems = self.cross_field_problems()
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def cross_field_problems(self) -> list[str]:
        """Every contradiction between settings, each line naming its variable (#16: all at once)."""
        problems: list[str] = []
        bot, app = self.slack_bot_token, self.slack_app_token
        if bool(bot) != bool(app):
            missing = "SLACK_APP_TOKEN" if bot else "SLACK_BOT_TOKEN"
            problems.append(f"{missing}: set both Slack tokens or neither (neither = local sandbox)")
        if bot and not bot.get_secret_value().startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-")
        if app and not app.get_secret_value().startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
        if self.fathom_api_keys:
            try:
                self.fathom_keys  # noqa: B018 - validates the list
            except ValueError as exc:
                problems.append(str(exc))
        if not self.fathom_api_url.startswith(("http://", "https://")):
            problems.append("FATHOM_API_URL: must be an http(s) URL (https://api.fathom.ai/external/v1)")
        if any(not secret.startswith("whsec_") for secret in self.webhook_secrets):
            problems.append("FATHOM_WEBHOOK_SECRET: each secret must start with whsec_")
        return problems

    @property
    def webhook_secrets(self) -> list[str]:
        if not self.fathom_webhook_secret:
            return []
        return [s.strip() for s in self.fathom_webhook_secret.get_secret_value().split(",") if s.strip()]

    @property
    def fathom_keys(self) -> list[ApiKey]:
        return parse_keys(
            self.fathom_api_key.get_secret_value() if self.fathom_api_key else None,
            self.fathom_api_keys.get_secret_value() if self.fathom_api_keys else None,
        )

    @property
    def polling_mode(self) -> bool:
        """An API key and no webhook secret: reconciliation every minute is the intake (no public URL)."""
        return bool(self.fathom_keys) and not self.webhook_secrets

    @property
    def reconcile_every(self) -> float | None:
        """Seconds between reconciliation runs; None without an API key."""
        if not self.fathom_keys:
            return None
        return 60.0 if self.polling_mode else self.reconcile_interval

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def claude_enabled(self) -> bool:
        return self.anthropic_api_key is not None

    def secret_values(self) -> list[str]:
        """Every secret's plain value, for the log redaction filter."""
        out: list[str] = []
        for value in (
            self.slack_bot_token,
            self.slack_app_token,
            self.anthropic_api_key,
            self.fathom_api_key,
            self.gamma_api_key,
            self.hubspot_token,
            self.linear_api_key,
            self.salesforce_access_token,
            self.asana_token,
            self.jira_token,
        ):
            if value is not None and value.get_secret_value():
                out.append(value.get_secret_value())
        out.extend(self.webhook_secrets)
        out.extend(k.key for k in self.fathom_keys)
        return out


def load_settings(**overrides: object) -> Settings:
    """Build settings or raise ConfigError listing every bad variable, not only the first.

    Pydantic reports every bad field but runs the cross-field checks only when all fields are valid;
    so on field errors the settings are built once more with those fields at their defaults, and the
    contradictions among the rest are reported too.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = _problems(exc)
        failed = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
    defaults: dict[str, object] = {}
    for name, field in Settings.model_fields.items():
        if field.alias in failed or name in failed:
            defaults[field.alias or name] = field.get_default(call_default_factory=True)
    if defaults:
        try:
            Settings(**{**overrides, **defaults})  # type: ignore[arg-type]
        except ValidationError as exc:
            problems += [p for p in _problems(exc) if p not in problems]
    raise ConfigError(problems)


def _problems(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        for msg in str(err["msg"]).removeprefix("Value error, ").splitlines():
            lines.append(msg if loc == "config" or msg.split(":")[0].isupper() else f"{loc}: {msg}")
    return lines
