"""Slack misbehaving: 429 storms, 5xx, dropped sockets, refresh requests and re-delivered events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.harness import MEETINGS_CHANNEL, running_bot


async def test_429_storm_during_a_20_meeting_burst_yields_one_card_set_per_meeting(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        bot.slack.fail_next("chat.postMessage", status=429, retry_after=1, count=15)
        bot.slack.fail_next("chat.update", status=429, retry_after=1, count=5)
        results = await asyncio.gather(*[bot.send("partner_sync", recording_id=500 + i) for i in range(20)])
        assert all(status == 202 for status, _ in results)

        async def all_analysed() -> bool:
            meetings = [await bot.runtime.pipeline.store.by_recording(500 + i) for i in range(20)]
            return all(m is not None and m.status == "analysed" for m in meetings)

        await bot.wait_for(all_analysed, timeout=60)
        await bot.wait_for(
            lambda: bot.runtime.worker is not None and bot.runtime.worker.busy == 0, timeout=30
        )
        parents = bot.parents()
        assert len(parents) == 20
        for parent in parents:
            replies = bot.slack.thread(MEETINGS_CHANNEL, parent["ts"])
            item_cards = [r for r in replies if "action_item:" in str(r["blocks"])]
            texts = [r["text"] for r in item_cards]
            assert len(texts) == len(set(texts)) >= 4  # no duplicates
        assert sum(1 for c in bot.slack.calls_to("chat.postMessage") if c.status == 429) == 15


async def test_slack_5xx_is_retried(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        bot.slack.fail_next("chat.postMessage", status=500, count=2)
        await bot.send("minimal_no_content")
        await bot.wait_for(lambda: len(bot.parents()) == 1, timeout=20)


async def test_dropped_socket_reconnects_and_later_events_arrive(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        assert await bot.slack.drop_sockets() >= 1
        ack = await bot.slack.open_home("U01MAYA", timeout=15)
        assert ack == {} or isinstance(ack, dict)
        await bot.wait_for(lambda: bot.slack.home_view("U01MAYA") is not None)


async def test_disconnect_refresh_request_reconnects(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.slack.send_disconnect()
        await bot.slack.mention("U01MAYA", MEETINGS_CHANNEL, "<@UBOT> hello", timeout=15)
        # outside a card's thread the answer goes to the asker only (the access rule): an ephemeral
        await bot.wait_for(lambda: any(e.get("user") == "U01MAYA" for e in bot.slack.ephemerals))


async def test_the_same_event_delivered_twice_is_handled_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        reached: list[str] = []

        @bot.runtime.bolt_app.middleware
        async def count(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:  # noqa: A002
            reached.append(str(body.get("event_id")))  # after the re-delivery filter, before any ack
            await next()

        event = {"type": "app_home_opened", "user": "U02JONAS", "tab": "home", "channel": "D0"}
        await bot.slack.send_event(event, event_id="Ev123")
        await bot.slack.send_event(event, retry_attempt=1, event_id="Ev123")  # returns once acked
        assert reached == ["Ev123"]  # the middleware chain had decided before each ack: a barrier
        await bot.wait_for(lambda: bot.slack.home_view("U02JONAS") is not None)
        publishes = [c for c in bot.slack.calls_to("views.publish") if c.params.get("user_id") == "U02JONAS"]
        assert len(publishes) == 1
