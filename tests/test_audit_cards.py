"""/os-audit answers where it was asked and never draws over a finished card (#16 item 2)."""

from __future__ import annotations

import json
from pathlib import Path

from blocks.audit import AuditAction, AuditField
from tests.harness import MEETINGS_CHANNEL, running_bot
from tests.test_audit_e2e import USER, _click, _element, _meeting_card, _zips

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
        parent = await _meeting_card(bot)
        meeting_id = int(json.loads(_element(parent, "audit.generate")["value"])["meeting_id"])  # type: ignore[index]

        await _preview_from(bot, MEETINGS_CHANNEL, meeting_id)
        await bot.wait_for(lambda: any(_element(c, AuditAction.BUILD) for c in _cards(bot, parent["ts"])))
        [first] = _cards(bot, parent["ts"])
        await _click(bot, USER, first, AuditAction.BUILD)
        await bot.wait_for(lambda: bool(_zips(bot)) and "Done" in str(_cards(bot, parent["ts"])[0]))
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
        await bot.wait_for(lambda: _element(_cards(bot, parent["ts"])[1], AuditAction.BUILD) is not None)
        again = _cards(bot, parent["ts"])[0]
        assert again["ts"] == finished["ts"] and again["blocks"] == finished["blocks"], (
            "finished card untouched"
        )
        assert not bot.slack.messages(GENERAL), "nothing public in #general"
