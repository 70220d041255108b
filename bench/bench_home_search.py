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
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.sandbox import LocalSlack  # noqa: E402
from services.access import EVERYTHING  # noqa: E402
from services.clock import utcnow  # noqa: E402
from services.models import ActionItem, Decision, Meeting  # noqa: E402
from services.search import SearchIndex, meeting_passages, parse_query  # noqa: E402
from tests.helpers import FIXTURE_NAMES, load_fixture  # noqa: E402

CLIENTS = ["brightline-dental", "acme", "northwind", "globex", "initech", "umbrella", "hooli", "stark"]
TYPES = ["client", "discovery", "ai_audit", "sales", "internal_partner", "coaching"]
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
USER = "U01MAYA"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name: str, samples: list[float], target: float) -> None:
    ms = [s * 1000 for s in samples]
    p50, p95 = statistics.median(ms), pct(ms, 95)
    verdict = "OK" if p95 < target else "OVER TARGET"
    print(
        f"{name:<34} n={len(ms):>4}  p50={p50:7.1f} ms  p95={p95:7.1f} ms  (target p95 < {target:.0f} ms) {verdict}"
    )


async def build_corpus(runtime: Runtime, meetings: int) -> None:
    rng = random.Random(7)
    lines = [line for name in FIXTURE_NAMES for line in (load_fixture(name).get("transcript") or [])]
    invitees = load_fixture("ami_ES2006a_kickoff")["calendar_invitees"]
    index = SearchIndex(runtime.db)
    now = utcnow()
    start = time.perf_counter()
    for batch in range(0, meetings, 500):
        async with runtime.db.session() as s:
            rows: list[Meeting] = []
            for n in range(batch, min(meetings, batch + 500)):
                begin = now - timedelta(days=rng.randint(0, 365), hours=rng.randint(0, 8))
                client = rng.choice(CLIENTS)
                at = rng.randrange(0, len(lines) - 200)
                transcript = lines[at : at + 200]
                payload = {
                    "title": f"{client.title()} sync #{n}",
                    "recording_id": 5_000_000 + n,
                    "url": f"https://fathom.video/calls/{5_000_000 + n}",
                    "calendar_invitees": invitees
                    + [{"email": f"guest@{client}.example", "is_external": True}],
                    "transcript": transcript,
                }
                m = Meeting(
                    recording_id=5_000_000 + n,
                    title=payload["title"],
                    url=payload["url"],
                    started_at=begin,
                    ended_at=begin + timedelta(minutes=rng.choice([30, 45, 60])),
                    payload=payload,
                    status="analysed",
                    primary_type=rng.choice(TYPES),
                    client_slug=client,
                    analysis={"summary_one_line": f"Discussed {transcript[0]['text'][:80]}", "summary": ""},
                )
                rows.append(m)
            s.add_all(rows)
            await s.flush()
            fts: list[dict] = []
            attendees: list[dict] = []
            for m in rows:
                decisions = [
                    Decision(meeting_id=m.id, what=f"Agreed on pricing tier {m.id % 5} for {m.client_slug}")
                ]
                s.add_all(decisions)
                for k, p in enumerate(meeting_passages(m, decisions), start=1):
                    fts.append(index._row(m.id, k, p))
                attendees += [{"e": i["email"], "m": m.id} for i in m.payload["calendar_invitees"]]
            await s.execute(
                text(
                    "INSERT INTO search_fts (rowid, title, summary, decision, line, meeting_id, kind, ts, seconds)"
                    " VALUES (:rowid, :title, :summary, :decision, :line, :m, :kind, :ts, :seconds)"
                ),
                fts,
            )
            await s.execute(
                text("INSERT INTO search_attendees (email, meeting_id) VALUES (:e, :m)"), attendees
            )
            if batch == 0:
                today = now.date()
                for k in range(500):
                    s.add(
                        ActionItem(
                            meeting_id=rows[k % len(rows)].id,
                            position=k,
                            dedupe_key=f"bench-{k}",
                            source="analysis",
                            text=f"Follow up on item {k}: " + "send the revised proposal " * 6,
                            owner_slack_id=USER,
                            owner_email="maya@agency.example",
                            due_date=today + timedelta(days=(k % 30) - 10),
                        )
                    )
    async with runtime.db.session() as s:
        count = await s.scalar(text("SELECT count(*) FROM search_fts"))
    print(f"built {meetings} meetings, {count} indexed passages in {time.perf_counter() - start:.1f} s")


async def main(meetings: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        slack = await LocalSlack.start()
        settings = load_settings(
            DATABASE_URL=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}",
            OS_REPO_PATH=str(Path(tmp) / "os"),
            WEBHOOK_PORT=0,
            SLACK_DEFAULT_CHANNEL="C02MEETINGS",
        )
        runtime = Runtime(settings, sandbox_slack=slack)
        await runtime.start()
        try:
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
        finally:
            await runtime.stop()
            await slack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.meetings, args.runs))
