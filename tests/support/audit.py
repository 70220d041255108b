"""/os-audit as Maya drives it in the local Slack: the audit meeting's card, buttons found and
clicked by action id, the client-pack zips uploaded to the thread."""

from __future__ import annotations

from typing import Any

from blocks.ids import MeetingAction
from tests.harness import MEETINGS_CHANNEL, Bot

USER = "U01MAYA"


def zip_uploads(bot: Bot) -> list[Any]:
    """The client-pack uploads (approval cards may attach .diff files to the same thread)."""
    return [f for f in bot.slack.files if f.name.endswith(".zip")]


def find_element(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message.get("blocks") or []:
        for element in [*block.get("elements", []), block.get("accessory")]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None


async def audit_meeting_card(bot: Bot) -> dict[str, Any]:
    """The AI-audit meeting sent as a webhook; its card once it offers Generate OS."""
    status, _ = await bot.send("ai_audit_discovery")
    assert status == 202
    await bot.wait_for(lambda: len(bot.parents()) == 1)
    ts = bot.parents()[0]["ts"]
    await bot.wait_for(
        lambda: find_element(bot.slack.message(MEETINGS_CHANNEL, ts), MeetingAction.GENERATE_OS) is not None
    )
    return bot.slack.message(MEETINGS_CHANNEL, ts)


async def click(bot: Bot, user: str, message: dict[str, Any], action_id: str) -> dict[str, Any]:
    element = find_element(message, action_id)
    assert element is not None, f"{action_id} is not drawn"
    return await bot.slack.click_button(
        user, MEETINGS_CHANNEL, message["ts"], action_id, value=element["value"]
    )
