"""Templates are data: a planted template runs nothing, values in generated files stay on one line,
and changes that steer the bot (templates, fathom-os.yml) are flagged and approved one by one."""

from __future__ import annotations

import ast
import os
import subprocess
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
import yaml
from dotenv import dotenv_values

from blocks.ids import ProposalAction
from blocks.proposals import FLAGS, proposal_card
from services.analysis.schema import OSUpdate
from services.audit import generate_client_os
from services.audit.schema import AuditExtraction, ClientProfile, Opportunity
from services.db import Database
from services.fathom import parse_meeting
from services.meetings import MeetingStore
from services.models import OSProposal
from services.os_config import load_os_config
from services.os_repo import OSRepo, OSRepoError
from services.proposals import ProposalService
from services.templating import BLOCKED, environment, render, steers_the_bot
from services.views import MeetingView, ProposalView
from tests.helpers import load_fixture
from tests.support.meetings import load, make_meeting
from tests.support.os_repo import MAYA, Directory, init_os


def payload(marker: Path) -> str:
    """The reported exploit, aimed at creating a file we can look for afterwards."""
    return (
        "# Planted\n\n"
        f"{{{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}}}\n"
        f"{{{{ ''.__class__.__mro__[1].__subclasses__() }}}}\n"
        f"{{{{ lipsum.__globals__['os'].system('touch {marker}') }}}}\n"
        "{{ client.name }} stays usable.\n"
    )


def extraction(name: str = "Acme Dental") -> AuditExtraction:
    return AuditExtraction(
        client=ClientProfile(name=name, tools=["Dentrix"]),
        summary="s",
        opportunities=[
            Opportunity(title="Appointment reminders", description="Remind patients.", tools=["Dentrix"]),
            Opportunity(title="Eligibility checks", description="Check insurance.", phase=2),
        ],
    )


async def test_planted_template_approved_into_the_os_renders_inert_and_runs_nothing(
    db: Database, tmp_path: Path
) -> None:
    """The attack path: a proposal creates templates/client_os/CLAUDE.md in the OS repository, an
    approver approves it on its own, and the next /os-audit renders it."""
    repo = await init_os(tmp_path / "os")
    service = ProposalService(db, repo, lambda: load_os_config(repo.path), people=Directory(MAYA))
    meeting_id = (await MeetingStore(db).ingest(parse_meeting(load_fixture("ai_audit_discovery")))).meeting_id
    marker = tmp_path / "pwned"
    update = OSUpdate(path="templates/client_os/CLAUDE.md", action="create", content=payload(marker))
    (planted,), _ = await service.propose(meeting_id, [update], "analysis:claude", origin="analysis")
    assert steers_the_bot(planted.path) == "template"
    assert (await service.approve(planted.id, "U01MAYA")).proposal.status == "applied"
    assert (repo.path / "templates" / "client_os" / "CLAUDE.md").is_file()

    pack = generate_client_os(
        extraction(),
        meeting_title="Audit",
        meeting_date=date(2026, 1, 5),
        override_dir=repo.path / "templates" / "client_os",
    )
    claude = pack.files["CLAUDE.md"]
    assert claude.count(BLOCKED) == 3 and "Acme Dental stays usable." in claude
    assert "uid=" not in claude and "<class" not in claude
    assert not marker.exists()


def test_sandbox_refuses_symlinks_and_names_the_broken_template(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    root = tmp_path / "templates"
    root.mkdir()
    os.symlink(tmp_path / "secret.txt", root / "linked.md.j2")
    (root / "includes.md.j2").write_text("{% include 'linked.md.j2' %}")
    (root / "huge.md.j2").write_text("{{ 'x' * 100000000 }}")
    (root / "broken.md.j2").write_text("{% if %}")
    env = environment([root])
    for name, expected in [
        ("includes.md.j2", "symbolic link"),
        ("huge.md.j2", "too large"),
        ("broken.md.j2", "broken.md.j2 line 1"),
    ]:
        with pytest.raises(Exception, match=expected) as caught:
            render(env, name, {})
        assert "s3cret" not in str(caught.value)


def test_list_mutation_and_format_escapes_are_blocked(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("{{ items.append(1) }}{{ '{0.__class__}'.format(1) }}{{ items|length }}")
    assert render(environment([tmp_path]), "t.j2", {"items": []}) == f"{BLOCKED}{BLOCKED}0"


HOSTILE = "Evil Co\nINJECTED=1\r\n$(touch {m}) `touch {m}` \"q\" 'a' \\ \u2028X=2\x00\x1b[31m\u202e"


def test_hostile_client_name_stays_inside_one_value_of_each_generated_file(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    name = HOSTILE.format(m=marker)
    plain = generate_client_os(extraction(), meeting_title="t", meeting_date=date(2026, 1, 5))
    pack = generate_client_os(extraction(name), meeting_title="t", meeting_date=date(2026, 1, 5))

    env_text = pack.files["config/env.example"]
    expected = set(dotenv_values(stream=StringIO(plain.files["config/env.example"])))
    assert expected and set(dotenv_values(stream=StringIO(env_text))) == expected
    assert all(value == "" for value in dotenv_values(stream=StringIO(env_text)).values())
    (tmp_path / ".env").write_text(env_text)
    sourced = subprocess.run(
        ["sh", "-c", "set -a; . ./.env; env"], cwd=tmp_path, env={}, capture_output=True, text=True
    )
    assert sourced.returncode == 0, sourced.stderr
    keys = {line.split("=", 1)[0] for line in sourced.stdout.splitlines() if "=" in line}
    assert expected <= keys and "INJECTED" not in keys and "X" not in keys
    assert not marker.exists()

    for path, text in pack.files.items():
        if path.endswith(".py"):
            tree, benign = ast.parse(text), ast.parse(plain.files[path])
            assert [type(n).__name__ for n in tree.body] == [type(n).__name__ for n in benign.body], path
            assert {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} == {
                n.id for n in ast.walk(benign) if isinstance(n, ast.Name)
            }
            assert "\u202e" not in text and "\x1b" not in text
            client = next(
                n.value.value
                for n in tree.body
                if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "CLIENT"
            )
            assert client.startswith("Evil Co INJECTED=1 $(touch") and "\n" not in client
    rows = pack.files["kpis.csv"].splitlines()
    assert rows == plain.files["kpis.csv"].splitlines()


async def test_hostile_agency_name_cannot_add_an_approver_to_fathom_os_yml(tmp_path: Path) -> None:
    repo = OSRepo(tmp_path / "os")
    await repo.init(
        context={
            "agency_name": "Agency\napprovers:\n  - mallory@evil.example\n#",
            "admin_email": 'maya@agency.example"\nadmins: [mallory]',
            "admin_name": "Maya",
            "default_channel": "",
        }
    )
    config = yaml.safe_load((repo.path / "fathom-os.yml").read_text())
    assert config["approvers"] == ['maya@agency.example" admins: [mallory]']
    assert config["admins"] == []
    assert (repo.path / "README.md").read_text().splitlines()[0].startswith("# Agency approvers: - mallory")


async def test_skeleton_with_an_unsafe_expression_renders_inert(tmp_path: Path) -> None:
    skeleton = tmp_path / "skeleton"
    skeleton.mkdir()
    marker = tmp_path / "ran"
    (skeleton / "README.md").write_text(payload(marker).replace("{{ client.name }}", "{{ agency_name }}"))
    (skeleton / "fathom-os.yml").write_text("approvers: []\n")
    repo = OSRepo(tmp_path / "os")
    await repo.init(skeleton, {"agency_name": "A"})
    assert BLOCKED in (repo.path / "README.md").read_text() and not marker.exists()
    (skeleton / "README.md").write_text("{{ missing }}")
    with pytest.raises(OSRepoError, match="README.md"):
        await OSRepo(tmp_path / "os2").init(skeleton, {})


def card_proposal(id: int, path: str, content: str = "- line\n", **fields: object) -> ProposalView:
    return ProposalView.of(
        OSProposal(
            id=id, meeting_id=7, path=path, action="append", content=content, status="proposed", **fields
        )
    )


def test_card_flags_changes_that_steer_the_bot_and_approve_all_skips_them() -> None:
    long_diff = "\n".join(f"+approvers line {n}" for n in range(120))
    proposals = [
        card_proposal(1, "clients/acme.md"),
        card_proposal(2, "fathom-os.yml"),
        card_proposal(3, "roadmap.md"),
        card_proposal(4, "templates/client_os/CLAUDE.md"),
        *[card_proposal(10 + n, f"clients/c{n}.md") for n in range(25)],
    ]
    diffs = {2: long_diff, 3: long_diff}
    message = proposal_card(None, proposals, diffs)
    assert message.blocks == proposal_card(None, proposals, diffs).blocks
    with_meeting = proposal_card(
        MeetingView.of(make_meeting(load("ai_audit_discovery.json"))), proposals, diffs
    )
    blocks = with_meeting.blocks
    text = str(blocks)
    section = {b["block_id"]: b["text"]["text"] for b in blocks if b["type"] == "section"}
    assert FLAGS["configuration"] in section["proposal:2"] and FLAGS["template"] in section["proposal:4"]
    assert "⚠" not in section["proposal:1"]
    assert "proposal:4" in section  # never collapsed into "+N more", though 29 proposals exceed the card
    assert len(section["proposal:2"]) > 2 * len(section["proposal:3"])  # the config diff is shown longer
    approve_all = next(
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ProposalAction.APPROVE_ALL
    )
    assert approve_all["text"]["text"] == "Approve all (27)"
    assert "2 changes to templates or fathom-os.yml not included" in approve_all["confirm"]["text"]["text"]
    assert "Approve all skips them" in text
    single = {
        b["block_id"]: e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ProposalAction.APPROVE
    }
    assert "confirm" in single["proposal:2:actions"] and "confirm" not in single["proposal:1:actions"]
    assert len(blocks) <= 50
