"""`fathom-os run` as a user runs it: no Slack tokens -> the sandbox; a signed webhook becomes a card;
SIGTERM shuts everything down cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from bot.sandbox import LocalSlack
from services.db import Database
from services.models import Job
from services.webhook import sign_delivery
from tests.harness import MEETINGS_CHANNEL, SECRET
from tests.helpers import load_fixture
from tests.support.bot_process import bot_env, carded_state, line_matching, start_bot

ROOT = Path(__file__).resolve().parents[1]


async def test_run_without_tokens_serves_the_sandbox_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ANTHROPIC_", "FATHOM_", "DATABASE_"))
    }
    env.update(WEBHOOK_PORT="0", SANDBOX_PORT="0", FATHOM_WEBHOOK_SECRET=SECRET, PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout
    try:
        webhook = (await line_matching(proc.stdout, r"Webhook: (\S+)")).group(1)
        sandbox = (await line_matching(proc.stdout, r"local Slack sandbox at (\S+)")).group(1)
        body = json.dumps(load_fixture("partner_sync")).encode()
        async with aiohttp.ClientSession() as http:
            async with http.post(webhook, data=body, headers=sign_delivery(SECRET, body)) as r:
                assert r.status == 202
            async with http.get(webhook.replace("/webhooks/fathom", "/healthz")) as r:
                health = await r.json()
                assert health["ok"] and health["slack"]["mode"] == "sandbox"
            async with http.get(sandbox) as r:
                assert r.status == 200 and "<html" in (await r.text()).lower()
            for _ in range(200):  # the card appears in the sandbox's #meetings
                async with http.post(
                    sandbox.rstrip("/") + "/api/conversations.history",
                    data={"channel": "C02MEETINGS"},
                    headers={"Authorization": "Bearer xoxb-local-sandbox"},
                ) as r:
                    if (await r.json()).get("messages"):
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("no meeting card in the sandbox")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (tmp_path / "os" / ".git").exists() and (tmp_path / "data" / "fathom_os.sqlite3").exists()


async def _jobs_by_status(db: Database) -> dict[str, int]:
    async with db.session() as s:
        rows = await s.execute(select(Job.status, func.count()).group_by(Job.status))
        return {status: n for status, n in rows.all()}


async def test_kill_9_with_jobs_in_flight_then_restart_cards_every_meeting_once(tmp_path: Path) -> None:
    slack = await LocalSlack.start()  # outlives the bot: what was posted before the kill stays
    env = bot_env(slack)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'fathom_os.sqlite3'}")
    meetings = 4
    proc, webhook = await start_bot(tmp_path, env)
    try:
        async with aiohttp.ClientSession() as http:
            for n in range(meetings):
                payload = {**load_fixture("partner_sync"), "recording_id": 930_000 + n, "title": f"Sync {n}"}
                body = json.dumps(payload).encode()
                async with http.post(webhook, data=body, headers=sign_delivery(SECRET, body)) as r:
                    assert r.status == 202

        deadline = time.monotonic() + 30
        while not slack.messages(MEETINGS_CHANNEL):  # the first card is out: the rest is in flight
            assert time.monotonic() < deadline, "no card was ever posted"
            await asyncio.sleep(0.005)
        proc.kill()  # SIGKILL: no shutdown, leases stay held by the dead pid
        await proc.wait()
        assert (await _jobs_by_status(db)).get("running", 0) >= 1
        restarted = time.monotonic()
        proc, webhook = await start_bot(tmp_path, env)
        while True:
            complete, twice = await carded_state(db, slack)
            counts = await _jobs_by_status(db)
            if complete == meetings and set(counts) == {"done"}:
                break
            assert time.monotonic() - restarted < 30, (
                f"after 30 s: {complete}/{meetings} carded, jobs {counts}"
            )
            await asyncio.sleep(0.05)
        titles = [str(p.get("text", "")).split(" — ")[0] for p in slack.messages(MEETINGS_CHANNEL)]
        assert sorted(set(titles)) == [f"Sync {n}" for n in range(meetings)], titles
        twice += [f"card {t!r} posted {titles.count(t)} times" for t in set(titles) if titles.count(t) > 1]
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await db.dispose()
        await slack.stop()
    # a kill between Slack's reply to a post and its recorded ref leaves a pending marker: the retry
    # finds the message by its metadata and updates it (services/slack/gateway.py post_or_update)
    assert not twice, twice
