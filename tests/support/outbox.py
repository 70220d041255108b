"""Outbox test parts: a real SQLite file, the real job queue and worker, a recording notifier, and
what every connector's tests do the same way (serve its stand-in, send or approve a write and wait
for it to settle, a client meeting's items, done on both sides)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.sandbox._standin import Server
from services.audit_log import history
from services.db import Database
from services.integrations.base import Attachment, Connector
from services.jobs import JobQueue, QueuePolicy, Worker
from services.models import ActionItem, Meeting, OutboxEntry
from services.os_config import OSConfig, parse_os_config
from services.outbox import OutboxService, Proposed

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


# -- what every connector's tests share --------------------------------------------------------

S = TypeVar("S", bound=Server)

# a client meeting as the CRM connectors (HubSpot, Salesforce) receive it
ACME_MEETING: dict[str, Any] = {
    "title": "Acme discovery",
    "body": "Summary: scope agreed.\nDecisions: start in January.",
    "start": "2026-01-14T15:00:00Z",
    "end": "2026-01-14T15:45:00Z",
    "external_url": "https://fathom.video/calls/7",
    "emails": ["dana@acme.example"],
}


@asynccontextmanager
async def serving(cls: type[S], **kwargs: Any) -> AsyncIterator[S]:
    """A stand-in on a free port for the block's length."""
    server = await cls.start(**kwargs)
    try:
        yield server
    finally:
        await server.stop()


def stand_in_fixture(cls: type[S], **kwargs: Any) -> Any:
    """A pytest fixture serving `cls(**kwargs)`; named by the module attribute it is assigned to."""

    @pytest.fixture
    async def fixture() -> AsyncIterator[S]:
        async with serving(cls, **kwargs) as server:
            yield server

    return fixture


async def no_progress(text: str) -> None:
    """A connector's progress callback for a direct `apply` (nothing to show)."""


async def approved(service: OutboxService, proposed: Proposed) -> OutboxEntry:
    """Proposed and approved by an approver: the entry once the worker applied or failed it."""
    entry = await service.propose(proposed, APPROVER)
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        return await settled(service, entry.id)


async def sent(service: OutboxService, item_id: int, target: str) -> OutboxEntry:
    """An approver's "Send to <target>" on an item (the click is the approval), once settled."""
    async with worker(service):
        entry = await service.send_item(item_id, target, APPROVER)
        return await settled(service, entry.id)


async def applied(service: OutboxService, item_id: int, target: str) -> str:
    """Sent and applied: the record's id in the target."""
    done = await sent(service, item_id, target)
    assert done.status == "applied", done.error
    return done.external_id or ""


def add_client_items(session: AsyncSession, meeting_id: int, **agency: Any) -> None:
    """A client meeting's two items: the agency's ("Send the SOW") and the client's ("Dana: intro")."""
    session.add(
        ActionItem(meeting_id=meeting_id, dedupe_key="a", source="fathom", text="Send the SOW", **agency)
    )
    session.add(
        ActionItem(
            meeting_id=meeting_id, dedupe_key="b", source="fathom", text="Dana: intro", owner_external=True
        )
    )


async def done_both_ways(
    db: Database, service: OutboxService, target: str, complete_there: Callable[[str], None]
) -> str:
    """Two items sent; the first completed in the target, the second done here; one sync brings each
    side level (audited as `sync:<target>`) and a second changes nothing. The second's record id."""
    _, first = await meeting_with_item(db)
    _, second = await meeting_with_item(db, "Book the workshop room")
    there = await applied(service, first, target)
    closed = await applied(service, second, target)
    assert (await service.sync()).done_here == 0
    complete_there(there)
    async with db.session() as s:
        (await s.get_one(ActionItem, second)).status = "done"
    report = await service.sync()
    assert (report.done_here, report.closed_there) == (1, 1)
    async with db.session() as s:
        assert (await s.get_one(ActionItem, first)).status == "done"
    [entry] = await history(db, f"action_item:{first}")
    assert entry.actor == f"sync:{target}" and entry.after is not None and entry.after["status"] == "done"
    again = await service.sync()
    assert (again.done_here, again.closed_there) == (0, 0)
    return closed
