"""Tokens and cost of Claude analysis per meeting-hour, through the real SDK and ClaudeAnalyzer.

Targets (issue #14): <= 11k input tokens per meeting-hour including instructions, OS context and
schema; <= 1.5k output tokens per meeting-hour on the fake's answers; estimated cost per
meeting-hour at list prices <= $0.02 on default routing and <= $0.01 with batches.

Run: .venv/bin/python bench/bench_tokens.py
The local Messages-API stand-in (tests/support/fake_anthropic.py) reports usage estimated at
4 characters a token over everything sent (system blocks, messages, output schema) and over its
answer; costs come from the analyzer's own UsageRecords (list prices, no cache discount counted, so
an upper bound). Each fixture is analysed once directly and once through the Message Batches API.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from pathlib import Path

from _common import ROOT, fixture
from anthropic import AsyncAnthropic

from bot.config import load_settings
from services.analysis.base import build_analyzer
from services.analysis.claude import ClaudeAnalyzer
from services.fathom import FathomMeeting, parse_meeting
from services.os_config import load_os_config
from services.os_context import build_context
from services.os_repo import OSRepo
from tests.support.fake_anthropic import FakeAnthropic

FIXTURES = [
    "ai_audit_discovery",
    "partner_sync",
    "ami_ES2006a_kickoff",
    "ami_ES2006d_decision",
    "ami_TS3009c_long",
]


async def os_repo(tmp: Path) -> OSRepo:
    """A realistic OS: the skeleton, a team, a client with a profile, log and an open project."""
    repo = OSRepo(tmp / "os")
    await repo.init(
        context={"agency_name": "Agency", "admin_email": "maya@agency.example", "admin_name": "Maya Chen"}
    )
    config = (repo.path / "fathom-os.yml").read_text()
    config = config.replace(
        "clients: []",
        "clients:\n  - name: Brightline Dental\n    domains: [brightline-dental.example]\n"
        "    slug: brightline-dental\n",
    )
    (repo.path / "fathom-os.yml").write_text(config)
    client = repo.path / "clients" / "brightline-dental"
    client.mkdir(parents=True)
    (client / "README.md").write_text("# Brightline Dental\n\n" + "Profile line about the client. " * 120)
    (client / "log.md").write_text("# Log\n\n" + "- 2026-10-01 earlier meeting summary line.\n" * 150)
    (client / "analysis.md").write_text("Note which clinic raised each item; flag patient data as HIPAA.\n")
    (repo.path / "projects" / "brightline-automation.md").write_text(
        "# Automation for Brightline Dental\n\nStatus: active\n" + "Scope detail. " * 200
    )
    (repo.path / "decisions" / "log.md").write_text(
        "# Decisions\n\n" + "- 2026-10-02 a decision with its reason.\n" * 200
    )
    for args in (["add", "-A"], ["commit", "-qm", "seed"]):
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@x", *args], cwd=repo.path, check=True)
    return repo


def minutes(meeting: FathomMeeting) -> float:
    from services.fathom import timestamp_seconds

    last = max((timestamp_seconds(t.timestamp) for t in meeting.transcript or []), default=0)
    return max(meeting.duration_seconds or 0, last) / 60


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = await os_repo(Path(tmp))
        config = load_os_config(repo.path)
        meetings = [parse_meeting(fixture(name)) for name in FIXTURES]
        contexts = [(await build_context(repo, config, m.external_domains)).text for m in meetings]
    async with FakeAnthropic() as server:
        settings = load_settings(ANTHROPIC_API_KEY="sk-ant-bench", ANTHROPIC_BASE_URL=server.url)
        client = AsyncAnthropic(api_key="sk-ant-bench", base_url=server.url, max_retries=0)
        analyzer = build_analyzer(settings, client)
        assert isinstance(analyzer, ClaudeAnalyzer)
        analyzer.use_batches = True
        analyzer._poll = 0.01
        totals = {"min": 0.0, "in": 0, "out": 0, "usd": 0.0, "batch_usd": 0.0}
        print(
            "| meeting | min | model | calls | input tok | output tok | input/h | output/h | $/h | $/h batch |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, meeting, context in zip(FIXTURES, meetings, contexts, strict=True):
            direct = await analyzer.analyze(meeting, os_context=context)
            batched = await analyzer.analyze(meeting, os_context=context, deferred=True)
            mins = minutes(meeting)
            tin = sum(u.input_tokens + u.cache_creation_tokens + u.cache_read_tokens for u in direct.usage)
            tout = sum(u.output_tokens for u in direct.usage)
            usd = sum(u.cost_usd for u in direct.usage)
            busd = sum(u.cost_usd for u in batched.usage)
            per = 60 / mins
            print(
                f"| {name} | {mins:.0f} | {direct.model} | {len(direct.usage)} | {tin:,} | {tout:,} | "
                f"{tin * per:,.0f} | {tout * per:,.0f} | {usd * per:.4f} | {busd * per:.4f} |"
            )
            for key, value in (("min", mins), ("in", tin), ("out", tout), ("usd", usd), ("batch_usd", busd)):
                totals[key] += value
        hours = totals["min"] / 60
        print(
            f"| **all {len(FIXTURES)} ({hours:.2f} h)** | {totals['min']:.0f} | default routing | | "
            f"{totals['in']:,} | {totals['out']:,} | {totals['in'] / hours:,.0f} | "
            f"{totals['out'] / hours:,.0f} | {totals['usd'] / hours:.4f} | {totals['batch_usd'] / hours:.4f} |"
        )
        await client.close()


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    asyncio.run(main())
