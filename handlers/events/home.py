"""Home tab: rebuilt on every app_home_opened from the user's items, proposals and meetings."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.home import home_view
from bot.services import Services
from handlers.context import services_of
from services.clock import utcnow
from services.home import HomeData, HomeService, email_for_user, thread_urls


async def load_home(services: Services, user_id: str, *, limit: int | None = None) -> HomeData:
    """Everything the tab (or an "N more" modal, with a bigger `limit`) shows this user."""
    home: HomeService = services.home
    email = await email_for_user(services.db, services.gateway, user_id)
    config = services.os_config()
    approver = config.is_approver(user_id) or bool(email and config.is_approver(email))
    return await home.load(user_id, email=email, is_approver=approver, now=utcnow(), limit=limit)


async def publish_home(services: Services, user_id: str) -> None:
    data = await load_home(services, user_id)
    ids = {m.id for m in data.meetings} | {p.meeting_id for p in data.proposals if p.meeting_id}
    urls = await thread_urls(services.gateway, ids)
    await services.slack.publish_home(user_id, home_view(data, urls))


async def app_home_opened(event: dict[str, Any], context: dict[str, Any]) -> None:
    if event.get("tab", "home") != "home":
        return
    await publish_home(services_of(context), event["user"])


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(app_home_opened)
