"""Gamma through the outbox: the real httpx client against the local stand-in of the Generate API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.sandbox.gamma_api import PDF_BYTES, GammaStandIn
from services.analysis.schema import AnalysisOutcome, MeetingAnalysis
from services.db import Database
from services.errors import NotAllowed
from services.integrations.gamma import OPERATION_DECK, GammaConnector
from services.models import Meeting, OutboxEntry, SlackMessageRef
from services.outbox import Proposed
from tests.support.outbox import (
    APPROVER,
    CONFIG,
    STRANGER,
    approved,
    outbox,
    settled,
    stand_in_fixture,
    worker,
)

KEY = "sk-gamma-test"
CONFIG_WITH_CLIENT = CONFIG + "clients:\n  - {name: Acme Corp, slug: acme, domains: [acme.com]}\n"


gamma = stand_in_fixture(GammaStandIn, api_key=KEY, polls_needed=3)


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
    entry = await approved(service, deck())
    assert entry.status == "failed" and entry.error == "400: Not enough credits to generate this gamma."
    assert cards.cards[-1] == (entry.id, "failed", None, entry.error)
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
    entry = await approved(service, deck())
    assert entry.status == "failed" and entry.error == "401: Invalid API key."
    assert gamma.calls == 1


async def test_a_429_is_honoured_and_the_write_goes_through(db: Database, gamma: GammaStandIn) -> None:
    service, _ = outbox(db, {"gamma": connector(gamma)})
    gamma.force(429, {}, count=2, retry_after=0.05)
    entry = await approved(service, deck())
    assert entry.status == "applied" and gamma.throttled == 2
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


# -- the weekly executive summary deck and a new client's onboarding deck ---------------------------

WEEK_NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday: the report covers 23-30 Nov


class _Members:
    """C01GENERAL is read by more people than the private channel: its meetings are not shown there."""

    async def members(self, channel_id: str) -> set[str]:
        return {"U01MAYA", "U02JONAS"} if channel_id == "C01GENERAL" else {"U01MAYA"}


async def _meeting(
    db: Database,
    recording_id: int,
    *,
    client: str | None = "acme",
    kind: str = "client",
    started: datetime | None = None,
    analysis: dict[str, Any] | None = None,
    channel: str | None = None,
) -> Meeting:
    started = started or datetime(2026, 11, 25, 10, tzinfo=UTC)
    async with db.session() as s:
        meeting = Meeting(
            recording_id=recording_id,
            title=f"Meeting {recording_id}",
            payload={
                "title": f"Meeting {recording_id}",
                "recording_id": recording_id,
                "recording_start_time": started.isoformat(),
                "recording_end_time": (started + timedelta(minutes=30)).isoformat(),
            },
            started_at=started,
            status="analysed",
            primary_type=kind,
            client_slug=client,
            analysis=analysis,
        )
        s.add(meeting)
        await s.flush()
        if channel:
            s.add(SlackMessageRef(entity=f"meeting:{meeting.id}", channel=channel, ts=f"{recording_id}.1"))
        return meeting


async def test_the_weekly_report_deck_is_proposed_once_per_week_and_channel_then_generated_and_attached(
    db: Database, gamma: GammaStandIn
) -> None:
    from services.access import AccessPolicy
    from services.analytics import AnalyticsService
    from services.integrations.gamma import ReportDeck
    from services.models import Decision
    from tests.support.outbox import config

    analysis = {"summary_one_line": "s", "summary": "s", "risks": [{"text": "Legal review may slip"}]}
    shown = await _meeting(db, 801, analysis=analysis, channel="C01GENERAL")
    hidden = await _meeting(db, 802, client="globex", analysis=analysis, channel="C09PRIVATE")
    async with db.session() as s:
        s.add_all([Decision(meeting_id=shown.id, what="Ship the intake bot in March")])
        s.add_all([Decision(meeting_id=hidden.id, what="Globex secret pricing")])
    analytics = AnalyticsService(db, clock=lambda: WEEK_NOW)
    assert await analytics.backfill() == 2
    service, cards = outbox(db, {"gamma": connector(gamma)})
    decks = ReportDeck(analytics, AccessPolicy(db, config(), _Members()), service)

    entry = await decks.propose("week", None, "C01GENERAL", STRANGER)  # anyone may ask; approvers approve
    assert entry.status == "proposed" and entry.meeting_id is None and gamma.calls == 0
    assert entry.summary == "Deck: weekly executive summary 2026-W49"
    assert (await decks.propose("week", None, "C01GENERAL", APPROVER)).id == entry.id  # same week+channel
    other = await decks.propose("week", None, "C02OTHER", APPROVER)
    assert other.id != entry.id
    assert cards.cards[0] == (entry.id, "proposed", None, None)  # the approval card is drawn
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        done = await settled(service, entry.id)
    assert (
        done.status == "applied" and done.external_url and done.external_url.startswith("https://gamma.app/")
    )
    progress = [p for i, status, p, _ in cards.cards if i == entry.id and status == "approved" and p]
    assert "Gamma is generating the deck…" in progress and "(check 2)" in progress[-1]
    [(entry_id, file)] = cards.files
    assert (
        entry_id == entry.id and file.content == PDF_BYTES and file.filename == "weekly-summary-2026-w49.pdf"
    )
    [request] = [g["request"] for g in gamma.generations.values()]  # C02OTHER's waits on approval
    text = request["inputText"]
    parts = text.split("\n---\n")
    assert parts[0].startswith("# Weekly executive summary: 23 Nov") and len(parts) == 4
    assert parts[1].startswith("## The period in figures") and "2 meetings" in parts[1]
    assert "Ship the intake bot in March" in parts[2] and "Legal review may slip" in parts[3]
    assert "Globex secret pricing" not in text  # a meeting the channel's readers may not see
    assert request["cardSplit"] == "inputTextBreaks" and request["exportAs"] == "pdf"


async def test_a_deck_of_a_coaching_report_or_without_gamma_is_a_clear_error(
    db: Database, gamma: GammaStandIn
) -> None:
    from services.access import AccessPolicy
    from services.analytics import AnalyticsService
    from services.errors import UserFacingError
    from services.integrations.gamma import ReportDeck
    from tests.support.outbox import config

    analytics = AnalyticsService(db, clock=lambda: WEEK_NOW)
    with_gamma, _ = outbox(db, {"gamma": connector(gamma)})
    without, _ = outbox(db, {})
    access = AccessPolicy(db, config(), _Members())
    with pytest.raises(UserFacingError, match="weekly or monthly"):
        await ReportDeck(analytics, access, with_gamma).propose("coaching", None, "C01GENERAL", APPROVER)
    with pytest.raises(UserFacingError, match="GAMMA_API_KEY"):
        await ReportDeck(analytics, access, without).propose("week", None, "C01GENERAL", APPROVER)


def _outcome(**fields: Any) -> AnalysisOutcome:
    base: dict[str, Any] = {"types": [{"type": "discovery", "confidence": 0.9}], "summary": "s"}
    base.update(fields)
    return AnalysisOutcome(analysis=MeetingAnalysis(**base), analyzer="heuristic")


async def test_a_new_clients_first_discovery_meeting_proposes_one_onboarding_deck_and_the_second_none(
    db: Database, gamma: GammaStandIn
) -> None:
    text = CONFIG_WITH_CLIENT
    service, _ = outbox(db, {"gamma": connector(gamma)}, text)
    outcome = _outcome(
        summary_one_line="Acme wants its intake e-mails triaged",
        requirements=[{"text": "Works with Outlook"}],
        action_items=[{"text": "Send the proposal", "due_date": "2026-12-04"}],
        timeline=[{"text": "Live by March"}],
    )
    first = await _meeting(db, 901, kind="discovery", started=datetime(2026, 11, 20, 9, tzinfo=UTC))
    second = await _meeting(db, 902, kind="sales", started=datetime(2026, 11, 27, 9, tzinfo=UTC))
    await service.after_analysis(second, outcome)  # analysed first (backfill), but not the first meeting
    assert await service.for_meeting(second.id) == []
    await service.after_analysis(first, outcome)
    await service.after_analysis(first, outcome)  # re-analysed: still one deck
    [entry] = await service.for_meeting(first.id)
    assert entry.summary == "Deck: Acme Corp onboarding" and entry.status == "proposed"
    assert entry.dedupe_key == "gamma:onboarding:client:acme"
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        assert (await settled(service, entry.id)).status == "applied"
    parts = gamma.deck_text().split("\n---\n")
    assert parts[0] == "# Welcome, Acme Corp"
    assert parts[1].startswith("## Acme Corp\n\nOnboarding, after our first meeting on 20 Nov 2026")
    assert "- Acme wants its intake e-mails triaged" in parts[2] and "- Works with Outlook" in parts[2]
    assert parts[3] == "## Next steps\n\n- Send the proposal (due 04 Dec)"
    assert parts[4] == "## Timeline\n\n- Live by March"


async def test_no_onboarding_deck_when_switched_off_for_internal_meetings_or_without_a_client(
    db: Database, gamma: GammaStandIn
) -> None:
    off, _ = outbox(
        db, {"gamma": connector(gamma)}, CONFIG_WITH_CLIENT.replace("{export_as: pdf}", "{onboarding: false}")
    )
    on, _ = outbox(db, {"gamma": connector(gamma)}, CONFIG_WITH_CLIENT)
    first = await _meeting(db, 911, kind="discovery")
    await off.after_analysis(first, _outcome(summary_one_line="x"))
    internal = await _meeting(db, 912, client="initech", kind="internal")
    anonymous = await _meeting(db, 913, client=None, kind="discovery")
    for meeting in (internal, anonymous):
        await on.after_analysis(meeting, _outcome(summary_one_line="x"))
    async with db.read_session() as s:
        assert (await s.scalars(select(OutboxEntry))).all() == []
    await on.after_analysis(first, _outcome(summary_one_line="x"))  # the same meeting, switched on
    assert [e.dedupe_key for e in await on.for_meeting(first.id)] == ["gamma:onboarding:client:acme"]
