"""Meeting cards in Slack: parent message first (from what Fathom sent), then one reply per action
item and a details reply, all updated in place on later runs (refs recorded by the gateway)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from cachetools import LRUCache

from blocks.action_items import action_item_card
from blocks.common import Message
from blocks.details import details_card
from blocks.meeting_card import meeting_card
from services.access import AccessPolicy, Scope
from services.clock import utcnow
from services.meetings import MeetingStore
from services.models import ActionItem, Meeting
from services.os_config import OSConfig
from services.reconcile import delivery_source
from services.slack.gateway import MessageRef, SlackGateway
from services.views import ItemView, MeetingView, item_views

log = logging.getLogger(__name__)


MEETING_LINKS_CACHED = 10_000


class NoChannel(Exception):
    """No routing rule matched and SLACK_DEFAULT_CHANNEL is not set."""


class SlackPublisher:
    def __init__(
        self,
        store: MeetingStore,
        gateway: SlackGateway,
        os_config: Callable[[], OSConfig],
        default_channel: str | None,
        related: Callable[[int, Scope], Awaitable[list[Meeting]]] | None = None,
        access: AccessPolicy | None = None,
        outside: Callable[[ItemView], Awaitable[list[Any]]] | None = None,
        backfill_days: bool = True,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.os_config = os_config
        self.default_channel = default_channel
        self.related = related  # (meeting id, scope) -> related meetings (SearchIndex.related)
        self.access = access  # without it no related links: nobody could tell who reads the card
        self.outside = outside  # an item's task link or "Send to …" (services/slack/outbox.item_blocks)
        self._locks: dict[int, asyncio.Lock] = {}
        # meeting id -> its Fathom link, refreshed by each publish; an item card redrawn after a click
        # needs nothing else from the meeting. 10k meetings, least recently used dropped first.
        self._links: LRUCache[int, str | None] = LRUCache(MEETING_LINKS_CACHED)
        # BACKFILL_DAY_THREADS: a backfilled meeting's card is a reply under one card per day and channel
        self.backfill_days = backfill_days
        self._day_locks: dict[str, asyncio.Lock] = {}  # one first post of a day card per process

    def channel_for(self, meeting: MeetingView) -> str:
        types: list[str] = [t.type for t in meeting.analysis.types] if meeting.analysis else []
        domains = meeting.fathom.external_domains if meeting.fathom else []
        channel = self.os_config().route(types, domains) or self.default_channel
        if not channel:
            raise NoChannel("no routing rule matched and SLACK_DEFAULT_CHANNEL is not set")
        return channel

    async def publish_meeting(self, meeting_id: int, *, with_items: bool = True) -> None:
        """Parent card, one reply per item, the details reply; each posted once, then updated."""
        lock = self._locks.setdefault(meeting_id, asyncio.Lock())
        try:
            async with lock:
                await self._publish(meeting_id, with_items)
        finally:
            if not lock.locked():
                self._locks.pop(meeting_id, None)

    async def _publish(self, meeting_id: int, with_items: bool) -> None:
        # one load of the meeting, its payload and analysis validated once into the view
        row = await self.store.get(meeting_id)
        rows = await self.store.items(meeting_id)
        meeting = MeetingView.of(row)
        self._links[meeting_id] = meeting.url
        mentions = await self.gateway.mentions_for([*(i.owner_email for i in rows), *meeting.internal_emails])
        if any(_unlinked(i, mentions) for i in rows):
            rows = await self.store.link_owners(meeting_id, mentions)
        items = item_views(rows)
        known = await self.gateway.refs(
            [f"meeting:{meeting_id}", f"meeting_details:{meeting_id}"]
            + [f"action_item:{i.id}" for i in items]
        )
        existing = known.get(f"meeting:{meeting_id}")
        channel = existing.channel if existing else self.channel_for(meeting)
        day = existing.thread_ts if existing else await self._backfill_day(row, channel)
        related = await self._related(meeting_id, channel) if meeting.status == "analysed" else []
        meeting = meeting.with_(items=items, mentions=mentions, related=related)
        parent = await self.gateway.post_or_update(
            f"meeting:{meeting_id}", channel, meeting_card(meeting), thread_ts=day, known=known
        )
        for item in items if with_items else []:
            await self._post_item(item, parent, meeting.url, meeting.mentions, known)
        if meeting.analysis:
            await self.gateway.post_or_update(
                f"meeting_details:{meeting_id}",
                parent.channel,
                details_card(meeting_id, meeting.analysis),
                thread_ts=parent.thread_ts or parent.ts,
                known=known,
            )

    async def _backfill_day(self, row: Meeting, channel: str) -> str | None:
        """A backfilled meeting goes into its day's thread (one summary card per day and channel, posted
        on first use), so months of old meetings do not flood the channel; others: None, top level."""
        if not self.backfill_days or row.started_at is None:
            return None
        if await delivery_source(self.store.db, row.delivery_id) != "backfill":
            return None
        day = row.started_at.date()
        text = f"Backfilled meetings of {day:%A %-d %B %Y}: each meeting is a reply in this thread."
        card = Message(text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
        entity = f"backfill_day:{channel}:{day.isoformat()}"
        async with self._day_locks.setdefault(entity, asyncio.Lock()):  # that day's meetings, concurrently
            ref = await self.gateway.post_or_update(entity, channel, card)
        return ref.ts

    async def _related(self, meeting_id: int, channel: str) -> list[tuple[str, str | None]]:
        """(title, link to its thread) of meetings with the same client or people, only those every
        reader of `channel` may see (services.access.AccessPolicy.channel_audience)."""
        if self.related is None or self.access is None:
            return []
        found = await self.related(meeting_id, await self.access.channel_audience(channel))
        refs = await self.gateway.refs([f"meeting:{m.id}" for m in found])
        out: list[tuple[str, str | None]] = []
        for m in found:
            ref = refs.get(f"meeting:{m.id}")
            out.append((m.title, await self.gateway.permalink(ref) if ref else None))
        return out

    async def publish_item(self, item: ItemView) -> MessageRef | None:
        """Post or refresh one item's card in its meeting thread (after a click or an edit)."""
        parent = await self.gateway.ref(f"meeting:{item.meeting_id}")
        if parent is None:
            return None
        if item.meeting_id in self._links:
            link = self._links[item.meeting_id]
        else:
            found = await self.store.get(item.meeting_id)
            link = self._links[item.meeting_id] = found.share_url or found.url
        return await self._post_item(item, parent, link, None, None)

    async def _post_item(
        self,
        item: ItemView,
        parent: MessageRef,
        link: str | None,
        mentions: Mapping[str, str] | None,
        known: dict[str, MessageRef] | None,
    ) -> MessageRef:
        owner = None
        if item.owner_slack_id:
            owner = item.owner_slack_id
        elif mentions is not None and item.owner_email:
            owner = mentions.get(item.owner_email.lower())
        elif item.owner_email and not item.owner_external:
            user = await self.gateway.user_for_email(item.owner_email)
            owner = user.id if user else None
        extra = await self.outside(item) if self.outside is not None else []
        card = action_item_card(item, owner_mention=owner, meeting_url=link, now=utcnow(), outside=extra)
        return await self.gateway.post_or_update(
            f"action_item:{item.id}",
            parent.channel,
            card,
            thread_ts=parent.thread_ts or parent.ts,
            known=known,
        )


def _unlinked(item: ActionItem, mentions: dict[str, str]) -> bool:
    return bool(
        item.owner_slack_id is None
        and not item.owner_external
        and mentions.get((item.owner_email or "").lower())
    )
