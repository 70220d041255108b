"""Gamma through the outbox: the real httpx client against the local stand-in of the Generate API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sandbox.gamma_api import PDF_BYTES, GammaStandIn
from services.db import Database
from services.errors import NotAllowed
from services.integrations.gamma import OPERATION_DECK, GammaConnector
from services.outbox import Proposed
from tests.support.outbox import APPROVER, STRANGER, outbox, settled, worker

KEY = "sk-gamma-test"


@pytest.fixture
async def gamma() -> AsyncIterator[GammaStandIn]:
    stand_in = await GammaStandIn.start(api_key=KEY, polls_needed=3)
    yield stand_in
    await stand_in.stop()


def connector(stand_in: GammaStandIn, key: str = KEY) -> GammaConnector:
    return GammaConnector(key, stand_in.base_url, poll_interval=0.01)


def deck(key: str = "audit-deck:acme") -> Proposed:
    text = "# Acme proposal\n\n## Statement of work\n\nThree phases.\n\n## Timeline\n\nQ1 to Q2."
    return Proposed(
        "gamma", OPERATION_DECK, {"input_text": text, "title": "Acme proposal"}, key, "Proposal deck: Acme"
    )


async def test_a_deck_that_takes_several_polls_shows_progress_then_its_link_and_attaches_the_export(
    db: Database, gamma: GammaStandIn
) -> None:
    service, cards = outbox(db, {"gamma": connector(gamma)})
    entry = await service.propose(deck(), APPROVER)
    assert entry.status == "proposed" and gamma.calls == 0  # nothing leaves before an approval
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        done = await settled(service, entry.id)
    assert done.status == "applied" and done.approved_by == APPROVER
    assert done.external_url and done.external_url.startswith("https://gamma.app/docs/g_")
    polls = [r for r in gamma.requests if r[0] == "GET" and r[1].startswith("/v1.0/generations/")]
    assert len(polls) == 3
    progress = [p for _, status, p, _ in cards.cards if status == "approved" and p and "check" in p]
    assert progress == ["Gamma is generating the deck… (check 1)", "Gamma is generating the deck… (check 2)"]
    assert cards.cards[-1][1] == "applied"
    [(entry_id, file)] = cards.files
    assert entry_id == entry.id and file.content == PDF_BYTES and file.filename == "acme-proposal.pdf"
    [(_, _, body)] = [r for r in gamma.requests if r[0] == "POST"]
    assert (
        body["exportAs"] == "pdf"
        and body["format"] == "presentation"
        and "Statement of work" in body["inputText"]
    )


async def test_a_failed_generation_ends_failed_with_gammas_message_on_the_card(
    db: Database, gamma: GammaStandIn
) -> None:
    service, cards = outbox(db, {"gamma": connector(gamma)})
    gamma.fail_next = "Not enough credits to generate this gamma."
    entry = await service.propose(deck(), APPROVER)
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        done = await settled(service, entry.id)
    assert done.status == "failed" and done.error == "400: Not enough credits to generate this gamma."
    assert cards.cards[-1] == (entry.id, "failed", None, done.error)
    assert cards.files == []


async def test_proposed_twice_and_approved_twice_makes_one_deck(db: Database, gamma: GammaStandIn) -> None:
    service, _ = outbox(db, {"gamma": connector(gamma)})
    first = await service.propose(deck(), APPROVER)
    again = await service.propose(deck(), APPROVER)
    assert again.id == first.id
    async with worker(service):
        await service.approve(first.id, APPROVER)
        await service.approve(first.id, APPROVER)
        done = await settled(service, first.id)
        assert (await service.approve(first.id, APPROVER)).status == "applied"
    assert done.status == "applied"
    assert len(gamma.generations) == 1


async def test_a_4xx_is_shown_with_the_targets_message_and_not_retried(
    db: Database, gamma: GammaStandIn
) -> None:
    service, cards = outbox(db, {"gamma": connector(gamma, key="sk-wrong")})
    entry = await service.propose(deck(), APPROVER)
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        done = await settled(service, entry.id)
    assert done.status == "failed" and done.error == "401: Invalid API key."
    assert gamma.calls == 1


async def test_a_429_is_honoured_and_the_write_goes_through(db: Database, gamma: GammaStandIn) -> None:
    service, _ = outbox(db, {"gamma": connector(gamma)})
    gamma.force(429, {}, count=2, retry_after=0.05)
    entry = await service.propose(deck(), APPROVER)
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        done = await settled(service, entry.id)
    assert done.status == "applied" and gamma.throttled == 2
    assert len(gamma.generations) == 1
    assert service.gates["gamma"].waits >= 2  # each retry waited for the Retry-After window


async def test_undo_archives_the_gamma_and_only_an_approver_may(db: Database, gamma: GammaStandIn) -> None:
    service, _ = outbox(db, {"gamma": connector(gamma)})
    entry = await service.propose(deck(), APPROVER)
    with pytest.raises(NotAllowed):
        await service.approve(entry.id, STRANGER)
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        done = await settled(service, entry.id)
    with pytest.raises(NotAllowed):
        await service.undo(entry.id, STRANGER)
    undone = await service.undo(entry.id, APPROVER)
    assert undone.status == "undone" and gamma.archived == {done.external_id}


async def test_check_reads_the_themes_and_names_a_bad_key(gamma: GammaStandIn) -> None:
    assert "accepted" in await connector(gamma).check()
    from services.integrations.base import TargetError

    with pytest.raises(TargetError, match="Invalid API key"):
        await connector(gamma, key="nope").check()


async def test_an_audit_delivery_proposes_the_client_deck_from_sow_timeline_and_opportunities(
    db: Database, gamma: GammaStandIn
) -> None:
    from services.audit.generator import GeneratedPack
    from services.audit.schema import Opportunity
    from services.models import Meeting

    async with db.session() as s:
        meeting = Meeting(recording_id=5, title="Acme audit", payload={})
        s.add(meeting)
        await s.flush()
        meeting_id = meeting.id
    pack = GeneratedPack(
        client_name="Acme",
        root="acme-os",
        files={
            "proposal/SOW.md": "# SOW\n\nPhase 1: intake bot.",
            "proposal/timeline.md": "Weeks 1-4: build.",
        },
        opportunities=[
            Opportunity(title="Intake triage", description="Route e-mails", value="high", effort="low")
        ],
        summary="",
    )
    service, _ = outbox(db, {"gamma": connector(gamma)})
    entry = await service.propose_audit_deck(meeting_id, pack, APPROVER)
    assert entry is not None and entry.status == "proposed" and entry.summary == "Deck: Acme proposal"
    again = await service.propose_audit_deck(meeting_id, pack, APPROVER)
    assert again is not None and again.id == entry.id
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        assert (await settled(service, entry.id)).status == "applied"
    text = gamma.deck_text()
    assert "## Statement of work" in text and "Phase 1: intake bot." in text
    assert "## Timeline" in text and "**Intake triage** (high value, low effort)" in text
    assert len(await service.for_meeting(meeting_id)) == 1  # proposed twice, one entry
