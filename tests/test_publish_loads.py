"""One publish of a meeting card reads the meeting once (issue #13: the card, the routing, the
details reply and the item cards each re-read or re-validated it). Counted with
before_cursor_execute in the publishing task, after the pipeline has settled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from services.access import EVERYTHING
from services.models import Job, MeetingFacts, OSProposal
from services.search import parse_query
from tests.harness import MEETINGS_CHANNEL, Bot, running_bot


async def _jobs(bot: Bot) -> list[tuple[str, str]]:
    async with bot.runtime.db.session() as s:
        return [(j.kind, j.status) for j in (await s.scalars(select(Job))).all()]


async def _jobs_settled(bot: Bot) -> bool:
    """Every job the ingest queued has finished (the analysis, and whatever its hooks queued)."""
    jobs = await _jobs(bot)
    return any(kind == "meeting.analyze" for kind, _ in jobs) and all(
        status in ("done", "dead") for _, status in jobs
    )


async def _done_kinds(bot: Bot) -> list[str]:
    return [kind for kind, status in await _jobs(bot) if status == "done"]


async def test_a_publish_reads_the_meeting_row_once_and_redraws_the_same_card(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        await bot.wait_for(lambda: len(bot.parents()) == 1)
        await bot.wait_for(lambda: "Generate client OS" in json.dumps(bot.parents()[0].get("blocks")))
        await bot.wait_for(lambda: bot.runtime.worker is not None and bot.runtime.worker.busy == 0)
        before = bot.parents()[0]
        meeting_id = int(before["blocks"][0]["block_id"].split(":")[1])
        seen: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(" ".join(statement.split()))

        engine = bot.runtime.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            await bot.runtime.slack.meeting_cards.publish_meeting(meeting_id)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        meeting_reads = [
            sql for sql in seen if sql.startswith("SELECT") and "FROM meetings WHERE meetings.id" in sql
        ]
        assert len(meeting_reads) == 1, seen
        after = bot.parents()[0]
        assert after["ts"] == before["ts"] and after["blocks"] == before["blocks"], (
            "updated in place, unchanged"
        )
        details = [
            m
            for m in bot.slack.thread(MEETINGS_CHANNEL, before["ts"])
            if "details:" in json.dumps(m.get("blocks"))
        ]
        assert len(details) == 1


async def test_an_ingest_reads_the_meeting_row_at_most_three_times(tmp_path: Path) -> None:
    """First card, analysis, enriched card: one read each. The after_analysis hooks (proposals,
    search, approvals, analytics, sentiment, outbox) get the loaded meeting instead of re-reading it."""
    async with running_bot(tmp_path) as bot:
        seen: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(" ".join(statement.split()))

        engine = bot.runtime.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            await bot.send("ai_audit_discovery")
            await bot.wait_for(lambda: "Generate client OS" in json.dumps(bot.parents()[:1]))
            await bot.wait_for(lambda: _jobs_settled(bot))
        finally:
            event.remove(engine, "before_cursor_execute", record)
        kinds = await _done_kinds(bot)
        assert "meeting.ingest" in kinds and "meeting.analyze" in kinds, kinds
        meeting_reads = [
            sql for sql in seen if sql.startswith("SELECT") and "FROM meetings WHERE meetings.id" in sql
        ]
        assert 1 <= len(meeting_reads) <= 3, "\n".join(meeting_reads)  # 10 before #13's clean-up
        # the hooks still ran, on the row they were handed: the facts, the index, the OS proposals
        meeting_id = int(bot.parents()[0]["blocks"][0]["block_id"].split(":")[1])
        async with bot.runtime.db.session() as s:
            facts = await s.get(MeetingFacts, meeting_id)
            proposals = (await s.scalars(select(OSProposal).where(OSProposal.meeting_id == meeting_id))).all()
        assert facts is not None and facts.meeting_id == meeting_id
        assert proposals, "the proposals hook stored the analysis' OS changes"
        hits = await bot.runtime.domain.search.search(parse_query("brightline dental"), EVERYTHING)
        assert meeting_id in {h.meeting_id for h in hits}
