"""Conversations in a meeting's thread (#19): offline answer latency (target p95 < 500 ms) and the
Claude tokens a follow-up question costs on a one-hour meeting.

Latency: a question posted in the card's thread of a ~70-minute AMI meeting, measured from sending
the `message` event over Socket Mode to the answer appearing in the thread (local Slack server,
offline analyzer and offline Q&A, SQLite).
Tokens: the same follow-up asked with Claude (the real anthropic SDK against the project's fake
Anthropic server); the request as sent is counted at 4 characters a token, split into the part
marked `cache_control` (a cache read after the first question) and the rest.

Run: .venv/bin/python bench/bench_threads.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import aiohttp
from _common import ROOT, SECRET, bench_runtime, fixture, summary

from services.webhook import sign_delivery

sys.path.insert(0, str(ROOT))
from tests.support.fake_anthropic import FakeAnthropic, message_reply  # noqa: E402

MEETING = "ami_ES2006d_decision"
CHANNEL = "C02MEETINGS"
QUESTIONS = (
    "what did they decide about the remote control's case material?",
    "who is responsible for the user interface?",
    "what was said about the battery?",
    "how much will the remote cost?",
    "did anyone mention the logo?",
    "what did the marketing expert say about trends?",
    "when is the next meeting?",
    "why did they drop the LCD screen?",
)


async def _card(runtime: Any, slack: Any, http: aiohttp.ClientSession) -> str:
    url = f"http://127.0.0.1:{runtime.http_port}/webhooks/fathom"
    body = json.dumps(fixture(MEETING)).encode()
    async with http.post(url, data=body, headers=sign_delivery(SECRET, body)) as r:
        assert r.status == 202, r.status
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        parents = slack.messages(CHANNEL)
        if parents and "Retry analysis" not in json.dumps(parents[0]) and parents[0].get("edited"):
            return str(parents[0]["ts"])
        await asyncio.sleep(0.05)
    raise SystemExit("the meeting card never finished")


def _answers(slack: Any, ts: str) -> int:
    """Answers in the thread, read from the server's state without copying it (the bench must not
    spend the bot's CPU on watching)."""
    posts = slack.workspace.posts.get(CHANNEL, [])
    return sum(
        1
        for m in posts
        if m.get("thread_ts") == ts
        and m.get("bot_id")
        and any(str(b.get("block_id", "")).startswith("qa:") for b in m.get("blocks") or [])
    )


async def latency(rounds: int) -> list[float]:
    async with bench_runtime() as (runtime, slack), aiohttp.ClientSession() as http:
        ts = await _card(runtime, slack, http)
        seen, ms = _answers(slack, ts), []
        for n in range(rounds):
            start = time.perf_counter()
            await slack.send_message("U02JONAS", CHANNEL, QUESTIONS[n % len(QUESTIONS)], ts)
            while _answers(slack, ts) == seen:
                await asyncio.sleep(0.005)
            ms.append((time.perf_counter() - start) * 1000)
            seen += 1
        return ms


def _tokens(request: dict[str, Any]) -> tuple[int, int]:
    """(all input tokens, tokens in blocks marked cache_control or before them)."""
    parts: list[tuple[str, bool]] = []
    system = request.get("system") or ""
    blocks = [{"text": system}] if isinstance(system, str) else system
    for block in blocks:
        parts.append((json.dumps(block.get("text", "")), bool(block.get("cache_control"))))
    for message in request.get("messages") or []:
        content = message.get("content")
        for block in [{"text": content}] if isinstance(content, str) else content:
            parts.append((json.dumps(block.get("text", "")), bool(block.get("cache_control"))))
    total = sum(len(t) for t, _ in parts) // 4
    last = max((i for i, (_, cached) in enumerate(parts) if cached), default=-1)
    cached = sum(len(t) for t, _ in parts[: last + 1]) // 4
    return total, cached


async def tokens() -> tuple[int, int]:
    async with FakeAnthropic() as claude:
        env = {"ANTHROPIC_API_KEY": "sk-ant-bench", "ANTHROPIC_BASE_URL": claude.url}
        async with bench_runtime(**env) as (runtime, slack), aiohttp.ClientSession() as http:
            ts = await _card(runtime, slack, http)
            claude.enqueue(*[message_reply("Omar said the case should be rubber [00:10:00].")] * 2)
            start = len(claude.requests)
            for question in QUESTIONS[:2]:  # the first question, then the follow-up
                seen = _answers(slack, ts)
                await slack.send_message("U02JONAS", CHANNEL, question, ts)
                while _answers(slack, ts) == seen:
                    await asyncio.sleep(0.01)
            follow_up = claude.requests[start + 1].body
        for client in claude.clients:
            await client.close()
    return _tokens(follow_up)


async def main(rounds: int) -> None:
    ms = await latency(rounds)
    print(summary(f"thread answer, offline ({MEETING})", ms))
    total, cached = await tokens()
    print(f"Claude follow-up question: {total} input tokens, {cached} in the cache-marked prefix")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    asyncio.run(main(parser.parse_args().rounds))
