"""ProposalService on a real SQLite file and a real git OS: propose, approve, merge, conflict, revert."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from services.analysis.heuristic import HeuristicAnalyzer
from services.analysis.schema import OSUpdate
from services.db import Database
from services.errors import NotAllowed, StaleState, UserFacingError
from services.fathom import parse_meeting
from services.meetings import MeetingStore
from services.models import AuditLog, OSProposal
from services.os_config import load_os_config
from services.os_repo import OSRepo
from services.proposals import ProposalService
from tests.helpers import load_fixture
from tests.support.os_repo import JONAS, MAYA, PLAN, Directory, commit_file, git, init_os, outcome

# the model's only kind of OS change: a section of a file that exists, with its reason
IDEA = OSUpdate(
    path="roadmap.md", action="update_section", section="Later", content="- idea", reason="said in the call"
)


@pytest.fixture
async def env(db: Database, tmp_path: Path) -> tuple[ProposalService, OSRepo, int]:
    repo = await init_os(tmp_path / "os")
    service = ProposalService(db, repo, lambda: load_os_config(repo.path), people=Directory(MAYA, JONAS))
    ingested = await MeetingStore(db).ingest(parse_meeting(load_fixture("ai_audit_discovery")))
    return service, repo, ingested.meeting_id


async def audit(db: Database, proposal_id: int) -> list[AuditLog]:
    async with db.session() as s:
        rows = await s.scalars(
            select(AuditLog).where(AuditLog.entity == f"proposal:{proposal_id}").order_by(AuditLog.id)
        )
        return list(rows.all())


async def test_heuristic_analysis_becomes_stored_proposals_with_their_base_blobs(env, db) -> None:
    service, repo, meeting_id = env
    fathom = parse_meeting(load_fixture("ai_audit_discovery"))
    result = await HeuristicAnalyzer().analyze(fathom)
    stored = await service.propose_from_analysis(meeting_id, result)
    paths = [p.path for p in stored]
    assert paths[0].startswith("meetings/") and paths[0].endswith(".md")
    assert len(stored) == len(result.analysis.os_updates)
    for p in stored:
        assert p.status == "proposed"
        assert p.base_blob == (await repo.read(p.path))[1]
    assert [a.action for a in await audit(db, stored[0].id)] == ["proposal.proposed"]
    again = await service.propose_from_analysis(meeting_id, result)  # a re-run adds nothing
    assert again == [] and len(await service.for_meeting(meeting_id)) == len(stored)


async def test_meeting_note_is_added_when_the_analysis_forgot_it(env) -> None:
    service, _, meeting_id = env
    stored = await service.propose_from_analysis(meeting_id, outcome(IDEA))
    assert stored[0].path.startswith("meetings/") and stored[0].action == "create"


async def test_injected_paths_are_stored_as_invalid_and_can_never_be_applied(env, tmp_path) -> None:
    service, repo, meeting_id = env
    stored = await service.propose_from_analysis(
        meeting_id,
        outcome(
            OSUpdate(path="../../etc/passwd", action="append", content="evil::0:0::/:/bin/sh"),
            OSUpdate(path=".git/config", action="append", content="[core]\nfsmonitor = rm -rf /"),
        ),
    )
    bad = {p.path: p for p in stored if p.status == "invalid"}
    assert set(bad) == {"../../etc/passwd", ".git/config"}
    assert "'..'" in (bad["../../etc/passwd"].reason or "")
    assert ".git" in (bad[".git/config"].reason or "")
    before = await repo.head()
    for p in bad.values():
        with pytest.raises(StaleState):
            await service.approve(p.id, "U01MAYA")
        with pytest.raises(StaleState):
            await service.for_editing(p.id, "U01MAYA")
    await service.approve_all(meeting_id, "U01MAYA")
    assert "fsmonitor" not in (tmp_path / "os" / ".git" / "config").read_text()
    assert all(p.status == "invalid" for p in await service.for_meeting(meeting_id) if p.path in bad)
    assert len(await repo.history()) == 2 and before != await repo.head()  # only the meeting note


async def test_non_approver_cannot_approve_and_nothing_is_committed(env) -> None:
    service, repo, meeting_id = env
    [note] = await service.propose_from_analysis(meeting_id, outcome())
    head = await repo.head()
    with pytest.raises(NotAllowed):
        await service.approve(note.id, "U02JONAS")
    with pytest.raises(NotAllowed):
        await service.approve_all(meeting_id, "U09STRANGER")
    assert await repo.head() == head
    assert (await service.get(note.id)).status == "proposed"


async def test_approval_commits_as_the_approver_with_meeting_trailers_and_audit(env, db) -> None:
    service, repo, meeting_id = env
    [note] = await service.propose_from_analysis(meeting_id, outcome())
    decided = await service.approve(note.id, "U01MAYA")
    assert decided.proposal.status == "applied" and decided.push_error is None
    [last, *_] = await repo.history()
    assert last.sha == decided.proposal.commit_sha
    assert (last.author_name, last.author_email) == ("Maya Chen", "maya@agency.example")
    assert last.trailers == {"Meeting": str(meeting_id), "Proposal-Id": str(note.id)}
    assert "Brightline" in last.subject
    actions = [(a.action, a.actor) for a in await audit(db, note.id)]
    assert actions == [
        ("proposal.proposed", "analysis:claude"),
        ("proposal.approved", "U01MAYA"),
        ("proposal.applied", "U01MAYA"),
    ]
    assert (await audit(db, note.id))[-1].after["commit_sha"] == last.sha  # type: ignore[index]
    with pytest.raises(StaleState):
        await service.reject(note.id, "U01MAYA")


async def test_external_edit_of_another_section_merges_cleanly(env, tmp_path) -> None:
    service, repo, meeting_id = env
    commit_file(tmp_path / "os", "projects/plan.md", PLAN)
    update = OSUpdate(path="projects/plan.md", action="update_section", section="Goals", content="Ship v2.")
    [_, p] = await service.propose_from_analysis(meeting_id, outcome(update))
    commit_file(tmp_path / "os", "projects/plan.md", PLAN.replace("Ten thousand.", "Twelve thousand."))
    decided = await service.approve(p.id, "U01MAYA")
    assert decided.proposal.status == "applied" and decided.merged
    text = (await repo.read("projects/plan.md"))[0] or ""
    assert "Ship v2." in text and "Twelve thousand." in text and "Ship the audit." not in text


async def test_conflicting_edit_marks_conflicted_and_edit_resolves_it(env, db, tmp_path) -> None:
    service, repo, meeting_id = env
    commit_file(tmp_path / "os", "projects/plan.md", PLAN)
    update = OSUpdate(path="projects/plan.md", action="update_section", section="Goals", content="Ship v2.")
    [_, p] = await service.propose_from_analysis(meeting_id, outcome(update))
    commit_file(tmp_path / "os", "projects/plan.md", PLAN.replace("Ship the audit.", "Ship the audit fast."))
    head = await repo.head()
    decided = await service.approve(p.id, "U01MAYA")
    assert decided.proposal.status == "conflicted" and await repo.head() == head
    assert "<<<<<<<" in (decided.proposal.reason or "")
    assert "<<<<<<<" in (await service.diff_for(decided.proposal) or "")
    with pytest.raises(StaleState):
        await service.approve(p.id, "U01MAYA")
    edited = await service.edit(p.id, "Ship v2, fast.", "U01MAYA")
    assert edited.status == "proposed" and edited.base_blob == (await repo.read("projects/plan.md"))[1]
    assert "+Ship v2, fast." in (await service.diff_for(edited) or "")
    assert (await service.approve(p.id, "U01MAYA")).proposal.status == "applied"
    assert "Ship v2, fast." in ((await repo.read("projects/plan.md"))[0] or "")
    actions = [a.action for a in await audit(db, p.id)]
    assert actions == [
        "proposal.proposed",
        "proposal.conflicted",
        "proposal.edited",
        "proposal.approved",
        "proposal.applied",
    ]


async def test_concurrent_approvals_of_the_same_file_keep_both_changes(env) -> None:
    service, repo, meeting_id = env
    updates = [
        OSUpdate(path="decisions/log.md", action="append", content=f"- decision {n}") for n in range(2)
    ]
    stored, _ = await service.propose(meeting_id, updates, "test", origin="analysis")
    results = await asyncio.gather(*(service.approve(p.id, "U01MAYA") for p in stored))
    assert {r.proposal.status for r in results} == {"applied"}
    log_md = (await repo.read("decisions/log.md"))[0] or ""
    assert "- decision 0" in log_md and "- decision 1" in log_md
    assert len({r.proposal.commit_sha for r in results}) == 2


async def test_revert_by_button_or_commit_id_undoes_the_change_authored_by_who_asked(env, tmp_path) -> None:
    service, repo, meeting_id = env
    stored = await service.propose_from_analysis(
        meeting_id, outcome(IDEA.model_copy(update={"content": "- a new idea"}))
    )
    applied = [(await service.approve(p.id, "U01MAYA")).proposal for p in stored]
    with pytest.raises(NotAllowed):
        await service.revert(applied[1].id, "U02JONAS")
    result = await service.revert(applied[1].id, "U01MAYA")
    assert [p.status for p in result.proposals] == ["reverted"]
    assert "a new idea" not in ((await repo.read("roadmap.md"))[0] or "")
    [last, *_] = await repo.history()
    assert last.sha == result.reverted_sha and last.author_email == "maya@agency.example"
    by_sha = await service.revert(applied[0].commit_sha[:7], "U01MAYA")  # type: ignore[index]
    assert by_sha.proposals[0].id == applied[0].id
    assert (await repo.read(applied[0].path))[0] is None
    with pytest.raises(UserFacingError):
        await service.revert("not-a-sha; rm -rf /", "U01MAYA")


async def test_reject_records_who_and_when(env, db) -> None:
    service, _, meeting_id = env
    [note] = await service.propose_from_analysis(meeting_id, outcome())
    rejected = await service.reject(note.id, "U01MAYA")
    assert rejected.status == "rejected" and rejected.decided_by == "U01MAYA" and rejected.decided_at
    assert (await audit(db, note.id))[-1].action == "proposal.rejected"


async def test_push_to_a_local_bare_remote_and_a_failed_push_is_not_fatal(env, db, tmp_path) -> None:
    service, repo, meeting_id = env
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    service.remote = str(bare)
    [note, idea] = await service.propose_from_analysis(meeting_id, outcome(IDEA))
    decided = await service.approve(note.id, "U01MAYA")
    assert decided.push_error is None
    assert git(bare, "rev-parse", "refs/heads/main") == decided.proposal.commit_sha
    service.remote = str(tmp_path / "missing.git")
    failed = await service.approve(idea.id, "U01MAYA")
    assert failed.proposal.status == "applied" and failed.push_error
    async with db.session() as s:
        assert await s.scalar(select(AuditLog).where(AuditLog.action == "os.push_failed"))


async def test_history_names_the_meeting_of_each_commit(env) -> None:
    service, _, meeting_id = env
    [note] = await service.propose_from_analysis(meeting_id, outcome())
    await service.approve(note.id, "U01MAYA")
    [latest, initial] = await service.history()
    assert latest.meeting_id == meeting_id and latest.meeting_title and "Brightline" in latest.meeting_title
    assert initial.meeting_id is None
    assert len(await service.history(note.path)) == 1
    with pytest.raises(UserFacingError):
        await service.history("../outside.md")


async def test_approver_listed_by_slack_id_needs_no_email_lookup(db, tmp_path) -> None:
    repo = await init_os(tmp_path / "os")
    commit_file(tmp_path / "os", "fathom-os.yml", "approvers: [U04OMAR]\n")
    service = ProposalService(db, repo, lambda: load_os_config(repo.path))
    author = await service.authorise("U04OMAR")
    assert author.name == "U04OMAR" and "@" in author.email
    with pytest.raises(NotAllowed):
        await service.authorise("U01MAYA")


async def test_unknown_proposal_is_not_found(env) -> None:
    service, _, _ = env
    with pytest.raises(UserFacingError):
        await service.get(9999)
    async with service.db.session() as s:
        assert await s.scalar(select(OSProposal)) is None


async def test_reanalysis_supersedes_only_its_own_pending_proposals(env) -> None:
    service, _repo, meeting_id = env
    pack_file = OSUpdate(
        path="clients/brightline/claude-code-os/CLAUDE.md", action="create", content="# OS\n"
    )
    [from_audit], _ = await service.propose(meeting_id, [pack_file], "audit:U01MAYA", origin="audit")
    first = await service.propose_from_analysis(
        meeting_id, outcome(IDEA.model_copy(update={"content": "- one"}))
    )
    await service.propose_from_analysis(meeting_id, outcome(IDEA.model_copy(update={"content": "- two"})))
    current = {p.id: p.status for p in await service.for_meeting(meeting_id)}
    assert current[from_audit.id] == "proposed"  # the client-OS pack survives a re-analysis
    assert all(p.id not in current for p in first if p.path == "roadmap.md")
    assert any(p.path == "roadmap.md" for p in first)


async def test_approve_all_skips_changes_to_fathom_os_yml_and_templates_until_approved_alone(env) -> None:
    service, repo, meeting_id = env
    config_before = (repo.path / "fathom-os.yml").read_text()
    stored, _ = await service.propose(
        meeting_id,
        [
            OSUpdate(path="roadmap.md", action="append", content="- idea\n"),
            OSUpdate(path="fathom-os.yml", action="append", content="# approvers reviewed\n"),
            OSUpdate(path="templates/meeting-note.md", action="append", content="- new field\n"),
        ],
        "analysis:claude",
        origin="analysis",
    )
    idea, config, template = stored
    result = await service.approve_all(meeting_id, "U01MAYA")
    assert [d.proposal.id for d in result.decided] == [idea.id]
    assert {p.id for p in result.held} == {config.id, template.id}
    assert (repo.path / "fathom-os.yml").read_text() == config_before
    statuses = {p.id: p.status for p in await service.for_meeting(meeting_id)}
    assert statuses[idea.id] == "applied" and statuses[config.id] == statuses[template.id] == "proposed"
    assert (await service.approve(config.id, "U01MAYA")).proposal.status == "applied"
    assert (repo.path / "fathom-os.yml").read_text().endswith("# approvers reviewed\n")
