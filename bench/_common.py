"""Shared bench setup: a real Runtime against the local Slack server in a temp folder."""

from __future__ import annotations

import base64
import json
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.sandbox import LocalSlack  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"bench-secret-fathom-os-000000").decode()
FIXTURES = ROOT.parent / "shared" / "fixtures" / "fathom"
if not FIXTURES.exists():
    FIXTURES = ROOT / "examples" / "fathom"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(label: str, ms: list[float]) -> str:
    return (
        f"{label}: n={len(ms)} p50={statistics.median(ms):.1f} ms p95={pct(ms, 95):.1f} ms "
        f"p99={pct(ms, 99):.1f} ms max={max(ms):.1f} ms"
    )


def bench_settings(tmp: str, **env: Any) -> Any:
    return load_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
        OS_REPO_PATH=f"{tmp}/os",
        FATHOM_WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=0,
        SLACK_DEFAULT_CHANNEL="C02MEETINGS",
        LOG_LEVEL="WARNING",
        **env,
    )


@asynccontextmanager
async def running(settings: Any, sandbox_slack: Any = None) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, sandbox_slack=sandbox_slack)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@asynccontextmanager
async def remote_slack_runtime(**env: Any) -> AsyncIterator[tuple[Runtime, Any]]:
    """The bot with Slack in another process (as it is in production): the local Slack server's
    own CPU is not charged to the bot. Yields the runtime and a Web API client for inspection."""
    import asyncio
    import subprocess

    from slack_sdk.web.async_client import AsyncWebClient

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.sandbox", cwd=str(ROOT), stdout=subprocess.PIPE
    )
    assert proc.stdout
    api_url = (await proc.stdout.readline()).decode().strip()
    token = "xoxb-local-sandbox"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = bench_settings(
                tmp, SLACK_BOT_TOKEN=token, SLACK_APP_TOKEN="xapp-local-sandbox", SLACK_API_URL=api_url, **env
            )
            async with running(settings) as runtime:
                yield runtime, AsyncWebClient(token=token, base_url=api_url)
    finally:
        proc.terminate()
        await proc.wait()


@asynccontextmanager
async def bench_runtime(**env: Any) -> AsyncIterator[tuple[Runtime, LocalSlack]]:
    """The bot and the local Slack server in this process (Slack's state inspectable directly)."""
    with tempfile.TemporaryDirectory() as tmp:
        slack = await LocalSlack.start()
        try:
            async with running(bench_settings(tmp, **env), slack) as runtime:
                yield runtime, slack
        finally:
            await slack.stop()
