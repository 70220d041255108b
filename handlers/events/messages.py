"""@-mentions: questions about past meetings. Answered in the thread when asked in a meeting card's
thread, otherwise ephemerally to the asker; cited meetings follow services.access."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.common import notice
from blocks.qa import qa_answer
from handlers.context import services_of
from services.access import AccessPolicy
from services.home import thread_urls
from services.qa import QAService

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


async def app_mention(event: dict[str, Any], context: dict[str, Any]) -> None:
    services = services_of(context)
    channel, user = event["channel"], str(event.get("user") or "")
    thread_ts = event.get("thread_ts") or event.get("ts")
    question = " ".join(_MENTION.sub(" ", event.get("text") or "").split())
    if not question:
        text = "Ask me about past meetings, e.g. _what did we decide about pricing with Brightline?_ · `/os-help`"
        await services.slack.post(channel, notice(text), thread_ts=thread_ts)
        return
    access: AccessPolicy = services.access
    scope, in_thread = await access.question_scope(user, channel, event.get("thread_ts"))
    qa: QAService = services.qa
    answer = await qa.answer(question, scope)
    urls = await thread_urls(services.gateway, {h.meeting_id for h in answer.sources})
    if in_thread:
        await services.slack.post(channel, qa_answer(answer, urls), thread_ts=thread_ts)
    elif user:
        await services.slack.post_ephemeral(channel, user, qa_answer(answer, urls), event.get("thread_ts"))


def register(app: AsyncApp) -> None:
    app.event("app_mention")(app_mention)
