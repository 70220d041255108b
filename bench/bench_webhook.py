"""Webhook acknowledgement latency with 20 concurrent senders on SQLite (target p99 < 50 ms).

Run: .venv/bin/python bench/bench_webhook.py [--requests 1000] [--senders 20]
The bot runs in this process (workers paused so only the ack path is measured: verify, store delivery
+ job, 2xx); the senders run in a separate process, as Fathom would, so their CPU is not ours.
"""

from __future__ import annotations

import argparse
import asyncio

from _common import bench_runtime, senders_in_child, summary


async def main(total: int, senders: int) -> None:
    async with bench_runtime() as (runtime, _slack):
        assert runtime.worker
        await runtime.worker.stop()
        url = f"http://127.0.0.1:{runtime.http_port}/webhooks/fathom"
        latencies = await senders_in_child(url, total, senders, rid_base=1_000_000)
        counts = await runtime.queue.counts()
        assert counts.get("queued") == total, counts
        print(summary(f"webhook ack, {senders} concurrent senders, {total} deliveries (SQLite)", latencies))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.senders))
