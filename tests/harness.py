"""End-to-end harness: the real Runtime (HTTP server, workers, Bolt over Socket Mode) against the
project's local Slack-compatible server, a real SQLite file and a real git OS in tmp_path."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import load_settings
from bot.runtime import Runtime
from bot.sandbox import LocalSlack
from services.webhook import sign_delivery
from tests.helpers import load_fixture
from tests.support.webhook import SECRET  # the one secret every test signs with

MEETINGS_CHANNEL = "C02MEETINGS"


class Bot:
    def __init__(self, runtime: Runtime, slack: LocalSlack) -> None:
        self.runtime = runtime
        self.slack = slack

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.runtime.http_port}/webhooks/fathom"

    async def send(self, payload: dict[str, Any] | str, **changes: Any) -> tuple[int, dict[str, Any]]:
        data = load_fixture(payload) if isinstance(payload, str) else dict(payload)
        data.update(changes)
        body = json.dumps(data).encode()
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.webhook_url, data=body, headers=sign_delivery(SECRET, body)) as response,
        ):
            return response.status, await response.json()

    def parents(self, channel: str = MEETINGS_CHANNEL) -> list[Any]:
        return self.slack.messages(channel)

    async def wait_for(self, predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"condition not met within {timeout:.1f}s")


@asynccontextmanager
async def running_bot(tmp_path: Path, **env: Any) -> AsyncIterator[Bot]:
    slack = await LocalSlack.start()
    settings = load_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        OS_REPO_PATH=str(tmp_path / "os"),
        FATHOM_WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=0,
        SLACK_DEFAULT_CHANNEL=MEETINGS_CHANNEL,
        **env,
    )
    runtime = Runtime(settings, sandbox_slack=slack, socket_ping_interval=0.2)
    try:
        await runtime.start()  # a start that fails half-way is still stopped: no task outlives the test
        yield Bot(runtime, slack)
    finally:
        await runtime.stop()
        await slack.stop()
