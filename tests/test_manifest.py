"""manifest.yml and the registered listeners agree: every command and event in the code is in the
manifest and vice versa, and every id a blocks builder can draw has a listener."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from blocks.ids import all_action_ids, all_callback_ids
from tests.support.listeners import registered

ROOT = Path(__file__).resolve().parents[1]


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_commands_in_code_and_manifest_match() -> None:
    declared = {c["command"] for c in manifest()["features"]["slash_commands"]}
    assert registered()["command"] == declared


def test_events_in_code_and_manifest_match() -> None:
    subscribed = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    # message.channels / message.groups / message.im all arrive as the `message` event
    declared = {e.partition(".")[0] if e.startswith("message.") else e for e in subscribed}
    assert registered()["event"] == declared
    if "message" in declared:
        assert {"message.channels", "message.groups", "message.im"} <= subscribed
        scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
        assert {"channels:history", "groups:history", "im:history"} <= scopes


def test_shortcuts_in_code_and_manifest_match() -> None:
    declared = {s["callback_id"] for s in manifest()["features"].get("shortcuts", [])}
    assert registered()["shortcut"] == declared


def test_socket_mode_interactivity_and_home_tab_are_on() -> None:
    m = manifest()
    assert m["settings"]["socket_mode_enabled"] and m["settings"]["interactivity"]["is_enabled"]
    assert m["features"]["app_home"]["home_tab_enabled"]


def test_every_drawn_action_and_view_id_has_a_listener() -> None:
    seen = registered()
    assert all_action_ids() <= seen["action"], all_action_ids() - seen["action"]
    assert all_callback_ids() <= seen["view"], all_callback_ids() - seen["view"]


def test_scopes_cover_the_web_api_methods_the_code_calls() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    source = "\n".join(p.read_text() for p in (ROOT / "services").rglob("*.py"))
    source += "\n".join(p.read_text() for p in (ROOT / "handlers").rglob("*.py"))
    needs = {
        "chat.postMessage": "chat:write",
        "conversations.open": "im:write",
        "conversations.members": "channels:read",  # groups:read too, for private card channels
        "conversations.history": "channels:history",  # groups:history too (finding a lost post)
        "conversations.replies": "channels:history",
        "users.lookupByEmail": "users:read.email",
        "users.info": "users:read",
        "files_upload_v2": "files:write",
    }
    for method, scope in needs.items():
        if method in source:
            assert scope in scopes, f"{method} needs {scope}"
    assert "commands" in scopes and "app_mentions:read" in scopes
