"""Due-date reminder helpers shared by the multi-instance and reminder-crash process tests: a time
zone where it is working hours now, people with items due today, and counts of their DMs, claims and
scheduler ticks."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.sandbox import LocalSlack
from services.db import Database
from services.models import ActionItem, Meeting, Person, ReminderSent, SchedulerRun


def working_zone(now: datetime) -> tuple[str, date] | None:
    """A fixed-offset zone where it is now a weekday between 10:00 and 19:00 (due hour 9, quiet from
    20:00), and the date there; None from Saturday 07:00 to Sunday 20:00 UTC, when there is none."""
    for hours in range(-12, 15):
        local = now + timedelta(hours=hours)
        if local.weekday() < 5 and 10 <= local.hour < 19:
            # Etc/GMT's sign is POSIX's: Etc/GMT-3 is UTC+3
            return (f"Etc/GMT{-hours:+d}" if hours else "Etc/UTC"), local.date()
    return None


async def due_today(
    db: Database, slack: LocalSlack, first: int, count: int, zone: str, today: date
) -> list[str]:
    """`count` people with a Slack id, two items each due today (local), on a meeting of their own."""
    users = [
        slack.add_user(f"Due {n}", f"due{n}@agency.example", tz=zone).id for n in range(first, first + count)
    ]
    async with db.session() as s:
        meeting = Meeting(recording_id=990_000 + first, title=f"Reminders {first}", payload={})
        s.add(meeting)
        await s.flush()
        for n, user in enumerate(users, start=first):
            s.add(Person(email=f"due{n}@agency.example", name=f"Due {n}", slack_user_id=user, tz=zone))
            for k in range(2):
                s.add(ActionItem(meeting_id=meeting.id, dedupe_key=f"due{n}-{k}", source="manual",
                                 text=f"Task {k} of Due {n}", owner_slack_id=user, due_date=today))  # fmt: skip
    return users


def due_dms(slack: LocalSlack, user: str) -> int:
    """Due-date DMs only: the daily digest (also a DM, at 08:00) is told apart by its header."""
    return sum("digest:" not in json.dumps(m.get("blocks")) for m in slack.dms(user))


async def due_claims(db: Database, users: list[str]) -> dict[str, int]:
    async with db.session() as s:
        rows = await s.execute(
            select(ReminderSent.status, func.count())
            .where(ReminderSent.kind == "due", ReminderSent.recipient.in_(users))
            .group_by(ReminderSent.status)
        )
        return {status: n for status, n in rows.all()}


async def ticks_after(db: Database, tick: str) -> int:
    async with db.session() as s:
        query = select(func.count()).where(SchedulerRun.job == "reminders.tick", SchedulerRun.tick > tick)
        return int(await s.scalar(query.select_from(SchedulerRun)) or 0)


async def last_tick(db: Database) -> str:
    async with db.session() as s:
        query = select(func.max(SchedulerRun.tick)).where(SchedulerRun.job == "reminders.tick")
        return str(await s.scalar(query) or "")


async def until(what: str, check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
