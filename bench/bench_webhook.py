"""Webhook acknowledgement latency with 20 concurrent senders on SQLite (target p99 < 50 ms).

Run: .venv/bin/python bench/bench_webhook.py [--requests 1000] [--senders 20]
The bot runs in this process (workers paused so only the ack path is measured: verify, store delivery
+ job, 2xx); the senders run in a separate process, as Fathom would, so their CPU is not ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time

from _common import SECRET, bench_runtime, fixture, summary


async def client(url: str, total: int, senders: int) -> list[float]:
    import aiohttp

    from services.webhook import sign_delivery

    base = fixture("ai_audit_discovery")
    bodies = [json.dumps({**base, "recording_id": 1_000_000 + i}).encode() for i in range(total)]
    signed = [(b, sign_delivery(SECRET, b)) for b in bodies]
    latencies: list[float] = []

    async def sender(http: aiohttp.ClientSession) -> None:
        while signed:
            body, headers = signed.pop()
            start = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as r:
                await r.read()
                assert r.status == 202, r.status
            latencies.append((time.perf_counter() - start) * 1000)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=senders)) as http:
        await asyncio.gather(*[sender(http) for _ in range(senders)])
    return latencies


async def main(total: int, senders: int) -> None:
    async with bench_runtime() as (runtime, _slack):
        assert runtime.worker
        await runtime.worker.stop()
        url = f"http://127.0.0.1:{runtime.http_port}/webhooks/fathom"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--client",
            url,
            "--requests",
            str(total),
            "--senders",
            str(senders),
            stdout=subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        latencies = json.loads(out)
        counts = await runtime.queue.counts()
        assert counts.get("queued") == total, counts
        print(summary(f"webhook ack, {senders} concurrent senders, {total} deliveries (SQLite)", latencies))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--client", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(client(args.client, args.requests, args.senders))))
    else:
        asyncio.run(main(args.requests, args.senders))
