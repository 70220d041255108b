"""One Block Kit limits module: builders' checker and the local Slack server agree on every count."""

from __future__ import annotations

import pytest

from blocks import limits
from bot.sandbox import slack_limits


def _section(text: str) -> list[dict]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def test_astral_characters_count_as_two_for_the_checker_and_the_server() -> None:
    fits = "😀" * (limits.SECTION_TEXT // 2)  # 3000 UTF-16 units
    too_long = fits + "😀"  # 3002 UTF-16 units, only 1501 code points
    assert limits.check_message(_section(fits), "ok") == []
    slack_limits.check_message("ok", _section(fits))
    assert limits.check_message(_section(too_long), "ok")
    with pytest.raises(slack_limits.SlackLimitError) as err:
        slack_limits.check_message("ok", _section(too_long))
    assert err.value.error == "invalid_blocks"
    assert err.value.messages == [
        "[ERROR] must be less than 3001 characters (is 3002) [json-pointer:/blocks/0/text]"
    ]


def test_the_server_rejects_what_the_builders_checker_flags_in_a_view() -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []}
    assert limits.check_view(view)
    with pytest.raises(slack_limits.SlackLimitError) as err:
        slack_limits.check_view(view)
    assert err.value.error == "invalid_arguments"
    assert "/view/title" in err.value.messages[0]


def test_update_text_cap_is_counted_in_utf16_units() -> None:
    slack_limits.check_message("😀" * 2000, None, max_text=limits.MAX_UPDATE_TEXT)
    with pytest.raises(slack_limits.SlackLimitError, match="msg_too_long"):
        slack_limits.check_message("😀" * 2001, None, max_text=limits.MAX_UPDATE_TEXT)
