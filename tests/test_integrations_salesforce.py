"""Salesforce through the outbox: simple-salesforce against the local REST stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.salesforce_api import SalesforceStandIn, plain_session
from services.db import Database
from services.integrations.base import TargetError, Write
from services.integrations.salesforce import SalesforceConnector, marker
from services.outbox import Proposed
from tests.support.outbox import (
    ACME_MEETING,
    APPROVER,
    CONFIG,
    add_client_items,
    approved,
    no_progress,
    outbox,
    settled,
    stand_in_fixture,
    worker,
)

SESSION = "00Dtest!session"


salesforce = stand_in_fixture(SalesforceStandIn, session_id=SESSION)


def connector(stand_in: SalesforceStandIn, session_id: str = SESSION) -> SalesforceConnector:
    return SalesforceConnector(stand_in.base_url, session_id, session=plain_session(), rate_limit_wait=0.05)


def event(key: str = "salesforce:event:7", **payload: object) -> Proposed:
    body = {**ACME_MEETING, **payload}
    return Proposed("salesforce", "event", body, key, "Event: Acme discovery")


async def test_an_event_is_logged_with_who_and_what_from_the_attendees(
    db: Database, salesforce: SalesforceStandIn
) -> None:
    acme = salesforce.add("Account", {"Name": "Acme"})
    dana = salesforce.add("Contact", {"Email": "dana@acme.example", "AccountId": acme})
    salesforce.add("Contact", {"Email": "someone@else.example"})
    service, cards = outbox(db, {"salesforce": connector(salesforce)})
    entry = await approved(service, event())
    assert entry.status == "applied", entry.error
    [record] = salesforce.live("Event")
    assert entry.external_id == record["Id"] and entry.external_url == f"{salesforce.base_url}/{record['Id']}"
    assert record["WhoId"] == dana and record["WhatId"] == acme
    assert record["Subject"] == f"Acme discovery {marker('salesforce:event:7')}"
    assert record["StartDateTime"] == "2026-01-14T15:00:00.000+0000"
    assert record["EndDateTime"] == "2026-01-14T15:45:00.000+0000"
    assert record["ActivityDate"] == "2026-01-14"
    assert "start in January" in record["Description"] and "fathom.video/calls/7" in record["Description"]
    assert cards.cards[-1][1] == "applied"


async def test_a_task_carries_owner_due_date_and_the_deal(
    db: Database, salesforce: SalesforceStandIn
) -> None:
    deal = salesforce.add("Opportunity", {"Name": "Acme audit"})
    service, _ = outbox(db, {"salesforce": connector(salesforce)})
    task = Proposed(
        "salesforce",
        "task",
        {
            "subject": "Send the SOW",
            "body": "Send it",
            "due": "2026-01-20",
            "owner_id": "005OWNER",
            "deal_ids": [deal],
        },
        "salesforce:task:item:5",
        "Task: Send the SOW",
    )
    entry = await approved(service, task)
    assert entry.status == "applied"
    [t] = salesforce.live("Task")
    assert t["Subject"].startswith("Send the SOW [fos:") and t["ActivityDate"] == "2026-01-20"
    assert t["OwnerId"] == "005OWNER" and t["WhatId"] == deal and t["Status"] == "Not Started"
    assert "WhoId" not in t and t["Description"] == "Send it"


async def test_approved_twice_and_a_retry_after_a_lost_answer_make_one_event(
    db: Database, salesforce: SalesforceStandIn
) -> None:
    service, _ = outbox(db, {"salesforce": connector(salesforce)})
    entry = await service.propose(event(emails=[]), APPROVER)
    assert (await service.propose(event(emails=[]), APPROVER)).id == entry.id
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        await service.approve(entry.id, APPROVER)
        done = await settled(service, entry.id)
    # the job crashed after Salesforce created the record but before it was recorded: run it again
    again = await connector(salesforce).apply(
        Write(entry.id, "event", dict(entry.payload), entry.dedupe_key, retry=True), no_progress
    )
    assert again.external_id == done.external_id and len(salesforce.live("Event")) == 1


class DiesAfterTheCreate:
    """The worker dies after Salesforce created the record, before the outbox recorded it."""

    def __init__(self, inner: SalesforceConnector) -> None:
        self.inner, self.target, self.died = inner, inner.target, False

    async def apply(self, write: Write, progress: Any) -> Any:
        applied = await self.inner.apply(write, progress)
        if not self.died:
            self.died = True
            raise ConnectionResetError("the worker died before recording it")
        return applied

    async def undo(self, operation: str, external_id: str) -> None:
        await self.inner.undo(operation, external_id)

    async def check(self) -> str:
        return await self.inner.check()


async def test_a_crash_after_the_create_does_not_duplicate_the_record_on_retry(
    db: Database, salesforce: SalesforceStandIn
) -> None:
    dying = DiesAfterTheCreate(connector(salesforce))
    service, _ = outbox(db, {"salesforce": dying})  # type: ignore[dict-item]
    entry = await approved(service, event(emails=[]))
    assert dying.died and entry.status == "applied"
    [record] = salesforce.live("Event")
    assert entry.external_id == record["Id"]
    queries = [r for r in salesforce.requests if r[1].endswith("/query/")]
    assert len(queries) == 1  # the first run wrote without a lookup; only the retry looked it up


async def test_a_4xx_shows_salesforces_message_on_the_card(
    db: Database, salesforce: SalesforceStandIn
) -> None:
    service, cards = outbox(db, {"salesforce": connector(salesforce)})
    entry = await approved(service, event(contact_ids=["003NOPE"]))  # a contact that does not exist
    assert entry.status == "failed"
    assert entry.error == "400: INVALID_CROSS_REFERENCE_KEY: invalid cross reference id"
    assert cards.cards[-1] == (entry.id, "failed", None, entry.error)
    assert salesforce.live("Event") == []


async def test_request_limit_exceeded_is_retried(db: Database, salesforce: SalesforceStandIn) -> None:
    service, _ = outbox(db, {"salesforce": connector(salesforce)})
    salesforce.force(429, {}, count=2)
    entry = await approved(service, event(emails=[]))
    assert entry.status == "applied" and salesforce.throttled == 2
    assert len(salesforce.live("Event")) == 1


async def test_undo_deletes_the_record(db: Database, salesforce: SalesforceStandIn) -> None:
    service, _ = outbox(db, {"salesforce": connector(salesforce)})
    entry = await approved(service, event(emails=[]))
    assert (await service.undo(entry.id, APPROVER)).status == "undone"
    assert salesforce.live("Event") == [] and entry.external_id in salesforce.deleted


async def test_check_names_a_bad_session(salesforce: SalesforceStandIn) -> None:
    assert "session accepted" in await connector(salesforce).check()
    with pytest.raises(TargetError, match="INVALID_SESSION_ID: Session expired or invalid"):
        await connector(salesforce, session_id="wrong").check()


async def test_after_a_client_meeting_the_event_and_agency_tasks_wait_for_approval(
    db: Database, salesforce: SalesforceStandIn
) -> None:
    from services.models import Meeting

    config = CONFIG.replace("  hubspot: {}\n", "  salesforce: {owners: {U01MAYA: 005MAYA}}\n")
    payload = {
        "title": "Acme discovery",
        "recording_id": 77,
        "share_url": "https://fathom.video/share/77",
        "calendar_invitees": [{"email": "dana@acme.example", "is_external": True}],
        "default_summary": {"markdown_formatted": "Scope agreed."},
    }
    async with db.session() as s:
        meeting = Meeting(recording_id=77, title="Acme discovery", payload=payload, primary_type="discovery")
        s.add(meeting)
        await s.flush()
        add_client_items(s, meeting.id, owner_slack_id="U01MAYA")
        await s.flush()
        meeting_id = meeting.id
    service, _ = outbox(db, {"salesforce": connector(salesforce)}, config)
    entries = await service.propose_crm(
        meeting_id, "analysis", decisions=["Start in January"], facts=["Budget: 40k"]
    )
    assert [(e.target, e.operation, e.status) for e in entries] == [
        ("salesforce", "event", "proposed"),
        ("salesforce", "task", "proposed"),
    ]
    event_payload, task_payload = entries[0].payload, entries[1].payload
    assert "Start in January" in event_payload["body"] and "Budget: 40k" in event_payload["body"]
    assert event_payload["emails"] == ["dana@acme.example"] and task_payload["owner_id"] == "005MAYA"
    assert entries[0].dedupe_key == f"salesforce:event:{meeting_id}" and salesforce.calls == 0
