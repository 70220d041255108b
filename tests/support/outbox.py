"""Outbox test parts: a real SQLite file, the real job queue and worker, a recording notifier."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from services.db import Database
from services.integrations.base import Attachment, Connector
from services.jobs import JobQueue, QueuePolicy, Worker
from services.models import ActionItem, Meeting, OutboxEntry
from services.os_config import OSConfig, parse_os_config
from services.outbox import OutboxService

APPROVER = "U01MAYA"
STRANGER = "U09STRANGER"
CONFIG = """
team:
  - {name: Maya Chen, email: maya@agency.example, slack_user_id: U01MAYA}
approvers: [maya@agency.example]
integrations:
  gamma: {export_as: pdf}
  hubspot: {}
  linear: {team_id: team-eng, owners: {U01MAYA: user-maya}}
"""


class Notifier:
    """The Slack side as the outbox sees it: every redraw, attachment and item change, in order."""

    def __init__(self) -> None:
        self.cards: list[tuple[int, str, str | None, str | None]] = []  # (id, status, progress, error)
        self.files: list[tuple[int, Attachment]] = []
        self.items: list[int] = []

    async def changed(self, entry: OutboxEntry) -> None:
        self.cards.append((entry.id, entry.status, entry.progress, entry.error))

    async def attach(self, entry: OutboxEntry, attachment: Attachment) -> None:
        self.files.append((entry.id, attachment))

    async def item_changed(self, item_id: int) -> None:
        self.items.append(item_id)


def config(text: str = CONFIG) -> Callable[[], OSConfig]:
    parsed = parse_os_config(text)
    return lambda: parsed


def outbox(
    db: Database, connectors: dict[str, Connector], text: str = CONFIG
) -> tuple[OutboxService, Notifier]:
    notifier = Notifier()
    queue = JobQueue(db, QueuePolicy(lease_seconds=5, max_attempts=4, backoff_base=0.05, backoff_max=0.2))
    return OutboxService(db, queue, config(text), connectors, notifier=notifier), notifier


@asynccontextmanager
async def worker(service: OutboxService) -> AsyncIterator[Worker]:
    w = Worker(service.queue, service.handlers(), concurrency=4, poll_interval=0.05)
    w.start()
    try:
        yield w
    finally:
        await w.stop(grace=5)


async def settled(service: OutboxService, entry_id: int, timeout: float = 20.0) -> OutboxEntry:
    """Wait until the entry leaves `approved` (applied or failed): the event the test is about."""

    async def wait() -> OutboxEntry:
        while True:
            entry = await service.get(entry_id)
            if entry.status != "approved":
                return entry
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(wait(), timeout)


async def meeting_with_item(db: Database, text: str = "Send the SOW to Acme") -> tuple[int, int]:
    async with db.session() as s:
        meeting = Meeting(recording_id=abs(hash(text)) % 10_000_000, title="Acme kickoff", payload={})
        s.add(meeting)
        await s.flush()
        item = ActionItem(
            meeting_id=meeting.id, dedupe_key=text[:60], source="fathom", text=text, owner_slack_id="U01MAYA"
        )
        s.add(item)
        await s.flush()
        return meeting.id, item.id
