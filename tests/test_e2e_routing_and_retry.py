"""Routing by fathom-os.yml, and a Claude outage: heuristic card marked degraded, Retry re-analyses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from blocks.ids import MeetingAction
from blocks.values import MeetingRef, encode
from tests.harness import MEETINGS_CHANNEL, running_bot
from tests.support.fake_anthropic import FakeAnthropic, server_error

CLIENTS_CHANNEL = "C03CLIENTS"


def commit_config(os_path: Path, routing: str) -> None:
    config = os_path / "fathom-os.yml"
    text = config.read_text()
    start = text.index("routing:")
    end = text.index("\n# Reminders")
    config.write_text(text[:start] + routing + text[end:])
    git = ["git", "-c", "user.name=Maya", "-c", "user.email=maya@agency.example"]
    subprocess.run([*git, "commit", "-qam", "route client meetings"], cwd=os_path, check=True)


async def test_cards_follow_routing_rules_by_client_domain_and_type(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        commit_config(
            tmp_path / "os",
            'routing:\n  default_channel: ""\n  rules:\n'
            '    - domain: brightline-dental.example\n      channel: "C03CLIENTS"\n',
        )
        await bot.send("ai_audit_discovery")
        await bot.send("partner_sync")
        await bot.wait_for(lambda: len(bot.slack.messages(CLIENTS_CHANNEL)) == 1)
        await bot.wait_for(lambda: len(bot.slack.messages(MEETINGS_CHANNEL)) == 1)  # no rule: the default
        assert "Brightline" in bot.slack.messages(CLIENTS_CHANNEL)[0]["text"]
        assert "Partner Sync" in bot.slack.messages(MEETINGS_CHANNEL)[0]["text"]


async def test_claude_outage_gives_a_degraded_card_and_retry_reanalyses(tmp_path: Path) -> None:
    async with FakeAnthropic() as claude:
        claude.responder = lambda _body: server_error()
        async with running_bot(
            tmp_path, ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL=claude.url
        ) as bot:
            await bot.send("partner_sync")
            store = bot.runtime.pipeline.store

            async def analysed() -> bool:
                meeting = await store.by_recording(910002)
                return bool(meeting and meeting.status == "analysed")

            await bot.wait_for(analysed, timeout=30)
            meeting = await store.by_recording(910002)
            assert meeting and meeting.needs_reanalysis and meeting.analyzer == "heuristic"
            parent = bot.parents()[0]
            await bot.wait_for(
                lambda: "basic analysis" in json.dumps(bot.slack.message(MEETINGS_CHANNEL, parent["ts"]))
            )
            assert "sk-ant-test" not in json.dumps(bot.slack.message(MEETINGS_CHANNEL, parent["ts"]))
            failed_calls = len(claude.requests)
            assert {r.model for r in claude.requests} == {
                "claude-sonnet-4-6",
                "claude-haiku-4-5",
            }  # fell back

            claude.responder = None  # Claude is back
            await bot.slack.click_button(
                "U01MAYA", MEETINGS_CHANNEL, parent["ts"], MeetingAction.RETRY_ANALYSIS,
                encode(MeetingRef(meeting_id=meeting.id)),
            )  # fmt: skip

            async def healthy() -> bool:
                m = await store.by_recording(910002)
                return bool(m and m.status == "analysed" and not m.needs_reanalysis)

            await bot.wait_for(healthy, timeout=30)
            assert len(claude.requests) > failed_calls
            await bot.wait_for(
                lambda: "basic analysis" not in json.dumps(bot.slack.message(MEETINGS_CHANNEL, parent["ts"]))
            )
            assert len(bot.parents()) == 1
