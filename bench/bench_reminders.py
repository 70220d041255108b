"""10,000 open items due today across 500 people, against the local Slack server limited to
300 chat.postMessage calls a minute: everyone gets one due-date DM within 5 minutes, none twice,
no item missing. Run: `.venv/bin/python bench/bench_reminders.py [--people 500 --items 10000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.db import upgrade  # noqa: E402
from bot.sandbox import LocalSlack  # noqa: E402
from services.db import Database  # noqa: E402
from services.models import ActionItem, Meeting, Person  # noqa: E402
from services.os_config import OSConfig, Reminders  # noqa: E402
from services.reminders import ReminderService  # noqa: E402
from services.slack.gateway import RateGate, SlackGateway, retry_handlers  # noqa: E402
from services.slack.reminders import ReminderPublisher  # noqa: E402

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)  # a Wednesday, 10:00 in London


async def main(people: int, items: int, per_minute: int) -> int:
    slack = await LocalSlack.start()
    slack.rate_limit("chat.postMessage", per_minute)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}")
        await upgrade(db)
        users = [
            slack.add_user(f"Person {n}", f"p{n}@agency.example", tz="Europe/London").id
            for n in range(people)
        ]
        async with db.session() as s:
            meeting = Meeting(recording_id=1, title="Bench", payload={})
            s.add(meeting)
            await s.flush()
            await s.execute(
                insert(Person),
                [
                    {
                        "email": f"p{n}@agency.example",
                        "name": f"Person {n}",
                        "slack_user_id": u,
                        "tz": "Europe/London",
                    }
                    for n, u in enumerate(users)
                ],
            )
            await s.execute(
                insert(ActionItem),
                [
                    {
                        "meeting_id": meeting.id,
                        "dedupe_key": f"k{i}",
                        "source": "manual",
                        "text": f"Bench task {i}",
                        "owner_slack_id": users[i % people],
                        "due_date": NOW.date(),
                        "status": "open",
                        "version": 1,
                    }
                    for i in range(items)
                ],
            )
        gate = RateGate(max_wait=120)
        client = AsyncWebClient(
            token=slack.bot_token, base_url=slack.api_url, retry_handlers=retry_handlers(gate)
        )
        config = OSConfig(reminders=Reminders(timezone="Europe/London", digest_hour=23))
        service = ReminderService(
            db, lambda: config, ReminderPublisher(SlackGateway(client, db, gate)), concurrency=16
        )
        started = time.monotonic()
        report = await service.tick(NOW)
        # a scheduler would run again a minute later; anything released after a refusal goes then
        while report.failed:
            report = await service.tick(NOW)
        elapsed = time.monotonic() - started
        per_user = Counter()
        seen: Counter[int] = Counter()
        for u in users:
            dms = slack.dms(u)
            per_user[u] = len(dms)
            for m in dms:
                for block in m.get("blocks") or []:
                    if found := re.fullmatch(r"action_item:(\d+)", str(block.get("block_id"))):
                        seen[int(found.group(1))] += 1
        more = sum(
            1 for m in (slack.dms(u) for u in users) for msg in m if "reminder:more" in str(msg.get("blocks"))
        )
        calls = slack.calls_to("chat.postMessage")
        limited = sum(1 for c in calls if c.status == 429)
        print(f"people={people} items={items} limit={per_minute}/min")
        print(
            f"elapsed={elapsed:.1f}s  DMs={sum(per_user.values())}  people with exactly one DM={sum(1 for v in per_user.values() if v == 1)}"
        )
        print(
            f"max DMs per person={max(per_user.values())}  items drawn in DMs={len(seen)} (lists over 20 point to /os-actions: {more})"
        )
        print(f"chat.postMessage calls={len(calls)} (429s={limited})")
        await db.dispose()
    await slack.stop()
    ok = elapsed < 300 and max(per_user.values()) == 1 and min(per_user.values()) == 1
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--per-minute", type=int, default=300)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.people, args.items, args.per_minute)))
