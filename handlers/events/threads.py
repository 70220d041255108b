"""Message events: replies in a meeting card's thread (message.channels / message.groups) and
questions in the app's Messages tab (message.im).

The bot answers only questions and commands, at most once per message, never to a bot (its own
posts included), never in a thread it did not start, and never to a message that @-mentions it
(the app_mention listener answers those).
"""

from __future__ import annotations

from typing import Any

from blocks.common import error_message, notice
from blocks.conversations import conversation_help
from blocks.qa import qa_answer
from handlers.context import AppContext, app_of
from handlers.registrar import Registrar
from services.conversations import Intent, ThreadMessage, classify, is_help
from services.errors import NotFound, UserFacingError
from services.views import ItemView

HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")


def from_a_person(event: dict[str, Any], bot_user_id: str | None) -> bool:
    if event.get("subtype") not in HUMAN_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
        return False
    user = str(event.get("user") or "")
    text = str(event.get("text") or "")
    return bool(user) and user != bot_user_id and not (bot_user_id and f"<@{bot_user_id}" in text)


async def message(event: dict[str, Any], context: dict[str, Any]) -> None:
    if not from_a_person(event, context.get("bot_user_id")):
        return
    app = app_of(context)
    if event.get("channel_type") == "im":
        await _direct_message(app, event)
        return
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != event.get("ts"):
        await _thread_reply(app, event, str(thread_ts))


async def _direct_message(app: AppContext, event: dict[str, Any]) -> None:
    channel, user, text = event["channel"], event["user"], str(event.get("text") or "")
    if not text.strip() or not await app.domain.conversations.first_time(channel, event["ts"]):
        return
    gateway = app.slack.gateway
    if is_help(text):
        await gateway.post(channel, conversation_help())
        return
    answer = await app.domain.conversations.ask_by_dm(text, user, channel)
    await gateway.post(
        channel, qa_answer(answer, await gateway.thread_urls({h.meeting_id for h in answer.sources}))
    )


async def _thread_reply(app: AppContext, event: dict[str, Any], thread_ts: str) -> None:
    conversations = app.domain.conversations
    channel, user, ts = event["channel"], event["user"], event["ts"]
    found = classify(str(event.get("text") or ""))
    if found.intent is Intent.CHITCHAT:
        return
    meeting_id = await conversations.meeting_of_thread(channel, thread_ts)
    if meeting_id is None or not await conversations.first_time(channel, ts):
        return
    gateway = app.slack.gateway
    try:
        if found.intent is Intent.QUESTION:
            answer = await conversations.ask_in_thread(found.body, user, channel, thread_ts)
            urls = await gateway.thread_urls({h.meeting_id for h in answer.sources})
            await gateway.post(channel, qa_answer(answer, urls), thread_ts=thread_ts)
        elif found.intent is Intent.ACTION:
            item = await conversations.add_action(meeting_id, found.body, user)
            await app.slack.meeting_cards.publish_item(ItemView.of(item))
        elif found.intent is Intent.CORRECTION:
            await conversations.propose_correction(meeting_id, found.body, user, channel=channel, ts=ts)
            await app.slack.approvals.publish(meeting_id)
            await gateway.post_ephemeral(channel, user, notice(PROPOSED_CORRECTION), thread_ts)
        elif found.intent is Intent.SUMMARISE:
            await summarise(app, meeting_id, channel, thread_ts, user)
    except UserFacingError as refused:  # told to the author alone, in the thread
        await gateway.post_ephemeral(channel, user, error_message(str(refused)), thread_ts)


PROPOSED_CORRECTION = "Thanks: the correction is proposed for the meeting note; an approver reviews it on the approval card in this thread."
PROPOSED_SUMMARY = "The thread's discussion is proposed for the meeting note; an approver reviews it on the approval card in this thread."


async def summarise(app: AppContext, meeting_id: int, channel: str, thread_ts: str, actor: str) -> None:
    """The thread read from Slack (people's replies only), appended to the note through a proposal;
    a newer summary of the same thread replaces one still pending."""
    if await app.domain.conversations.meeting_of_thread(channel, thread_ts) != meeting_id:
        raise NotFound("That card's thread was not found.")
    data = await app.slack.gateway.call("conversations.replies", channel=channel, ts=thread_ts, limit=200)
    replies = [
        ThreadMessage(str(m["user"]), str(m.get("text") or ""))
        for m in data.get("messages") or []
        if m.get("ts") != thread_ts and from_a_person(m, None) and m.get("user")
    ]
    await app.domain.conversations.summarise_thread(
        meeting_id, replies, actor, channel=channel, ts=f"{thread_ts}:summary"
    )
    await app.slack.approvals.publish(meeting_id)
    await app.slack.gateway.post_ephemeral(channel, actor, notice(PROPOSED_SUMMARY), thread_ts)


def register(app: Registrar) -> None:
    app.event("message")(message)
