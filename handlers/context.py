"""Small helpers every handler uses to read Bolt's body into typed values."""

from __future__ import annotations

from typing import Any

from bot.services import Services


def services_of(context: dict[str, Any]) -> Services:
    return context["services"]  # type: ignore[no-any-return]


def action_value(body: dict[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    return str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")


def actor_id(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or body.get("user_id") or "")


def channel_id(body: dict[str, Any]) -> str | None:
    return (
        (body.get("channel") or {}).get("id")
        or body.get("channel_id")
        or (body.get("container") or {}).get("channel_id")
    )
