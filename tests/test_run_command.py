"""`fathom-os run` as a user runs it: no Slack tokens -> the sandbox; a signed webhook becomes a card;
SIGTERM shuts everything down cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp

from services.webhook import sign_delivery
from tests.harness import SECRET
from tests.helpers import load_fixture

ROOT = Path(__file__).resolve().parents[1]


async def _line_matching(stream: asyncio.StreamReader, pattern: str, timeout: float = 30) -> re.Match[str]:
    async def scan() -> re.Match[str]:
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError(f"process ended before printing {pattern!r}")
            if m := re.search(pattern, line):
                return m

    return await asyncio.wait_for(scan(), timeout)


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
        webhook = (await _line_matching(proc.stdout, r"Webhook: (\S+)")).group(1)
        sandbox = (await _line_matching(proc.stdout, r"local Slack sandbox at (\S+)")).group(1)
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
