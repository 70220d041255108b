"""Slack's Block Kit limits, and checkers that tests run over every builder's output.

Builders never produce violations; the checkers exist so a test proves it. Where Slack's rule is
per block (action_id uniqueness), the check is per block: the same stable `action_item.done` id
legitimately appears once per item in a list, and handlers register exact ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from blocks.text import slack_len

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
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
MESSAGE_TEXT = 3000  # postMessage allows 40,000 but chat.update only 4,000: keep one safe cap
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


def check_message(blocks: list[dict[str, Any]], text: str) -> list[str]:
    """Every limit a chat.postMessage / chat.update with these blocks would break."""
    problems: list[str] = []
    if not text or not text.strip():
        problems.append("fallback text is empty")
    if slack_len(text or "") > MESSAGE_TEXT:
        problems.append(f"fallback text is {slack_len(text)} > {MESSAGE_TEXT}")
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {MAX_MESSAGE_BLOCKS}")
    problems += _check_blocks(blocks)
    return problems


def check_view(view: dict[str, Any]) -> list[str]:
    """Every limit views.open / views.update / views.publish would reject."""
    problems: list[str] = []
    blocks = view.get("blocks", [])
    if view.get("type") not in ("modal", "home"):
        problems.append(f"view type {view.get('type')!r}")
    if len(blocks) > MAX_VIEW_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {MAX_VIEW_BLOCKS}")
    for key in ("title", "submit", "close"):
        if key in view and slack_len(view[key].get("text", "")) > MODAL_TITLE:
            problems.append(f"view {key} longer than {MODAL_TITLE}")
    if view.get("type") == "modal" and "title" not in view:
        problems.append("modal without title")
    if any(b.get("type") == "input" for b in blocks) and view.get("type") == "modal" and "submit" not in view:
        problems.append("modal with inputs but no submit button")
    if len(view.get("private_metadata", "")) > PRIVATE_METADATA:
        problems.append("private_metadata too long")
    if len(view.get("callback_id", "")) > ID_LENGTH:
        problems.append("callback_id too long")
    size = len(json.dumps(view, ensure_ascii=False).encode())
    if size > VIEW_BYTES:
        problems.append(f"view is {size} bytes > {VIEW_BYTES}")
    return problems + _check_blocks(blocks)


def _check_blocks(blocks: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"block {index} ({block.get('type')}, {block.get('block_id')})"
        block_id = block.get("block_id")
        if block_id is not None:
            if len(block_id) > ID_LENGTH:
                problems.append(f"{where}: block_id too long")
            if block_id in seen:
                problems.append(f"{where}: duplicate block_id")
            seen.add(block_id)
        problems += [f"{where}: {p}" for p in _check_block(block)]
    return problems


def _text_len(obj: dict[str, Any] | None) -> int:
    return slack_len(obj.get("text", "")) if obj else 0


def _check_block(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    problems: list[str] = []
    elements: list[dict[str, Any]] = []
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append("section without text or fields")
        if _text_len(block.get("text")) > SECTION_TEXT:
            problems.append(f"section text {_text_len(block.get('text'))} > {SECTION_TEXT}")
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS:
            problems.append("too many fields")
        problems += [f"field {_text_len(f)} > {FIELD_TEXT}" for f in fields if _text_len(f) > FIELD_TEXT]
        if "accessory" in block:
            elements.append(block["accessory"])
    elif kind == "header":
        if block.get("text", {}).get("type") != "plain_text":
            problems.append("header text must be plain_text")
        if _text_len(block.get("text")) > HEADER_TEXT:
            problems.append(f"header text > {HEADER_TEXT}")
    elif kind == "context":
        items = block.get("elements", [])
        if not 1 <= len(items) <= CONTEXT_ELEMENTS:
            problems.append(f"context has {len(items)} elements")
        problems += ["context text > 3000" for e in items if _text_len(e) > SECTION_TEXT]
    elif kind == "actions":
        elements = block.get("elements", [])
        if not 1 <= len(elements) <= ACTIONS_ELEMENTS:
            problems.append(f"actions has {len(elements)} elements")
    elif kind == "input":
        if _text_len(block.get("label")) > INPUT_LABEL:
            problems.append("input label too long")
        if _text_len(block.get("hint")) > INPUT_HINT:
            problems.append("input hint too long")
        elements.append(block["element"])
    elif kind not in ("divider",):
        problems.append(f"unexpected block type {kind!r}")
    action_ids = [e["action_id"] for e in elements if "action_id" in e]
    if len(action_ids) != len(set(action_ids)):
        problems.append("duplicate action_id within block")
    for element in elements:
        problems += _check_element(element)
    return problems


def _check_element(element: dict[str, Any]) -> list[str]:
    kind = element.get("type")
    problems: list[str] = []
    if len(element.get("action_id", "")) > ID_LENGTH:
        problems.append("action_id too long")
    if _text_len(element.get("placeholder")) > PLACEHOLDER:
        problems.append("placeholder too long")
    if kind == "button":
        if _text_len(element.get("text")) > BUTTON_TEXT:
            problems.append(f"button text > {BUTTON_TEXT}")
        if len(element.get("value", "")) > BUTTON_VALUE:
            problems.append(f"button value > {BUTTON_VALUE}")
        if len(element.get("url", "")) > URL_LENGTH:
            problems.append("button url too long")
    elif kind in ("static_select", "overflow"):
        options = element.get("options", [])
        cap = OVERFLOW_OPTIONS if kind == "overflow" else SELECT_OPTIONS
        if not 1 <= len(options) <= cap:
            problems.append(f"{kind} has {len(options)} options")
        problems += _check_options(options)
    elif kind == "plain_text_input":
        cap = min(element.get("max_length", INPUT_VALUE), INPUT_VALUE)
        if slack_len(element.get("initial_value", "")) > cap:
            problems.append("initial_value longer than the input allows")
    return problems


def _check_options(options: Iterable[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for option in options:
        if _text_len(option.get("text")) > OPTION_TEXT:
            problems.append("option text too long")
        if len(option.get("value", "")) > OPTION_VALUE:
            problems.append("option value too long")
    return problems
