"""Slack's Block Kit limits: the one place they are written down, and the checker over them.

Builders never produce violations; tests prove it with `check_message` / `check_view`, and the local
Slack server (`bot/sandbox`) rejects over-limit requests with Slack's own error codes using the same
`block_problems`. Lengths are counted as Slack counts them (UTF-16 code units, `slack_len`).
Where Slack's rule is per block (action_id uniqueness), the check is per block: the same stable
`action_item.done` id legitimately appears once per item in a list.

Sources: https://api.slack.com/reference/block-kit/blocks (per-block limits),
https://api.slack.com/reference/surfaces/views (100 blocks, 250 KB), chat.postMessage (50 blocks,
40,000 characters) and chat.update (4,000 characters) method pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from blocks.text import slack_len

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_POST_TEXT = 40_000
MAX_UPDATE_TEXT = 4_000
MESSAGE_TEXT = 3000  # postMessage allows 40,000 but chat.update only 4,000: builders keep one safe cap
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
ID_LENGTH = 255
BUTTON_VALUE = 2000
URL_LENGTH = 3000
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
SECTION_FIELDS = 10
FIELD_TEXT = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
OVERFLOW_OPTIONS = 5
PLACEHOLDER = 150
MODAL_TITLE = 24
MODAL_BUTTON = 24
INPUT_LABEL = 2000
INPUT_HINT = 2000
INPUT_VALUE = 3000
PRIVATE_METADATA = 3000
VIEW_BYTES = 250_000
ALT_TEXT = 2000
KNOWN_BLOCKS = frozenset(
    {"section", "header", "context", "actions", "input", "divider", "image", "rich_text", "file", "video"}
)


@dataclass(frozen=True)
class Problem:
    pointer: str  # JSON pointer into the request, as Slack reports it
    message: str

    def __str__(self) -> str:
        return f"{self.pointer}: {self.message}"


def check_message(blocks: list[dict[str, Any]], text: str) -> list[str]:
    """Every limit a builder's chat.postMessage / chat.update would break (text capped for update)."""
    problems: list[str] = []
    if not text or not text.strip():
        problems.append("fallback text is empty")
    if slack_len(text or "") > MESSAGE_TEXT:
        problems.append(f"fallback text is {slack_len(text)} > {MESSAGE_TEXT}")
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {MAX_MESSAGE_BLOCKS}")
    return problems + [str(p) for p in block_problems(blocks)]


def check_view(view: dict[str, Any]) -> list[str]:
    """Every limit views.open / views.update / views.publish would reject."""
    return [str(p) for p in view_problems(view)]


def view_problems(view: dict[str, Any], pointer: str = "/view") -> list[Problem]:
    problems: list[Problem] = []
    blocks = view.get("blocks", [])
    if view.get("type") not in ("modal", "home"):
        problems.append(Problem(f"{pointer}/type", "must be one of modal, home"))
    if not isinstance(blocks, list):
        return [*problems, Problem(f"{pointer}/blocks", "must be an array")]
    if len(blocks) > MAX_VIEW_BLOCKS:
        problems.append(Problem(f"{pointer}/blocks", f"no more than {MAX_VIEW_BLOCKS} items allowed"))
    for key in ("title", "submit", "close"):
        if key in view and slack_len(_text(view[key])) > MODAL_TITLE:
            problems.append(Problem(f"{pointer}/{key}", f"must be less than {MODAL_TITLE + 1} characters"))
    if view.get("type") == "modal" and "title" not in view:
        problems.append(Problem(f"{pointer}/title", "missing required field: title"))
    if any(_is(b, "input") for b in blocks) and view.get("type") == "modal" and "submit" not in view:
        problems.append(Problem(f"{pointer}/submit", "modal with inputs needs a submit button"))
    if len(view.get("private_metadata", "")) > PRIVATE_METADATA:
        problems.append(Problem(f"{pointer}/private_metadata", "too long"))
    if len(view.get("callback_id", "")) > ID_LENGTH:
        problems.append(Problem(f"{pointer}/callback_id", "too long"))
    return problems + block_problems(blocks, f"{pointer}/blocks")


def view_bytes(view: dict[str, Any]) -> int:
    return len(json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode())


def block_problems(blocks: list[Any], pointer: str = "/blocks") -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{pointer}/{index}"
        if not isinstance(block, dict) or "type" not in block:
            problems.append(Problem(at, "missing required field: type"))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > ID_LENGTH:
                problems.append(Problem(f"{at}/block_id", f"must be less than {ID_LENGTH + 1} characters"))
            if block_id in seen:
                problems.append(Problem(f"{at}/block_id", "duplicate block_id"))
            seen.add(block_id)
        problems += _check_block(block, at)
    return problems


def _is(block: Any, kind: str) -> bool:
    return isinstance(block, dict) and block.get("type") == kind


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _too_long(obj: Any, cap: int, at: str) -> list[Problem]:
    n = slack_len(_text(obj))
    return [Problem(at, f"must be less than {cap + 1} characters (is {n})")] if n > cap else []


def _check_block(block: dict[str, Any], at: str) -> list[Problem]:
    kind = block.get("type")
    problems: list[Problem] = []
    elements: list[dict[str, Any]] = []
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(Problem(at, "must provide either text or fields"))
        problems += _too_long(block.get("text"), SECTION_TEXT, f"{at}/text")
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS:
            problems.append(Problem(f"{at}/fields", f"must provide no more than {SECTION_FIELDS} items"))
        for j, field in enumerate(fields):
            problems += _too_long(field, FIELD_TEXT, f"{at}/fields/{j}")
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
    elif kind == "header":
        if not _is(block.get("text"), "plain_text"):
            problems.append(Problem(f"{at}/text", "header text must be plain_text"))
        problems += _too_long(block.get("text"), HEADER_TEXT, f"{at}/text")
    elif kind == "context":
        items = block.get("elements", [])
        if not 1 <= len(items) <= CONTEXT_ELEMENTS:
            problems.append(Problem(f"{at}/elements", f"must provide 1 to {CONTEXT_ELEMENTS} items"))
        for j, item in enumerate(items):
            problems += _too_long(item, SECTION_TEXT, f"{at}/elements/{j}")
    elif kind == "actions":
        elements = [e for e in block.get("elements", []) if isinstance(e, dict)]
        if not 1 <= len(block.get("elements", [])) <= ACTIONS_ELEMENTS:
            problems.append(Problem(f"{at}/elements", f"must provide 1 to {ACTIONS_ELEMENTS} items"))
    elif kind == "input":
        problems += _too_long(block.get("label"), INPUT_LABEL, f"{at}/label")
        problems += _too_long(block.get("hint"), INPUT_HINT, f"{at}/hint")
        if isinstance(block.get("element"), dict):
            elements.append(block["element"])
    elif kind == "image":
        if len(str(block.get("alt_text", ""))) > ALT_TEXT:
            problems.append(Problem(f"{at}/alt_text", f"must be less than {ALT_TEXT + 1} characters"))
    elif kind not in KNOWN_BLOCKS:
        problems.append(Problem(f"{at}/type", f"unexpected block type {kind!r}"))
    action_ids = [e["action_id"] for e in elements if "action_id" in e]
    if len(action_ids) != len(set(action_ids)):
        problems.append(Problem(at, "duplicate action_id within block"))
    for j, element in enumerate(elements):
        problems += _check_element(element, f"{at}/elements/{j}")
    return problems


def _check_element(element: dict[str, Any], at: str) -> list[Problem]:
    kind = element.get("type")
    problems: list[Problem] = []
    if len(str(element.get("action_id", ""))) > ID_LENGTH:
        problems.append(Problem(f"{at}/action_id", f"must be less than {ID_LENGTH + 1} characters"))
    problems += _too_long(element.get("placeholder"), PLACEHOLDER, f"{at}/placeholder")
    if kind == "button":
        problems += _too_long(element.get("text"), BUTTON_TEXT, f"{at}/text")
        if len(str(element.get("value", ""))) > BUTTON_VALUE:
            problems.append(Problem(f"{at}/value", f"must be less than {BUTTON_VALUE + 1} characters"))
        if len(str(element.get("url", ""))) > URL_LENGTH:
            problems.append(Problem(f"{at}/url", "button url too long"))
    elif kind in ("static_select", "overflow"):
        options = element.get("options", [])
        cap = OVERFLOW_OPTIONS if kind == "overflow" else SELECT_OPTIONS
        if not 1 <= len(options) <= cap:
            problems.append(Problem(f"{at}/options", f"{kind} has {len(options)} options"))
        problems += _check_options(options, f"{at}/options")
    elif kind == "plain_text_input":
        cap = min(element.get("max_length", INPUT_VALUE), INPUT_VALUE)
        if slack_len(str(element.get("initial_value", ""))) > cap:
            problems.append(Problem(f"{at}/initial_value", "longer than the input allows"))
    return problems


def _check_options(options: Iterable[dict[str, Any]], at: str) -> list[Problem]:
    problems: list[Problem] = []
    for j, option in enumerate(options):
        problems += _too_long(option.get("text"), OPTION_TEXT, f"{at}/{j}/text")
        if len(str(option.get("value", ""))) > OPTION_VALUE:
            problems.append(Problem(f"{at}/{j}/value", "option value too long"))
    return problems
