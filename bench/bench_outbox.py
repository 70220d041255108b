"""100 approved CRM writes through the outbox (#21): HubSpot tasks applied by the durable job queue
through the real hubspot-api-client against the local stand-in, which enforces a HubSpot-style
rolling limit (`--limit` requests per `--window` seconds, answered 429 with HubSpot's body).
Prints the wall time from the approvals to the last write applied, the calls the stand-in saw,
how many were 429s, and that every write landed exactly once.

Run: .venv/bin/python bench/bench_outbox.py [--writes 100] [--limit 10] [--window 1] [--workers 4]
(HubSpot's private-app limit is 100 per 10 s on Free/Starter; --limit 10 --window 1 is the same
rate ten times faster.)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bot.db import upgrade
from bot.sandbox.hubspot_api import HubSpotStandIn
from services.db import Database
from services.integrations.hubspot import HubSpotConnector
from services.jobs import JobQueue, QueuePolicy, Worker
from services.os_config import parse_os_config
from services.outbox import OutboxService, Proposed

TOKEN = "pat-na1-bench"
CONFIG = parse_os_config("approvers: [U01MAYA]\nintegrations:\n  hubspot: {}\n")


async def main(writes: int, limit: int, window: float, workers: int) -> None:
    stand_in = await HubSpotStandIn.start(token=TOKEN, limit=limit, window_seconds=window)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}")
        await upgrade(db)
        queue = JobQueue(db, QueuePolicy(lease_seconds=30, max_attempts=8, backoff_base=0.5, backoff_max=5))
        connector = HubSpotConnector(TOKEN, stand_in.base_url)
        service = OutboxService(db, queue, lambda: CONFIG, {"hubspot": connector})
        ids = []
        for i in range(writes):
            entry = await service.propose(
                Proposed("hubspot", "task", {"subject": f"Follow-up {i}"}, f"bench:{i}", f"Task {i}"), "bench"
            )
            ids.append(entry.id)
        worker = Worker(queue, service.handlers(), concurrency=workers, poll_interval=0.05)
        worker.start()
        start = time.perf_counter()
        for entry_id in ids:
            await service.approve(entry_id, "U01MAYA")
        while True:
            done = [await service.get(i) for i in ids]
            if all(e.status in ("applied", "failed") for e in done):
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
        await worker.stop()
        applied = sum(1 for e in done if e.status == "applied")
        created = len(stand_in.live("tasks"))
        print(
            f"{writes} writes, limit {limit}/{window:g}s, {workers} workers: {elapsed:.2f} s, "
            f"{stand_in.calls} calls ({stand_in.throttled} answered 429), "
            f"{applied} applied, {created} records created, gate waits {service.gates['hubspot'].waits}"
        )
        assert applied == writes == created, "every write exactly once"
        await db.dispose()
    await stand_in.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.writes, args.limit, args.window, args.workers))
