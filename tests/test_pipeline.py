"""The meeting pipeline on a real SQLite file: ingest, analysis, idempotent re-runs, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.analysis.heuristic import HeuristicAnalyzer
from services.analysis.schema import AnalysisOutcome
from services.db import Database
from services.fathom import FathomMeeting, parse_meeting
from services.jobs import JobQueue
from services.meetings import MeetingStore
from services.models import ActionItem, Decision, Job, Meeting, WebhookDelivery
from services.pipeline import ANALYZE_JOB, MeetingPipeline
from tests.helpers import FIXTURE_NAMES, load_fixture


class RecordingPublisher:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.with_items: list[bool] = []
        self.store: MeetingStore | None = None

    async def publish_meeting(self, meeting_id: int, *, with_items: bool = True) -> None:
        assert self.store
        self.calls.append((meeting_id, (await self.store.get(meeting_id)).status))
        self.with_items.append(with_items)


def make_pipeline(
    db: Database, analyze: Any = None, fast: bool = False
) -> tuple[MeetingPipeline, RecordingPublisher]:
    heuristic = HeuristicAnalyzer()
    publisher = RecordingPublisher()
    pipeline = MeetingPipeline(
        db, JobQueue(db), analyze or heuristic.analyze, publisher=publisher, fast_analysis=fast
    )
    publisher.store = pipeline.store
    return pipeline, publisher


async def store_delivery(db: Database, payload: dict[str, Any], webhook_id: str = "msg_1") -> int:
    async with db.session() as s:
        delivery = WebhookDelivery(
            webhook_id=webhook_id,
            status="accepted",
            body=json.dumps(payload).encode(),
            recording_id=payload.get("recording_id"),
        )
        s.add(delivery)
        await s.flush()
        return delivery.id


async def ingest_and_analyse(pipeline: MeetingPipeline, job: Job) -> None:
    """The ingest job posts the first card and queues the analysis job; run that one too."""
    await pipeline.handle_ingest(job)
    for queued in await pipeline.queue.claim(10):
        assert queued.kind == ANALYZE_JOB
        await pipeline.handle_analyze(queued)
        await pipeline.queue.complete(queued.id)


async def count(db: Database, model: Any) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
async def test_every_fixture_goes_through_the_pipeline(db: Database, name: str) -> None:
    pipeline, publisher = make_pipeline(db)
    delivery_id = await store_delivery(db, load_fixture(name))
    await ingest_and_analyse(pipeline, Job(id=1, kind="meeting.ingest", payload={"delivery_id": delivery_id}))
    meeting = await pipeline.store.by_recording(load_fixture(name)["recording_id"])
    assert meeting and meeting.status == "analysed" and meeting.primary_type
    # first card before analysis, then the enriched one
    assert [status for _, status in publisher.calls] == ["received", "analysed"]
    fathom_items = load_fixture(name).get("action_items") or []
    items = await pipeline.store.items(meeting.id)
    assert len(items) >= len(fathom_items)
    assert {i.text for i in items} >= {a["description"] for a in fathom_items}


@pytest.mark.parametrize("fast", [True, False])
async def test_first_card_brings_fathom_items_unless_the_analysis_is_instant(
    db: Database, fast: bool
) -> None:
    pipeline, publisher = make_pipeline(db, fast=fast)
    delivery_id = await store_delivery(db, load_fixture("partner_sync"))
    await ingest_and_analyse(pipeline, Job(id=1, kind="meeting.ingest", payload={"delivery_id": delivery_id}))
    assert publisher.with_items == [not fast, True]


async def test_running_ingest_twice_creates_no_duplicates(db: Database) -> None:
    pipeline, _ = make_pipeline(db)
    delivery_id = await store_delivery(db, load_fixture("ai_audit_discovery"))
    job = Job(id=1, kind="meeting.ingest", payload={"delivery_id": delivery_id})
    await ingest_and_analyse(pipeline, job)
    first = (await count(db, ActionItem), await count(db, Decision))
    await ingest_and_analyse(pipeline, job)
    await pipeline.run_analysis(1)
    assert await count(db, Meeting) == 1
    assert (await count(db, ActionItem), await count(db, Decision)) == first


async def test_fathom_assignees_are_kept(db: Database) -> None:
    store = MeetingStore(db)
    ingested = await store.ingest(parse_meeting(load_fixture("ai_audit_discovery")))
    items = await store.items(ingested.meeting_id)
    assert items[0].owner_email == "maya@agency.example" and items[0].source == "fathom"
    assert items[0].playback_url and "timestamp=229" in items[0].playback_url


async def test_user_edits_survive_a_reanalysis(db: Database) -> None:
    pipeline, _ = make_pipeline(db)
    ingested = await pipeline.store.ingest(parse_meeting(load_fixture("partner_sync")))
    await pipeline.run_analysis(ingested.meeting_id)
    async with db.session() as s:
        item = (await s.scalars(select(ActionItem).order_by(ActionItem.id))).first()
        assert item
        item.priority, item.version, item.due_date = "strategic", 2, None
        item_id = item.id
    await pipeline.run_analysis(ingested.meeting_id)
    async with db.session() as s:
        again = await s.get_one(ActionItem, item_id)
    assert (again.priority, again.due_date) == ("strategic", None)


async def test_failed_analysis_marks_the_meeting_and_shows_it(db: Database) -> None:
    async def broken(_meeting: FathomMeeting, *, os_context: str = "") -> AnalysisOutcome:
        raise RuntimeError("model exploded")

    pipeline, publisher = make_pipeline(db, broken)
    ingested = await pipeline.store.ingest(parse_meeting(load_fixture("partner_sync")))
    with pytest.raises(RuntimeError):
        await pipeline.run_analysis(ingested.meeting_id)
    meeting = await pipeline.store.get(ingested.meeting_id)
    assert meeting.status == "failed" and meeting.error == "RuntimeError"
    assert publisher.calls[-1] == (ingested.meeting_id, "failed")


async def test_reanalysis_is_queued_once_and_audited(db: Database) -> None:
    pipeline, _ = make_pipeline(db)
    ingested = await pipeline.store.ingest(parse_meeting(load_fixture("partner_sync")))
    assert await pipeline.request_reanalysis(ingested.meeting_id, actor="U01MAYA") is True
    assert await pipeline.request_reanalysis(ingested.meeting_id, actor="U01MAYA") is False
    async with db.session() as s:
        jobs = (await s.scalars(select(Job).where(Job.kind == ANALYZE_JOB))).all()
    assert len(jobs) == 1
    from services.audit_log import history

    entries = await history(db, f"meeting:{ingested.meeting_id}")
    assert entries and entries[0].actor == "U01MAYA" and entries[0].action == "meeting.reanalyze"


async def test_ingest_of_a_missing_delivery_is_permanent(db: Database) -> None:
    from services.errors import PermanentJobError

    with pytest.raises(PermanentJobError):
        await MeetingStore(db).ingest_delivery(999)


def test_cli_ingest_prints_the_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main
    from tests.helpers import FIXTURES

    monkeypatch.chdir(tmp_path)
    assert main(["ingest", str(FIXTURES / "ai_audit_discovery.json")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["types"][0]["type"] == "ai_audit" and report["analyzer"] == "heuristic"
    assert any("Send written audit summary" in i["text"] for i in report["action_items"])
    assert report["stored"] is False and not (tmp_path / "data").exists()  # a dry run stores nothing
    assert main(["ingest", str(FIXTURES / "ai_audit_discovery.json"), "--store"]) == 0
    assert "the running bot" in capsys.readouterr().out  # stored as a delivery + job, like a webhook
    assert (tmp_path / "os" / ".git").exists() and (tmp_path / "data" / "fathom_os.sqlite3").exists()
    # jobs listing and reanalyze on the same database (no bot ran, so no meeting exists yet)
    assert main(["jobs"]) == 0
    assert "no failed or dead jobs" in capsys.readouterr().out
    assert main(["reanalyze", "910001"]) == 2
    assert main(["reanalyze", "1"]) == 2
    assert main(["jobs", "retry", "12345"]) == 1
    assert main(["db", "upgrade"]) == 0
    assert main(["search", "reindex"]) == 0
    assert "indexed 0 meetings" in capsys.readouterr().out


def test_cli_ingest_rejects_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text('{"hello": 1}')
    assert main(["ingest", str(tmp_path / "bad.json")]) == 2
    assert "recording_id is missing" in capsys.readouterr().err
    assert main(["ingest", str(tmp_path / "nope.json")]) == 2


def test_cli_os_init_then_check_reports_each_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FATHOM_WEBHOOK_SECRET", "whsec_c2VjcmV0")
    assert main(["os", "init"]) == 0
    assert "created a new OS" in capsys.readouterr().out
    assert main(["os", "init"]) == 0
    assert "using the existing git repository" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    code = main(["check"])
    out = capsys.readouterr().out
    assert "[ok  ] database: sqlite" in out and "[ok  ] fathom webhook" in out
    assert "[warn] claude" in out and "[warn] slack" in out
    assert "no approvers" in out and code == 0  # warnings only
    assert "c2VjcmV0" not in out


async def test_cli_send_signs_and_posts_to_a_running_bot(tmp_path: Path) -> None:
    import asyncio

    from bot.cli import main
    from tests.harness import SECRET, running_bot

    async with running_bot(tmp_path) as bot:
        import os

        os.environ["FATHOM_WEBHOOK_SECRET"] = SECRET
        try:
            from tests.helpers import FIXTURES

            code = await asyncio.to_thread(
                main, ["send", str(FIXTURES / "partner_sync.json"), "--url", bot.webhook_url]
            )
        finally:
            del os.environ["FATHOM_WEBHOOK_SECRET"]
        assert code == 0
        await bot.wait_for(lambda: len(bot.parents()) == 1)
