"""Standard OS updates built in code: what an approver sees for real fixtures, on a real git OS."""

from __future__ import annotations

import json
import posixpath
import re
from datetime import date
from pathlib import Path

import pytest

from blocks.proposals import proposal_card
from services.analysis.heuristic import HeuristicAnalyzer
from services.analysis.os_updates import relative_link, standard_updates
from services.analysis.schema import (
    ActionItemOut,
    AnalysisOutcome,
    DecisionOut,
    MeetingAnalysis,
    Mention,
    OSUpdate,
)
from services.db import Database
from services.fathom import parse_meeting
from services.meetings import MeetingStore
from services.models import OSProposal
from services.os_config import load_os_config
from services.os_repo import OSRepo
from services.proposals import ProposalService
from services.slack.gateway import SlackUser
from services.views import proposal_views
from tests.helpers import load_fixture

MAYA = SlackUser("U01MAYA", "Maya Chen", "maya@agency.example", None)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


class Directory:
    async def user_info(self, user_id: str) -> SlackUser:
        return {MAYA.id: MAYA}[user_id]


@pytest.fixture
async def os_repo(tmp_path: Path) -> OSRepo:
    repo = OSRepo(tmp_path / "os")
    await repo.init(
        context={"agency_name": "Test Agency", "admin_email": MAYA.email, "admin_name": MAYA.name}
    )
    return repo


@pytest.fixture
def service(db: Database, os_repo: OSRepo) -> ProposalService:
    return ProposalService(db, os_repo, lambda: load_os_config(os_repo.path), people=Directory())


async def propose(db: Database, service: ProposalService, name: str, analysis: MeetingAnalysis | None = None):
    meeting = parse_meeting(load_fixture(name))
    meeting_id = (await MeetingStore(db).ingest(meeting)).meeting_id
    if analysis is None:
        outcome = await HeuristicAnalyzer().analyze(meeting)
    else:
        outcome = AnalysisOutcome(analysis=analysis, analyzer="claude")
    return meeting_id, await service.propose_from_analysis(meeting_id, outcome)


def analysis_of(name: str, **fields: object) -> MeetingAnalysis:
    base = HeuristicAnalyzer().analyze_sync(parse_meeting(load_fixture(name)))
    return base.model_copy(update={"os_updates": [], **fields})


def by_path(proposals: list[OSProposal]) -> dict[str, OSProposal]:
    return {p.path: p for p in proposals}


# -- links --------------------------------------------------------------------------------------


def test_a_link_is_relative_to_the_file_it_is_written_in() -> None:
    note = "meetings/2026/11/2026-11-16-kickoff.md"
    assert relative_link("Kickoff", note, "clients/acme/log.md") == (
        "[Kickoff](../../meetings/2026/11/2026-11-16-kickoff.md)"
    )
    assert relative_link("Kickoff", note, "roadmap.md") == f"[Kickoff]({note})"
    assert relative_link("A [b] c", "team/x.md", "team/y.md") == "[A (b) c](x.md)"


@pytest.mark.parametrize("name", ["ai_audit_discovery", "partner_sync", "ami_ES2006d_decision"])
async def test_every_link_in_every_proposed_file_resolves_inside_the_os(db, service, os_repo, name) -> None:
    _, stored = await propose(db, service, name)
    assert stored and all(p.status == "proposed" for p in stored)
    for p in stored:
        assert (await service.approve(p.id, MAYA.id)).proposal.status == "applied", p.path
    files = set(await os_repo.list_files())
    checked = 0
    for p in stored:
        for href in LINK.findall(p.content):
            if re.match(r"^[a-z]+:", href):
                continue  # the recording on fathom.video
            target = posixpath.normpath(posixpath.join(posixpath.dirname(p.path), href.split("#")[0]))
            assert not target.startswith(".."), (p.path, href)
            assert target in files, f"{p.path} links {href} -> {target}, which is not in the OS"
            checked += 1
    assert checked >= 2  # the client log / decision log / team pages link back to the note


# -- what gets proposed -------------------------------------------------------------------------


async def test_team_pages_only_for_people_who_took_something_on(db, service) -> None:
    analysis = analysis_of(
        "partner_sync",
        action_items=[ActionItemOut(text="Chase Fernway for a new token", owner_name="Priya Nair")],
        decisions=[DecisionOut(what="Onboarding starts from the checklist", owner="Jonas Reed")],
    )
    _, stored = await propose(db, service, "partner_sync", analysis)
    team = {p.path: p.content for p in stored if p.path.startswith("team/")}
    assert set(team) == {"team/priya-nair.md", "team/jonas-reed.md"}  # Maya and Omar took nothing on
    assert "Chase Fernway for a new token" in team["team/priya-nair.md"]
    assert "Decided: Onboarding starts from the checklist" in team["team/jonas-reed.md"]
    _, heuristic = await propose(db, service, "ai_audit_discovery")
    for p in [*stored, *heuristic]:
        assert "attended" not in p.content.lower()


async def test_decision_log_gets_only_decisions_that_were_made(db, service) -> None:
    decisions = [
        DecisionOut(what="We go with the titanium case", owner="Maya Chen", why="cheaper", status="made"),
        DecisionOut(what="Maybe a speech module later", status="tentative"),
        DecisionOut(what="Last week we agreed on the colours", status="recap"),
    ]
    _, stored = await propose(db, service, "partner_sync", analysis_of("partner_sync", decisions=decisions))
    log_md = by_path(stored)["decisions/log.md"].content
    assert "We go with the titanium case" in log_md and "**Why:** cheaper" in log_md
    assert "speech module" not in log_md and "colours" not in log_md
    note = next(p.content for p in stored if p.path.startswith("meetings/"))
    assert "_tentative:_ Maybe a speech module later" in note  # the note still records all three
    assert note.count("\n# ") == 0 and note.startswith("# ")  # one heading

    meeting = parse_meeting(load_fixture("partner_sync"))
    unmade = analysis_of("partner_sync", decisions=decisions[1:])
    assert "decisions/log.md" not in {u.path for u in standard_updates(meeting, unmade, meeting_day())}


def meeting_day() -> date:
    return date(2026, 11, 17)


async def test_roadmap_only_for_explicit_ideas_and_they_land_in_later(db, service, os_repo) -> None:
    meeting = parse_meeting(load_fixture("partner_sync"))
    vague = analysis_of(
        "partner_sync", roadmap_ideas=[], summary="In the future we could maybe automate reporting."
    )
    assert "roadmap.md" not in {u.path for u in standard_updates(meeting, vague, meeting_day())}

    idea = Mention(text="Track proposal turnaround time", source_timestamp="00:01:48")
    _, stored = await propose(db, service, "partner_sync", analysis_of("partner_sync", roadmap_ideas=[idea]))
    roadmap = by_path(stored)["roadmap.md"]
    assert roadmap.action == "update_section" and roadmap.section == "Later"
    await service.approve(roadmap.id, MAYA.id)
    text = (await os_repo.read("roadmap.md"))[0] or ""
    later, done = text.index("## Later"), text.index("## Done")
    assert later < text.index("Track proposal turnaround time") < done


async def test_an_empty_meeting_proposes_nothing(db, service) -> None:
    meeting_id, stored = await propose(db, service, "minimal_no_content")
    assert stored == [] and await service.for_meeting(meeting_id) == []


# -- the model's own changes --------------------------------------------------------------------


async def test_model_keeps_only_section_updates_of_existing_files_and_unsafe_paths_show_refused(
    db, service
) -> None:
    targeted = OSUpdate(
        path="roadmap.md",
        action="update_section",
        section="Next",
        content="- Phase two: intake forms",
        reason="the client moved intake forms to phase two",
    )
    model = [
        targeted,
        OSUpdate(path="clients/ghost/README.md", action="update_section", section="Budget", content="x"),
        OSUpdate(path="team/maya-chen.md", action="append", content="- attended"),
        OSUpdate(path="meetings/2026/11/whole-file.md", action="create", content="# restated"),
        OSUpdate(path="../outside.md", action="append", content="evil"),
    ]
    analysis = analysis_of("partner_sync", os_updates=model, roadmap_ideas=[])
    _, stored = await propose(db, service, "partner_sync", analysis)
    paths = by_path(stored)
    kept = paths["roadmap.md"]
    assert kept.section == "Next" and kept.why == "the client moved intake forms to phase two"
    assert "clients/ghost/README.md" not in paths and "meetings/2026/11/whole-file.md" not in paths
    assert "attended" not in paths.get("team/maya-chen.md", kept).content
    assert paths["../outside.md"].status == "invalid"


async def test_each_proposals_reason_is_shown_on_the_approval_card(db, service) -> None:
    meeting_id, stored = await propose(db, service, "ai_audit_discovery")
    assert all(p.why for p in stored)
    card = proposal_card(None, proposal_views(await service.for_meeting(meeting_id)), {})
    sections = {b["block_id"]: b["text"]["text"] for b in card.blocks if b["type"] == "section"}
    for p in stored:
        text = sections[f"proposal:{p.id}"]
        assert f"_Why:_ {p.why}" in text, text
    assert "first meeting with this client" in json.dumps(card.blocks)
