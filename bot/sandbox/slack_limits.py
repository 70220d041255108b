"""What the local Slack server answers for over-limit requests, with Slack's own error codes.

The limits themselves and the checker live in one place, `blocks.limits`; this module only turns
its problems into the error codes and `response_metadata.messages` real Slack returns, so a lenient
fake never hides a builder that breaks a limit.
"""

from __future__ import annotations

from typing import Any

from blocks.limits import (
    MAX_MESSAGE_BLOCKS,
    MAX_POST_TEXT,
    MAX_UPDATE_TEXT,
    VIEW_BYTES,
    Problem,
    block_problems,
    view_bytes,
    view_problems,
)
from blocks.text import slack_len

__all__ = ["MAX_POST_TEXT", "MAX_UPDATE_TEXT", "SlackLimitError", "check_message", "check_view"]


class SlackLimitError(Exception):
    """Carries a Slack error code plus the `response_metadata.messages` Slack adds for block errors."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


def _slack_messages(problems: list[Problem]) -> list[str]:
    return [f"[ERROR] {p.message} [json-pointer:{p.pointer}]" for p in problems]


def check_message(text: str | None, blocks: list[Any] | None, *, max_text: int = MAX_POST_TEXT) -> None:
    """Raise what chat.postMessage / chat.update / response_url answer for an oversized message."""
    if not text and not blocks:
        raise SlackLimitError("no_text")
    if text and slack_len(text) > max_text:
        raise SlackLimitError("msg_too_long")
    if blocks is None:
        return
    if not isinstance(blocks, list):
        raise SlackLimitError("invalid_blocks_format")
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise SlackLimitError(
            "invalid_blocks",
            [f"[ERROR] no more than {MAX_MESSAGE_BLOCKS} items allowed [json-pointer:/blocks]"],
        )
    problems = block_problems(blocks)
    if problems:
        raise SlackLimitError("invalid_blocks", _slack_messages(problems))


def check_view(view: dict[str, Any]) -> None:
    """views.* answer `invalid_arguments` for block problems and `view_too_large` above 250 KB."""
    if view_bytes(view) > VIEW_BYTES:
        raise SlackLimitError("view_too_large")
    problems = view_problems(view)
    if problems:
        raise SlackLimitError("invalid_arguments", _slack_messages(problems))
