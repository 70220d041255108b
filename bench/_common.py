"""Shared bench setup: a real Runtime against the local Slack server in a temp folder."""

from __future__ import annotations

import base64
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.sandbox import LocalSlack  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"bench-secret-fathom-os-000000").decode()
FIXTURES = ROOT.parent / "shared" / "fixtures" / "fathom"
if not FIXTURES.exists():
    FIXTURES = ROOT / "examples" / "fathom"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def pct_rank(values: list[float], p: float) -> float:
    """The percentile at rank p·(n−1), rounded: what the Home/search and dashboard benches report
    (their rows in docs/benchmarks.md were measured with it; `pct` is nearest-rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(label: str, ms: list[float]) -> str:
    return (
        f"{label}: n={len(ms)} p50={statistics.median(ms):.1f} ms p95={pct(ms, 95):.1f} ms "
        f"p99={pct(ms, 99):.1f} ms max={max(ms):.1f} ms"
    )


def bench_settings(tmp: str, **env: Any) -> Any:
    return load_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
        OS_REPO_PATH=f"{tmp}/os",
        FATHOM_WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=0,
        SLACK_DEFAULT_CHANNEL="C02MEETINGS",
        LOG_LEVEL="WARNING",
        **env,
    )


@asynccontextmanager
async def running(settings: Any, sandbox_slack: Any = None) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, sandbox_slack=sandbox_slack)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@asynccontextmanager
async def remote_slack_runtime(**env: Any) -> AsyncIterator[tuple[Runtime, Any]]:
    """The bot with Slack in another process (as it is in production): the local Slack server's
    own CPU is not charged to the bot. Yields the runtime and a Web API client for inspection."""
    import asyncio
    import subprocess

    from slack_sdk.web.async_client import AsyncWebClient

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.sandbox", cwd=str(ROOT), stdout=subprocess.PIPE
    )
    assert proc.stdout
    api_url = (await proc.stdout.readline()).decode().strip()
    token = "xoxb-local-sandbox"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = bench_settings(
                tmp, SLACK_BOT_TOKEN=token, SLACK_APP_TOKEN="xapp-local-sandbox", SLACK_API_URL=api_url, **env
            )
            async with running(settings) as runtime:
                yield runtime, AsyncWebClient(token=token, base_url=api_url)
    finally:
        proc.terminate()
        await proc.wait()


@asynccontextmanager
async def bench_runtime(**env: Any) -> AsyncIterator[tuple[Runtime, LocalSlack]]:
    """The bot and the local Slack server in this process (Slack's state inspectable directly)."""
    with tempfile.TemporaryDirectory() as tmp:
        slack = await LocalSlack.start()
        try:
            async with running(bench_settings(tmp, **env), slack) as runtime:
                yield runtime, slack
        finally:
            await slack.stop()


# -- webhook senders in their own process (bench_webhook, bench_under_load) ---------------------


async def send_deliveries(url: str, total: int, senders: int, rid_base: int) -> list[float]:
    """`total` signed deliveries of one fixture (recording ids from `rid_base`) from `senders`
    concurrent senders, as Fathom would send them; the ack latency of each, in ms."""
    import asyncio

    import aiohttp

    from services.webhook import sign_delivery

    base = fixture("ai_audit_discovery")
    bodies = [json.dumps({**base, "recording_id": rid_base + i}).encode() for i in range(total)]
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


async def senders_in_child(url: str, total: int, senders: int, rid_base: int) -> list[float]:
    """`send_deliveries` in a child process, so the senders' CPU is not charged to the bot."""
    import asyncio
    import subprocess

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "senders",
        url,
        str(total),
        str(senders),
        str(rid_base),
        stdout=subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, proc.returncode
    latencies: list[float] = json.loads(out)
    return latencies


# -- the 10,000-meeting corpus (bench_home_search, bench_dashboard) ------------------------

CLIENTS = ["brightline-dental", "acme", "northwind", "globex", "initech", "umbrella", "hooli", "stark"]
TYPES = ["client", "discovery", "ai_audit", "sales", "internal_partner", "coaching"]
USER = "U01MAYA"  # the user with 500 open items


async def build_corpus(runtime: Runtime, meetings: int) -> None:
    """`meetings` meetings of shuffled fixture transcript lines (8 clients, 6 types) with their search
    rows inserted in bulk (the rows `meeting_passages` gives the pipeline hook), and 500 open items
    for USER. Seeded: every run builds the same corpus. Used by the Home/search and dashboard benches."""
    from sqlalchemy import text

    from services.clock import utcnow
    from services.models import ActionItem, Decision, Meeting
    from services.search import SearchIndex, meeting_passages
    from tests.helpers import FIXTURE_NAMES, load_fixture

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


if __name__ == "__main__" and sys.argv[1:2] == ["senders"]:
    import asyncio

    url, total, senders, rid_base = sys.argv[2], *map(int, sys.argv[3:6])
    print(json.dumps(asyncio.run(send_deliveries(url, total, senders, rid_base))))
