"""Reconciliation, polling mode and backfill: meetings from Fathom's API (the local stand-in, real HTTP)
enter through the webhook intake into a real SQLite file, and cards reach the local Slack server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.runtime import Runtime
from bot.sandbox import LocalSlack
from bot.sandbox.fathom_api import FathomStandIn
from services.clock import utcnow
from services.db import Database
from services.fathom_api import ApiKey, FathomAPI
from services.jobs import JobQueue, QueuePolicy
from services.models import Meeting, WebhookDelivery
from services.reconcile import Reconciler, backfill
from services.webhook import WebhookIntake
from tests.harness import MEETINGS_CHANNEL, Bot, running_bot
from tests.helpers import load_fixture

KEY = "fathom-test-key"


def meeting(rid: int, created: datetime, title: str | None = None) -> dict[str, Any]:
    data = load_fixture("ami_ES2006a_kickoff")
    data.update(recording_id=rid, created_at=created.strftime("%Y-%m-%dT%H:%M:%SZ"))
    data["title"] = title or f"Kickoff {rid}"
    return data


@pytest.fixture
async def stand_in() -> AsyncIterator[FathomStandIn]:
    server = await FathomStandIn.start(page_size=2)
    yield server
    await server.stop()


def titles(bot: Bot) -> list[str]:
    return [m.get("text", "") for m in bot.parents()]


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_missed_webhook_is_recovered_and_a_late_webhook_does_not_duplicate(
    tmp_path: Path, stand_in: FathomStandIn
) -> None:
    async with running_bot(
        tmp_path, FATHOM_API_URL=stand_in.api_url, FATHOM_API_KEY=KEY, OPS_CHANNEL="C01GENERAL"
    ) as bot:
        reconciler = bot.runtime.reconciler
        assert reconciler is not None
        await bot.wait_for(reconciler.watermark)  # the start-up pass is done: later passes are ours
        two_hours_ago = utcnow() - timedelta(hours=2)
        missed = meeting(4401, two_hours_ago, "Missed kickoff")
        stand_in.add(missed)
        report = await reconciler.run()
        assert [r.recording_id for r in report.recovered] == [4401]
        await bot.wait_for(lambda: any("Missed kickoff" in t for t in titles(bot)))

        status, answer = await bot.send(missed)  # Fathom's webhook finally arrives
        assert (status, answer["status"]) == (200, "duplicate")

        came_first = meeting(4402, utcnow() - timedelta(minutes=5), "Webhook first")
        assert (await bot.send(came_first))[0] == 202
        stand_in.add(came_first)
        again = await reconciler.run()
        assert again.recovered == [] and again.already_known == 2

        await bot.wait_for(lambda: any("Webhook first" in t for t in titles(bot)))
        db = bot.runtime.db
        assert await count(db, Meeting) == 2
        assert sum("Missed kickoff" in t for t in titles(bot)) == 1
        # one accepted delivery from reconciliation (4402 may also be recorded as a duplicate of its
        # webhook when the pass ran before that webhook's meeting was ingested: still one meeting)
        accepted = (WebhookDelivery.source == "reconciliation", WebhookDelivery.status == "accepted")
        assert await count(db, WebhookDelivery, *accepted) == 1
        # the webhook had been missing for two hours: the ops channel hears of it
        ops = [m.get("text", "") for m in bot.slack.messages("C01GENERAL")]
        assert any("recovered Fathom recording 4401" in t for t in ops)
        # ... and so does the OS's admin (Maya, `admin: true` in fathom-os.yml), by DM; others do not
        assert any("recovered Fathom recording 4401" in m.get("text", "") for m in bot.slack.dms("U01MAYA"))
        assert not any("4401" in m.get("text", "") for m in bot.slack.dms("U02JONAS"))
        # the admin's Home tab counts this week's recoveries; a non-admin's tab has no such line
        assert recovered_line(await home_blocks(bot, "U01MAYA")) == (
            "*Admin* · meetings recovered by reconciliation this week (webhook missed): *1*"
        )
        assert recovered_line(await home_blocks(bot, "U02JONAS")) is None


async def home_blocks(bot: Bot, user_id: str) -> list[dict[str, Any]]:
    from blocks.home import home_view

    return list(home_view(await bot.runtime.slack.home.load(user_id))["blocks"])


def recovered_line(blocks: list[dict[str, Any]]) -> str | None:
    found = [b for b in blocks if b.get("block_id") == "home:admin:recovered"]
    return str(found[0]["elements"][0]["text"]) if found else None


async def test_a_recovery_within_the_alert_threshold_tells_nobody(
    tmp_path: Path, stand_in: FathomStandIn
) -> None:
    async with running_bot(
        tmp_path,
        FATHOM_API_URL=stand_in.api_url,
        FATHOM_API_KEY=KEY,
        OPS_CHANNEL="C01GENERAL",
        RECOVERY_ALERT_MINUTES="180",
    ) as bot:
        reconciler = bot.runtime.reconciler
        assert reconciler is not None
        await bot.wait_for(reconciler.watermark)
        stand_in.add(meeting(4501, utcnow() - timedelta(hours=2), "Two hours late"))
        report = await reconciler.run()  # the alerts are sent before run() returns
        assert [r.recording_id for r in report.recovered] == [4501]
        assert not any("4501" in m.get("text", "") for m in bot.slack.messages("C01GENERAL"))
        assert not any("4501" in m.get("text", "") for m in bot.slack.dms("U01MAYA"))
        assert recovered_line(await home_blocks(bot, "U01MAYA")) is not None  # still counted


async def _intake(db: Database) -> WebhookIntake:
    return WebhookIntake(db, JobQueue(db, QueuePolicy()))


async def test_watermark_survives_a_restart(tmp_path: Path, stand_in: FathomStandIn) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    from bot.db import upgrade

    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    for n in range(5):
        stand_in.add(meeting(100 + n, now - timedelta(hours=5 - n)))
    db = Database(url)
    await upgrade(db)
    api = FathomAPI(stand_in.api_url, [ApiKey("maya", KEY)])
    first = await Reconciler(db, api, await _intake(db), clock=lambda: now).run()
    assert len(first.recovered) == 5
    assert first.watermark == now - timedelta(hours=1)  # the newest meeting listed
    await db.dispose()

    restarted = Database(url)  # a new process: nothing carried over but the file
    stand_in.requests.clear()
    reconciler = Reconciler(restarted, api, await _intake(restarted), clock=lambda: now)
    assert await reconciler.watermark() == now - timedelta(hours=1)
    second = await reconciler.run()
    await api.close()
    await restarted.dispose()
    # listed from the stored watermark minus the overlap, not from the first-run lookback
    assert stand_in.requests[0]["created_after"] == "2026-11-18T10:00:00Z"
    assert second.recovered == [] and second.listed == 1


async def test_polling_mode_cards_meetings_with_no_webhook_at_all(
    tmp_path: Path, stand_in: FathomStandIn
) -> None:
    stand_in.add(meeting(5501, utcnow() - timedelta(minutes=3), "Polled meeting"))
    slack = await LocalSlack.start()
    settings = load_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        OS_REPO_PATH=str(tmp_path / "os"),
        WEBHOOK_PORT=0,
        SLACK_DEFAULT_CHANNEL=MEETINGS_CHANNEL,
        FATHOM_API_URL=stand_in.api_url,
        FATHOM_API_KEY=KEY,
    )
    assert settings.polling_mode and settings.reconcile_every == 60.0
    runtime = Runtime(settings, sandbox_slack=slack, socket_ping_interval=0.2)
    try:
        await runtime.start()
        bot = Bot(runtime, slack)
        # the scheduler's first pass runs at start-up; nobody POSTs a webhook
        await bot.wait_for(lambda: any("Polled meeting" in t for t in titles(bot)))
        assert await count(runtime.db, WebhookDelivery, WebhookDelivery.source == "webhook") == 0
    finally:
        await runtime.stop()
        await slack.stop()


class Interrupted(Exception):
    pass


async def test_backfill_resumes_after_an_interruption(db: Database, stand_in: FathomStandIn) -> None:
    since = datetime(2026, 10, 1, tzinfo=UTC)
    for n in range(9):
        stand_in.add(meeting(700 + n, since + timedelta(days=n, hours=1)))
    api = FathomAPI(stand_in.api_url, [ApiKey("maya", KEY)])
    intake = await _intake(db)
    pages = 0

    def stop_after_two(_n: int) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        await backfill(db, api, intake, since=since, progress=stop_after_two)
    assert await count(db, WebhookDelivery) == 4  # two pages of two stored before the stop

    stand_in.requests.clear()
    report = await backfill(db, api, intake, since=since)
    await api.close()
    assert report.resumed and len(report.recovered) == 5
    assert "cursor" in stand_in.requests[0]  # picked up at page three, not from the start
    assert len(stand_in.requests) == 3
    async with db.session() as s:
        rows = (await s.scalars(select(WebhookDelivery))).all()
    assert sorted(r.recording_id for r in rows) == list(range(700, 709))
    assert {r.source for r in rows} == {"backfill"}
    assert all(json.loads(r.body)["transcript"] for r in rows)


def on_day(rid: int, start: datetime, title: str) -> dict[str, Any]:
    data = meeting(rid, start, title)
    end = start + timedelta(minutes=30)
    for key, value in (("scheduled_start_time", start), ("recording_start_time", start)):
        data[key] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    for key in ("scheduled_end_time", "recording_end_time"):
        data[key] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    return data


async def test_backfill_posts_one_card_per_day_with_the_meetings_in_its_thread(
    tmp_path: Path, stand_in: FathomStandIn
) -> None:
    since = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
    old = [
        on_day(900, since + timedelta(hours=9), "Old Monday A"),
        on_day(901, since + timedelta(hours=14), "Old Monday B"),
        on_day(902, since + timedelta(days=1, hours=10), "Old Tuesday"),
    ]
    async with running_bot(tmp_path) as bot:  # no API key: nothing reconciles behind the test's back
        api = FathomAPI(stand_in.api_url, [ApiKey("maya", KEY)])
        for item in old:
            stand_in.add(item)
        report = await backfill(bot.runtime.db, api, bot.runtime.intake, since=since)
        await api.close()
        assert len(report.recovered) == 3
        live = meeting(903, utcnow(), "Live meeting")  # a webhook meanwhile: top level as always
        assert (await bot.send(live))[0] == 202

        def cards_in(ts: str) -> list[str]:
            return [m.get("text", "") for m in bot.slack.thread(MEETINGS_CHANNEL, ts)[1:]]

        def days() -> dict[str, str]:
            return {m["text"]: m["ts"] for m in bot.parents() if "Backfilled meetings" in m.get("text", "")}

        def settled() -> bool:
            found = days()
            if len(found) != 2 or not any("Live meeting" in t for t in titles(bot)):
                return False
            threads = [cards_in(ts) for ts in found.values()]
            return (
                sum(
                    any(f"Old {d}" in t for t in th)
                    for th in threads
                    for d in ("Monday A", "Monday B", "Tuesday")
                )
                == 3
            )

        await bot.wait_for(settled, timeout=30)
        top = titles(bot)
        assert not any("Old " in t for t in top)  # no backfilled card at the channel's top level
        found = days()
        monday = next(ts for text, ts in found.items() if "Monday 5 October 2026" in text)
        tuesday = next(ts for text, ts in found.items() if "Tuesday 6 October 2026" in text)
        assert any("Old Monday A" in t for t in cards_in(monday))
        assert any("Old Monday B" in t for t in cards_in(monday))
        assert any("Old Tuesday" in t for t in cards_in(tuesday))
        assert not any("Old Tuesday" in t for t in cards_in(monday))


async def test_backfill_dry_run_stores_nothing(db: Database, stand_in: FathomStandIn) -> None:
    since = datetime(2026, 10, 1, tzinfo=UTC)
    for n in range(3):
        stand_in.add(meeting(800 + n, since + timedelta(days=n, hours=1)))
    api = FathomAPI(stand_in.api_url, [ApiKey("maya", KEY)])
    report = await backfill(db, api, None, since=since, until=since + timedelta(days=2))
    await api.close()
    assert report.listed == 2 and report.recovered == []
    assert await count(db, WebhookDelivery) == 0
