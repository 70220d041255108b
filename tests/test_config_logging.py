"""Settings follow the design's config contract; bad config is one clear message; secrets never logged."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.config import ConfigError, load_settings
from bot.logging import RedactingFilter, configure_logging


def test_defaults_match_the_config_contract(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray .env
    s = load_settings()
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.claude_model == "claude-sonnet-4-6" and s.claude_fallback_model == "claude-haiku-4-5"
    assert s.database_url == "sqlite+aiosqlite:///./data/fathom_os.sqlite3"
    assert str(s.os_repo_path) == "os" and (s.webhook_host, s.webhook_port) == ("127.0.0.1", 8080)
    assert (s.log_level, s.log_format) == ("INFO", "text")
    assert not s.slack_enabled and not s.claude_enabled


def test_environment_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    monkeypatch.setenv("FATHOM_WEBHOOK_SECRET", "whsec_bmV3, whsec_b2xk")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    s = load_settings()
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.database_url == "postgresql+asyncpg://postgres@127.0.0.1/test"
    assert s.webhook_secrets == ["whsec_bmV3", "whsec_b2xk"]
    assert s.log_format == "json"


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("CLAUDE_MODEL=claude-opus-4-5\nWEBHOOK_PORT=9090\n")
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert (s.claude_model, s.webhook_port) == ("claude-opus-4-5", 9090)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN"),
        ({"FATHOM_WEBHOOK_SECRET": "plain"}, "FATHOM_WEBHOOK_SECRET"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"WEBHOOK_PORT": "99999"}, "WEBHOOK_PORT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
    ],
)
def test_invalid_config_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert named in str(err.value)
    assert "xoxb-1" not in str(err.value) and "plain" not in str(err.value)


def test_cli_exits_non_zero_with_the_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value-123")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_APP_TOKEN" in err and "xoxb-secret-value-123" not in err


def _capture(fmt: str, secrets: list[str]) -> tuple[logging.Logger, io.StringIO]:
    configure_logging("DEBUG", fmt, secrets)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    return logging.getLogger("fathom.test"), stream


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_reach_the_logs(fmt: str) -> None:
    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-111-222-abcdef",
        SLACK_APP_TOKEN="xapp-1-A-xyz",
        ANTHROPIC_API_KEY="my-anthropic-key-99",
        FATHOM_WEBHOOK_SECRET="whsec_c2VjcmV0c2VjcmV0",
    )
    log, stream = _capture(fmt, settings.secret_values())
    log.info("settings %s", settings.model_dump())
    log.warning("token in text xoxb-999-888-zzz and key my-anthropic-key-99", extra={"meeting_id": 7})
    try:
        raise RuntimeError("failed with whsec_c2VjcmV0c2VjcmV0 and xapp-1-A-xyz")
    except RuntimeError:
        log.exception("boom")
    out = stream.getvalue()
    for secret in (
        "xoxb-111-222-abcdef",
        "xapp-1-A-xyz",
        "my-anthropic-key-99",
        "c2VjcmV0c2VjcmV0",
        "xoxb-999",
    ):
        assert secret not in out
    assert "[REDACTED]" in out and "boom" in out
    if fmt == "json":
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert any(line.get("meeting_id") == 7 for line in lines)
    logging.getLogger().handlers.clear()


def test_redaction_filter_handles_args_and_short_values() -> None:
    f = RedactingFilter(["abc", "longsecretvalue"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "value=%s", ("longsecretvalue",), None)
    f.filter(record)
    assert record.getMessage() == "value=[REDACTED]"
