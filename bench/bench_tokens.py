"""Tokens sent to Claude for a long meeting, including OS context (target < 20k input per 1-hour
meeting, cacheable prefix marked). The real ClaudeAnalyzer and anthropic SDK talk to the local
Messages-API stand-in, which records exactly what would have been sent.

Run: .venv/bin/python bench/bench_tokens.py
Token counts are estimated at 4 characters per token (the project's budget rule); the JSON schema of
the structured output is sent as `output_config` and counted separately.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from _common import ROOT, fixture
from anthropic import AsyncAnthropic

from bot.config import load_settings
from services.analysis.base import build_analyzer
from services.fathom import parse_meeting
from services.os_config import load_os_config
from services.os_context import build_context
from services.os_repo import OSRepo
from tests.support.fake_anthropic import FakeAnthropic


def tokens(text: str) -> int:
    return len(text) // 4


async def os_context_text(tmp: Path) -> str:
    """A realistic OS: the skeleton, a team, a client with a profile, log and an open project."""
    repo = OSRepo(tmp / "os")
    await repo.init(
        context={"agency_name": "Agency", "admin_email": "maya@agency.example", "admin_name": "Maya Chen"}
    )
    config = (repo.path / "fathom-os.yml").read_text()
    config = config.replace(
        "clients: []",
        "clients:\n  - name: Remote Control Co\n    domains: [agency.example]\n    slug: remote-control",
    )
    (repo.path / "fathom-os.yml").write_text(config)
    client = repo.path / "clients" / "remote-control"
    client.mkdir(parents=True)
    (client / "README.md").write_text("# Remote Control Co\n\n" + "Profile line about the client. " * 120)
    (client / "log.md").write_text("# Log\n\n" + "- 2026-10-01 earlier meeting summary line.\n" * 150)
    (repo.path / "projects" / "remote-control-redesign.md").write_text(
        "# Redesign for Remote Control Co\n\nStatus: active\n" + "Scope detail. " * 200
    )
    (repo.path / "decisions" / "log.md").write_text(
        "# Decisions\n\n" + "- 2026-10-02 a decision with its reason.\n" * 200
    )
    import subprocess

    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@x", "add", "-A"], cwd=repo.path, check=True
    )
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "seed"],
        cwd=repo.path,
        check=True,
    )
    ctx = await build_context(repo, load_os_config(repo.path), ["agency.example"])
    return ctx.text


async def main() -> None:
    meeting = parse_meeting(fixture("ami_TS3009c_long"))
    minutes = (meeting.duration_seconds or 0) / 60
    with tempfile.TemporaryDirectory() as tmp:
        context = await os_context_text(Path(tmp))
    async with FakeAnthropic() as server:
        settings = load_settings(ANTHROPIC_API_KEY="sk-ant-bench", ANTHROPIC_BASE_URL=server.url)
        client = AsyncAnthropic(api_key="sk-ant-bench", base_url=server.url, max_retries=0)
        analyzer = build_analyzer(settings, client)
        await analyzer.analyze(meeting, os_context=context)
        await client.close()
    for i, request in enumerate(server.requests, 1):
        system = "".join(b.get("text", "") for b in request.system)
        cached = [b for b in request.system if b.get("cache_control")]
        prefix = sum(tokens(b.get("text", "")) for b in request.system)
        user = tokens(request.user_text)
        schema = tokens(
            json.dumps(request.body.get("output_config") or request.body.get("output_format") or {})
        )
        print(
            f"request {i}/{len(server.requests)} ({request.model}), {minutes:.0f}-minute meeting "
            f"({len(meeting.transcript or [])} transcript lines): system prefix {prefix} tokens "
            f"({len(cached)} of {len(request.system)} blocks marked cache_control), of which OS context "
            f"{tokens(context)}; meeting + transcript {user}; output schema {schema}; "
            f"total input ≈ {prefix + user + schema} tokens "
            f"(per hour of meeting ≈ {(prefix + user + schema) * 60 / max(minutes, 1):.0f})"
        )
        assert system


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    asyncio.run(main())
