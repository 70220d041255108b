"""Meeting card buttons: Retry analysis, and the View-in-Fathom link (Slack still sends an action)."""

from __future__ import annotations

from typing import Any

from blocks.common import notice
from blocks.ids import MeetingAction
from blocks.values import MeetingRef, decode
from handlers.context import action_value, actor_id, app_of
from handlers.events.threads import summarise
from handlers.registrar import Registrar


async def retry_analysis(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(MeetingRef, action_value(body))
    queued = await app.domain.pipeline.request_reanalysis(ref.meeting_id, actor=actor_id(body))
    await app.slack.meeting_cards.publish_meeting(ref.meeting_id)
    text = (
        "Re-analysis queued; the card updates when it finishes."
        if queued
        else "A re-analysis is already queued."
    )
    await respond(**notice(text).as_kwargs(), response_type="ephemeral", replace_original=False)


async def open_fathom(ack: Any) -> None:
    await ack()


async def summarise_thread(ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
    """The card's overflow: the thread's discussion proposed for the meeting note (#19)."""
    await ack()
    ref, clicked_on = decode(MeetingRef, action_value(body)), body.get("container") or {}
    card_ts, channel = str(clicked_on.get("message_ts") or ""), str(clicked_on.get("channel_id") or "")
    await summarise(app_of(context), ref.meeting_id, channel, card_ts, actor_id(body))


def register(app: Registrar) -> None:
    app.action(MeetingAction.RETRY_ANALYSIS.value)(retry_analysis)
    app.action(MeetingAction.OPEN_FATHOM.value)(open_fathom)
    app.action(MeetingAction.SUMMARISE_THREAD.value)(summarise_thread)
