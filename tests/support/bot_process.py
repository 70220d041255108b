"""`fathom-os run` as a child process against the local Slack server: its environment, its start
(waiting for the webhook URL it prints), and what it carded (each meeting once, with its items)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from sqlalchemy import select

from bot.sandbox import LocalSlack
from services.db import Database
from services.models import ActionItem, Meeting, SlackMessageRef
from tests.harness import MEETINGS_CHANNEL, SECRET

ROOT = Path(__file__).resolve().parents[2]


async def line_matching(stream: asyncio.StreamReader, pattern: str, timeout: float = 30) -> re.Match[str]:
    async def scan() -> re.Match[str]:
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError(f"process ended before printing {pattern!r}")
            if m := re.search(pattern, line):
                return m

    return await asyncio.wait_for(scan(), timeout)


def bot_env(slack: LocalSlack) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ANTHROPIC_", "FATHOM_", "DATABASE_", "JOB_"))
    }
    env.update(
        WEBHOOK_PORT="0",
        FATHOM_WEBHOOK_SECRET=SECRET,
        PYTHONPATH=str(ROOT),
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_APP_TOKEN=slack.app_token,
        SLACK_API_URL=slack.api_url,
        SLACK_DEFAULT_CHANNEL=MEETINGS_CHANNEL,
    )  # JOB_LEASE_SECONDS left at its default: the restart must not depend on it
    return env


async def start_bot(cwd: Path, env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout
    # start-up (migrations, OS repository, sandbox, Socket Mode) is not what these tests time: on a
    # loaded two-core machine it has taken over 30 s
    return proc, (await line_matching(proc.stdout, r"Webhook: (\S+)", timeout=120)).group(1)


async def carded_state(db: Database, slack: LocalSlack) -> tuple[int, list[str]]:
    """(meetings fully carded, items posted more than once): one parent each, every item replied."""
    async with db.session() as s:
        meetings = (await s.scalars(select(Meeting.id))).all()
        refs = {r.entity: r for r in (await s.scalars(select(SlackMessageRef))).all()}
        items = (await s.execute(select(ActionItem.id, ActionItem.meeting_id))).all()
    twice: list[str] = []
    complete = 0
    for meeting_id in meetings:
        ref = refs.get(f"meeting:{meeting_id}")
        if ref is None:
            continue
        thread = slack.thread(MEETINGS_CHANNEL, ref.ts)
        block_ids = [str(b.get("block_id", "")) for m in thread for b in (m.get("blocks") or [])]
        wanted = [f"action_item:{i}" for i, m in items if m == meeting_id]
        if wanted and all(block_ids.count(w) >= 1 for w in wanted):
            complete += 1
        twice += [f"{w} posted {block_ids.count(w)} times" for w in wanted if block_ids.count(w) > 1]
    return complete, twice
