"""One publish of a meeting card reads the meeting once (issue #13: the card, the routing, the
details reply and the item cards each re-read or re-validated it). Counted with
before_cursor_execute in the publishing task, after the pipeline has settled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.harness import MEETINGS_CHANNEL, running_bot


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
