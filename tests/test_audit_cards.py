"""/os-audit answers where it was asked and never draws over a finished card (#16 item 2)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from pathlib import Path

from blocks.audit import AuditAction, AuditField
from blocks.ids import ProposalAction
from tests.harness import MEETINGS_CHANNEL, running_bot
from tests.support.audit import USER, audit_meeting_card, click, find_element, zip_uploads

GENERAL = "C01GENERAL"


def _cards(bot, parent_ts: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [
        m for m in bot.slack.thread(MEETINGS_CHANNEL, parent_ts) if "audit:status" in str(m.get("blocks"))
    ]


async def _preview_from(bot, channel: str, meeting_id: int) -> None:  # type: ignore[no-untyped-def]
    await bot.slack.send_command(USER, channel, "/os-audit", "brightline")
    await bot.wait_for(lambda: bool(bot.slack.modal_stack(USER)))
    modal = bot.slack.modal_stack(USER)[-1]
    ack = await bot.slack.submit_view(
        USER, modal["id"], {AuditField.MEETING.value: {AuditField.MEETING.value: str(meeting_id)}}
    )
    assert ack.get("response_action") is None


async def test_preview_from_general_answers_there_and_leaves_the_finished_card_alone(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        parent = await audit_meeting_card(bot)
        meeting_id = int(json.loads(find_element(parent, "audit.generate")["value"])["meeting_id"])  # type: ignore[index]

        await _preview_from(bot, MEETINGS_CHANNEL, meeting_id)
        await bot.wait_for(lambda: any(find_element(c, AuditAction.BUILD) for c in _cards(bot, parent["ts"])))
        [first] = _cards(bot, parent["ts"])
        await click(bot, USER, first, AuditAction.BUILD)
        await bot.wait_for(lambda: bool(zip_uploads(bot)) and "Done" in str(_cards(bot, parent["ts"])[0]))
        finished = _cards(bot, parent["ts"])[0]

        # the same meeting again, asked from #general: a new card in the thread, an ephemeral in #general
        await _preview_from(bot, GENERAL, meeting_id)
        await bot.wait_for(lambda: len(_cards(bot, parent["ts"])) == 2)
        await bot.wait_for(
            lambda: any(
                e["channel"] == GENERAL and e["user"] == USER and "client OS preview" in e["text"]
                for e in bot.slack.ephemerals
            )
        )
        told = next(e for e in bot.slack.ephemerals if e["channel"] == GENERAL and "client OS" in e["text"])
        assert "in the meeting's thread" in json.dumps(told["blocks"]) and "http" in json.dumps(
            told["blocks"]
        )
        await bot.wait_for(lambda: find_element(_cards(bot, parent["ts"])[1], AuditAction.BUILD) is not None)
        again = _cards(bot, parent["ts"])[0]
        assert again["ts"] == finished["ts"] and again["blocks"] == finished["blocks"], (
            "finished card untouched"
        )
        assert not bot.slack.messages(GENERAL), "nothing public in #general"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


async def test_client_os_pack_has_its_own_card_and_approve_all_is_one_commit_of_exactly_its_files(
    tmp_path: Path,
) -> None:
    """#16 item 3: the pack no longer piles onto the meeting's card, and Approve all on it commits
    the pack's files, in one commit, and nothing of the meeting's own pending proposals."""
    async with running_bot(tmp_path) as bot:
        parent = await audit_meeting_card(bot)
        meeting_id = int(json.loads(find_element(parent, "audit.generate")["value"])["meeting_id"])  # type: ignore[index]
        before = await bot.runtime.proposals.for_meeting(meeting_id)
        assert before and all(p.status == "proposed" for p in before)  # the meeting's own card

        await bot.slack.send_command(USER, MEETINGS_CHANNEL, "/os-audit", "brightline")
        await bot.wait_for(lambda: bool(bot.slack.modal_stack(USER)))
        values = {AuditField.MEETING: str(meeting_id), AuditField.OUTPUT: "os"}
        await bot.slack.submit_view(
            USER, bot.slack.modal_stack(USER)[-1]["id"], {f.value: {f.value: v} for f, v in values.items()}
        )
        await bot.wait_for(lambda: any(find_element(c, AuditAction.BUILD) for c in _cards(bot, parent["ts"])))
        await click(bot, USER, _cards(bot, parent["ts"])[0], AuditAction.BUILD)

        def pack_card() -> dict | None:  # type: ignore[type-arg]
            return next(
                (
                    m
                    for m in bot.slack.thread(MEETINGS_CHANNEL, parent["ts"])
                    if "pack:" in str(m.get("blocks"))
                ),
                None,
            )

        await bot.wait_for(
            lambda: (c := pack_card()) is not None and find_element(c, ProposalAction.APPROVE_ALL)
        )
        own = next(
            m
            for m in bot.slack.thread(MEETINGS_CHANNEL, parent["ts"])
            if "proposals:" in str(m.get("blocks"))
        )
        assert "claude-code-os" not in json.dumps(own["blocks"]), "the pack is not on the meeting's card"
        card = pack_card()
        assert card is not None and "Client OS pack" in json.dumps(card["blocks"])

        pack = [p for p in await bot.runtime.proposals.for_meeting(meeting_id) if p.origin == "audit"]
        assert len(pack) > 1

        # #16 item 4: "Propose into the OS" alone still attaches the zip, and the proposed CLAUDE.md
        # names no file that is not in the OS without saying where it is
        [upload] = zip_uploads(bot)
        with zipfile.ZipFile(io.BytesIO(upload.content)) as archive:
            root = archive.namelist()[0].split("/")[0]
            outside = {n.removeprefix(f"{root}/") for n in archive.namelist() if not n.endswith("/")}
        prefix = pack[0].path.split("/claude-code-os/")[0] + "/claude-code-os/"
        in_os = {p.path.removeprefix(prefix) for p in pack}
        outside -= in_os
        assert outside and all(not n.endswith((".md", ".csv", ".yml")) for n in outside)
        claude = next(p for p in pack if p.path.endswith("claude-code-os/CLAUDE.md"))
        note = claude.content.split("\n\n", 1)[0]
        assert upload.name in note and "Not in this OS" in note
        named = set(re.findall(r"`([\w./-]+\.\w+)`", claude.content))
        assert {n for n in named if "/" in n} - in_os - outside == set(), "CLAUDE.md points at nothing"
        assert {n for n in named if n.endswith(".py")} <= outside and any(n.endswith(".py") for n in named)
        done = next(c for c in _cards(bot, parent["ts"]) if "audit:result" in str(c.get("blocks")))
        assert f"are not in the OS: they are in `{upload.name}`" in json.dumps(done["blocks"])
        repo = tmp_path / "os"
        head = _git(repo, "rev-parse", "HEAD").strip()
        await click(bot, "U01MAYA", card, ProposalAction.APPROVE_ALL)
        await bot.wait_for(lambda: _git(repo, "rev-parse", "HEAD").strip() != head)
        await bot.wait_for(lambda: find_element(pack_card() or {}, ProposalAction.APPROVE_ALL) is None)

        commits = _git(repo, "rev-list", f"{head}..HEAD").split()
        assert len(commits) == 1, "one commit per approval action"
        files = set(_git(repo, "show", "--name-only", "--format=", commits[0]).split())
        assert files == {p.path for p in pack}
        message = _git(repo, "log", "-1", "--format=%B")
        assert all(p.path in message for p in pack)  # the commit lists every file
        after = {p.id: p for p in await bot.runtime.proposals.for_meeting(meeting_id)}
        assert all(after[p.id].status == "applied" and after[p.id].commit_sha == commits[0] for p in pack)
        assert all(after[p.id].status == "proposed" for p in before), "the meeting's own changes wait"
