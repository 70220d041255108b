"""Linear through the outbox: the GraphQL client (httpx) against the local stand-in; two-way status."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sandbox.linear_api import LinearStandIn
from services.audit_log import history
from services.db import Database
from services.integrations.base import Write
from services.integrations.linear import LinearConnector, issue_id
from services.models import ActionItem
from services.os_config import ConnectorSettings
from services.outbox import OutboxService
from tests.support.outbox import (
    APPROVER,
    STRANGER,
    meeting_with_item,
    no_progress,
    outbox,
    sent,
    settled,
    stand_in_fixture,
    worker,
)

KEY = "lin_api_test"


linear = stand_in_fixture(LinearStandIn, api_key=KEY)


def connector(stand_in: LinearStandIn, key: str = KEY, team: str = "team-eng") -> LinearConnector:
    return LinearConnector(key, stand_in.url, settings=ConnectorSettings(team_id=team))


async def send(service: OutboxService, item_id: int, actor: str = APPROVER) -> int:
    entry = await service.send_item(item_id, "linear", actor)
    return entry.id


async def test_send_to_linear_by_an_approver_creates_the_issue_with_owner_and_link(
    db: Database, linear: LinearStandIn
) -> None:
    _, item_id = await meeting_with_item(db)
    service, cards = outbox(db, {"linear": connector(linear)})
    async with worker(service):
        entry_id = await send(service, item_id)  # the approver's click is the approval
        done = await settled(service, entry_id)
    assert done.status == "applied" and done.item_id == item_id
    [issue] = linear.issues.values()
    assert done.external_id == issue["id"] == issue_id(f"linear:item:{item_id}")
    assert done.external_url == "https://linear.app/agency/issue/eng-1"
    assert issue["title"] == "Send the SOW to Acme" and issue["assigneeId"] == "user-maya"
    assert "Acme kickoff" in issue["description"]
    assert [e.external_url for e in await service.for_item(item_id)] == [done.external_url]


async def test_send_by_someone_else_waits_for_an_approver(db: Database, linear: LinearStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = outbox(db, {"linear": connector(linear)})
    entry_id = await send(service, item_id, STRANGER)
    assert (await service.get(entry_id)).status == "proposed" and linear.calls == 0


async def test_sent_twice_and_a_retry_after_a_lost_answer_make_one_issue(
    db: Database, linear: LinearStandIn
) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = outbox(db, {"linear": connector(linear)})
    async with worker(service):
        first = await send(service, item_id)
        assert await send(service, item_id) == first
        done = await settled(service, first)
    # the same write again (a job that crashed after Linear answered): the issue it made is found
    again = await connector(linear).apply(
        Write(first, "issue", {"title": "x"}, f"linear:item:{item_id}"), no_progress
    )
    assert again.external_id == done.external_id and len(linear.issues) == 1


async def test_a_4xx_shows_linears_user_message_on_the_card(db: Database, linear: LinearStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, cards = outbox(db, {"linear": connector(linear, team="team-nope")})
    done = await sent(service, item_id, "linear")
    assert done.status == "failed" and done.error == "400: Team not found or not accessible."
    assert cards.cards[-1] == (done.id, "failed", None, done.error)


async def test_ratelimited_is_honoured_and_retried(db: Database, linear: LinearStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = outbox(db, {"linear": connector(linear)})
    linear.force(429, {}, count=2, retry_after=0.05)  # answered as Linear does: 400 + RATELIMITED
    done = await sent(service, item_id, "linear")
    assert done.status == "applied" and linear.throttled == 2 and len(linear.issues) == 1


async def test_undo_archives_the_issue(db: Database, linear: LinearStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = outbox(db, {"linear": connector(linear)})
    done = await sent(service, item_id, "linear")
    assert (await service.undo(done.id, APPROVER)).status == "undone"
    assert linear.issues[done.external_id or ""]["archived"] is True


async def test_completed_in_linear_marks_the_item_done_here(db: Database, linear: LinearStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, cards = outbox(db, {"linear": connector(linear)})
    done = await sent(service, item_id, "linear")
    assert (await service.sync()).done_here == 0  # nothing changed yet
    linear.complete(done.external_id or "")
    report = await service.sync()
    assert report.done_here == 1 and report.closed_there == 0
    async with db.session() as s:
        item = await s.scalar(select(ActionItem).where(ActionItem.id == item_id))
    assert item is not None and item.status == "done" and item.version == 2
    [entry] = await history(db, f"action_item:{item_id}")
    assert entry.actor == "sync:linear" and entry.after["status"] == "done"
    assert cards.items == [item_id]
    assert (await service.sync()).done_here == 0  # once


async def test_done_here_closes_the_issue_in_linear(db: Database, linear: LinearStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = outbox(db, {"linear": connector(linear)})
    done = await sent(service, item_id, "linear")
    async with db.session() as s:
        item = await s.get_one(ActionItem, item_id)
        item.status = "done"
    report = await service.sync()
    assert report.closed_there == 1
    assert linear.issues[done.external_id or ""]["state"]["type"] == "completed"
    assert (await service.sync()).closed_there == 0


async def test_check_names_the_key_owner_and_refuses_a_bad_key(linear: LinearStandIn) -> None:
    from services.integrations.base import TargetError

    assert "Maya Chen" in await connector(linear).check()
    with pytest.raises(TargetError, match="not authenticated"):
        await connector(linear, key="lin_api_wrong").check()
