"""Builders of the interactive and event payloads Slack sends over Socket Mode.

Shapes follow what Slack actually sends (block_actions, view_submission, slash command form fields,
event_callback wrappers), so Bolt's matchers and our handlers' parsers see realistic input.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

from bot.sandbox.slack_state import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, SlackUser, View

VERIFICATION_TOKEN = "local-verification-token"  # noqa: S105 - a fixed, public placeholder


def user_ref(user: SlackUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID}


def team_ref() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None
) -> tuple[str, dict[str, Any]]:
    """Locate the element a user interacts with, so a test cannot click a button that was never drawn."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        elements = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    where = f" in block {block_id!r}" if block_id else ""
    drawn = sorted(
        str(e.get("action_id"))
        for b in blocks
        for e in [*b.get("elements", []), b.get("accessory"), b.get("element")]
        if isinstance(e, dict) and e.get("action_id")
    )
    raise LookupError(f"no element with action_id {action_id!r}{where}; drawn action_ids: {drawn}")


def block_actions(
    *,
    user: SlackUser,
    action: dict[str, Any],
    trigger_id: str,
    channel: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    message_ts: str | None = None,
    is_ephemeral: bool = False,
    view: View | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_ref(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": team_ref(),
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["view"] = copy.deepcopy(view)
    else:
        assert channel is not None and message_ts is not None
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel["id"],
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = channel
        if message is not None:
            payload["message"] = copy.deepcopy(message)
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def slash_command(
    *, user: SlackUser, channel: dict[str, Any], command: str, text: str, response_url: str, trigger_id: str
) -> dict[str, Any]:
    """Slash commands arrive as flat form fields (strings), not nested objects."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel["id"],
        "channel_name": channel.get("name") or "directmessage",
        "user_id": user.id,
        "user_name": user.name,
        "command": command if command.startswith("/") else f"/{command}",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


_VALUE_KEYS = {
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


def _option(element: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict):
        return value
    options = element.get("options") or [
        o for g in element.get("option_groups", []) for o in g.get("options", [])
    ]
    found = next((o for o in options if o.get("value") == value), None)
    return found or {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}


def element_state(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The `view.state.values[block][action]` entry Slack sends for one input element."""
    kind = element.get("type", "plain_text_input")
    key = _VALUE_KEYS.get(kind, "value")
    if value is not None and key in ("selected_option",):
        value = _option(element, value)
    elif value is not None and key == "selected_options":
        value = [_option(element, v) for v in value]
    elif value is None and key.endswith("s") and key.startswith("selected_"):
        value = []
    return {"type": kind, key: value}


def view_state(view: View, values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Build state for every input in the view; unknown block/action ids in `values` are test bugs."""
    state: dict[str, dict[str, Any]] = {}
    known: set[tuple[str, str]] = set()
    for block in view.get("blocks", []):
        element = block.get("element") if block.get("type") == "input" else None
        candidates = [element] if element else [*block.get("elements", []), block.get("accessory")]
        for el in candidates:
            if not isinstance(el, dict) or "action_id" not in el or el.get("type") == "button":
                continue
            block_id, action_id = str(block.get("block_id")), str(el["action_id"])
            known.add((block_id, action_id))
            given = values.get(block_id, {})
            if action_id in given or block.get("type") == "input":
                state.setdefault(block_id, {})[action_id] = element_state(el, given.get(action_id))
    missing = [(b, a) for b, actions in values.items() for a in actions if (b, a) not in known]
    if missing:
        raise LookupError(f"values for inputs the view does not have: {missing}; inputs: {sorted(known)}")
    return state


def view_submission(*, user: SlackUser, view: View, state: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    submitted = copy.deepcopy(view)
    submitted["state"] = {"values": state}
    return {
        "type": "view_submission",
        "team": team_ref(),
        "user": user_ref(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """Wrap an event the way the Events API does, with one bot authorization."""
    event = {"event_ts": f"{time.time():.6f}", **event}
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def channel_type(channel: Any) -> str:
    """`channel_type` of a message event: "im" for a DM, "group" for a private channel."""
    if getattr(channel, "is_im", False):
        return "im"
    return "group" if getattr(channel, "is_private", False) else "channel"


def message_event(message: dict[str, Any], channel: Any) -> dict[str, Any]:
    """The `message` event (message.channels / message.groups / message.im) for a stored message:
    the message itself plus `channel`, `channel_type` and `event_ts`, as the Events API sends it."""
    event = {k: copy.deepcopy(v) for k, v in message.items() if k not in ("reactions", "reply_users")}
    event.update(channel=channel.id, channel_type=channel_type(channel), event_ts=message["ts"])
    return event


def message_action(
    *,
    user: SlackUser,
    channel: dict[str, Any],
    message: dict[str, Any],
    callback_id: str,
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    """A message shortcut ("More actions" on a message), Slack's `message_action` payload."""
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": team_ref(),
        "user": user_ref(user),
        "channel": {"id": channel["id"], "name": channel.get("name") or "directmessage"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": copy.deepcopy(message),
    }
