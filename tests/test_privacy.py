"""Retention, erasure and export on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL)
and a real OS git repository: purged transcripts leave search; a forgotten person leaves people,
attendees, transcripts, items, the index, raw bodies and the audit log, and OS edits are proposed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update

from services import audit_log
from services.access import EVERYTHING
from services.analysis.heuristic import HeuristicAnalyzer
from services.db import Database
from services.fathom import parse_meeting
from services.meetings import MeetingStore
from services.models import ActionItem, AuditLog, ErasureRecord, Meeting, OSProposal, Person, WebhookDelivery
from services.os_config import load_os_config, parse_os_config
from services.privacy import export, forget, purge_expired
from services.proposals import ProposalService
from services.search import SearchIndex, SearchQuery
from tests.helpers import load_fixture
from tests.support.os_repo import commit_file, init_os

TOM = "tom@brightline-dental.example"
CONTACTS = """\
# Brightline Dental contacts

## People
- Dr. Rosa Alvarez, practice owner, rosa@brightline-dental.example
- Tom Becker, office manager, tom@brightline-dental.example, +1 415 555 0101
- Priya Natarajan, compliance officer

## Notes
Three clinics; Open Dental.
"""


async def ingest(
    db: Database, name: str, *, recording_id: int | None = None, webhook_id: str = "msg_1"
) -> int:
    """Stored as the pipeline stores it: raw delivery, meeting, heuristic analysis, search index."""
    data = load_fixture(name)
    if recording_id:
        data["recording_id"] = recording_id
    async with db.session() as s:
        s.add(WebhookDelivery(webhook_id=webhook_id, status="accepted", body=json.dumps(data).encode(),
                              recording_id=data["recording_id"]))  # fmt: skip
    fathom = parse_meeting(data)
    store = MeetingStore(db)
    meeting_id = (await store.ingest(fathom)).meeting_id
    await store.store_analysis(meeting_id, await HeuristicAnalyzer().analyze(fathom))
    await SearchIndex(db).index_meeting(meeting_id)
    return meeting_id


async def line_passages(db: Database, meeting_id: int) -> int:
    if db.is_sqlite:
        sql = "SELECT COUNT(*) FROM search_fts WHERE meeting_id = :m AND kind = 'line'"
    else:
        sql = "SELECT COUNT(*) FROM search_passages WHERE meeting_id = :m AND kind = 'line'"
    async with db.session() as s:
        return int((await s.execute(text(sql), {"m": meeting_id})).scalar() or 0)


async def test_retention_purges_old_transcripts_from_meeting_raw_body_and_search(any_db: Database) -> None:
    db = any_db
    old = await ingest(db, "ai_audit_discovery")
    recent = await ingest(db, "ami_ES2006a_kickoff", webhook_id="msg_2")
    async with db.session() as s:
        started = (await s.get_one(Meeting, recent)).started_at
        assert started is not None
        await s.execute(
            update(Meeting).where(Meeting.id == old).values(started_at=started - timedelta(days=90))
        )
    now = started + timedelta(days=1)
    query = SearchQuery(text="insurance verification")
    hits = await SearchIndex(db).search(query, EVERYTHING, per_meeting=5, limit=20)
    assert any(h.meeting_id == old and h.kind == "line" for h in hits)
    assert await line_passages(db, old) > 0 and await line_passages(db, recent) > 0

    forever = await purge_expired(db, parse_os_config(""), now=now)
    assert forever.transcripts == 0 and "kept forever" in forever.lines()[0]

    config = parse_os_config("retention:\n  transcripts_days: 30\n")
    dry = await purge_expired(db, config, now=now, dry_run=True)
    assert dry.transcripts == 1 and "would purge 1" in dry.lines()[0]
    assert await line_passages(db, old) > 0  # a dry run changes nothing

    report = await purge_expired(db, config, now=now)
    assert report.transcripts == 1 and report.passages > 0
    assert await line_passages(db, old) == 0 and await line_passages(db, recent) > 0
    hits = await SearchIndex(db).search(query, EVERYTHING, per_meeting=5, limit=20)
    assert not any(h.meeting_id == old and h.kind == "line" for h in hits)
    async with db.session() as s:
        purged = await s.get_one(Meeting, old)
        assert purged.payload.get("transcript") is None and purged.transcript_purged_at is not None
        assert purged.analysis  # analysis and items stay
        assert (await s.scalars(select(ActionItem).where(ActionItem.meeting_id == old))).first()
        body = (
            (await s.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == "msg_1"))).one().body
        )
        assert json.loads(body)["transcript"] is None and json.loads(body)["title"]
        assert (await s.get_one(Meeting, recent)).payload.get("transcript")
    # re-indexing the purged meeting (a re-analysis) does not bring the passages back
    await SearchIndex(db).index_meeting(old)
    assert await line_passages(db, old) == 0
    assert (await purge_expired(db, config, now=now)).transcripts == 0  # nothing left to purge

    bodies = parse_os_config("retention:\n  webhook_bodies_days: 7\n")
    later = now + timedelta(days=30)
    assert (await purge_expired(db, bodies, now=later, dry_run=True)).webhook_bodies == 2
    assert (await purge_expired(db, bodies, now=later)).webhook_bodies == 2
    async with db.session() as s:
        assert all(d.body == b"" for d in await s.scalars(select(WebhookDelivery)))


async def setup_person(db: Database, tmp_path: Path) -> tuple[int, Any, ProposalService]:
    meeting_id = await ingest(db, "ai_audit_discovery")
    async with db.session() as s:
        s.add(Person(email=TOM, name="Tom Becker", slack_user_id="U0TOM", is_external=True))
        audit_log.record(
            s, "U0TOM", "action_item.done", "action_item:1", {"owner": "Tom Becker"}, {"status": "done"}
        )
        audit_log.record(
            s, "U01MAYA", "action_item.reassign", "action_item:2", {"owner_email": TOM}, {"owner": "Maya"}
        )
    repo = await init_os(tmp_path / "os")
    commit_file(repo.path, "contacts/brightline-dental.md", CONTACTS)
    proposals = ProposalService(db, repo, lambda: load_os_config(repo.path))
    return meeting_id, repo, proposals


async def test_export_contains_what_is_stored_about_the_person(any_db: Database, tmp_path: Path) -> None:
    db = any_db
    meeting_id, repo, _ = await setup_person(db, tmp_path)
    bundle = await export(db, TOM.upper(), os_repo=repo)
    assert bundle["email"] == TOM and "Tom Becker" in bundle["names"]
    assert bundle["person"]["slack_user_id"] == "U0TOM"
    [meeting] = bundle["meetings"]
    assert meeting["meeting_id"] == meeting_id and meeting["attendee"][0]["email"] == TOM
    assert meeting["transcript_turns"] and all(
        t["speaker"] == "Tom Becker" for t in meeting["transcript_turns"]
    )
    assert any("no-show" in i["text"] for i in bundle["action_items"])
    assert {a["actor"] for a in bundle["audit_log"]} == {"U0TOM", "U01MAYA"}
    assert bundle["os_files"] == [
        {
            "path": "contacts/brightline-dental.md",
            "lines": ["- Tom Becker, office manager, tom@brightline-dental.example, +1 415 555 0101"],
        }
    ]
    json.dumps(bundle)  # the CLI writes it as JSON


async def test_forget_removes_the_person_everywhere_and_proposes_os_edits(
    any_db: Database, tmp_path: Path
) -> None:
    db = any_db
    meeting_id, repo, proposals = await setup_person(db, tmp_path)
    index = SearchIndex(db)
    assert any(h.meeting_id == meeting_id for h in await index.search(SearchQuery("Becker"), EVERYTHING))

    dry = await forget(db, TOM, os_repo=repo, proposals=proposals, dry_run=True)
    assert dry.counts["meetings"] == 1 and dry.counts["people"] == 1 and dry.record_id is None
    async with db.session() as s:
        assert await s.scalar(select(Person).where(Person.email == TOM))  # dry run: nothing changed

    report = await forget(
        db, TOM, actor="cli", os_repo=repo, proposals=proposals, reindex=index.index_meeting
    )
    assert report.counts["transcript turns"] > 0 and report.counts["action items"] >= 1
    assert report.counts["audit log entries"] == 2 and report.counts["raw webhook bodies"] == 1
    assert any("git filter-repo" in line for line in report.lines())
    async with db.session() as s:
        assert await s.scalar(select(Person).where(Person.email == TOM)) is None
        meeting = await s.get_one(Meeting, meeting_id)
        stored = json.dumps(meeting.payload) + json.dumps(meeting.analysis)
        items = list((await s.scalars(select(ActionItem).where(ActionItem.meeting_id == meeting_id))).all())
        entries = list((await s.scalars(select(AuditLog))).all())
        bodies = b"".join(d.body for d in await s.scalars(select(WebhookDelivery)))
        record = (await s.scalars(select(ErasureRecord))).one()
        pending = list((await s.scalars(select(OSProposal).where(OSProposal.origin.like("erasure%")))).all())
        attendees = (await s.execute(text("SELECT email FROM search_attendees"))).scalars().all()
    for where in (stored, json.dumps([i.text for i in items]), bodies.decode()):
        assert TOM not in where and "Tom Becker" not in where
    turns = [t for t in meeting.payload["transcript"] if t["speaker"]["display_name"] == "[removed]"]
    assert turns and all(t["text"] == "[removed]" for t in turns)
    assert "Dr. Rosa Alvarez" in stored  # the others stay
    export_item = next(i for i in items if "no-show" in i.text)
    assert export_item.owner_email is None and export_item.owner_name is None  # owner cleared, text kept
    assert TOM not in attendees
    assert not any(h.meeting_id == meeting_id for h in await index.search(SearchQuery("Becker"), EVERYTHING))
    logged = json.dumps([[e.actor, e.before, e.after] for e in entries])
    assert TOM not in logged and "Tom Becker" not in logged and "U0TOM" not in logged
    # the erasure record says what and how many, never who
    assert record.actor == "cli" and record.counts["people"] == 1
    assert TOM not in json.dumps(record.counts)
    [proposal] = pending
    assert proposal.path == "contacts/brightline-dental.md" and proposal.section == "## People"
    assert "Tom Becker" not in proposal.content and "Dr. Rosa Alvarez" in proposal.content
    assert proposal.status == "proposed" and report.proposals == [proposal.id]
    content, _ = await repo.read("contacts/brightline-dental.md")
    assert content and "Tom Becker" in content  # only after an approver approves


def test_privacy_report_states_storage_retention_what_claude_sees_and_settings() -> None:
    from blocks.help import PrivacyState, privacy_report
    from services.privacy import privacy_settings

    config = parse_os_config(
        "privacy:\n  mode: standard\n  clients: {brightline-dental: strict}\n"
        "  patterns: [{kind: project, pattern: 'FALCON-\\d+'}]\n  terms: [Falcon]\n"
        "retention:\n  transcripts_days: 90\n"
    )
    current = privacy_settings(config)
    state = PrivacyState(claude_model="claude-sonnet-4-6", database="SQLite", os_path="./os", **current)
    shown = json.dumps(privacy_report(state).blocks)
    assert "Transcripts: 90 days" in shown and "Raw webhook bodies: forever" in shown
    assert "after redaction" in shown and "strict mode also replaces names" in shown
    assert "client `brightline-dental`: strict" in shown and "PROJECT" in shown and "Falcon" not in shown
    offline = privacy_report(PrivacyState(claude_model=None, database="SQLite", os_path="./os", **current))
    assert "nothing leaves this server" in json.dumps(offline.blocks)


def test_cli_retention_forget_and_export(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    """The three commands through `fathom-os` itself, on a real SQLite file and OS repository."""
    import asyncio

    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("OS_REPO_PATH", str(tmp_path / "os"))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the developer's folder

    async def seed() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
        await upgrade(db)
        await ingest(db, "ai_audit_discovery")
        await db.dispose()

    from bot.db import upgrade

    asyncio.run(seed())
    assert main(["retention", "--dry-run"]) == 0
    assert "kept forever" in capsys.readouterr().out
    out = tmp_path / "tom.json"
    assert main(["export", TOM, "--out", str(out)]) == 0
    bundle = json.loads(out.read_text())
    assert bundle["email"] == TOM and bundle["meetings"][0]["transcript_turns"]
    capsys.readouterr()
    assert main(["forget", TOM, "--dry-run"]) == 0
    assert "would change" in capsys.readouterr().out
    assert main(["forget", TOM]) == 0
    printed = capsys.readouterr().out
    assert "erasure record #1" in printed and "git filter-repo" in printed
    assert main(["export", TOM]) == 0
    assert json.loads(capsys.readouterr().out)["meetings"] == []
    assert main(["forget", "not-an-email"]) == 2
    assert "not an e-mail address" in capsys.readouterr().err


# -- erasure from Slack and the erasure's approval card (#18) -----------------------------------

MAYA = "U01MAYA"  # an admin and approver of the sandbox team (bot/runtime.py SANDBOX_TEAM)
JONAS = "U02JONAS"  # a member, not an admin


async def seed_tom(db: Database, os_path: Path) -> int:
    meeting_id = await ingest(db, "ai_audit_discovery")
    async with db.session() as s:
        s.add(Person(email=TOM, name="Tom Becker", slack_user_id="U0TOM", is_external=True))
    commit_file(os_path, "contacts/brightline-dental.md", CONTACTS)
    return meeting_id


def block(view: dict[str, Any] | None, block_id: str) -> dict[str, Any] | None:
    return next((b for b in (view or {}).get("blocks", []) if b.get("block_id") == block_id), None)


def view_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


async def test_admin_erases_a_person_from_home_after_a_dry_run_and_approvers_get_the_card(
    tmp_path: Path,
) -> None:
    from blocks.ids import PrivacyAction, PrivacyField
    from tests.harness import running_bot

    async with running_bot(tmp_path) as bot:
        db = bot.runtime.db
        await seed_tom(db, bot.runtime.os_repo.path)
        await bot.slack.open_home(MAYA)
        await bot.wait_for(lambda: block(bot.slack.home_view(MAYA), "home:admin:privacy") is not None)
        home = bot.slack.home_view(MAYA)
        assert home is not None
        await bot.slack.click_button(MAYA, None, None, PrivacyAction.FORGET, view_id=home["id"])
        await bot.wait_for(lambda: bool(bot.slack.modal_stack(MAYA)))
        modal_id = bot.slack.modal_stack(MAYA)[0]["id"]

        ack = await bot.slack.submit_view(
            MAYA, modal_id, {PrivacyField.EMAIL: {PrivacyField.EMAIL: "tom at x"}}
        )
        assert ack["response_action"] == "errors" and "not an e-mail" in ack["errors"][PrivacyField.EMAIL]

        ack = await bot.slack.submit_view(MAYA, modal_id, {PrivacyField.EMAIL: {PrivacyField.EMAIL: TOM}})
        assert ack["response_action"] == "update"
        preview = view_text(bot.slack.view(modal_id))
        assert "would change" in preview and "people 1" in preview and "Dry run" in preview
        async with db.session() as s:  # the dry run changed nothing
            assert await s.scalar(select(Person).where(Person.email == TOM)) is not None

        await bot.slack.submit_view(MAYA, modal_id)  # Erase
        await bot.wait_for(lambda: "Erased." in view_text(bot.slack.view(modal_id)))
        assert "Erasure record #1" in view_text(bot.slack.view(modal_id))
        async with db.session() as s:
            assert await s.scalar(select(Person).where(Person.email == TOM)) is None
            record = (await s.scalars(select(ErasureRecord))).one()
            logged = (await s.scalars(select(AuditLog).where(AuditLog.action == "person.erased"))).one()
        assert record.actor == MAYA and logged.actor == MAYA and TOM not in json.dumps(logged.after)

        # the erasure's OS edit reaches the approver as a card, by the proposals.publish job
        def erasure_card() -> dict[str, Any] | None:
            return next(
                (m for m in bot.slack.dms(MAYA) if "Erasure request" in json.dumps(m.get("blocks"))), None
            )

        await bot.wait_for(lambda: erasure_card() is not None)
        card = json.dumps(erasure_card())
        assert "contacts/brightline-dental.md" in card and "proposal.approve" in card


async def test_erase_is_admin_only(tmp_path: Path) -> None:
    """No button for a member, and the service refuses them whatever the payload says."""
    from services.errors import NotAllowed
    from services.privacy import PrivacyService
    from tests.harness import running_bot

    async with running_bot(tmp_path) as bot:
        db = bot.runtime.db
        await seed_tom(db, bot.runtime.os_repo.path)
        await bot.slack.open_home(JONAS)
        await bot.wait_for(lambda: block(bot.slack.home_view(JONAS), "home:help") is not None)
        assert block(bot.slack.home_view(JONAS), "home:admin:privacy") is None
        service = bot.runtime.slack.privacy.privacy
        assert isinstance(service, PrivacyService)
        for attempt in (service.preview, service.erase):
            try:
                await attempt(JONAS, TOM)
            except NotAllowed as exc:
                assert "Only admins" in str(exc)
            else:
                raise AssertionError("a non-admin was allowed to erase")
        async with db.session() as s:
            assert await s.scalar(select(Person).where(Person.email == TOM)) is not None


async def test_cli_erasure_while_the_bot_is_down_is_posted_for_approval_when_it_starts(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """`fathom-os forget` stores the OS edits and a proposals.publish job; the bot started later
    posts the approval card (durable through the job table), once per approver."""
    import asyncio

    from bot.cli import main
    from bot.config import load_settings
    from bot.db import upgrade
    from bot.runtime import init_os_repo
    from tests.harness import running_bot

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("OS_REPO_PATH", str(tmp_path / "os"))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    await init_os_repo(load_settings(DATABASE_URL=url, OS_REPO_PATH=str(tmp_path / "os")), sandbox=True)
    db = Database(url)
    await upgrade(db)
    await seed_tom(db, tmp_path / "os")
    await db.dispose()
    assert await asyncio.to_thread(main, ["forget", TOM]) == 0

    async with running_bot(tmp_path) as bot:

        def cards() -> list[Any]:
            return [m for m in bot.slack.dms(MAYA) if "Erasure request" in json.dumps(m.get("blocks"))]

        await bot.wait_for(lambda: len(cards()) == 1)
        assert "contacts/brightline-dental.md" in json.dumps(cards()[0])
        async with bot.runtime.db.session() as s:
            [pending] = (await s.scalars(select(OSProposal).where(OSProposal.origin.like("erasure-%")))).all()
        assert pending.status == "proposed"


async def test_forget_removes_a_lone_first_name_only_when_it_is_unambiguous(
    db: Database, tmp_path: Path
) -> None:
    data = load_fixture("ai_audit_discovery")
    speaker = data["transcript"][0]["speaker"]
    data["transcript"].append(
        {"speaker": speaker, "text": "Thanks Tom, talk tomorrow.", "timestamp": "00:59:00"}
    )
    async with db.session() as s:
        s.add(
            WebhookDelivery(webhook_id="m1", status="accepted", body=b"{}", recording_id=data["recording_id"])
        )
    store = MeetingStore(db)
    meeting_id = (await store.ingest(parse_meeting(data))).meeting_id

    async with db.session() as s:  # a second Tom somewhere else: "Tom" could be either
        s.add(Person(email="tom.hardy@other.example", name="Tom Hardy"))
    await forget(db, TOM, dry_run=False)
    async with db.session() as s:
        kept = json.dumps((await s.get_one(Meeting, meeting_id)).payload)
    assert "Thanks Tom, talk tomorrow." in kept and "Tom Becker" not in kept

    other = load_fixture("ai_audit_discovery")
    other["recording_id"] += 1
    other["transcript"].append(
        {"speaker": speaker, "text": "Thanks Tom, talk tomorrow.", "timestamp": "00:59:00"}
    )
    second = (await store.ingest(parse_meeting(other))).meeting_id
    async with db.session() as s:
        await s.execute(text("DELETE FROM people WHERE email = 'tom.hardy@other.example'"))
    await forget(db, TOM)
    async with db.session() as s:
        scrubbed = json.dumps((await s.get_one(Meeting, second)).payload)
    assert "Thanks [removed], talk tomorrow." in scrubbed  # unambiguous now; "tomorrow" untouched
