"""Home tab publishing: on app_home_opened, and (debounced) after changes that affect a user.

A burst of clicks (Done on five items) re-publishes each affected user's tab once, `delay` seconds
after the last change, instead of once per click.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from blocks.home import Section, home_view, more_modal
from services.clock import utcnow
from services.home import HomeService
from services.os_config import OSConfig
from services.people import People
from services.slack.gateway import SlackGateway
from services.views import ChartImage, HomeData

log = logging.getLogger(__name__)


class HomePublisher:
    def __init__(
        self,
        home: HomeService,
        people: People,
        gateway: SlackGateway,
        os_config: Callable[[], OSConfig],
        *,
        delay: float = 2.0,
        charts: Callable[[str], Awaitable[list[ChartImage]]] | None = None,
    ) -> None:
        self.home = home
        self.people = people
        self.gateway = gateway
        self.os_config = os_config
        self.delay = delay
        self.charts = charts  # the dashboard's images (services/slack/report.py), cached by data hash
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def load(self, user_id: str, *, limit: int | None = None) -> HomeData:
        """Everything the tab (or an "N more" modal, with a bigger `limit`) shows this user."""
        email = await self.people.email_for(user_id)
        config = self.os_config()
        approver = config.is_approver(user_id) or bool(email and config.is_approver(email))
        admin = config.is_admin(user_id) or bool(email and config.is_admin(email))
        return await self.home.load(
            user_id, email=email, is_approver=approver, now=utcnow(), limit=limit, is_admin=admin
        )

    async def publish(self, user_id: str) -> None:
        data = await self.load(user_id)
        if self.charts is not None:
            try:
                data.charts = await self.charts(user_id)
            except Exception as exc:  # a tab without charts beats no tab
                log.warning("home charts for %s failed: %s", user_id, type(exc).__name__)
        ids = {m.id for m in data.meetings} | {p.meeting_id for p in data.proposals if p.meeting_id}
        urls = await self.gateway.thread_urls(ids)
        await self.gateway.publish_home(user_id, home_view(data, urls))

    async def open_more(self, trigger_id: str, user_id: str, section: Section, *, limit: int) -> None:
        """The "N more" modal of one Home section, with links to the meetings' threads."""
        data = await self.load(user_id, limit=limit)
        urls: dict[int, str] = {}
        if section == "meetings":
            urls = await self.gateway.thread_urls({m.id for m in data.meetings[:25]})
        await self.gateway.open_view(trigger_id, more_modal(section, data, urls))

    def refresh_soon(self, user_ids: Iterable[str | None]) -> None:
        """Re-publish these users' tabs once the changes settle (bots and unknown users skipped)."""
        loop = asyncio.get_running_loop()
        for user_id in {u for u in user_ids if u and u.startswith(("U", "W"))}:
            if handle := self._pending.pop(user_id, None):
                handle.cancel()
            self._pending[user_id] = loop.call_later(self.delay, self._fire, user_id)

    def _fire(self, user_id: str) -> None:
        self._pending.pop(user_id, None)
        task = asyncio.create_task(self._publish_quietly(user_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_quietly(self, user_id: str) -> None:
        try:
            await self.publish(user_id)
        except Exception as exc:  # a stale Home tab is not worth an error anywhere
            log.warning("home refresh for %s failed: %s", user_id, type(exc).__name__)

    async def drain(self) -> None:
        """Publish what is pending now (shutdown), then wait for running publishes."""
        for user_id, handle in list(self._pending.items()):
            handle.cancel()
            self._fire(user_id)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
