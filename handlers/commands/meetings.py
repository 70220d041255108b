"""`/os-meetings QUERY`: full-text search over the meetings the user may see, answered ephemerally."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from blocks.search import search_results
from handlers.context import app_of
from handlers.registrar import Registrar
from services.search import parse_query

COMMAND = "/os-meetings"


async def os_meetings(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, query = app_of(context), parse_query(command.get("text") or "")
    if query.with_user:
        query = replace(query, with_email=await app.domain.people.email_for(query.with_user))
    viewer = await app.domain.access.viewer(str(command.get("user_id") or ""))
    hits = await app.domain.search.search(query, viewer)  # only meetings this user may see
    urls = await app.slack.gateway.thread_urls({h.meeting_id for h in hits})
    message = search_results(query.text, hits, urls, query.problems)
    await respond(**message.as_kwargs(), response_type="ephemeral", replace_original=False)


def register(app: Registrar) -> None:
    app.command(COMMAND)(os_meetings)
