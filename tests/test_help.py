"""/os-help is generated from the registered commands and the live configuration (#16 item 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from blocks.help import help_message
from blocks.limits import check_message
from bot.config import load_settings
from handlers.commands.help import config_state
from tests.harness import MEETINGS_CHANNEL, running_bot

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec_" + "A" * 32


def manifest_commands() -> list[str]:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return [c["command"] for c in manifest["features"]["slash_commands"]]


CONFIG_VARS = (
    "FATHOM_WEBHOOK_SECRET",
    "FATHOM_API_KEY",
    "FATHOM_API_KEYS",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the developer's folder


def shown(**env: str) -> str:
    message = help_message(config_state(load_settings(**env)))
    assert check_message(message.blocks, message.text) == []
    return json.dumps(message.blocks, ensure_ascii=False)


async def test_help_through_local_slack_lists_every_manifest_command_and_privacy_still_answers(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:  # the harness sets FATHOM_WEBHOOK_SECRET
        await bot.slack.send_command("U01MAYA", MEETINGS_CHANNEL, "/os-help")
        await bot.wait_for(lambda: len(bot.slack.ephemerals) == 1)
        text = json.dumps(bot.slack.ephemerals[-1]["blocks"], ensure_ascii=False)
        missing = [c for c in manifest_commands() if f"`{c}" not in text]
        assert not missing, missing
        assert "webhooks accepted (1 signing secret(s))" in text and "refused" not in text

        await bot.slack.send_command("U01MAYA", MEETINGS_CHANNEL, "/os-help", "privacy")
        await bot.wait_for(lambda: len(bot.slack.ephemerals) == 2)
        assert "Fathom OS — privacy" in json.dumps(bot.slack.ephemerals[-1]["blocks"], ensure_ascii=False)


def test_every_manifest_command_has_a_description_and_an_example() -> None:
    text = shown()
    for command in manifest_commands():
        assert f"`{command}" in text and f"e.g. `{command}" in text, command
    assert "see the app manifest" not in text  # every command has its own entry in COMMAND_DOCS


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "signed with the sandbox's own secret"),  # zero config: the sandbox keeps its secret
        ({"FATHOM_WEBHOOK_SECRET": SECRET}, "webhooks accepted (1 signing secret(s))"),
        ({"FATHOM_API_KEY": "key-1"}, "polling Fathom's API every minute"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "FATHOM_WEBHOOK_SECRET": SECRET},
            "webhooks accepted",
        ),
    ],
)
def test_intake_line_follows_the_configuration(env: dict[str, str], expected: str) -> None:
    text = shown(**env)
    assert expected in text and "webhooks are refused" not in text


def test_webhooks_are_refused_only_with_slack_and_neither_secret_nor_api_key() -> None:
    text = shown(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1")
    assert "webhooks are refused" in text and "real Slack" in text
