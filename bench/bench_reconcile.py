"""Reconciliation of 1,000 meetings from the local Fathom API stand-in, paced to 60 calls a minute.

    .venv/bin/python bench/bench_reconcile.py [--meetings 1000] [--page-size 10] [--minute 1.0] [--runs 3]

`--minute` scales the clock of both the stand-in's limit and the client's pacer (1.0: a "minute" lasts
one second), so a run that would wait real minutes finishes in seconds; calls, 429s and the number
of paced waits are the same as at full scale, and the real-time estimate is printed next to it.
Meetings carry transcripts, summaries and action items, go through the webhook intake into a
fresh SQLite file, and are checked: every recording stored once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from bot.db import upgrade  # noqa: E402
from bot.sandbox.fathom_api import FathomStandIn  # noqa: E402
from services.db import Database  # noqa: E402
from services.fathom_api import ApiKey, FathomAPI  # noqa: E402
from services.jobs import JobQueue, QueuePolicy  # noqa: E402
from services.models import WebhookDelivery  # noqa: E402
from services.reconcile import Reconciler  # noqa: E402
from services.webhook import WebhookIntake  # noqa: E402
from tests.helpers import load_fixture  # noqa: E402


async def run_once(meetings: int, page_size: int, minute: float) -> dict[str, float]:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    server = await FathomStandIn.start(page_size=page_size, limit=60, window_seconds=minute)
    base = load_fixture("ami_ES2006a_kickoff")
    for n in range(meetings):
        base.update(recording_id=1_000_000 + n, created_at=(now - timedelta(minutes=n + 1)).isoformat())
        server.add(base)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}")
        await upgrade(db)
        api = FathomAPI(server.api_url, [ApiKey("bench", "fathom-test-key")], window_seconds=minute)
        reconciler = Reconciler(
            db, api, WebhookIntake(db, JobQueue(db, QueuePolicy())), clock=lambda: now,
            first_lookback=timedelta(days=30),
        )  # fmt: skip
        started = time.perf_counter()
        report = await reconciler.run()
        elapsed = time.perf_counter() - started
        async with db.session() as s:
            stored = await s.scalar(select(func.count(func.distinct(WebhookDelivery.recording_id))))
        await api.close()
        await db.dispose()
    await server.stop()
    assert len(report.recovered) == meetings == stored, (len(report.recovered), stored)
    waited = api.pacers["fathom-test-key"].waited
    return {
        "seconds": elapsed,
        "calls": api.calls,
        "throttled": server.throttled,
        "paced_wait": waited,
        "work": elapsed - waited,
        "real_minutes": (waited / minute * 60 + (elapsed - waited)) / 60,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meetings", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=10)
    parser.add_argument("--minute", type=float, default=1.0, help="seconds a rate-limit minute lasts")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = [asyncio.run(run_once(args.meetings, args.page_size, args.minute)) for _ in range(args.runs)]
    for r in rows:
        print(
            f"{args.meetings} meetings, pages of {args.page_size}: {r['seconds']:.2f} s "
            f"({r['paced_wait']:.2f} s paced waiting, {r['work']:.2f} s work), {r['calls']:.0f} calls, "
            f"{r['throttled']:.0f} x 429; at a real minute: {r['real_minutes']:.2f} min"
        )


if __name__ == "__main__":
    main()
