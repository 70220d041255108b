"""Home tab publish and /os-meetings search at scale: 10,000 meetings with transcripts, a user
with 500 open items. Targets: Home publish p95 < 300 ms, search p95 < 200 ms.

    .venv/bin/python bench/bench_home_search.py [--meetings 10000] [--runs 50]

Home is measured end to end through the Home publisher's `publish` (queries, blocks, permalinks
and views.publish to the local Slack server); search through `SearchIndex.search`.
The corpus is built from the Fathom fixtures' transcript lines, shuffled per meeting; its index
rows come from the same `meeting_passages` the pipeline hook uses, inserted in bulk for speed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import replace

from _common import USER, bench_runtime, build_corpus
from _common import pct_rank as pct

from services.access import EVERYTHING
from services.search import SearchIndex, parse_query

QUERIES = [
    "remote control buttons",
    "pricing client:brightline",
    "battery after:2026-11-01",
    "what did we decide about the budget",
    "scroll wheel with:@maya",
    "type:ai_audit phones",
    "design",
    "the project",
]


def report(name: str, samples: list[float], target: float) -> None:
    ms = [s * 1000 for s in samples]
    p50, p95 = statistics.median(ms), pct(ms, 95)
    verdict = "OK" if p95 < target else "OVER TARGET"
    print(
        f"{name:<34} n={len(ms):>4}  p50={p50:7.1f} ms  p95={p95:7.1f} ms  (target p95 < {target:.0f} ms) {verdict}"
    )


async def main(meetings: int, runs: int) -> None:
    async with bench_runtime() as (runtime, _slack):
        await build_corpus(runtime, meetings)
        publish_home = runtime.slack.home.publish
        await publish_home(USER)  # warm caches (people lookup, connections)
        home: list[float] = []
        for _ in range(runs):
            t0 = time.perf_counter()
            await publish_home(USER)
            home.append(time.perf_counter() - t0)
        index: SearchIndex = runtime.domain.search
        search: list[float] = []
        for k in range(runs * 2):
            query = parse_query(QUERIES[k % len(QUERIES)])
            if query.with_user:
                query = replace(query, with_email="maya@agency.example")
            t0 = time.perf_counter()
            await index.search(query, EVERYTHING)
            search.append(time.perf_counter() - t0)
        report("Home publish (500 items, 10k mtgs)", home, 300)
        report("Search (10k meetings)", search, 200)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.meetings, args.runs))
