"""The outbox in Slack: one approval card per meeting in its thread, updated in place after every
step (proposed, approved, Gamma's progress, applied with its link, failed with the target's
message), files a connector produced (a Gamma export) attached in the thread once, and the item
card redrawn when its task changes (a link appears, or the task was completed there)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from slack_sdk.models.blocks import Block
from sqlalchemy.exc import IntegrityError

from blocks.outbox import item_outside, outbox_card
from services.db import Database
from services.integrations.base import Attachment
from services.meetings import MeetingStore
from services.models import ActionItem, OutboxEntry, SlackMessageRef
from services.outbox import OutboxLine, entries_for_item, entries_for_meeting
from services.slack.gateway import MessageRef, SlackGateway
from services.slack.meeting_card import SlackPublisher
from services.views import ItemView

log = logging.getLogger(__name__)
TRACKERS = ("linear", "asana", "jira")


class OutboxPublisher:
    def __init__(
        self,
        db: Database,
        store: MeetingStore,
        gateway: SlackGateway,
        item_cards: SlackPublisher,
    ) -> None:
        self.db = db
        self.store = store
        self.gateway = gateway
        self.item_cards = item_cards
        self._locks: dict[int, asyncio.Lock] = {}

    async def changed(self, entry: OutboxEntry) -> None:
        if entry.meeting_id is not None:
            await self.publish(entry.meeting_id)
        elif channel := (entry.payload or {}).get("channel"):  # a report deck: its own card there
            line = OutboxLine.of(entry)
            await self.gateway.post_or_update(
                f"outbox_entry:{entry.id}", str(channel), outbox_card(None, entry.summary, [line])
            )
        if entry.item_id is not None:
            await self.item_changed(entry.item_id)

    async def publish(self, meeting_id: int) -> MessageRef | None:
        lock = self._locks.setdefault(meeting_id, asyncio.Lock())
        async with lock:  # two steps finishing together must not both post a first card
            parent = await self.gateway.ref(f"meeting:{meeting_id}")
            if parent is None:
                log.warning("meeting %s has no card yet; outbox card not posted", meeting_id)
                return None
            lines = [OutboxLine.of(e) for e in await entries_for_meeting(self.db, meeting_id)]
            if not lines:
                return None
            meeting = await self.store.get(meeting_id)
            return await self.gateway.post_or_update(
                f"outbox:{meeting_id}",
                parent.channel,
                outbox_card(meeting_id, meeting.title, lines),
                thread_ts=parent.ts,
            )

    async def attach(self, entry: OutboxEntry, attachment: Attachment) -> None:
        """In the meeting's thread, once per entry (a retried job does not upload it again)."""
        entity = f"outbox_file:{entry.id}"
        if await self.gateway.ref(entity) is not None:
            return
        # in the meeting's thread, or under a report deck's own card
        anchor = f"meeting:{entry.meeting_id}" if entry.meeting_id is not None else f"outbox_entry:{entry.id}"
        parent = await self.gateway.ref(anchor)
        if parent is None:
            return
        await self.gateway.upload_file(
            parent.channel,
            attachment.filename,
            attachment.content,
            title=attachment.title,
            thread_ts=parent.ts,
        )
        try:
            async with self.db.session() as s:
                s.add(SlackMessageRef(entity=entity, channel=parent.channel, ts="file", thread_ts=parent.ts))
        except IntegrityError:
            pass

    async def item_changed(self, item_id: int) -> None:
        async with self.db.read_session() as s:
            row = await s.get(ActionItem, item_id)
        if row is not None:
            await self.item_cards.publish_item(ItemView.of(row))


async def item_blocks(db: Database, targets: Sequence[str], item: ItemView) -> list[Block]:
    """What an item card adds: its task's link, or "Send to …" for each configured tracker.
    The item card publisher calls it while drawing (bot/container.py binds db and targets)."""
    trackers = [t for t in targets if t in TRACKERS]
    if not trackers:
        return []
    lines = [OutboxLine.of(e) for e in await entries_for_item(db, item.id) if e.target in TRACKERS]
    return item_outside(item.id, [] if item.done else trackers, lines)
