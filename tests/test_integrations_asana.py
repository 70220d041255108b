"""Asana through the outbox: the official asana client against the local stand-in; two-way sync."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.sandbox.asana_api import AsanaStandIn
from services.audit_log import history
from services.db import Database
from services.integrations.asana import AsanaConnector
from services.integrations.base import TargetError
from services.models import ActionItem
from services.os_config import ConnectorSettings
from services.outbox import OutboxService
from tests.support.outbox import APPROVER, STRANGER, meeting_with_item, outbox, settled, worker

TOKEN = "2/asana-test"
PROJECT = "1200000000000001"
MAYA, SAM = "1100000000000001", "1100000000000002"
CONFIG = f"""
team:
  - {{name: Maya Chen, email: maya@agency.example, slack_user_id: U01MAYA}}
approvers: [maya@agency.example]
integrations:
  asana: {{project_id: "{PROJECT}", owners: {{U01MAYA: "{MAYA}", sam@agency.example: "{SAM}"}}}}
"""


@pytest.fixture
async def asana_api() -> AsyncIterator[AsanaStandIn]:
    stand_in = await AsanaStandIn.start(token=TOKEN, projects=(PROJECT,))
    yield stand_in
    await stand_in.stop()


def connector(stand_in: AsanaStandIn, token: str = TOKEN, project: str = PROJECT) -> AsanaConnector:
    return AsanaConnector(token, stand_in.url, settings=ConnectorSettings(project_id=project))


def service_for(db: Database, stand_in: AsanaStandIn, **kwargs: str) -> tuple[OutboxService, object]:
    return outbox(db, {"asana": connector(stand_in, **kwargs)}, CONFIG)


async def sent_and_applied(service: OutboxService, item_id: int) -> str:
    async with worker(service):
        entry = await service.send_item(item_id, "asana", APPROVER)
        done = await settled(service, entry.id)
    assert done.status == "applied", done.error
    return done.external_id or ""


async def test_send_to_asana_creates_the_task_with_owner_due_date_and_link(
    db: Database, asana_api: AsanaStandIn
) -> None:
    _, item_id = await meeting_with_item(db)
    async with db.session() as s:
        (await s.get_one(ActionItem, item_id)).due_date = date(2026, 1, 20)
    service, _ = service_for(db, asana_api)
    gid = await sent_and_applied(service, item_id)
    task = asana_api.tasks[gid]
    assert task["name"] == "Send the SOW to Acme" and "Acme kickoff" in task["notes"]
    assert task["assignee"]["gid"] == MAYA and task["due_on"] == "2026-01-20"
    [entry] = await service.for_item(item_id)
    assert entry.external_url == f"https://app.asana.com/0/{PROJECT}/{gid}"


async def test_sent_twice_makes_one_task_and_a_stranger_only_proposes(
    db: Database, asana_api: AsanaStandIn
) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    proposed = await service.send_item(item_id, "asana", STRANGER)
    assert proposed.status == "proposed" and asana_api.calls == 0
    async with worker(service):
        first = await service.send_item(item_id, "asana", APPROVER)
        again = await service.send_item(item_id, "asana", APPROVER)
        assert first.id == again.id == proposed.id
        await settled(service, first.id)
    assert len(asana_api.tasks) == 1


async def test_a_4xx_shows_asanas_message_on_the_card(db: Database, asana_api: AsanaStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, cards = service_for(db, asana_api, project="999")
    async with worker(service):
        entry = await service.send_item(item_id, "asana", APPROVER)
        done = await settled(service, entry.id)
    assert done.status == "failed" and done.error == "400: projects: Not a recognized ID: 999"
    assert cards.cards[-1] == (entry.id, "failed", None, done.error)  # type: ignore[attr-defined]


async def test_a_429_is_honoured_and_retried(db: Database, asana_api: AsanaStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    asana_api.force(429, {}, count=2, retry_after=0.05)
    await sent_and_applied(service, item_id)
    assert asana_api.throttled == 2 and len(asana_api.tasks) == 1


async def test_undo_deletes_the_task(db: Database, asana_api: AsanaStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    gid = await sent_and_applied(service, item_id)
    [entry] = await service.for_item(item_id)
    assert (await service.undo(entry.id, APPROVER)).status == "undone"
    assert gid in asana_api.deleted and asana_api.tasks == {}


async def test_completed_in_asana_marks_the_item_done_here_and_done_here_closes_it(
    db: Database, asana_api: AsanaStandIn
) -> None:
    _, first = await meeting_with_item(db)
    _, second = await meeting_with_item(db, "Book the workshop room")
    service, cards = service_for(db, asana_api)
    gid1 = await sent_and_applied(service, first)
    gid2 = await sent_and_applied(service, second)
    assert (await service.sync()).done_here == 0
    asana_api.complete(gid1)
    async with db.session() as s:
        (await s.get_one(ActionItem, second)).status = "done"
    report = await service.sync()
    assert (report.done_here, report.closed_there) == (1, 1)
    async with db.session() as s:
        assert (await s.get_one(ActionItem, first)).status == "done"
    assert asana_api.tasks[gid2]["completed"] is True
    [entry] = await history(db, f"action_item:{first}")
    assert entry.actor == "sync:asana" and entry.after is not None and entry.after["status"] == "done"
    again = await service.sync()
    assert (again.done_here, again.closed_there) == (0, 0)


async def test_owner_and_due_date_edited_in_asana_flow_here(db: Database, asana_api: AsanaStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, cards = service_for(db, asana_api)
    gid = await sent_and_applied(service, item_id)
    asana_api.edit(gid, assignee=SAM, due_on="2026-02-03")
    report = await service.sync()
    assert report.edited == 1
    async with db.session() as s:
        item = await s.get_one(ActionItem, item_id)
    assert item.owner_email == "sam@agency.example" and item.owner_slack_id is None
    assert item.due_date == date(2026, 2, 3)
    [entry] = await history(db, f"action_item:{item_id}")
    assert entry.actor == "sync:asana" and entry.action == "action_item.edited"
    assert entry.before == {"owner_slack_id": "U01MAYA", "owner_email": None, "due_date": None}
    assert cards.items == [item_id]  # type: ignore[attr-defined]
    assert (await service.sync()).edited == 0  # once


async def test_owner_and_due_date_edited_here_flow_to_asana(db: Database, asana_api: AsanaStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    gid = await sent_and_applied(service, item_id)
    async with db.session() as s:
        item = await s.get_one(ActionItem, item_id)
        item.owner_slack_id, item.owner_email, item.due_date = None, "sam@agency.example", date(2026, 3, 1)
    assert (await service.sync()).edited == 1
    assert asana_api.tasks[gid]["assignee"]["gid"] == SAM and asana_api.tasks[gid]["due_on"] == "2026-03-01"
    [entry] = await history(db, f"outbox:{(await service.for_item(item_id))[0].id}", limit=1)
    assert entry.action == "outbox.edited_there" and entry.after == {
        "assignee": SAM,
        "due_date": "2026-03-01",
    }
    assert (await service.sync()).edited == 0


@pytest.mark.parametrize("asana_later", [True, False])
async def test_edited_on_both_sides_the_later_writer_wins(
    db: Database, asana_api: AsanaStandIn, asana_later: bool
) -> None:
    from datetime import timedelta

    from services.clock import utcnow
    from services.models import AuditLog

    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    gid = await sent_and_applied(service, item_id)
    here_at = utcnow()
    async with db.session() as s:  # edited here, recorded in the audit log at here_at
        item = await s.get_one(ActionItem, item_id)
        item.due_date = date(2026, 4, 1)
        s.add(
            AuditLog(at=here_at, actor=APPROVER, action="action_item.edited", entity=f"action_item:{item_id}")
        )
    there_at = here_at + timedelta(minutes=1 if asana_later else -1)
    asana_api.edit(gid, assignee=MAYA, due_on="2026-05-01", at=there_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    assert (await service.sync()).edited == 1
    winner = "2026-05-01" if asana_later else "2026-04-01"
    async with db.session() as s:
        assert (await s.get_one(ActionItem, item_id)).due_date == date.fromisoformat(winner)
    assert asana_api.tasks[gid]["due_on"] == winner


async def test_check_names_the_token_owner_and_refuses_a_bad_token(asana_api: AsanaStandIn) -> None:
    assert "Maya Chen" in await connector(asana_api).check()
    with pytest.raises(TargetError, match="Not Authorized"):
        await connector(asana_api, token="2/wrong").check()
