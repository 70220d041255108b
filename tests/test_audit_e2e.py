"""/os-audit end to end: an AI-audit meeting becomes a client Claude Code OS zip in its thread and,
when chosen, OS proposals awaiting an approver. Real runtime, local Slack server, SQLite, git."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from blocks.audit import AuditAction, AuditField, AuditView
from blocks.ids import MeetingAction
from blocks.limits import check_message
from services.errors import NotAllowed
from tests.harness import MEETINGS_CHANNEL, Bot, running_bot
from tests.support.audit import USER, audit_meeting_card, click, find_element, zip_uploads
from tests.support.listeners import registered

STRANGER = "U09STRANGER"


def _audit_card(bot: Bot, parent_ts: str) -> dict[str, Any] | None:
    return next(
        (m for m in bot.slack.thread(MEETINGS_CHANNEL, parent_ts) if "audit:status" in str(m.get("blocks"))),
        None,
    )


async def _wait_card(bot: Bot, parent_ts: str, action_id: str) -> dict[str, Any]:
    await bot.wait_for(
        lambda: (c := _audit_card(bot, parent_ts)) is not None and find_element(c, action_id) is not None
    )
    card = _audit_card(bot, parent_ts)
    assert card is not None
    assert check_message(card["blocks"], card["text"]) == []
    return card


def _one(values: dict[AuditField, str]) -> dict[str, dict[str, Any]]:
    return {field.value: {field.value: value} for field, value in values.items()}


async def test_os_audit_modal_previews_then_delivers_zip_and_os_proposals(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        parent = await audit_meeting_card(bot)
        await bot.slack.send_command(USER, MEETINGS_CHANNEL, "/os-audit", "brightline")
        await bot.wait_for(lambda: bool(bot.slack.modal_stack(USER)))
        modal = bot.slack.modal_stack(USER)[-1]
        options = modal["blocks"][0]["element"]["options"]
        assert "Brightline" in options[0]["text"]["text"]  # the search kept the audit meeting
        meeting_id = int(options[0]["value"])

        ack = await bot.slack.submit_view(
            USER,
            modal["id"],
            _one(
                {
                    AuditField.MEETING: str(meeting_id),
                    AuditField.CLIENT: "Brightline Dental Group",
                    AuditField.INDUSTRY: "healthcare",
                    AuditField.OUTPUT: "both",
                }
            ),
        )
        assert ack.get("response_action") is None  # closed at once; the work runs after the ack

        card = await _wait_card(bot, parent["ts"], AuditAction.BUILD)
        text = str(card["blocks"])
        assert "Brightline Dental Group" in text and "CLAUDE.md" in text and "$40,000" in text
        assert "2027-03-31" in text and "heuristic" in text  # offline: no ANTHROPIC_API_KEY

        await click(bot, USER, card, AuditAction.BUILD)
        await bot.wait_for(lambda: bool(zip_uploads(bot)) and "Done" in str(_audit_card(bot, parent["ts"])))

        upload = zip_uploads(bot)[0]
        assert upload.thread_ts == parent["ts"] and upload.name.endswith(".zip")
        with zipfile.ZipFile(io.BytesIO(upload.content)) as archive:
            names = archive.namelist()
            root = names[0].split("/")[0]
            assert f"{root}/CLAUDE.md" in names and f"{root}/proposal/SOW.md" in names
            assert any(n.startswith(f"{root}/execution/") and n.endswith(".py") for n in names)
            assert "Brightline Dental Group" in archive.read(f"{root}/CLAUDE.md").decode()

        proposals = await bot.runtime.proposals.for_meeting(meeting_id)
        mine = [p for p in proposals if p.path.startswith("clients/brightline-dental-group/claude-code-os/")]
        paths = {p.path.rsplit("claude-code-os/", 1)[1] for p in mine}
        assert {"CLAUDE.md", "proposal/SOW.md"} <= paths
        assert not any(p.endswith(".py") for p in paths)  # code stays in the zip: the OS holds md/yml/csv
        assert all(p.status == "proposed" and p.action == "create" for p in mine)
        with pytest.raises(NotAllowed):  # generating is open to members; the OS still needs approvers
            await bot.runtime.proposals.approve(mine[0].id, STRANGER)

        card_ts = _audit_card(bot, parent["ts"])["ts"]  # type: ignore[index]
        first = next(
            c for c in bot.slack.calls_to("chat.postMessage") if "Client OS" in str(c.params.get("text"))
        )
        assert "Analysing" in str(first.params["text"])
        updates = [
            str(c.params.get("text"))
            for c in bot.slack.calls_to("chat.update")
            if c.params.get("ts") == card_ts
        ]
        stages = [s for u in updates for s in ("Preview ready", "Generating", "Uploading", "Done") if s in u]
        assert stages == ["Preview ready", "Generating", "Uploading", "Done"]


async def test_card_button_lets_a_member_generate_a_zip_with_default_options(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        parent = await audit_meeting_card(bot)
        await click(bot, STRANGER, parent, MeetingAction.GENERATE_OS)  # a member, not an approver
        await bot.wait_for(lambda: bool(bot.slack.modal_stack(STRANGER)))
        modal = bot.slack.modal_stack(STRANGER)[-1]
        assert modal["callback_id"] == AuditView.OPTIONS
        ack = await bot.slack.submit_view(STRANGER, modal["id"], {})  # the meeting comes pre-selected
        assert ack.get("response_action") is None

        card = await _wait_card(bot, parent["ts"], AuditAction.BUILD)
        await click(bot, STRANGER, card, AuditAction.BUILD)
        await bot.wait_for(lambda: bool(zip_uploads(bot)) and "Done" in str(_audit_card(bot, parent["ts"])))
        with zipfile.ZipFile(io.BytesIO(zip_uploads(bot)[0].content)) as archive:
            assert any(n.endswith("/CLAUDE.md") for n in archive.namelist())
        meeting = await bot.runtime.pipeline.store.by_recording(_recording())
        assert meeting is not None
        proposals = await bot.runtime.proposals.for_meeting(meeting.id)
        assert not [p for p in proposals if "claude-code-os" in p.path]  # zip only: nothing proposed
        assert max(bot.slack.ack_latencies) < 3.0


async def test_submitting_without_a_meeting_keeps_the_modal_open_with_an_error(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await audit_meeting_card(bot)
        await bot.slack.send_command(USER, MEETINGS_CHANNEL, "/os-audit")
        await bot.wait_for(lambda: bool(bot.slack.modal_stack(USER)))
        modal = bot.slack.modal_stack(USER)[-1]
        ack = await bot.slack.submit_view(USER, modal["id"], {})
        assert ack["response_action"] == "errors" and AuditField.MEETING.value in ack["errors"]
        assert bot.slack.modal_stack(USER)  # still open


def test_every_audit_button_and_modal_has_a_listener() -> None:
    seen = registered()
    assert {a.value for a in AuditAction} | {MeetingAction.GENERATE_OS.value} <= seen["action"]
    assert {v.value for v in AuditView} <= seen["view"]
    assert "/os-audit" in seen["command"]


def _recording() -> int:
    from tests.helpers import load_fixture

    return int(load_fixture("ai_audit_discovery")["recording_id"])


async def test_os_audit_is_refused_to_deactivated_accounts_and_bots(tmp_path: Path) -> None:
    """The membership check asks Slack through the people directory (users.info): a deactivated
    account or a bot gets the refusal, never the options modal; a member gets the modal."""
    from bot.sandbox.slack_state import SlackUser

    async with running_bot(tmp_path) as bot:
        bot.slack.workspace.add_user(
            SlackUser("U07GONE", "gone", "Gone Person", "gone@agency.example", deleted=True)
        )
        bot.slack.workspace.add_user(
            SlackUser("U08ROBOT", "robot", "A Robot", "robot@agency.example", is_bot=True)
        )
        for n, user in enumerate(("U07GONE", "U08ROBOT"), start=1):
            await bot.slack.send_command(user, MEETINGS_CHANNEL, "/os-audit", "")
            await bot.wait_for(lambda n=n: len(bot.slack.ephemerals) == n)  # type: ignore[misc]
            refusal = bot.slack.ephemerals[-1]
            assert refusal["user"] == user and "guests cannot" in str(refusal["blocks"])
            assert bot.slack.modal_stack(user) == []
        await audit_meeting_card(bot)
        await bot.slack.send_command(USER, MEETINGS_CHANNEL, "/os-audit", "brightline")
        await bot.wait_for(lambda: bool(bot.slack.modal_stack(USER)))
        assert len(bot.slack.ephemerals) == 2
