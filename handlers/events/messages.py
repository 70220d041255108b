"""@-mentions: questions about past meetings, answered in the thread with citations."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.common import notice
from blocks.qa import qa_answer
from handlers.context import services_of
from services.home import thread_urls
from services.qa import QAService

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


async def app_mention(event: dict[str, Any], context: dict[str, Any]) -> None:
    services = services_of(context)
    thread_ts = event.get("thread_ts") or event.get("ts")
    question = " ".join(_MENTION.sub(" ", event.get("text") or "").split())
    if not question:
        text = "Ask me about past meetings, e.g. _what did we decide about pricing with Brightline?_ · `/os-help`"
        await services.slack.post(event["channel"], notice(text), thread_ts=thread_ts)
        return
    qa: QAService = services.qa
    answer = await qa.answer(question)
    urls = await thread_urls(services.gateway, {h.meeting_id for h in answer.sources})
    await services.slack.post(event["channel"], qa_answer(answer, urls), thread_ts=thread_ts)


def register(app: AsyncApp) -> None:
    app.event("app_mention")(app_mention)
