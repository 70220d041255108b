"""Small helpers every handler uses to read Bolt's body into typed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.container import Domain
from services.slack.action_items import Clicked
from services.slack.container import Slack


@dataclass(frozen=True)
class AppContext:
    """What every Slack listener receives (Bolt's `context["fathom"]`)."""

    domain: Domain
    slack: Slack


def app_of(context: dict[str, Any]) -> AppContext:
    """The typed context the app factory's middleware puts on every request."""
    app = context["fathom"]
    assert isinstance(app, AppContext)
    return app


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


def clicked(body: dict[str, Any]) -> Clicked:
    """Where an interaction came from: the clicked message (to redraw it) or the Home tab."""
    message = body.get("message") or {}
    return Clicked(
        actor=actor_id(body),
        channel=channel_id(body),
        message_ts=(body.get("container") or {}).get("message_ts"),
        message_text=str(message.get("text") or ""),
        message_blocks=tuple(message.get("blocks") or ()),
        from_home=(body.get("view") or {}).get("type") == "home",
    )
