"""@-mentions: questions about past meetings. Asked in a meeting card's thread, answered there from
that meeting; otherwise ephemerally to the asker, from the meeting the question names or fits
(or a "Which meeting?" choice); cited meetings follow services.access."""

from __future__ import annotations

import re
from typing import Any

from blocks.common import notice
from blocks.qa import qa_answer
from handlers.context import app_of
from handlers.registrar import Registrar

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


async def app_mention(event: dict[str, Any], context: dict[str, Any]) -> None:
    app = app_of(context)
    channel, user = event["channel"], str(event.get("user") or "")
    thread_ts = event.get("thread_ts") or event.get("ts")
    question = " ".join(_MENTION.sub(" ", event.get("text") or "").split())
    if not question:
        text = "Ask me about past meetings, e.g. _what did we decide about pricing with Brightline?_ · `/os-help`"
        await app.slack.gateway.post(channel, notice(text), thread_ts=thread_ts)
        return
    answer = await app.domain.qa.answer(question, user, channel=channel, thread_ts=event.get("thread_ts"))
    gateway = app.slack.gateway
    message = qa_answer(answer, await gateway.thread_urls({h.meeting_id for h in answer.sources}))
    if answer.in_thread:
        await gateway.post(channel, message, thread_ts=thread_ts)
    elif user:
        await gateway.post_ephemeral(channel, user, message, event.get("thread_ts"))


def register(app: Registrar) -> None:
    app.event("app_mention")(app_mention)
