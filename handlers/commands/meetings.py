"""`/os-meetings QUERY`: full-text search over the meetings the user may see, answered ephemerally."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.search import search_results
from handlers.context import services_of
from services.home import email_for_user, thread_urls
from services.search import SearchIndex, parse_query

COMMAND = "/os-meetings"


async def os_meetings(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    query = parse_query(command.get("text") or "")
    if query.with_user:
        query = replace(
            query, with_email=await email_for_user(services.db, services.gateway, query.with_user)
        )
    viewer = await services.access.viewer(str(command.get("user_id") or ""))
    index: SearchIndex = services.search
    hits = await index.search(query, viewer)  # only meetings this user may see (services.access)
    urls = await thread_urls(services.gateway, {h.meeting_id for h in hits})
    message = search_results(query.text, hits, urls, query.problems)
    await respond(**message.as_kwargs(), response_type="ephemeral", replace_original=False)


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(os_meetings)
