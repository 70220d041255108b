"""A `fathom-os run` process killed with SIGKILL in the middle of sending due-date reminders: after
a restart every person has exactly one DM (#17: reminders were at-most-once, now exactly once).

The crashing process is the real bot with one step of `SlackGateway` patched in that child only
(the product code carries no crash hooks, as in tests/test_os_crash.py): it kills itself right
after Slack answered the Nth reminder's chat.postMessage (before the ref is recorded), or right
after that ref was recorded (before the claim is marked sent). Eight sends run at once, so the
kill also catches others between claim, pending marker and post. The restarted bot takes over the
dead pid's claims at once and sends each again under its key: a message already in Slack is found
in the DM's history by its metadata and updated, not posted a second time.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import upgrade
from bot.sandbox import LocalSlack
from services.db import Database
from services.models import ReminderSent, SlackPendingPost
from tests.support.bot_process import bot_env, start_bot
from tests.support.reminders import (
    due_claims,
    due_dms,
    due_today,
    last_tick,
    ticks_after,
    until,
    working_zone,
)

CHILD = r"""
import os, signal, sys

from services.slack.gateway import SlackGateway

point, nth = sys.argv[1], int(sys.argv[2])
seen = 0


def kill_after(name, entity_of):
    original = getattr(SlackGateway, name)

    async def wrapped(self, *args, **kwargs):
        global seen
        result = await original(self, *args, **kwargs)
        if str(entity_of(args, kwargs) or "").startswith("reminder:"):
            seen += 1
            if seen >= nth:
                os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(SlackGateway, name, wrapped)


if point == "after_post":  # Slack has the DM, the bot has no ref: a pending marker is left
    kill_after("post", lambda args, kwargs: kwargs.get("key"))
else:  # "after_record": the ref is stored, the claim still says `claimed`
    kill_after("_record", lambda args, kwargs: args[0])

from bot.cli import main

sys.exit(main(["run"]))
"""

PEOPLE = 20


async def _run_until_killed(cwd: Path, env: dict[str, str], point: str) -> int:
    """Run the crashing bot to its end; its exit status (it may die before printing its address:
    the first reminder tick can come before the webhook server is up)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, point, "5", cwd=cwd, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        return await asyncio.wait_for(proc.wait(), 120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _left_in_flight(db: Database) -> tuple[int, int]:
    """(claims still `claimed`, pending markers of reminder DMs) after the kill."""
    async with db.session() as s:
        claimed = await s.scalar(
            select(func.count()).select_from(ReminderSent).where(ReminderSent.status == "claimed")
        )
        markers = await s.scalar(
            select(func.count())
            .select_from(SlackPendingPost)
            .where(SlackPendingPost.entity.like("reminder:%"))
        )
    return int(claimed or 0), int(markers or 0)


@pytest.mark.parametrize("point", ["after_post", "after_record"])
async def test_a_bot_killed_mid_send_dms_every_person_exactly_once_after_restart(
    tmp_path: Path, point: str
) -> None:
    zone = working_zone(datetime.now(UTC))
    if zone is None:
        pytest.skip("no time zone has a weekday between 10:00 and 19:00 now (Sat 07:00-Sun 20:00 UTC)")
    slack = await LocalSlack.start()
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    env = {**bot_env(slack), "DATABASE_URL": url, "REMINDER_INTERVAL_SECONDS": "2"}
    db = Database(url)
    proc: asyncio.subprocess.Process | None = None
    try:
        await upgrade(db)
        users = await due_today(db, slack, 0, PEOPLE, *zone)
        assert await _run_until_killed(tmp_path, env, point) == -signal.SIGKILL  # at the crash point
        claimed, markers = await _left_in_flight(db)
        assert claimed >= 2  # the killed send's two items at least: nothing marks them sent now
        if point == "after_post":
            assert markers >= 1 and any(due_dms(slack, u) for u in users)  # in Slack, unrecorded
        assert sum(due_dms(slack, u) for u in users) < PEOPLE  # the kill came before the end

        proc, _ = await start_bot(tmp_path, env)

        async def all_sent() -> bool:
            return await due_claims(db, users) == {"sent": 2 * PEOPLE}

        await until("every due-date claim sent", all_sent)
        seen = await last_tick(db)

        async def two_later_ticks() -> bool:  # the 2nd tick after `seen` began after the 1st finished
            return await ticks_after(db, seen) >= 2

        await until("two later reminder ticks", two_later_ticks)
        assert {u: due_dms(slack, u) for u in users} == {u: 1 for u in users}
        assert (await _left_in_flight(db))[1] == 0
        if point == "after_post":  # the unrecorded DM was found by its metadata, not posted again
            assert slack.calls_to("conversations.history")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        await db.dispose()
        await slack.stop()
