"""Decisions that evolve and coaching progress, through proposals on a real git OS (#20 item 5):
a later decision on the same subject supersedes the earlier log entry with links both ways; a
coaching call's entry reports goals, commitments, and progress on the commitments of the last one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from services.analysis.os_updates import anchor, log_entries, open_commitments, revisits
from services.analysis.schema import (
    ActionItemOut,
    AnalysisOutcome,
    DecisionOut,
    MeetingAnalysis,
    Mention,
    TypeScore,
)
from services.db import Database
from services.fathom import parse_meeting
from services.meetings import MeetingStore
from services.os_config import load_os_config
from services.proposals import ProposalService
from tests.helpers import load_fixture
from tests.support.os_repo import JONAS, MAYA, Directory, init_os


def _analysis(ptype: str, **fields: Any) -> AnalysisOutcome:
    analysis = MeetingAnalysis(
        types=[TypeScore(type=ptype, confidence=0.9)], summary_one_line="s", summary="- s", **fields
    )
    return AnalysisOutcome(analysis=analysis, analyzer="claude")


async def _meeting(
    db: Database, recording_id: int, day: str, title: str, transcript: list[str] | None = None
) -> int:
    payload = load_fixture("ai_audit_discovery")
    payload.update(
        recording_id=recording_id,
        title=title,
        meeting_title=title,
        recording_start_time=f"{day}T10:00:00Z",
        recording_end_time=f"{day}T10:45:00Z",
        scheduled_start_time=f"{day}T10:00:00Z",
        scheduled_end_time=f"{day}T10:45:00Z",
        created_at=f"{day}T10:46:00Z",
    )
    if transcript is not None:
        speaker = payload["transcript"][0]["speaker"]
        payload["transcript"] = [
            {"speaker": speaker, "text": t, "timestamp": f"00:0{i}:00"} for i, t in enumerate(transcript)
        ]
    return (await MeetingStore(db).ingest(parse_meeting(payload))).meeting_id


async def _approve_all(service: ProposalService, meeting_id: int) -> None:
    await service.approve_all(meeting_id, "U01MAYA")


async def test_a_reversed_decision_supersedes_the_earlier_entry_with_links_both_ways(
    db: Database, tmp_path: Path
) -> None:
    repo = await init_os(tmp_path / "os")
    service = ProposalService(db, repo, lambda: load_os_config(repo.path), people=Directory(MAYA, JONAS))
    first = await _meeting(db, 7101, "2026-11-02", "Brightline kickoff")
    await service.propose_from_analysis(
        first, _analysis("client", decisions=[DecisionOut(what="Launch the reminders pilot in March")])
    )
    await _approve_all(service, first)
    second = await _meeting(db, 7102, "2026-11-20", "Brightline replanning")
    stored = await service.propose_from_analysis(
        second,
        _analysis(
            "client",
            decisions=[
                DecisionOut(what="Move the reminders pilot launch to April", why="the BAA is late"),
                DecisionOut(what="Hire a front-desk trainer"),
            ],
        ),
    )
    marks = [p for p in stored if p.path == "decisions/log.md" and p.action == "update_section"]
    assert [m.section for m in marks] == ["2026-11-02 — Launch the reminders pilot in March"]
    assert "revisited on 2026-11-20" in (marks[0].why or "")
    await _approve_all(service, second)
    log = (await repo.read("decisions/log.md"))[0] or ""
    entries = {e.title: e.body for e in log_entries(log)}
    old, new = (
        "2026-11-02 — Launch the reminders pilot in March",
        "2026-11-20 — Move the reminders pilot launch to April",
    )
    assert f"- **Superseded by:** [{new}](#{anchor(new)})" in entries[old]
    assert f"- **Supersedes:** [{old}](#{anchor(old)})" in entries[new]
    assert "Supersedes" not in entries["2026-11-20 — Hire a front-desk trainer"]  # another subject
    # both anchors name headings that exist in the file (GitHub's rule: lower case, no punctuation)
    headings = {anchor(m.group(1)) for m in re.finditer(r"^## (.+)$", log, re.M)}
    assert {anchor(old), anchor(new)} <= headings
    assert anchor(old) == "2026-11-02--launch-the-reminders-pilot-in-march"


def test_same_subject_for_another_client_is_not_the_same_decision() -> None:
    [entry] = log_entries(
        "## 2026-11-02 — Launch the pilot in March\n\n- **Client:** acme\n- **Source:** x\n"
    )
    assert revisits("Launch the pilot in April", "brightline-dental", [entry]) is None
    assert revisits("Launch the pilot in April", "acme", [entry]) is entry
    assert revisits("Order new chairs", "acme", [entry]) is None


async def test_coaching_entries_carry_goals_commitments_and_progress(db: Database, tmp_path: Path) -> None:
    repo = await init_os(tmp_path / "os")
    service = ProposalService(db, repo, lambda: load_os_config(repo.path), people=Directory(MAYA, JONAS))
    skeleton = set(await repo.list_files())
    first = await _meeting(db, 7201, "2026-11-02", "Coaching session 1")
    await service.propose_from_analysis(
        first,
        _analysis(
            "coaching",
            requirements=[Mention(text="Run every client call without notes by January")],
            action_items=[
                ActionItemOut(text="Write the weekly client update every Friday", owner_name="Maya Chen"),
                ActionItemOut(text="Shadow two discovery calls", owner_name="Maya Chen"),
            ],
        ),
    )
    await _approve_all(service, first)
    [path] = [p for p in set(await repo.list_files()) - skeleton if p.startswith("coaching/")]
    text = (await repo.read(path))[0] or ""
    assert "### Goals stated\n\n- Run every client call without notes by January" in text
    assert open_commitments(text) == [
        "Write the weekly client update every Friday",
        "Shadow two discovery calls",
    ]

    second = await _meeting(
        db,
        7202,
        "2026-11-16",
        "Coaching session 2",
        ["The weekly client update went out every Friday, it helped."],
    )
    stored = await service.propose_from_analysis(
        second,
        _analysis(
            "coaching", action_items=[ActionItemOut(text="Lead one discovery call", owner_name="Maya Chen")]
        ),
    )
    [coaching] = [p for p in stored if p.path == path]
    assert coaching.action == "append" and "1 of 2 earlier commitments followed up" in (coaching.why or "")
    await _approve_all(service, second)
    text = (await repo.read(path))[0] or ""
    latest = log_entries(text)[-1].body
    assert "- [x] followed up: Write the weekly client update every Friday" in latest
    assert "- [ ] not mentioned: Shadow two discovery calls" in latest
    assert "- check in on: Shadow two discovery calls" in latest
    assert open_commitments(text) == ["Lead one discovery call", "Shadow two discovery calls"]


async def test_client_status_and_contacts_are_kept_current_through_proposals(
    db: Database, tmp_path: Path
) -> None:
    repo = await init_os(tmp_path / "os")
    service = ProposalService(db, repo, lambda: load_os_config(repo.path), people=Directory(MAYA, JONAS))
    first = await _meeting(db, 7301, "2026-11-02", "Brightline discovery")
    await service.propose_from_analysis(
        first,
        _analysis(
            "discovery",
            decisions=[DecisionOut(what="Start with appointment reminders")],
            action_items=[ActionItemOut(text="Send the proposal")],
            timeline=[Mention(text="Next meeting on 16 November to review the proposal")],
        ),
    )
    await _approve_all(service, first)
    status = (await repo.read("clients/brightline-dental/status.md"))[0] or ""
    assert "- **Phase:** discovery" in status and "- **Open items:** Send the proposal" in status
    assert "- **Last decision:** Start with appointment reminders (2026-11-02)" in status
    assert "- **Next meeting:** Next meeting on 16 November to review the proposal" in status
    contacts = (await repo.read("contacts.md"))[0] or ""
    assert (
        "## brightline" in contacts and contacts.count("last met 2026-11-02") == 2
    )  # Dr. Alvarez, Tom Becker

    second = await _meeting(db, 7302, "2026-11-16", "Brightline proposal review")
    stored = await service.propose_from_analysis(second, _analysis("ai_audit"))
    assert any(
        p.path == "clients/brightline-dental/status.md" and p.action == "update_section" for p in stored
    )
    await _approve_all(service, second)
    status = (await repo.read("clients/brightline-dental/status.md"))[0] or ""
    assert "- **Phase:** audit" in status and "(2026-11-16)" in status
    # this meeting decided nothing and set no date: the earlier ones are kept, not wiped
    assert "- **Last decision:** Start with appointment reminders (2026-11-02)" in status
    assert "Next meeting on 16 November" in status
    contacts = (await repo.read("contacts.md"))[0] or ""
    assert contacts.count("last met 2026-11-16") == 2 and "last met 2026-11-02" not in contacts
