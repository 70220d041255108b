"""Client OS pack generation: content a client would read, runnable scripts, overrides, determinism."""

from __future__ import annotations

import ast
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from services.audit import GeneratedPack, extract_heuristic, generate_client_os
from services.audit.heuristic import meeting_date
from services.audit.schema import (
    AuditExtraction,
    Budget,
    ClientProfile,
    Opportunity,
    Requirement,
    Timeline,
)
from services.fathom import parse_meeting

FIXTURES = Path(__file__).resolve().parents[1] / "examples" / "fathom"


def pack_for(fixture: str, **kwargs: object) -> GeneratedPack:
    meeting = parse_meeting(json.loads((FIXTURES / f"{fixture}.json").read_text()))
    extraction = extract_heuristic(meeting)
    return generate_client_os(
        extraction,
        meeting_title=meeting.title,
        meeting_date=meeting_date(meeting),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def brightline() -> GeneratedPack:
    return pack_for("ai_audit_discovery")


def test_claude_md_is_specific_to_the_client(brightline: GeneratedPack) -> None:
    claude = brightline.files["CLAUDE.md"]
    assert "Brightline Dental" in claude
    assert "Directives" in claude and "Orchestration" in claude and "Execution" in claude
    assert "Dentrix" in claude and "Open Dental" in claude
    assert "HIPAA" in claude and "BAA" in claude


def test_proposal_uses_stated_budget_and_deadline(brightline: GeneratedPack) -> None:
    sow = brightline.files["proposal/SOW.md"]
    assert "$40,000" in sow
    assert "March 31, 2027" in sow
    timeline = brightline.files["proposal/timeline.md"]
    assert "2027-03-31" in timeline and "Go-live" in timeline
    assert brightline.plan is not None
    assert max(m.due for m in brightline.plan.milestones) == date(
        2027, 3, 31
    )  # every milestone by the deadline
    assert brightline.plan.weeks[-1].end == date(2027, 3, 31)
    assert brightline.summary.startswith("Budget $40,000 (phase one) · go-live 2027-03-31")


def test_kpis_carry_meeting_baselines(brightline: GeneratedPack) -> None:
    assert "| No-show rate | % | 11% | 5.5% (halved)" in brightline.files["kpis.md"]
    rows = brightline.files["kpis.csv"].splitlines()
    assert rows[0].startswith("kpi,unit,baseline,target")
    assert any(row.startswith("No-show rate,%,11.0,5.5") for row in rows)


def test_one_directive_script_and_agent_per_automation(brightline: GeneratedPack) -> None:
    for opp_slug, module in [
        ("two-way-appointment-reminders", "two_way_appointment_reminders"),
        ("automated-insurance-eligibility-checks", "automated_insurance_eligibility_checks"),
    ]:
        directive = brightline.files[f"directives/{opp_slug}.md"]
        for heading in ("## Goal", "## Inputs", "## Tools", "## Steps", "## Outputs", "## Edge cases"):
            assert heading in directive
        assert f"execution/{module}.py" in brightline.files
        assert f"agents/{opp_slug}.md" in brightline.files
    assert [o.title for o in brightline.top_opportunities(2)] == [
        "Two-way appointment reminders",
        "Automated insurance eligibility checks",
    ]


def test_healthcare_pack_adds_compliance_files(brightline: GeneratedPack) -> None:
    assert {"compliance/hipaa.md", "compliance/baa-tracker.md", "compliance/phi-handling.md"} <= set(
        brightline.files
    )
    assert "directives/patient-communications.md" in brightline.files
    assert "| Dentrix |" in brightline.files["compliance/baa-tracker.md"]
    assert (
        "compliance/phi-handling.md" in brightline.files["CLAUDE.md"]
    )  # pack partial overrides the base rules


@pytest.mark.parametrize("fixture", ["ai_audit_discovery", "partner_sync", "minimal_no_content"])
def test_generated_scripts_compile_show_help_and_dry_run(fixture: str, tmp_path: Path) -> None:
    pack = pack_for(fixture)
    scripts = {path: text for path, text in pack.files.items() if path.endswith(".py")}
    assert scripts
    for path, text in scripts.items():
        ast.parse(text, filename=path)
        script = tmp_path / Path(path).name
        script.write_text(text)
        for args in (["--help"], ["--dry-run", "--limit", "2"]):
            done = subprocess.run(
                [sys.executable, str(script), *args], capture_output=True, text=True, timeout=30
            )
            assert done.returncode == 0, (path, args, done.stderr)
        assert '"dry_run": true' in done.stdout
        # Without credentials the real run refuses instead of pretending.
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=30, env={}
        )
        assert done.returncode == 2 and "missing environment variables" in done.stderr


@pytest.mark.parametrize("fixture", ["ai_audit_discovery", "partner_sync", "minimal_no_content"])
def test_markdown_has_no_jinja_left_and_no_empty_sections(fixture: str) -> None:
    pack = pack_for(fixture)
    for required in ("CLAUDE.md", "proposal/SOW.md", "proposal/timeline.md", "onboarding.md", "kpis.md",
                     "kpis.csv", "monitoring/README.md", "reports/weekly-report.md", "agents/orchestrator.md"):  # fmt: skip
        assert required in pack.files
    for path, text in pack.files.items():
        assert "{{" not in text and "{%" not in text, path
        if not path.endswith(".md"):
            continue
        lines = [line for line in text.splitlines() if line.strip()]
        for here, following in zip(lines, [*lines[1:], None], strict=True):
            if here.startswith("#"):
                assert following is not None and not following.startswith("#"), (
                    f"{path}: empty section {here!r}"
                )


def test_pack_without_budget_or_deadline_uses_placeholders() -> None:
    pack = pack_for("minimal_no_content")
    assert "[PRICE TBD]" in pack.files["proposal/SOW.md"]
    assert "(proposed)" in pack.files["proposal/timeline.md"]
    assert pack.summary.startswith("Budget not stated · proposed go-live")


def test_zip_is_byte_identical_across_runs(brightline: GeneratedPack) -> None:
    first = brightline.to_zip()
    assert first == pack_for("ai_audit_discovery").to_zip()
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert all(n.startswith("brightline-dental-claude-os/") for n in names)
        assert archive.read("brightline-dental-claude-os/CLAUDE.md").decode() == brightline.files["CLAUDE.md"]


def test_tree_lists_every_file(brightline: GeneratedPack) -> None:
    tree = brightline.tree()
    assert tree.splitlines()[0] == "brightline-dental-claude-os/"
    for path in brightline.files:
        assert Path(path).name in tree


def test_os_repository_template_overrides_one_file_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "kpis.md.j2").write_text("# Our KPIs for {{ client.name }}\n\nCustom table.\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "hello.md.j2").write_text("# Hello\n\n{{ client.name }} says hi.\n")
    default = pack_for("ai_audit_discovery")
    custom = pack_for("ai_audit_discovery", override_dir=tmp_path)
    assert custom.files["kpis.md"] == "# Our KPIs for Brightline Dental\n\nCustom table.\n"
    assert custom.files["extra/hello.md"] == "# Hello\n\nBrightline Dental says hi.\n"
    assert custom.files["CLAUDE.md"] == default.files["CLAUDE.md"]
    assert custom.files["proposal/SOW.md"] == default.files["proposal/SOW.md"]


def test_hostile_text_never_escapes_paths_or_breaks_scripts(tmp_path: Path) -> None:
    extraction = AuditExtraction(
        client=ClientProfile(name="../../etc/passwd", industry="../../os_templates"),
        summary="x",
        opportunities=[
            Opportunity(
                title='../../evil"; import os; os.system("x") #', description="a\n# b", tools=["$(rm -rf)"]
            ),
            Opportunity(title="import", description="keyword title"),
        ],
    )
    pack = generate_client_os(extraction, meeting_title="t", meeting_date=date(2026, 1, 5))
    assert pack.industry is None  # model text cannot point at a template folder
    for path in pack.files:
        assert not path.startswith("/") and ".." not in Path(path).parts
        assert re.fullmatch(r"[a-z0-9_./-]+", path, re.I), path
    for path, text in pack.files.items():
        if path.endswith(".py"):
            ast.parse(text)
            script = tmp_path / Path(path).name
            script.write_text(text)
            assert (
                subprocess.run(
                    [sys.executable, str(script), "--dry-run"], capture_output=True, timeout=30
                ).returncode
                == 0
            )


def test_professional_services_pack_works_with_a_synthetic_extraction() -> None:
    extraction = AuditExtraction(
        client=ClientProfile(
            name="Keller & Moss LLP", industry="professional_services", tools=["Clio", "QuickBooks"]
        ),
        summary="A 25-attorney law firm losing billable time.",
        opportunities=[
            Opportunity(
                title="Billable time capture assistant",
                description="Draft time entries.",
                value="high",
                effort="medium",
                tools=["Clio"],
                steps=["Collect activity", "Draft entries"],
            ),
            Opportunity(
                title="Engagement letter drafting",
                description="Draft letters.",
                value="medium",
                effort="low",
                phase=2,
            ),
        ],  # fmt: skip
        requirements=[Requirement(text="Client confidentiality and privilege", kind="compliance")],
        compliance=["Confidentiality"],
        budget=Budget(amount_usd=25_000, scope="Phase one"),
        timeline=Timeline(deadline=date(2026, 6, 30)),
    )
    pack = generate_client_os(
        extraction, meeting_title="Keller & Moss - AI audit", meeting_date=date(2026, 3, 2)
    )
    assert pack.industry == "professional_services"
    assert {"compliance/confidentiality.md", "directives/client-intake.md", "playbooks/engagement-letter.md",
            "playbooks/billable-hours.md"} <= set(pack.files)  # fmt: skip
    assert "playbooks/billable-hours.md" in pack.files["CLAUDE.md"]
    assert "$25,000" in pack.files["proposal/SOW.md"] and "2026-06-30" in pack.files["proposal/timeline.md"]
    assert "compliance/hipaa.md" not in pack.files
    assert "execution/billable_time_capture_assistant.py" in pack.files
