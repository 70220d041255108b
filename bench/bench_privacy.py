"""Privacy costs: redaction of a one-hour transcript (target p95 < 50 ms) and the retention purge of
10,000 expired transcripts (meeting payload, raw webhook body and search passages).

    .venv/bin/python bench/bench_privacy.py [--runs 50] [--meetings 10000] [--database-url URL]

The one-hour meeting is the longest fixture (AMI TS3009c) cut at 60:00, with personal data of
every kind written into one turn in twenty (e-mails, phones, cards, IBANs, ids, addresses).
Redaction is timed as the analysis boundary runs it: `redact_meeting` (a redacted copy of the
whole meeting) plus `restore_model` on an analysis of the same size as the heuristic's.
The purge corpus: meetings with the discovery fixture's transcript, its raw body and its search
rows (from the pipeline's own `meeting_passages`), inserted in bulk, all older than the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text  # noqa: E402

from bench._common import fixture, summary  # noqa: E402
from bot.db import upgrade  # noqa: E402
from services.analysis.heuristic import HeuristicAnalyzer  # noqa: E402
from services.clock import utcnow  # noqa: E402
from services.db import Database  # noqa: E402
from services.fathom import FathomMeeting, parse_meeting  # noqa: E402
from services.models import Meeting, WebhookDelivery  # noqa: E402
from services.os_config import parse_os_config  # noqa: E402
from services.privacy import purge_expired  # noqa: E402
from services.redaction import Policy, redact_meeting  # noqa: E402
from services.search import ROWS_PER_MEETING, meeting_passages  # noqa: E402

PII = [
    "send it to rosa.alvarez@brightline-dental.example please",
    "my mobile is +44 7911 123456, the desk (415) 555-2671",
    "the card is 4111 1111 1111 1111",
    "refunds to GB82 WEST 1234 5698 7654 32",
    "SSN 078-05-1120 and NI AB 12 34 56 C",
    "we moved to 1200 Harbour View Drive",
]


def one_hour_meeting() -> FathomMeeting:
    data = fixture("ami_TS3009c_long")
    meeting = parse_meeting(data)
    lines = [t for t in meeting.transcript or [] if t.seconds < 3600]
    for n, line in enumerate(lines):
        if n % 20 == 0:
            line.text = f"{line.text} Also, {PII[(n // 20) % len(PII)]}."
    return meeting.model_copy(update={"transcript": lines})


def bench_redaction(runs: int) -> None:
    meeting = one_hour_meeting()
    analysis = HeuristicAnalyzer().analyze_sync(meeting)
    chars = len(meeting.transcript_text())
    print(f"one-hour meeting: {len(meeting.transcript or [])} turns, {chars:,} characters")
    start = time.perf_counter()  # the first call loads phonenumbers' metadata for each country seen
    redact_meeting(meeting, Policy()).__getitem__(1).restore_model(analysis)
    print(f"first call in the process (cold): {(time.perf_counter() - start) * 1000:.0f} ms")
    for mode in ("standard", "strict"):
        ms: list[float] = []
        for _ in range(runs):
            start = time.perf_counter()
            _, redactor = redact_meeting(meeting, Policy(mode=mode))
            redactor.restore_model(analysis)
            ms.append((time.perf_counter() - start) * 1000)
        print(summary(f"redact + restore ({mode})", ms), redactor.summary())


async def build_corpus(db: Database, n: int) -> None:
    data = fixture("ai_audit_discovery")
    old = utcnow() - timedelta(days=400)
    template = parse_meeting(data)
    probe = Meeting(title=template.title, payload=data)
    passages = meeting_passages(probe, [])
    body = json.dumps(data).encode()
    batch = 500
    for first in range(1, n + 1, batch):
        ids = range(first, min(n, first + batch - 1) + 1)
        async with db.session() as s:
            await s.execute(
                insert(WebhookDelivery),
                [{"id": i, "webhook_id": f"msg_{i}", "status": "accepted", "recording_id": i, "body": body,
                  "received_at": old} for i in ids],
            )  # fmt: skip
            await s.execute(
                insert(Meeting),
                [{"id": i, "recording_id": i, "delivery_id": i, "title": template.title, "payload": data,
                  "started_at": old, "status": "analysed", "created_at": old, "updated_at": old} for i in ids],
            )  # fmt: skip
            if db.is_sqlite:
                sql = (
                    "INSERT INTO search_fts (rowid, title, summary, decision, line, meeting_id, kind, ts, seconds)"
                    " VALUES (:rowid, :title, :summary, :decision, :line, :m, :kind, :ts, NULL)"
                )
                rows = [
                    {"rowid": i * ROWS_PER_MEETING + k, "m": i, "kind": p.kind, "ts": p.ts,
                     **{c: (p.text if c == p.kind else None) for c in ("title", "summary", "decision", "line")}}
                    for i in ids for k, p in enumerate(passages, start=1)
                ]  # fmt: skip
            else:
                sql = (
                    "INSERT INTO search_passages (meeting_id, kind, ts, body) VALUES (:m, :kind, :ts, :body)"
                )
                rows = [{"m": i, "kind": p.kind, "ts": p.ts, "body": p.text} for i in ids for p in passages]
            await s.execute(text(sql), rows)


async def bench_purge(n: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(url or f"sqlite+aiosqlite:///{tmp}/purge.sqlite3")
        await upgrade(db)
        if not db.is_sqlite:
            async with db.session() as s:
                await s.execute(text("TRUNCATE meetings, webhook_deliveries, search_passages CASCADE"))
        start = time.perf_counter()
        await build_corpus(db, n)
        print(
            f"corpus: {n:,} meetings with transcripts, bodies and passages in {time.perf_counter() - start:.1f} s"
        )
        config = parse_os_config("retention:\n  transcripts_days: 30\n  webhook_bodies_days: 30\n")
        start = time.perf_counter()
        dry = await purge_expired(db, config, dry_run=True)
        dry_s = time.perf_counter() - start
        start = time.perf_counter()
        report = await purge_expired(db, config)
        took = time.perf_counter() - start
        async with db.session() as s:
            left = await s.scalar(select(Meeting.id).where(Meeting.transcript_purged_at.is_(None)).limit(1))
        assert left is None and report.transcripts == n == dry.transcripts
        engine = "SQLite" if db.is_sqlite else "PostgreSQL"
        print(
            f"purge ({engine}): {report.transcripts:,} transcripts, {report.passages:,} passages,"
            f" {report.webhook_bodies:,} raw bodies in {took:.2f} s ({took / n * 1000:.2f} ms each);"
            f" dry run {dry_s * 1000:.0f} ms"
        )
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    bench_redaction(args.runs)
    asyncio.run(bench_purge(args.meetings, args.database_url))


if __name__ == "__main__":
    main()
