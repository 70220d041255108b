"""/healthz reflects the ability to accept work: a database that cannot be written, failing job
claims or a Slack that is down make it 503 with the reason (it answered 200 while webhooks failed)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import load_settings
from bot.db import upgrade
from bot.runtime import Runtime
from bot.sandbox import LocalSlack
from services.db import Database
from services.jobs import JobQueue
from services.webhook import sign_delivery
from tests.harness import SECRET, Bot, running_bot
from tests.helpers import load_fixture


async def _health(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        return r.status, await r.json()


def _health_url(bot: Bot) -> str:
    return f"http://127.0.0.1:{bot.runtime.http_port}/healthz"


async def test_healthy_bot_is_200_with_writable_database_slack_and_jobs(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        status, report = await _health(_health_url(bot))
    assert status == 200 and report["ok"] is True and "reasons" not in report
    assert report["database"]["writable"] is True
    assert report["slack"]["ok"] is True and report["slack"]["socket_connected"] is True
    assert report["jobs"]["ok"] is True


async def test_write_locked_database_is_503_with_the_reason_and_recovers(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        # another process holds the write lock (taken off the event loop: the bot must keep running)
        holder = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(holder.execute, "BEGIN EXCLUSIVE")
        try:
            status, report = await _health(_health_url(bot))
            assert status == 503 and report["ok"] is False
            assert report["database"]["ok"] is False
            assert any(r.startswith("database:") and "locked" in r for r in report["reasons"]), report
        finally:
            await asyncio.to_thread(holder.execute, "ROLLBACK")
            holder.close()

        async def recovered() -> bool:  # the checks left waiting on the lock answer, then all is green
            return (await _health(_health_url(bot)))[0] == 200

        await bot.wait_for(recovered, timeout=30)


async def test_read_only_database_is_503_with_failing_claims_and_webhooks_get_503(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    setup = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(setup)
    await JobQueue(setup).submit("meeting.ingest", {"delivery_id": 1})  # work the workers will try to claim
    await setup.dispose()
    slack = await LocalSlack.start()
    settings = load_settings(
        # root ignores chmod, so open the file read-only the way a read-only mount behaves
        DATABASE_URL=f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true",
        OS_REPO_PATH=str(tmp_path / "os"),
        FATHOM_WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=0,
    )
    runtime = Runtime(settings, sandbox_slack=slack)
    try:
        await runtime.start()
        url = f"http://127.0.0.1:{runtime.http_port}"

        async def claims_failing() -> bool:  # the event that must come first: a claim was refused
            return runtime.queue.last_claim_error is not None

        await Bot(runtime, slack).wait_for(claims_failing, timeout=30)
        status, report = await _health(f"{url}/healthz")
        assert status == 503 and "readonly" in report["database"]["reason"], report
        assert report["jobs"]["ok"] is False and "job claims failing" in report["jobs"]["reason"]
        assert [r.split(":")[0] for r in report["reasons"]] == ["database", "jobs"]
        body = json.dumps(load_fixture("partner_sync")).encode()
        headers = sign_delivery(SECRET, body)
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{url}/webhooks/fathom", data=body, headers=headers) as r,
        ):
            assert r.status == 503 and "retry later" in (await r.json())["error"]
    finally:
        await runtime.stop()
        await slack.stop()


async def test_slack_down_is_503_with_the_reason(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        assert (await _health(_health_url(bot)))[0] == 200
        await bot.slack.stop()  # the Slack stand-in goes away: Socket Mode drops

        async def degraded() -> bool:
            status, report = await _health(_health_url(bot))
            return status == 503 and any(r.startswith("slack:") for r in report.get("reasons", []))

        await bot.wait_for(degraded, timeout=30)
        _status, report = await _health(_health_url(bot))
        assert report["slack"]["socket_connected"] is False and report["database"]["ok"] is True
