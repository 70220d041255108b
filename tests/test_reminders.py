"""Reminder runs against a controllable clock, the local Slack server and a real database."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select

from blocks.common import notice
from bot.sandbox import LocalSlack
from services.clock import utcnow
from services.db import Database
from services.models import ActionItem, Meeting, Person, ReminderSent, SlackMessageRef, SlackPendingPost
from services.os_config import OSConfig, QuietHours, Reminders
from services.reminders import ReminderService
from services.slack.gateway import RateGate, SlackGateway, retry_handlers
from services.slack.reminders import ReminderPublisher

_ids = count(1)


@pytest.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    local = await LocalSlack.start()
    yield local
    await local.stop()


def gateway(slack: LocalSlack, db: Database) -> SlackGateway:
    gate = RateGate()
    client = AsyncWebClient(
        token=slack.bot_token, base_url=slack.api_url, retry_handlers=retry_handlers(gate)
    )
    return SlackGateway(client, db, gate)


def service(slack: LocalSlack, db: Database, **policy: object) -> ReminderService:
    policy.setdefault("digest_hour", 23)  # inside quiet hours: no digest unless a test asks
    config = OSConfig(reminders=Reminders(**policy))  # type: ignore[arg-type]
    return ReminderService(db, lambda: config, ReminderPublisher(gateway(slack, db)))


async def meeting(db: Database) -> int:
    async with db.session() as s:
        m = Meeting(recording_id=next(_ids) + 10_000, title="Sync", payload={})
        s.add(m)
        s.add_all(
            [
                Person(
                    email="maya@agency.example",
                    name="Maya Chen",
                    slack_user_id="U01MAYA",
                    tz="America/New_York",
                ),
                Person(
                    email="jonas@agency.example",
                    name="Jonas Reed",
                    slack_user_id="U02JONAS",
                    tz="Europe/Berlin",
                ),
            ]
        ) if not await s.get(Person, 1) else None
        await s.flush()
        return m.id


async def item(db: Database, meeting_id: int, owner: str, due: date | None, **fields: object) -> int:
    async with db.session() as s:
        row = ActionItem(
            meeting_id=meeting_id,
            dedupe_key=f"k{next(_ids)}",
            source="manual",
            text=str(fields.pop("text", f"Task for {owner} due {due}")),
            owner_slack_id=owner,
            due_date=due,
            **fields,
        )
        s.add(row)
        await s.flush()
        return row.id


def dms(slack: LocalSlack, user: str) -> list[str]:
    return [json.dumps(m.get("blocks")) for m in slack.dms(user)]


async def refs(db: Database) -> list[str]:
    """The entities of every message ref the gateway has recorded."""
    async with db.session() as s:
        return sorted((await s.scalars(select(SlackMessageRef.entity))).all())


WED = date(2026, 1, 14)  # winter: New York UTC-5, Berlin UTC+1


def at(day: date, hh: int, mm: int = 5) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


async def test_due_dm_at_nine_in_each_owners_timezone_listing_all_their_items(
    db: Database, slack: LocalSlack
) -> None:
    m = await meeting(db)
    a, b = await item(db, m, "U01MAYA", WED), await item(db, m, "U01MAYA", WED)
    await item(db, m, "U02JONAS", WED)
    await item(db, m, "U01MAYA", WED + timedelta(days=2))  # not due yet
    reminders = service(slack, db)
    await reminders.tick(at(WED, 8))  # Berlin 09:05, New York 03:05
    assert len(dms(slack, "U02JONAS")) == 1 and dms(slack, "U01MAYA") == []
    await reminders.tick(at(WED, 14))  # New York 09:05
    maya = dms(slack, "U01MAYA")
    assert len(maya) == 1 and f"action_item:{a}" in maya[0] and f"action_item:{b}" in maya[0]
    assert "action_item.done" in maya[0]
    await reminders.tick(at(WED, 15))
    assert len(dms(slack, "U01MAYA")) == 1 and len(dms(slack, "U02JONAS")) == 1


async def test_dst_change_moves_the_utc_time_of_the_nine_oclock_dm(db: Database, slack: LocalSlack) -> None:
    m = await meeting(db)
    fri, mon = date(2026, 3, 6), date(2026, 3, 9)  # US clocks go forward on Sunday 8 March
    await item(db, m, "U01MAYA", fri)
    await item(db, m, "U01MAYA", mon, text="monday task")
    reminders = service(slack, db, max_overdue_nudges=0)
    await reminders.tick(at(fri, 13))  # 08:05 EST
    assert dms(slack, "U01MAYA") == []
    await reminders.tick(at(fri, 14))  # 09:05 EST
    assert len(dms(slack, "U01MAYA")) == 1
    await reminders.tick(at(mon, 13))  # 09:05 EDT
    assert len(dms(slack, "U01MAYA")) == 2 and "monday task" in dms(slack, "U01MAYA")[1]


async def test_quiet_hours_and_weekends_hold_reminders_back(db: Database, slack: LocalSlack) -> None:
    m = await meeting(db)
    sat = date(2026, 1, 17)
    await item(db, m, "U01MAYA", WED)
    await item(db, m, "U02JONAS", sat)
    reminders = service(slack, db, quiet_hours=QuietHours(start="08:00", end="10:00"))
    await reminders.tick(at(WED, 14))  # 09:05 New York: quiet
    assert dms(slack, "U01MAYA") == []
    await reminders.tick(at(WED, 15))  # 10:05: allowed
    assert len(dms(slack, "U01MAYA")) == 1
    await reminders.tick(at(sat, 12))  # Saturday in Berlin
    assert dms(slack, "U02JONAS") == []


async def test_snoozed_item_reminds_at_the_snooze_time_once(db: Database, slack: LocalSlack) -> None:
    m = await meeting(db)
    await item(db, m, "U01MAYA", WED, snoozed_until=at(WED, 16, 0))
    reminders = service(slack, db)
    await reminders.tick(at(WED, 14))
    assert dms(slack, "U01MAYA") == []
    await reminders.tick(at(WED, 16, 1))
    await reminders.tick(at(WED, 16, 2))
    assert len(dms(slack, "U01MAYA")) == 1


async def test_overdue_nudges_stop_after_the_limit_then_one_thread_note(
    db: Database, slack: LocalSlack
) -> None:
    m = await meeting(db)
    gw = gateway(slack, db)
    parent = await gw.post_or_update(f"meeting:{m}", "C02MEETINGS", notice("Meeting card"))
    await item(db, m, "U01MAYA", WED - timedelta(days=1))
    reminders = service(slack, db, max_overdue_nudges=2)
    for day in (WED, WED + timedelta(days=1), WED + timedelta(days=2), WED + timedelta(days=5)):
        await reminders.tick(at(day, 14))
        await reminders.tick(at(day, 15))
    assert len(dms(slack, "U01MAYA")) == 2
    notes = [r for r in slack.thread("C02MEETINGS", parent.ts)[1:] if "Still open after 2" in json.dumps(r)]
    assert len(notes) == 1


async def test_sent_reminders_leave_no_message_ref_behind(db: Database, slack: LocalSlack) -> None:
    """A due DM, a digest and a thread note each record a ref when posted; once the claim is sent
    nothing will update that message again, so the ref goes (the meeting card's ref stays)."""
    m = await meeting(db)
    await gateway(slack, db).post_or_update(f"meeting:{m}", "C02MEETINGS", notice("Meeting card"))
    await item(db, m, "U02JONAS", WED)
    await item(db, m, "U02JONAS", WED - timedelta(days=1))
    reminders = service(slack, db, max_overdue_nudges=0, digest_hour=9, due_hour=9)
    report = await reminders.tick(at(WED, 8))  # Berlin 09:05
    assert (report.dms, report.digests, report.notes) == (1, 1, 1)
    assert len(dms(slack, "U02JONAS")) == 2
    assert await refs(db) == [f"meeting:{m}"]
    async with db.session() as s:
        assert set((await s.scalars(select(ReminderSent.status))).all()) == {"sent"}


async def test_a_dm_taken_over_in_parts_keeps_its_ref_until_its_last_claim_settles(
    db: Database, slack: LocalSlack
) -> None:
    """One DM listed two items; a dead holder's claim is taken over while another host still holds
    the other one. Settling the first part must leave the ref, so the second part, taken over later,
    updates the same message instead of posting a second DM."""
    m = await meeting(db)
    user = slack.add_user("Split", "split@agency.example", tz="Europe/London").id
    first, second = [await item(db, m, user, WED, text=f"Task {n}") for n in (1, 2)]
    post_key = f"reminder:{user}:split"
    past, future = utcnow() - timedelta(minutes=1), utcnow() + timedelta(minutes=10)
    async with db.session() as s:
        for subject, holder, until in (
            (f"item:{first}", "other-host:51:gone", past),
            (f"item:{second}", "other-host:52:alive", future),
        ):
            s.add(ReminderSent(kind="due", subject=subject, day=WED, recipient=user, status="claimed",
                               holder=holder, leased_until=until, post_key=post_key))  # fmt: skip
    gw = gateway(slack, db)
    await gw.post_or_update(post_key, await gw.dm_channel(user), notice("Reminder sent before the crash"))
    reminders = service(slack, db)
    assert (await reminders.tick(at(WED, 10))).taken_over == 1
    assert post_key in await refs(db)  # the other part is still open
    async with db.session() as s:  # the other host dies too
        row = await s.scalar(select(ReminderSent).where(ReminderSent.subject == f"item:{second}"))
        assert row is not None and row.status == "claimed"
        row.holder, row.leased_until = "other-host:52:gone", past
    assert (await reminders.tick(at(WED, 10, 6))).taken_over == 1
    assert len(slack.dms(user)) == 1  # updated in place, never posted twice
    assert post_key not in await refs(db)
    async with db.session() as s:
        assert set((await s.scalars(select(ReminderSent.status))).all()) == {"sent"}


async def test_external_owners_are_never_dmed(db: Database, slack: LocalSlack) -> None:
    m = await meeting(db)
    await item(db, m, "U04OMAR", WED, owner_external=True)
    await service(slack, db).tick(at(WED, 14))
    assert dms(slack, "U04OMAR") == []


async def test_digest_lists_due_overdue_and_completed_and_skips_empty(
    db: Database, slack: LocalSlack
) -> None:
    m = await meeting(db)
    await item(db, m, "U02JONAS", WED)
    await item(db, m, "U02JONAS", WED - timedelta(days=3))
    await item(db, m, "U01MAYA", None, status="done", completed_at=at(WED, 12))
    reminders = service(slack, db, digest_hour=8, due_hour=11)
    await reminders.tick(at(WED, 7))  # Berlin 08:05
    digest = dms(slack, "U02JONAS")
    assert len(digest) == 1 and "digest:overdue" in digest[0] and "digest:due_today" in digest[0]
    await reminders.tick(at(WED, 13, 10))  # New York 08:10: Maya only completed something
    assert any("digest:completed" in d for d in dms(slack, "U01MAYA"))
    await reminders.tick(at(WED + timedelta(days=3), 7))  # Saturday: weekdays only
    assert sum("digest:header" in d for d in dms(slack, "U02JONAS")) == 1


async def test_restart_in_the_middle_of_a_run_sends_nothing_twice(db: Database, slack: LocalSlack) -> None:
    m = await meeting(db)
    users = [slack.add_user(f"Person {n}", f"p{n}@agency.example", tz="Europe/London").id for n in range(40)]
    for user in users:
        await item(db, m, user, WED)
    first = service(slack, db)
    run = asyncio.create_task(first.tick(at(WED, 10)))
    while len(slack.calls_to("chat.postMessage")) < 10:
        await asyncio.sleep(0.005)
    run.cancel()  # the process dies mid-run
    with pytest.raises(asyncio.CancelledError):
        await run
    await service(slack, db).tick(at(WED, 10, 6))  # a new process picks up
    counts = [len(slack.dms(u)) for u in users]
    assert max(counts) == 1
    assert sum(counts) >= len(users) - first.concurrency  # only in-flight claims may be lost


async def test_two_instances_on_one_database_send_each_reminder_once(
    any_db: Database, slack: LocalSlack
) -> None:
    m = await meeting(any_db)
    users = [slack.add_user(f"Twin {n}", f"t{n}@agency.example", tz="UTC").id for n in range(20)]
    for user in users:
        await item(any_db, m, user, WED)
        await item(any_db, m, user, WED)
    a, b = service(slack, any_db), service(slack, any_db)
    reports = await asyncio.gather(a.tick(at(WED, 10)), b.tick(at(WED, 10)), a.tick(at(WED, 10, 7)))
    assert [len(slack.dms(u)) for u in users] == [1] * len(users)
    assert sum(r.reminded_items for r in reports) == 2 * len(users)


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped) on this host."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def test_claims_of_a_dead_holder_are_sent_again_once_whether_or_not_slack_got_them(
    db: Database, slack: LocalSlack
) -> None:
    """The three places a send can die (before Slack, between Slack's reply and the recorded ref,
    between the ref and `sent`) each end with one DM; a live holder's claim is left alone."""
    m = await meeting(db)
    users = [slack.add_user(f"Crash {n}", f"c{n}@agency.example", tz="Europe/London").id for n in range(4)]
    items = {u: await item(db, m, u, WED, text=f"Task of {u}") for u in users}
    gw = gateway(slack, db)
    past, future = utcnow() - timedelta(minutes=1), utcnow() + timedelta(minutes=10)
    dead_here = f"{socket.gethostname()}:{_dead_pid()}:dead00"
    holders = {
        users[0]: (dead_here, future),  # killed before posting: its pid is gone, no lease wait
        users[1]: ("other-host:41:gone01", past),  # posted, killed before the ref was recorded
        users[2]: ("other-host:42:gone02", past),  # ref recorded, killed before `sent`
        users[3]: ("other-host:43:alive3", future),  # another host still sending: not ours
    }
    async with db.session() as s:
        for user, (holder, until) in holders.items():
            s.add(ReminderSent(kind="due", subject=f"item:{items[user]}", day=WED, recipient=user,
                               status="claimed", holder=holder, leased_until=until,
                               post_key=f"reminder:{user}:first"))  # fmt: skip
    first = notice("Reminder sent before the crash")
    channel = await gw.dm_channel(users[1])
    await gw.post(channel, first, key=f"reminder:{users[1]}:first")
    async with db.session() as s:
        s.add(SlackPendingPost(entity=f"reminder:{users[1]}:first", channel=channel, started_at=utcnow()))
    await gw.post_or_update(f"reminder:{users[2]}:first", await gw.dm_channel(users[2]), first)

    reminders = service(slack, db)
    report = await reminders.tick(at(WED, 10))
    await reminders.tick(at(WED, 10, 6))
    assert [len(slack.dms(u)) for u in users] == [1, 1, 1, 0]
    assert report.taken_over == 3 and report.dms == 3
    for user in users[:3]:  # the earlier message was updated in place with the reminder
        assert f"action_item:{items[user]}" in dms(slack, user)[0]
    async with db.session() as s:
        status = dict((await s.execute(select(ReminderSent.recipient, ReminderSent.status))).all())
        assert await s.scalar(select(func.count()).select_from(SlackPendingPost)) == 0
    assert await refs(db) == []  # the dead holder's recorded ref went with its claim, once sent
    assert status == {users[0]: "sent", users[1]: "sent", users[2]: "sent", users[3]: "claimed"}
    assert len(slack.calls_to("conversations.history")) == 1  # only the one with a marker left over


async def test_two_instances_taking_over_one_dead_claim_send_it_once(
    any_db: Database, slack: LocalSlack
) -> None:
    m = await meeting(any_db)
    users = [slack.add_user(f"Orphan {n}", f"o{n}@agency.example", tz="Europe/London").id for n in range(10)]
    async with any_db.session() as s:
        for user in users:
            row = ActionItem(meeting_id=m, dedupe_key=f"o-{user}", source="manual", text="Orphaned",
                             owner_slack_id=user, due_date=WED)  # fmt: skip
            s.add(row)
            await s.flush()
            s.add(ReminderSent(kind="due", subject=f"item:{row.id}", day=WED, recipient=user,
                               status="claimed", holder="other-host:9:gone", post_key=f"reminder:{user}:x",
                               leased_until=utcnow() - timedelta(seconds=1)))  # fmt: skip
    a, b = service(slack, any_db), service(slack, any_db)
    reports = await asyncio.gather(a.tick(at(WED, 10)), b.tick(at(WED, 10)))
    assert [len(slack.dms(u)) for u in users] == [1] * len(users)
    assert sum(r.taken_over for r in reports) == len(users)
