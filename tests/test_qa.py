"""@-mention Q&A (offline passages; Claude through the real SDK against a local fake API), and the
/os-meetings and /os-help commands end to end through the local Slack server."""

from __future__ import annotations

import json
from pathlib import Path

from anthropic import AsyncAnthropic
from sqlalchemy import select

from blocks.qa import qa_answer
from bot.config import DEFAULT_PRICES
from services.access import EVERYTHING
from services.db import Database
from services.models import LLMUsage
from services.qa import QAService
from services.search import SearchIndex
from tests.harness import MEETINGS_CHANNEL, running_bot
from tests.support.fake_anthropic import FakeAnthropic, message_reply
from tests.test_search import ingest_fixtures

QUESTION = "what did we discuss about the remote control buttons?"


async def test_offline_answer_is_the_best_passages_with_links(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    answer = await QAService(db, SearchIndex(db)).answer(
        "what did we hear from Brightline Dental?", EVERYTHING
    )
    assert answer.text is None and answer.sources
    assert answer.sources[0].meeting_id == ids["ai_audit_discovery"]
    message = qa_answer(answer, {ids["ai_audit_discovery"]: "https://slack.example/thread"})
    shown = json.dumps(message.blocks)
    assert "Claude is off" in shown and "https://slack.example/thread" in shown


async def test_claude_answers_from_numbered_passages_and_usage_is_recorded(any_db: Database) -> None:
    db = any_db
    await ingest_fixtures(db)
    async with FakeAnthropic() as fake:
        fake.enqueue(message_reply("They agreed the buttons should be few and large [1]."))
        client = AsyncAnthropic(api_key="sk-test", base_url=fake.url, max_retries=0)
        try:
            answer = await QAService(
                db, SearchIndex(db), client, model="claude-sonnet-4-6", prices=DEFAULT_PRICES
            ).answer(QUESTION, EVERYTHING)
        finally:
            await client.close()
    assert answer.text == "They agreed the buttons should be few and large [1]."
    sent = fake.requests[0]
    assert "[1] Remote Control Project" in sent.user_text and QUESTION in sent.user_text
    assert sent.model == "claude-sonnet-4-6"
    shown = json.dumps(qa_answer(answer, {}).blocks)
    assert "few and large [1]" in shown and "timestamp=" in shown
    async with db.session() as s:
        usage = (await s.scalars(select(LLMUsage).where(LLMUsage.purpose == "qa"))).one()
    assert usage.input_tokens == 1200 and usage.cost_usd > 0


async def test_claude_failure_falls_back_to_passages(any_db: Database) -> None:
    db = any_db
    await ingest_fixtures(db)
    async with FakeAnthropic() as fake:
        from tests.support.fake_anthropic import server_error

        fake.enqueue(server_error())
        client = AsyncAnthropic(api_key="sk-test", base_url=fake.url, max_retries=0)
        try:
            answer = await QAService(db, SearchIndex(db), client).answer(QUESTION, EVERYTHING)
        finally:
            await client.close()
    assert answer.text is None and answer.sources and answer.error
    assert "Claude is not available" in json.dumps(qa_answer(answer, {}).blocks)


async def test_mention_search_and_help_through_local_slack(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        await bot.wait_for(lambda: len(bot.parents()) == 1)
        await bot.wait_for(lambda: "Generate client OS" in json.dumps(bot.parents()[0].get("blocks")))
        parent_ts = bot.parents()[0]["ts"]

        await bot.slack.mention("U01MAYA", MEETINGS_CHANNEL, "what did Brightline say about their phones?")
        asked = bot.slack.messages(MEETINGS_CHANNEL)[-1]
        await bot.wait_for(lambda: len(bot.slack.ephemerals) == 1)  # outside a card's thread: to Maya only
        reply = bot.slack.ephemerals[-1]
        assert reply["user"] == "U01MAYA" and reply["channel"] == MEETINGS_CHANNEL
        assert "Brightline Dental" in json.dumps(reply["blocks"]) and "timestamp=" in json.dumps(reply["blocks"])
        assert len(bot.slack.thread(MEETINGS_CHANNEL, asked["ts"])) <= 1, "no public reply"

        await bot.slack.send_command("U01MAYA", MEETINGS_CHANNEL, "/os-meetings", "brightline with:@maya")
        await bot.wait_for(lambda: len(bot.slack.ephemerals) == 2)
        results = json.dumps(bot.slack.ephemerals[-1])
        assert "1 meeting" in results and "Brightline Dental" in results
        assert parent_ts.replace(".", "") in results, "links to the meeting's thread"

        await bot.slack.send_command("U01MAYA", MEETINGS_CHANNEL, "/os-help")
        await bot.wait_for(lambda: "Configuration" in json.dumps(bot.slack.ephemerals[-1]))
        shown = json.dumps(bot.slack.ephemerals[-1])
        assert "/os-meetings" in shown and "offline heuristic" in shown and "local Slack sandbox" in shown
