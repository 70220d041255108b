"""HubSpot through the outbox: the official hubspot-api-client against the local CRM v3 stand-in."""

from __future__ import annotations

import pytest

from bot.sandbox.hubspot_api import HubSpotStandIn
from services.db import Database
from services.integrations.base import TargetError
from services.integrations.hubspot import HubSpotConnector, dedupe_ref
from services.outbox import Proposed
from tests.support.outbox import (
    ACME_MEETING,
    APPROVER,
    add_client_items,
    approved,
    no_progress,
    outbox,
    settled,
    stand_in_fixture,
    worker,
)

TOKEN = "pat-na1-test"


hubspot = stand_in_fixture(HubSpotStandIn, token=TOKEN)


def connector(stand_in: HubSpotStandIn, token: str = TOKEN) -> HubSpotConnector:
    return HubSpotConnector(token, stand_in.base_url, portal_id="4242")


def meeting(key: str = "hubspot:meeting:7", **payload: object) -> Proposed:
    body = {**ACME_MEETING, "domains": ["acme.example"], **payload}
    return Proposed("hubspot", "meeting", body, key, "Meeting: Acme discovery")


async def test_a_meeting_is_logged_and_associated_by_email_and_domain(
    db: Database, hubspot: HubSpotStandIn
) -> None:
    dana = hubspot.add("contacts", {"email": "dana@acme.example"})
    acme = hubspot.add("companies", {"domain": "acme.example", "name": "Acme"})
    hubspot.add("contacts", {"email": "someone@else.example"})
    service, cards = outbox(db, {"hubspot": connector(hubspot)})
    entry = await approved(service, meeting())
    assert entry.status == "applied", entry.error
    [record] = hubspot.live("meetings")
    assert entry.external_id == record["id"]
    props = record["properties"]
    assert props["hs_meeting_title"] == "Acme discovery" and "start in January" in props["hs_meeting_body"]
    assert props["hs_meeting_external_url"] == "https://fathom.video/calls/7"
    assert props["hs_meeting_start_time"] == "2026-01-14T15:00:00.000Z"
    assert sorted(hubspot.associations[record["id"]]) == sorted([(dana, 200), (acme, 188)])
    assert entry.external_url == f"https://app.hubspot.com/contacts/4242/record/0-1/{dana}"
    assert cards.cards[-1][1] == "applied"


async def test_crm_matches_win_over_a_lookup(db: Database, hubspot: HubSpotStandIn) -> None:
    deal = hubspot.add("deals", {"dealname": "Acme audit"})
    contact = hubspot.add("contacts", {"email": "dana@acme.example"})
    service, _ = outbox(db, {"hubspot": connector(hubspot)})
    await approved(service, meeting(contact_ids=[contact], deal_ids=[deal], domains=[]))
    assert not [r for r in hubspot.requests if r[1].endswith(("contacts/search", "companies/search"))]
    [record] = hubspot.live("meetings")
    assert sorted(hubspot.associations[record["id"]]) == sorted([(contact, 200), (deal, 212)])


async def test_tasks_and_a_note_carry_owner_due_date_and_facts(db: Database, hubspot: HubSpotStandIn) -> None:
    service, _ = outbox(db, {"hubspot": connector(hubspot)})
    task = Proposed(
        "hubspot",
        "task",
        {"subject": "Send the SOW", "due": "2026-01-20", "owner_id": "77", "emails": []},
        "hubspot:task:item:5",
        "Task: Send the SOW",
    )
    note = Proposed(
        "hubspot",
        "note",
        {"body": "Budget: 40k. Timeline: Q1."},
        "hubspot:note:meeting:7",
        "Note: deal facts",
    )
    async with worker(service):
        for p in (task, note):
            entry = await service.propose(p, APPROVER)
            await service.approve(entry.id, APPROVER)
            assert (await settled(service, entry.id)).status == "applied"
    [t] = hubspot.live("tasks")
    assert (
        t["properties"]["hs_task_subject"] == "Send the SOW" and t["properties"]["hubspot_owner_id"] == "77"
    )
    assert t["properties"]["hs_timestamp"] == "2026-01-20T00:00:00.000Z"
    assert t["properties"]["hs_task_status"] == "NOT_STARTED"
    [n] = hubspot.live("notes")
    assert (
        n["properties"]["hs_note_body"]
        == f"Budget: 40k. Timeline: Q1.\n\nRef: {dedupe_ref('hubspot:note:meeting:7')}"
    )


async def test_approved_twice_logs_one_meeting(db: Database, hubspot: HubSpotStandIn) -> None:
    service, _ = outbox(db, {"hubspot": connector(hubspot)})
    entry = await service.propose(meeting(), APPROVER)
    assert (await service.propose(meeting(), APPROVER)).id == entry.id
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        await service.approve(entry.id, APPROVER)
        await settled(service, entry.id)
    assert len(hubspot.live("meetings")) == 1


@pytest.mark.parametrize("operation", ["meeting", "task", "note"])
async def test_a_retry_after_a_crash_that_lost_the_answer_finds_the_record(
    hubspot: HubSpotStandIn, operation: str
) -> None:
    from dataclasses import replace

    from services.integrations.base import Write

    payload = {"title": "Acme", "subject": "Send the SOW", "body": "Scope agreed.", "emails": []}
    if operation == "meeting":
        payload["external_url"] = "https://fathom.video/calls/7"
    write = Write(1, operation, payload, f"hubspot:{operation}:7")
    first = await connector(hubspot).apply(write, no_progress)  # created; then the job died unrecorded
    again = await connector(hubspot).apply(replace(write, retry=True), no_progress)
    assert again.external_id == first.external_id and len(hubspot.live(f"{operation}s")) == 1
    other = await connector(hubspot).apply(
        Write(2, operation, {**payload, "external_url": None}, "x:8", retry=True), no_progress
    )
    assert other.external_id != first.external_id  # another write is another record


async def test_a_4xx_shows_hubspots_message_on_the_card(db: Database, hubspot: HubSpotStandIn) -> None:
    service, cards = outbox(db, {"hubspot": connector(hubspot)})
    entry = await approved(service, meeting(contact_ids=["999"]))  # a contact that does not exist
    assert entry.status == "failed"
    assert entry.error == "400: One or more associations are invalid: 999 does not exist"
    assert cards.cards[-1] == (entry.id, "failed", None, entry.error)
    assert hubspot.live("meetings") == []


async def test_a_429_with_hubspots_body_is_retried(db: Database, hubspot: HubSpotStandIn) -> None:
    service, _ = outbox(db, {"hubspot": connector(hubspot)})
    hubspot.window = 0.5  # the interval header: the client waits a tenth of it
    hubspot.force(429, {}, count=2)
    entry = await approved(service, meeting(domains=[], emails=[]))
    assert entry.status == "applied" and hubspot.throttled == 2
    assert len(hubspot.live("meetings")) == 1


async def test_undo_archives_the_record(db: Database, hubspot: HubSpotStandIn) -> None:
    service, _ = outbox(db, {"hubspot": connector(hubspot)})
    entry = await approved(service, meeting(domains=[], emails=[]))
    assert (await service.undo(entry.id, APPROVER)).status == "undone"
    assert hubspot.live("meetings") == []


async def test_check_names_a_bad_token(hubspot: HubSpotStandIn) -> None:
    assert "token accepted" in await connector(hubspot).check()
    with pytest.raises(TargetError, match="Authentication credentials not found"):
        await connector(hubspot, token="pat-wrong").check()


async def test_after_a_client_meeting_the_meeting_tasks_and_a_facts_note_wait_for_approval(
    db: Database, hubspot: HubSpotStandIn
) -> None:
    from services.analysis.schema import AnalysisOutcome, DecisionOut, MeetingAnalysis, Mention, TypeScore
    from services.models import Meeting

    payload = {
        "title": "Acme discovery",
        "recording_id": 77,
        "share_url": "https://fathom.video/share/77",
        "calendar_invitees": [
            {"email": "dana@acme.example", "is_external": True},
            {"email": "maya@agency.example", "is_external": False},
        ],
        "default_summary": {"markdown_formatted": "Scope agreed."},
    }
    async with db.session() as s:
        meeting = Meeting(recording_id=77, title="Acme discovery", payload=payload, primary_type="discovery")
        s.add(meeting)
        await s.flush()
        add_client_items(s, meeting.id)
        internal = Meeting(
            recording_id=78,
            title="Standup",
            payload={**payload, "recording_id": 78},
            primary_type="internal_partner",
        )
        s.add(internal)
        await s.flush()
        meeting_id, internal_id = meeting.id, internal.id
    analysis = MeetingAnalysis(
        types=[TypeScore(type="discovery", confidence=0.9)],
        summary_one_line="x",
        summary="- x",
        decisions=[DecisionOut(what="Start in January")],
        budget=[Mention(text="around 40k")],
    )
    service, _ = outbox(db, {"hubspot": connector(hubspot)})
    await service.after_analysis(meeting, AnalysisOutcome(analysis=analysis, analyzer="heuristic"))
    await service.after_analysis(internal, AnalysisOutcome(analysis=analysis, analyzer="heuristic"))
    entries = await service.for_meeting(meeting_id)
    assert [(e.operation, e.status) for e in entries] == [
        ("meeting", "proposed"),
        ("task", "proposed"),
        ("note", "proposed"),
    ]
    assert "Start in January" in entries[0].payload["body"] and entries[0].payload["emails"] == [
        "dana@acme.example"
    ]
    assert entries[2].payload["body"].endswith("- Budget: around 40k")
    assert await service.for_meeting(internal_id) == []  # internal meetings write nothing to the CRM
    assert hubspot.calls == 0  # nothing leaves before an approval
