"""Conversations in Slack (#19): replies in a meeting card's thread and questions by DM, end to end
through the local Slack server (message events over Socket Mode), plus the pure classifier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from blocks.ids import MeetingAction
from blocks.values import MeetingRef, encode
from bot.sandbox.slack_state import BOT_USER_ID
from handlers.shortcuts.action_items import MAKE_ACTION_ITEM
from services.conversations import Intent, classify, owner_and_text
from services.models import ActionItem, OSProposal
from tests.harness import MEETINGS_CHANNEL, Bot, running_bot

JONAS, PRIYA, MAYA, STRANGER = "U02JONAS", "U03PRIYA", "U01MAYA", "U09STRANGER"


# -- the pure half ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("what did Rosa say about no-shows?", Intent.QUESTION),
        ("How many clinics do they have", Intent.QUESTION),
        ("¿Cuál es el presupuesto?", Intent.QUESTION),
        ("Wann startet die Pilotphase?", Intent.QUESTION),
        ("action: send the Dentrix checklist", Intent.ACTION),
        ("TODO: <@U03PRIYA> draft the intake form", Intent.ACTION),
        ("actually the budget is 50k, not 40k", Intent.CORRECTION),
        ("Correction: go-live is April, not March", Intent.CORRECTION),
        ("the budget is 50k, not 40k", Intent.CORRECTION),
        ("summarise the discussion", Intent.SUMMARISE),
        ("thanks, great call!", Intent.CHITCHAT),
        ("ok", Intent.CHITCHAT),
        ("see you Friday", Intent.CHITCHAT),
        ("what a call!", Intent.CHITCHAT),
        ("lol?", Intent.CHITCHAT),
        ("", Intent.CHITCHAT),
    ],
)
def test_classify_answers_only_questions_and_commands(text: str, intent: Intent) -> None:
    assert classify(text).intent is intent


def test_owner_is_the_first_mention_else_the_author() -> None:
    assert owner_and_text("<@U03PRIYA> draft the intake form", JONAS) == (PRIYA, "draft the intake form")
    assert owner_and_text("call Tom about the BAA", JONAS) == (JONAS, "call Tom about the BAA")


# -- end to end ------------------------------------------------------------------------------------


async def _meeting(bot: Bot) -> str:
    """The AI-audit meeting carded and analysed; the card's ts (its thread)."""
    bot.slack.channels[MEETINGS_CHANNEL].members = [MAYA, JONAS, PRIYA, BOT_USER_ID]
    await bot.send("ai_audit_discovery")
    await bot.wait_for(lambda: len(bot.parents()) == 1)
    await bot.wait_for(lambda: "Generate client OS" in json.dumps(bot.parents()[0].get("blocks")))
    return str(bot.parents()[0]["ts"])


def _bot_says(bot: Bot, text: str, thread_ts: str) -> bool:
    thread = bot.slack.thread(MEETINGS_CHANNEL, thread_ts)[1:]
    return any(text in json.dumps(m) for m in thread if m.get("bot_id"))


def _answers(bot: Bot, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in bot.slack.thread(channel, thread_ts)[1:] if "qa:" in json.dumps(m.get("blocks"))]


async def _items(bot: Bot) -> list[ActionItem]:
    async with bot.runtime.db.read_session() as s:
        return list((await s.scalars(select(ActionItem).where(ActionItem.source == "manual"))).all())


async def _proposals(bot: Bot) -> list[OSProposal]:
    async with bot.runtime.db.read_session() as s:
        rows = await s.scalars(select(OSProposal).where(OSProposal.origin.like("slack:%")))
        return list(rows.all())


async def test_thread_question_is_answered_once_only_in_the_cards_own_thread(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        card = await _meeting(bot)
        asked, _ = await bot.slack.send_message(
            JONAS, MEETINGS_CHANNEL, "what did Brightline say about their phones?", card, event_id="EvQ1"
        )
        await bot.wait_for(lambda: len(_answers(bot, MEETINGS_CHANNEL, card)) == 1)
        answer = json.dumps(_answers(bot, MEETINGS_CHANNEL, card)[0]["blocks"])
        assert "timestamp=" in answer, "cites moments of the recording"

        # Slack retries the same event, and the same message arrives again under a new event id
        await bot.slack.deliver_message(MEETINGS_CHANNEL, asked, event_id="EvQ1", retry_attempt=1)
        await bot.slack.deliver_message(MEETINGS_CHANNEL, asked, event_id="EvQ1again")
        # a second question is the event that must come after them: once it is answered, count
        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, "how many clinics do they run?", card)
        await bot.wait_for(lambda: len(_answers(bot, MEETINGS_CHANNEL, card)) >= 2)
        assert len(_answers(bot, MEETINGS_CHANNEL, card)) == 2, "each message answered once"

        # a question in a thread the bot did not start, and one at the top level: no answer
        mine = bot.slack.post_as_user(JONAS, MEETINGS_CHANNEL, "planning notes")
        await bot.slack.send_message(
            JONAS, MEETINGS_CHANNEL, "what did Brightline say about phones?", mine["ts"]
        )
        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, "what did Brightline say about phones?")
        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, "what is their no-show rate?", card)
        await bot.wait_for(lambda: len(_answers(bot, MEETINGS_CHANNEL, card)) == 3)
        assert len(bot.slack.thread(MEETINGS_CHANNEL, mine["ts"])) == 2, "nothing in a stranger's thread"
        top = [m for m in bot.parents() if m.get("bot_id")]
        assert len(top) == 1, "no top-level answer"


async def test_chit_chat_and_bot_messages_are_ignored(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        card = await _meeting(bot)
        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, "thanks, great call!", card)
        other = bot.slack.post_as_bot("B0OTHERBOT", MEETINGS_CHANNEL, "what is the budget?", card)
        await bot.slack.deliver_message(MEETINGS_CHANNEL, other)
        own = bot.slack.thread(MEETINGS_CHANNEL, card)[1]  # the bot's own reply (an item card)
        assert own.get("bot_id")
        await bot.slack.deliver_message(MEETINGS_CHANNEL, {**own, "text": "what is the budget?"})
        # the app_mention listener answers a mention; the message listener must not answer it too
        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, f"<@{BOT_USER_ID}> what is the budget?", card)
        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, "what is their no-show rate?", card)
        await bot.wait_for(lambda: len(_answers(bot, MEETINGS_CHANNEL, card)) >= 1)
        answers = _answers(bot, MEETINGS_CHANNEL, card)
        assert len(answers) == 1, [m.get("text") for m in answers]
        assert "no-show" in json.dumps(answers[0]["blocks"]).lower()
        assert not bot.slack.ephemerals


async def test_action_in_thread_creates_an_item_for_the_right_owner_and_refuses_others(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        card = await _meeting(bot)
        await bot.slack.send_message(
            JONAS, MEETINGS_CHANNEL, f"action: <@{PRIYA}> send Tom the Dentrix export checklist", card
        )
        await bot.wait_for(lambda: _bot_says(bot, "Dentrix export checklist", card))
        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, "todo: call Tom about the BAA", card)
        await bot.wait_for(lambda: _bot_says(bot, "call Tom about the BAA", card))
        items = {i.text: i for i in await _items(bot)}
        assert items["send Tom the Dentrix export checklist"].owner_slack_id == PRIYA
        assert items["call Tom about the BAA"].owner_slack_id == JONAS
        card_text = json.dumps(
            [m for m in bot.slack.thread(MEETINGS_CHANNEL, card) if "Dentrix export" in json.dumps(m)]
        )
        assert f"<@{PRIYA}>" in card_text and "action_item.done" in card_text, "an item card with its buttons"

        # Priya is in the channel but neither an attendee nor an admin: refused, told privately
        await bot.slack.send_message(PRIYA, MEETINGS_CHANNEL, "todo: order new phones for the clinics", card)
        await bot.wait_for(lambda: any(e["user"] == PRIYA for e in bot.slack.ephemerals))
        refusal = next(e for e in bot.slack.ephemerals if e["user"] == PRIYA)
        assert "attendees" in json.dumps(refusal) and refusal["thread_ts"] == card
        assert len(await _items(bot)) == 2

        # the message shortcut on Priya's reply: Jonas may, the item is Priya's (its author)
        said, _ = await bot.slack.send_message(
            PRIYA, MEETINGS_CHANNEL, "I will draft the patient intake form", card
        )
        await bot.slack.message_shortcut(JONAS, MEETINGS_CHANNEL, said["ts"], MAKE_ACTION_ITEM)
        await bot.wait_for(lambda: _bot_says(bot, "draft the patient intake form", card))
        made = {i.text: i for i in await _items(bot)}["I will draft the patient intake form"]
        assert made.owner_slack_id == PRIYA


async def test_correction_and_summary_become_proposals_on_the_approval_card(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        card = await _meeting(bot)
        await bot.slack.send_message(
            JONAS, MEETINGS_CHANNEL, "what did Brightline say about their phones?", card
        )
        await bot.wait_for(lambda: len(_answers(bot, MEETINGS_CHANNEL, card)) == 1)
        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, "actually the budget is 50k, not 40k", card)
        await bot.wait_for(lambda: len([p for p in bot.slack.ephemerals if p["user"] == JONAS]) == 1)
        corrections = await _proposals(bot)
        paths = {p.path for p in corrections}
        assert any(p.startswith("meetings/") for p in paths) and "clients/brightline-dental/log.md" in paths
        assert all("the budget is 50k, not 40k" in p.content for p in corrections)
        approval = json.dumps(
            [m for m in bot.slack.thread(MEETINGS_CHANNEL, card) if "proposal.approve" in json.dumps(m)]
        )
        assert "50k, not 40k" in approval, "shown on the approval card"

        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, "thanks all", card)
        await bot.slack.send_message(MAYA, MEETINGS_CHANNEL, "summarise the discussion", card)
        await bot.wait_for(lambda: any(e["user"] == MAYA for e in bot.slack.ephemerals))
        summary = next(p for p in await _proposals(bot) if "Discussion in Slack" in p.content)
        assert "their phones?" in summary.content and "50k, not 40k" in summary.content
        assert "thanks all" not in summary.content, "chit-chat is not substance"

        # later, from the card's overflow menu: a newer summary replaces the pending one
        said = "The go-live moved to April because of the BAA review"
        await bot.slack.send_message(JONAS, MEETINGS_CHANNEL, said, card)
        overflow = MeetingAction.SUMMARISE_THREAD.value
        value = encode(MeetingRef(meeting_id=summary.meeting_id))
        await bot.slack.select_option(MAYA, MEETINGS_CHANNEL, card, overflow, value)
        await bot.wait_for(lambda: sum(e["user"] == MAYA for e in bot.slack.ephemerals) == 2)
        summaries = [p for p in await _proposals(bot) if "Discussion in Slack" in p.content]
        assert [p.status for p in summaries] == ["superseded", "proposed"]
        assert said in summaries[-1].content


async def test_dm_question_is_answered_only_from_meetings_the_asker_may_see(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await _meeting(bot)
        await bot.slack.send_dm(JONAS, "help")
        await bot.wait_for(lambda: len([m for m in bot.slack.dms(JONAS) if m.get("bot_id")]) == 1)
        assert "action:" in json.dumps(bot.slack.dms(JONAS)[-1]["blocks"])

        await bot.slack.send_dm(JONAS, "what did Brightline say about their phones?")
        await bot.wait_for(lambda: len([m for m in bot.slack.dms(JONAS) if m.get("bot_id")]) == 2)
        answer = json.dumps(bot.slack.dms(JONAS)[-1]["blocks"])
        assert "Brightline Dental" in answer and "timestamp=" in answer

        # the stranger is neither an attendee nor in the card's channel: nothing is cited
        await bot.slack.send_dm(STRANGER, "what did Brightline say about their phones?")
        await bot.wait_for(lambda: len([m for m in bot.slack.dms(STRANGER) if m.get("bot_id")]) == 1)
        reply = json.dumps(bot.slack.dms(STRANGER)[-1])
        assert "found nothing" in reply and "Brightline" not in reply and "timestamp=" not in reply
