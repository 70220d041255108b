"""Pipeline overhead per meeting with the LLM excluded (target p95 < 300 ms), first card in Slack after
a webhook (target p95 < 1 s), and a 1,000-meeting burst with the heuristic analyzer (target: every
meeting posted exactly once, < 2 min). All against the local Slack-compatible server.

Run: .venv/bin/python bench/bench_pipeline.py [--burst 1000] [--first-card 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp
from _common import SECRET, bench_runtime, fixture, remote_slack_runtime, summary

from services.webhook import sign_delivery

FIXTURE_CYCLE = ["ai_audit_discovery", "partner_sync", "ami_ES2006a_kickoff", "minimal_no_content"]


async def post(http: aiohttp.ClientSession, url: str, payload: dict) -> None:  # type: ignore[type-arg]
    body = json.dumps(payload).encode()
    async with http.post(url, data=body, headers=sign_delivery(SECRET, body)) as r:
        assert r.status == 202, r.status


async def first_card(n: int) -> None:
    """Sequential webhooks; time until the parent message exists in the local Slack server."""
    async with bench_runtime() as (runtime, slack), aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{runtime.http_port}/webhooks/fathom"
        latencies: list[float] = []
        for i in range(n):
            payload = {**fixture(FIXTURE_CYCLE[i % len(FIXTURE_CYCLE)]), "recording_id": 2_000_000 + i}
            before = len(slack.messages("C02MEETINGS"))
            start = time.perf_counter()
            await post(http, url, payload)
            while len(slack.messages("C02MEETINGS")) == before:
                await asyncio.sleep(0.002)
            latencies.append((time.perf_counter() - start) * 1000)
        print(summary("first card after webhook (local Slack)", latencies))


async def overhead(n: int) -> None:
    """Ingest + analysis job wall time minus the analyzer's own time: storage, Slack calls, bookkeeping."""
    async with bench_runtime() as (runtime, _slack):
        pipeline = runtime.pipeline
        analyze = pipeline.analyze
        analyzer_ms: list[float] = []

        async def timed(meeting, *, os_context=""):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return await analyze(meeting, os_context=os_context)
            finally:
                analyzer_ms.append((time.perf_counter() - start) * 1000)

        pipeline.analyze = timed  # type: ignore[assignment]
        totals: list[float] = []
        assert runtime.worker
        await runtime.worker.stop()
        from services.models import Job

        for i in range(n):
            payload = {**fixture(FIXTURE_CYCLE[i % len(FIXTURE_CYCLE)]), "recording_id": 3_000_000 + i}
            async with runtime.db.session() as s:
                from services.models import WebhookDelivery

                delivery = WebhookDelivery(
                    webhook_id=f"b{i}",
                    status="accepted",
                    body=json.dumps(payload).encode(),
                    recording_id=payload["recording_id"],
                )
                s.add(delivery)
                await s.flush()
                delivery_id = delivery.id
            start = time.perf_counter()
            await pipeline.handle_ingest(
                Job(id=0, kind="meeting.ingest", payload={"delivery_id": delivery_id})
            )
            for queued in await runtime.queue.claim(10):  # the analysis is its own job now (#15)
                await pipeline.handle_analyze(queued)
                await runtime.queue.complete(queued.id)
            totals.append((time.perf_counter() - start) * 1000)
        print(summary("analyzer time (heuristic, excluded below)", analyzer_ms))
        print(
            summary(
                "pipeline overhead per meeting, LLM excluded",
                [t - a for t, a in zip(totals, analyzer_ms, strict=True)],
            )
        )


async def burst(n: int) -> None:
    """1,000 meetings at once; Slack (the local server) runs in its own process, as Slack would."""
    async with remote_slack_runtime() as (runtime, web), aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{runtime.http_port}/webhooks/fathom"
        start = time.perf_counter()
        sem = asyncio.Semaphore(20)

        async def one(i: int) -> None:
            async with sem:
                payload = {**fixture(FIXTURE_CYCLE[i % 2]), "recording_id": 4_000_000 + i}  # audit + partner
                await post(http, url, payload)

        await asyncio.gather(*[one(i) for i in range(n)])
        accepted = time.perf_counter() - start
        deadline = start + 900
        while time.perf_counter() < deadline:
            counts = await runtime.queue.counts()
            if counts.get("done", 0) >= n:
                break
            await asyncio.sleep(0.25)
        elapsed = time.perf_counter() - start
        history = await web.conversations_history(channel="C02MEETINGS", limit=n + 100)
        parents = history["messages"]
        counts = await runtime.queue.counts()
        print(
            f"burst of {n}: all accepted in {accepted:.1f} s, all processed in {elapsed:.1f} s; "
            f"parent cards={len(parents)} unique={len({m['ts'] for m in parents})} jobs={counts}"
        )
        assert len(parents) == n and counts.get("done") == n and not counts.get("dead")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--first-card", type=int, default=50)
    parser.add_argument("--overhead", type=int, default=100)
    parser.add_argument("--burst", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(first_card(args.first_card))
    asyncio.run(overhead(args.overhead))
    asyncio.run(burst(args.burst))
