from __future__ import annotations

from pathlib import Path

import pytest

from services.os_config import parse_os_config
from services.os_context import build_context
from services.os_repo import SKELETON_DIR, Author, FileChange, OSRepo

ANN = Author("Ann Lee", "ann@agency.com")
CONFIG = parse_os_config(
    """
team:
  - {name: Ann Lee, email: ann@agency.com, role: Founder, partner: true, admin: true}
  - {name: Bob Stone, email: bob@agency.com, role: Account lead}
approvers: [ann@agency.com]
internal_domains: [agency.com]
clients:
  - {name: Acme Corp, domains: [acme.com], slug: acme}
  - {name: Globex, domains: [globex.com]}
"""
)


async def _add(repo: OSRepo, rel: str, text: str) -> None:
    await repo.apply(FileChange(rel, "create", text), ANN, f"add {rel}", {})


@pytest.fixture
async def repo(tmp_path: Path) -> OSRepo:
    r = OSRepo(tmp_path / "os")
    await r.init(SKELETON_DIR, {"agency_name": "Lee & Partners"})
    await _add(r, "clients/acme/README.md", "# Acme Corp\n\nRoad-runner catching equipment.\n")
    await _add(
        r,
        "clients/acme/log.md",
        "# Acme log\n" + "".join(f"\n## 2025-01-{d:02d}\n\nCall {d}.\n" for d in range(1, 29)),
    )
    await _add(r, "clients/globex/README.md", "# Globex\n\nNot in this meeting.\n")
    await _add(r, "projects/acme-website.md", "# Website\n\n- **Client:** Acme Corp\n- **Status:** active\n")
    await _add(r, "projects/acme-old.md", "# Old thing\n\n- Client: Acme Corp\n- Status: done\n")
    await _add(r, "projects/globex-app.md", "# App\n\n- Client: Globex\n- Status: active\n")
    return r


async def test_context_holds_roster_client_projects_and_decisions_in_stable_order(repo: OSRepo) -> None:
    ctx = await build_context(repo, CONFIG, ["acme.com", "agency.com"])
    titles = [t for t, _ in ctx.sections]
    assert titles == [
        "Team",
        "Client profile: Acme Corp (clients/acme/README.md)",
        "Project (projects/acme-website.md)",
        "Client log, latest entries: Acme Corp",
        "Recent decisions (decisions/log.md)",
    ]
    roster = ctx.sections[0][1]
    assert "- Ann Lee <ann@agency.com> — Founder (partner, admin, approver)" in roster
    assert "Globex" not in ctx.text and "Old thing" not in ctx.text
    assert "Call 28." in ctx.text
    assert "Adopt the Fathom OS" in ctx.text
    assert ctx.approx_tokens == -(-len(ctx.text) // 4)


async def test_context_records_blob_ids_for_proposals(repo: OSRepo) -> None:
    ctx = await build_context(repo, CONFIG, ["acme.com"])
    _, blob = await repo.read("clients/acme/README.md")
    assert ctx.blobs["clients/acme/README.md"] == blob


async def test_tight_budget_drops_the_least_stable_parts_first(repo: OSRepo) -> None:
    full = await build_context(repo, CONFIG, ["acme.com"])
    small = await build_context(repo, CONFIG, ["acme.com"], token_budget=120)
    assert small.approx_tokens <= 120
    assert small.sections[0] == full.sections[0]
    assert [t for t, _ in small.sections] == [t for t, _ in full.sections][: len(small.sections)]
    assert "Recent decisions (decisions/log.md)" not in [t for t, _ in small.sections]


async def test_a_truncated_log_keeps_its_most_recent_entries(repo: OSRepo) -> None:
    full = await build_context(repo, CONFIG, ["acme.com"])
    upto_log = sum(len(f"## {t}\n\n{b}") + 2 for t, b in full.sections[:3])
    ctx = await build_context(repo, CONFIG, ["acme.com"], token_budget=(upto_log + 400) // 4)
    title, body = ctx.sections[-1]
    assert title.startswith("Client log") and "Call 28." in body and "Call 1." not in body
    assert ctx.approx_tokens <= (upto_log + 400) // 4


async def test_unknown_domain_falls_back_to_a_client_folder_named_after_it(repo: OSRepo) -> None:
    await _add(repo, "clients/initech/README.md", "# Initech\n\nTPS reports.\n")
    ctx = await build_context(repo, CONFIG, ["mail.initech.com"])
    assert "TPS reports." in ctx.text


async def test_internal_meeting_gets_roster_and_decisions_only(repo: OSRepo) -> None:
    ctx = await build_context(repo, CONFIG, [])
    assert [t for t, _ in ctx.sections] == ["Team", "Recent decisions (decisions/log.md)"]
