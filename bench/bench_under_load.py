"""The whole bot under load, with Slack's published rate limits modelled (issue #15).

Run: .venv/bin/python bench/bench_under_load.py ack         [--requests 400] [--senders 20] [--profile]
                                                            [--breakdown]
     .venv/bin/python bench/bench_under_load.py first-card  [--meetings 50] [--interval 0.2]
     .venv/bin/python bench/bench_under_load.py backfill    [--meetings 200]

The local Slack server runs in its own process with `LOCAL_SLACK_RATE_LIMITS=1` (bot/sandbox/
slack_rates.py: chat.postMessage 1/s per channel with a burst of 3, Tier 1-4 per-minute buckets), as
Slack would; the bot (workers, heuristic analyzer) runs in this process and its webhook intake in the
child process it starts (bot/intake_process.py); the webhook senders run in another process so their
CPU is not the bot's.

- ack: webhook ack p50/p99 with 20 concurrent senders while 20 meetings are being analysed, one of
  them two hours long (the long fixture's transcript played twice).
- first-card: 50 meetings sent one per 200 ms with analysis running; time from sending the webhook to
  the parent card's `ts` in Slack (the local server stamps `ts` from the same clock).
- backfill: 200 meetings at once into one channel: time until every first card is posted against the
  channel's ceiling (1 message/s after the burst), 429s the bot received, Slack calls per meeting.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("LOCAL_SLACK_RATE_LIMITS", "1")  # the Slack subprocess models Slack's limits

from _common import SECRET, fixture, pct, remote_slack_runtime, senders_in_child, summary  # noqa: E402

CHANNEL = "C02MEETINGS"
CYCLE = ["partner_sync", "ai_audit_discovery", "ami_ES2006a_kickoff", "ami_ES2006d_decision"]


def two_hour_meeting() -> dict[str, Any]:
    """The 80-minute fixture played twice: about 2 h 40 min of transcript, ~450 KB."""
    base = fixture("ami_TS3009c_long")
    second = copy.deepcopy(base["transcript"])
    for turn in second:
        h, m, s = (int(x) for x in turn["timestamp"].split(":"))
        total = h * 3600 + m * 60 + s + 81 * 60
        turn["timestamp"] = f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"
    return {**base, "transcript": base["transcript"] + second}


def meeting(i: int, rid_base: int, long: bool = False) -> bytes:
    payload = two_hour_meeting() if long else fixture(CYCLE[i % len(CYCLE)])
    title = f"Bench {rid_base + i}"
    return json.dumps(
        {**payload, "recording_id": rid_base + i, "title": title, "meeting_title": title}
    ).encode()


async def post_all(url: str, bodies: list[bytes], concurrency: int = 20) -> list[float]:
    """Send signed deliveries; returns the wall-clock send time of each (time.time())."""
    import aiohttp

    from services.webhook import sign_delivery

    sent = [0.0] * len(bodies)
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> None:
            async with sem:
                sent[i] = time.time()
                async with http.post(url, data=bodies[i], headers=sign_delivery(SECRET, bodies[i])) as r:
                    assert r.status == 202, r.status

        await asyncio.gather(*[one(i) for i in range(len(bodies))])
    return sent


async def count_status(runtime: Any, status: str) -> int:
    from sqlalchemy import func, select

    from services.models import Meeting

    async with runtime.db.read_session() as s:
        return int(await s.scalar(select(func.count()).where(Meeting.status == status)) or 0)


async def wait_for(predicate: Any, timeout: float, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(step)
    raise TimeoutError("condition not met in time")


async def parents(web: Any) -> dict[str, float]:
    """Title-in-card -> ts of every top-level message in the meetings channel."""
    found: dict[str, float] = {}
    cursor = None
    while True:
        page = await web.conversations_history(channel=CHANNEL, limit=200, cursor=cursor)
        for m in page["messages"]:
            text = json.dumps(m.get("blocks") or m.get("text"))
            for word in text.split("Bench ")[1:]:
                digits = "".join(ch for ch in word[:8] if ch.isdigit())
                if digits:
                    found.setdefault(digits, float(m["ts"]))
                    break
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return found


def time_intake(spans_file: str) -> dict[str, list[float]]:
    """--breakdown: where an ack's time goes: inside the intake process (bench/intake_timed.py,
    written to `spans_file` when it exits) and the mover's store transaction here, in ms."""
    import bot.intake_process
    from services.webhook import WebhookIntake

    os.environ["BENCH_INTAKE_SPANS"] = spans_file
    bot.intake_process.ENTRY = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "intake_timed.py")]
    spans: dict[str, list[float]] = {"mover store transaction": []}
    inner = WebhookIntake._store

    async def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await inner(*args, **kwargs)
        finally:
            spans["mover store transaction"].append((time.perf_counter() - start) * 1000)

    WebhookIntake._store = timed  # type: ignore[method-assign]
    return spans


def _caller() -> str:
    """The first two project frames above `Database.session` (file:function), for the hold log."""
    frame: Any = sys._getframe(2)
    names: list[str] = []
    while frame is not None and len(names) < 2:
        path = frame.f_code.co_filename
        if ("/services/" in path or "/bot/" in path) and not path.endswith(("/db.py", "contextlib.py")):
            names.append(f"{path.rsplit('/', 1)[-1][:-3]}.{frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(names) or "?"


def time_lock_holds() -> dict[str, list[float]]:
    """--breakdown: how long each main-loop unit of work holds SQLite's write lock, by caller, in ms.

    From the transaction's BEGIN (IMMEDIATE on SQLite) to the end of its commit or rollback."""
    from contextlib import asynccontextmanager

    from sqlalchemy import event

    from services.db import Database

    holds: dict[str, list[float]] = {}
    inner = Database.session

    @asynccontextmanager
    async def session(self: Database) -> Any:
        caller = _caller()
        began: list[float] = []
        try:
            async with inner(self) as s:
                event.listen(s.sync_session, "after_begin", lambda *_: began.append(time.perf_counter()))
                yield s
        finally:  # the commit (or rollback) has ended the transaction
            if began:
                holds.setdefault(caller, []).append((time.perf_counter() - began[0]) * 1000)

    Database.session = session  # type: ignore[method-assign]
    return holds


def print_holds(holds: dict[str, list[float]], top: int = 12) -> None:
    total = {k: sum(v) for k, v in holds.items()}
    print(f"  main-loop write-lock holds, top {top} callers by total time held (ms):")
    for name in sorted(total, key=total.__getitem__, reverse=True)[:top]:
        ms = holds[name]
        print(
            f"    {total[name]:8.0f} total  n={len(ms):5d}  p50={statistics.median(ms):6.1f}"
            f"  p99={pct(ms, 99):7.1f}  max={max(ms):7.1f}  {name}"
        )


async def ack(total: int, senders: int, profile: bool, breakdown: bool = False) -> None:
    import tempfile

    spans_file = os.path.join(tempfile.mkdtemp(prefix="intake-spans-"), "spans.json")
    spans = time_intake(spans_file) if breakdown else None
    holds = time_lock_holds() if breakdown else None
    async with remote_slack_runtime() as (runtime, web):
        url = f"http://127.0.0.1:{runtime.http_port}/webhooks/fathom"
        await post_all(
            url, [meeting(0, 4_000_000, long=True)] + [meeting(i, 4_000_000) for i in range(1, 20)]
        )

        async def analysing() -> bool:  # every first card is out: the analyses are what runs now
            return len(await parents(web)) >= 20

        await wait_for(analysing, 120, step=0.5)
        analysed_at_start = await count_status(runtime, "analysed")
        if holds is not None:
            holds.clear()  # only the units of work that overlap the senders
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        latencies = await senders_in_child(url, total, senders, rid_base=5_000_000)
        analysed_at_end = await count_status(runtime, "analysed")
        analysed_before = analysed_at_start
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        mover = list((spans or {}).get("mover store transaction", []))
        held = {k: list(v) for k, v in (holds or {}).items()}
    # the runtime has stopped: the intake process has written its timers
    if spans is not None and os.path.exists(spans_file):
        with open(spans_file) as f:
            for label, ms in json.load(f).items():
                if ms:
                    print(summary(f"  in the intake process: {label}", ms[-total:]))
    if mover:
        print(summary("  in the bot: mover store transaction", mover))
    if held:
        print_holds(held)
    print(summary(f"webhook ack, {senders} senders, {total} deliveries, 20 meetings analysing", latencies))
    print(f"meetings analysed when the senders started / finished: {analysed_before} / {analysed_at_end}")


async def first_card(n: int, interval: float) -> None:
    async with remote_slack_runtime() as (runtime, web):
        url = f"http://127.0.0.1:{runtime.http_port}/webhooks/fathom"
        rid = 6_000_000
        sent: dict[str, float] = {}
        for i in range(n):
            sent[str(rid + i)] = (await post_all(url, [meeting(i, rid, long=i == 0)]))[0]
            await asyncio.sleep(interval)

        async def all_posted() -> bool:
            return len(set(sent) & set(await parents(web))) == n

        await wait_for(all_posted, 120, step=0.5)
        posted = await parents(web)
        latencies = [(posted[r] - sent[r]) * 1000 for r in sent]
        print(summary(f"time to first card, {n} meetings one per {interval * 1000:.0f} ms", latencies))


async def backfill(n: int) -> None:
    """Slack runs in this process here, so its 429 count and call log can be read directly."""
    from _common import bench_runtime

    async with bench_runtime() as (runtime, slack):
        assert slack.rates is not None, "LOCAL_SLACK_RATE_LIMITS must be on"
        url = f"http://127.0.0.1:{runtime.http_port}/webhooks/fathom"
        rid = 7_000_000
        start = time.time()
        await post_all(url, [meeting(i, rid) for i in range(n)])
        acks_before = len(slack.acks)

        async def interactions() -> None:  # people keep using the bot during the backfill
            while True:
                await slack.send_command("U01MAYA", "C01GENERAL", "/os-actions", "")
                await slack.open_home("U02JONAS")
                await asyncio.sleep(0.5)

        clicking = asyncio.create_task(interactions())
        while len(slack.messages(CHANNEL)) < n:
            await asyncio.sleep(0.5)
        first_cards_at = max(float(m["ts"]) for m in slack.messages(CHANNEL)) - start
        calls_then = len(slack.calls)
        clicking.cancel()
        acks = [a.latency * 1000 for a in slack.acks[acks_before:]]
        ceiling = max(0.0, n - 3) / 1.0  # Slack: a burst of 3, then 1 message per second per channel
        refused = sum(1 for c in slack.calls if c.status == 429)
        print(f"backfill {n} meetings into one channel: every first card posted after {first_cards_at:.1f} s")
        print(f"  channel ceiling {ceiling:.0f} s -> {first_cards_at / ceiling * 100 - 100:+.1f} % over it")
        print(f"  429s answered by Slack: {refused}; Slack calls per meeting so far: {calls_then / n:.1f}")
        print("  " + summary("interaction ack during the backfill", acks))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["ack", "first-card", "backfill"])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--meetings", type=int, default=None)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--breakdown", action="store_true", help="ack: time in intake.receive and its write")
    args = parser.parse_args()
    if args.mode == "ack":
        asyncio.run(ack(args.requests, args.senders, args.profile, args.breakdown))
    elif args.mode == "first-card":
        asyncio.run(first_card(args.meetings or 50, args.interval))
    else:
        asyncio.run(backfill(args.meetings or 200))
