"""Slack's size limits that real Slack enforces and a lenient fake would hide.

Our blocks builders promise "every output inside Slack's limits"; this is where end-to-end tests
find out when that promise breaks, with the same error codes Slack returns.
"""

from __future__ import annotations

import json
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_POST_TEXT = 40_000
MAX_UPDATE_TEXT = 4_000
MAX_VIEW_BYTES = 250_000
MAX_SECTION_TEXT = 3_000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_ID_LENGTH = 255
MAX_BUTTON_VALUE = 2_000
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2_000


class SlackLimitError(Exception):
    """Carries a Slack error code plus the `response_metadata.messages` Slack adds for block errors."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def block_problems(blocks: list[Any], pointer: str = "/blocks") -> list[str]:
    """Return Slack-style `[ERROR] ... [json-pointer:...]` strings for the limits we check."""
    problems: list[str] = []
    for i, block in enumerate(blocks):
        at = f"{pointer}/{i}"
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"[ERROR] missing required field: type [json-pointer:{at}]")
            continue
        kind = block["type"]
        if len(str(block.get("block_id", ""))) > MAX_ID_LENGTH:
            problems.append(
                f"[ERROR] must be less than {MAX_ID_LENGTH + 1} characters [json-pointer:{at}/block_id]"
            )
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"[ERROR] must provide either text or fields [json-pointer:{at}]")
            if len(_text(block.get("text"))) > MAX_SECTION_TEXT:
                problems.append(
                    f"[ERROR] must be less than {MAX_SECTION_TEXT + 1} characters [json-pointer:{at}/text]"
                )
            fields = block.get("fields", [])
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(f"[ERROR] must provide no more than 10 items [json-pointer:{at}/fields]")
            problems += [
                f"[ERROR] must be less than {MAX_FIELD_TEXT + 1} characters [json-pointer:{at}/fields/{j}]"
                for j, f in enumerate(fields)
                if len(_text(f)) > MAX_FIELD_TEXT
            ]
        elif kind == "header" and len(_text(block.get("text"))) > MAX_HEADER_TEXT:
            problems.append(
                f"[ERROR] must be less than {MAX_HEADER_TEXT + 1} characters [json-pointer:{at}/text]"
            )
        elif kind == "actions" and len(block.get("elements", [])) > MAX_ACTIONS_ELEMENTS:
            problems.append(f"[ERROR] must provide no more than 25 items [json-pointer:{at}/elements]")
        elif kind == "context" and len(block.get("elements", [])) > MAX_CONTEXT_ELEMENTS:
            problems.append(f"[ERROR] must provide no more than 10 items [json-pointer:{at}/elements]")
        elements = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for j, element in enumerate(e for e in elements if isinstance(e, dict)):
            problems += _element_problems(element, f"{at}/elements/{j}")
    return problems


def _element_problems(element: dict[str, Any], at: str) -> list[str]:
    problems: list[str] = []
    if len(str(element.get("action_id", ""))) > MAX_ID_LENGTH:
        problems.append(
            f"[ERROR] must be less than {MAX_ID_LENGTH + 1} characters [json-pointer:{at}/action_id]"
        )
    if element.get("type") == "button":
        if len(_text(element.get("text"))) > MAX_BUTTON_TEXT:
            problems.append(
                f"[ERROR] must be less than {MAX_BUTTON_TEXT + 1} characters [json-pointer:{at}/text]"
            )
        if len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
            problems.append(
                f"[ERROR] must be less than {MAX_BUTTON_VALUE + 1} characters [json-pointer:{at}/value]"
            )
    return problems


def check_message(text: str | None, blocks: list[Any] | None, *, max_text: int = MAX_POST_TEXT) -> None:
    """Raise what chat.postMessage / chat.update / response_url answer for an oversized message."""
    if not text and not blocks:
        raise SlackLimitError("no_text")
    if text and len(text) > max_text:
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
        raise SlackLimitError("invalid_blocks", problems)


def check_view(view: dict[str, Any]) -> None:
    """views.* answer `invalid_arguments` for block problems and `view_too_large` above 250 KB."""
    if len(json.dumps(view, separators=(",", ":")).encode()) > MAX_VIEW_BYTES:
        raise SlackLimitError("view_too_large")
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list):
        raise SlackLimitError("invalid_arguments", ["[ERROR] must be an array [json-pointer:/view/blocks]"])
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise SlackLimitError(
            "invalid_arguments",
            [f"[ERROR] no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]"],
        )
    if view.get("type") not in ("modal", "home"):
        raise SlackLimitError(
            "invalid_arguments", ["[ERROR] must be one of modal, home [json-pointer:/view/type]"]
        )
    problems = block_problems(blocks, "/view/blocks")
    if problems:
        raise SlackLimitError("invalid_arguments", problems)
