"""A Done click, counted: database statements from the click's arrival to the card's chat.update.

Issue #13: the click used to authorise twice and read the item, the meeting and the card's refs
again on the way to Slack (about a dozen statements). Now one unit of work reads the locked row,
authorises once, updates it and writes the audit entry; the redraw needs nothing else from the
database (refs and the meeting's link are known to the publisher since it posted the card).
Statements are attributed to the asyncio task that ran them, so the worker's polling, the
scheduler and the Home debounce (other tasks) cannot blur the count.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sqlalchemy import event

from blocks.ids import ActionItemAction
from blocks.values import ItemRef, encode
from tests.harness import MEETINGS_CHANNEL, Bot, running_bot

MAX_ROUND_TRIPS = 3


async def _owned_card(bot: Bot, owner: str) -> tuple[str, int]:
    await bot.wait_for(lambda: len(bot.parents()) == 1)
    parent = bot.parents()[0]["ts"]

    def find() -> tuple[str, int] | None:
        for reply in bot.slack.thread(MEETINGS_CHANNEL, parent)[1:]:
            text = json.dumps(reply.get("blocks"))
            if f"<@{owner}>" in text and "action_item." in text:
                return reply["ts"], int(reply["blocks"][0]["block_id"].split(":")[1])
        return None

    await bot.wait_for(lambda: find() is not None)
    found = find()
    assert found
    return found


async def test_done_click_makes_at_most_three_round_trips_and_authorises_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _owned_card(bot, "U01MAYA")

        def settled() -> bool:
            return bot.runtime.worker is not None and bot.runtime.worker.busy == 0

        await bot.wait_for(settled)
        seen: list[tuple[asyncio.Task[Any] | None, str]] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            try:
                task = asyncio.current_task()
            except RuntimeError:
                task = None
            seen.append((task, " ".join(statement.split())))

        engine = bot.runtime.db.engine.sync_engine
        updates_before = len(bot.slack.calls_to("chat.update"))
        event.listen(engine, "before_cursor_execute", record)
        try:
            await bot.slack.click_button(
                "U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.DONE, encode(ItemRef(item_id=item_id))
            )
            await bot.wait_for(
                lambda: any(
                    c.params.get("ts") == ts for c in bot.slack.calls_to("chat.update")[updates_before:]
                )
            )
        finally:
            event.remove(engine, "before_cursor_execute", record)

        writes = [task for task, sql in seen if sql.startswith("UPDATE action_items")]
        assert len(writes) == 1, seen
        click = [sql for task, sql in seen if task is writes[0] and not sql.startswith("BEGIN")]
        assert len(click) <= MAX_ROUND_TRIPS, click
        reads_of_the_item = [sql for sql in click if sql.startswith("SELECT") and "FROM action_items" in sql]
        assert len(reads_of_the_item) == 1, click  # one authorisation, against the locked row
        assert "Done by <@U01MAYA>" in json.dumps(bot.slack.message(MEETINGS_CHANNEL, ts)["blocks"])
