"""A signed Fathom webhook becomes a threaded meeting card in (local) Slack, first fast then enriched."""

from __future__ import annotations

from pathlib import Path

from tests.harness import MEETINGS_CHANNEL, running_bot


async def test_webhook_becomes_parent_card_with_one_reply_per_action_item(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        status, _ = await bot.send("ai_audit_discovery")
        assert status == 202
        await bot.wait_for(lambda: len(bot.parents()) == 1)
        parent = bot.parents()[0]
        await bot.wait_for(
            lambda: "Generate client OS" in str(bot.slack.message(MEETINGS_CHANNEL, parent["ts"])["blocks"])
        )
        card = bot.slack.message(MEETINGS_CHANNEL, parent["ts"])
        text = str(card["blocks"])
        assert "Brightline Dental" in text and "View in Fathom" in text

        def find_items() -> list[dict]:  # type: ignore[type-arg]
            return [
                r
                for r in bot.slack.thread(MEETINGS_CHANNEL, parent["ts"])
                if "action_item:" in str(r.get("blocks", ""))  # file replies carry no blocks
            ]

        # Fathom's four items, plus any the analysis found
        await bot.wait_for(lambda: len(find_items()) >= 4)
        item_replies = find_items()
        assert any("<@U01MAYA>" in str(r["blocks"]) for r in item_replies)  # owner mapped by email
        assert len(bot.parents()) == 1
        assert bot.slack.calls_to("chat.update"), "the parent was enriched in place"


async def test_a_meeting_card_links_related_meetings(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("partner_sync")
        await bot.wait_for(lambda: len(bot.parents()) == 1)
        first = bot.parents()[0]["ts"]
        # the first meeting is analysed and indexed once its thread replies are posted
        await bot.wait_for(lambda: len(bot.slack.thread(MEETINGS_CHANNEL, first)) > 1)
        await bot.send("partner_sync", recording_id=920001, title="Weekly Partner Sync (next week)")
        await bot.wait_for(lambda: len(bot.parents()) == 2)
        second = bot.parents()[1]

        def related_line() -> str:
            blocks = bot.slack.message(MEETINGS_CHANNEL, second["ts"])["blocks"]
            return next((str(b) for b in blocks if str(b.get("block_id", "")).endswith(":related")), "")

        await bot.wait_for(lambda: "Weekly Partner Sync" in related_line())
        assert "/archives/" in related_line() or "http" in related_line()  # a link to the first thread
