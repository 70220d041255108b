"""@-mention Q&A: answers scoped to one meeting (thread, name, client), "Which meeting?" when
several fit, offline answers that say who said what with citations that exist, Claude through the
real SDK against a local fake API, and the mention end to end through the local Slack server."""

from __future__ import annotations

import json
import re
from pathlib import Path

from anthropic import AsyncAnthropic
from sqlalchemy import select

from blocks.ids import QAAction
from blocks.qa import qa_answer
from bot.config import DEFAULT_PRICES
from services.access import EVERYTHING
from services.analysis.extract import speaker_aliases
from services.db import Database
from services.fathom import parse_meeting
from services.meetings import MeetingStore
from services.models import LLMUsage, Meeting
from services.qa import QAService
from services.qa_offline import (
    MeetingText,
    Turn,
    attribute,
    carried_roles,
    clean,
    is_role,
    sentences,
    written_out,
)
from services.search import SearchIndex
from tests.harness import MEETINGS_CHANNEL, running_bot
from tests.support import score
from tests.support.access import BRIGHTLINE, JONAS, PRIYA, World
from tests.support.fake_anthropic import FakeAnthropic, message_reply, server_error
from tests.support.ingest import ingest_fixtures

DATA = Path(__file__).resolve().parent / "data" / "qmsum" / "meetings"
QUESTION = "what did we discuss about the remote control buttons?"


async def _timestamps(db: Database, meeting_id: int) -> set[str]:
    async with db.read_session() as s:
        meeting = await s.get(Meeting, meeting_id)
        assert meeting is not None
        return {line.timestamp for line in meeting.fathom().transcript or []}


async def test_offline_answer_says_who_said_what_and_cites_moments_that_exist(any_db: Database) -> None:
    ids = await ingest_fixtures(any_db)
    answer = await QAService(any_db, SearchIndex(any_db)).answer(
        "what did we hear from Brightline Dental about their phones?", EVERYTHING
    )
    assert answer.meeting_id == ids[BRIGHTLINE] and answer.text and answer.model is None
    assert 40 <= len(answer.text.split()) <= 120
    assert " said " in answer.text and "Maya:" not in answer.text
    stamps = await _timestamps(any_db, ids[BRIGHTLINE])
    assert answer.sources and all(h.ts in stamps for h in answer.sources)
    assert {h.meeting_id for h in answer.sources} == {ids[BRIGHTLINE]}
    first = answer.sources[0]
    assert first.recording_url and first.recording_url.startswith(
        "https://fathom.video/share/de2b1share?timestamp="
    )
    shown = json.dumps(qa_answer(answer, {ids[BRIGHTLINE]: "https://slack.example/thread"}).blocks)
    assert "answered from the transcript" in shown and "https://slack.example/thread" in shown


async def test_a_question_naming_a_meeting_by_title_or_client_is_answered_from_it(any_db: Database) -> None:
    ids = await ingest_fixtures(any_db)
    qa = QAService(any_db, SearchIndex(any_db))
    by_title = await qa.answer(
        "what did they decide about buttons in the detailed design meeting?", EVERYTHING
    )
    assert by_title.meeting_id == ids["ami_ES2006d_decision"] and not by_title.choices
    by_client = await qa.answer("what does brightline use for scheduling?", EVERYTHING)
    assert by_client.meeting_id == ids[BRIGHTLINE]
    assert {h.meeting_id for h in by_client.sources} == {ids[BRIGHTLINE]}
    by_date = await qa.answer("summarise the 2026-11-18 call", EVERYTHING)
    assert by_date.meeting_id == ids["ami_ES2006a_kickoff"]


async def test_an_ambiguous_channel_question_asks_which_meeting(any_db: Database) -> None:
    ids = await ingest_fixtures(any_db)
    answer = await QAService(any_db, SearchIndex(any_db)).answer("summarise the meeting", EVERYTHING)
    assert answer.text is None and not answer.sources and len(answer.choices) >= 2
    assert {c.id for c in answer.choices} <= set(ids.values())
    message = qa_answer(answer, {})
    shown = json.dumps(message.blocks)
    assert "Which meeting?" in shown and shown.count(QAAction.PICK_MEETING.value) == len(answer.choices)
    picked = await QAService(any_db, SearchIndex(any_db)).answer(
        "summarise the meeting", EVERYTHING, meeting_id=answer.choices[0].id
    )
    assert picked.meeting_id == answer.choices[0].id and picked.text


async def test_thread_scope_and_no_citation_outside_allowed_meetings(world: World) -> None:
    qa = QAService(world.db, SearchIndex(world.db), access=world.access)
    kickoff = world.ids["ami_ES2006a_kickoff"]
    async with world.db.read_session() as s:
        from services.models import SlackMessageRef

        card = (
            await s.scalars(select(SlackMessageRef).where(SlackMessageRef.entity == f"meeting:{kickoff}"))
        ).one()
    in_thread = await qa.answer(
        "what did they say about the price?", JONAS, channel=card.channel, thread_ts=card.ts
    )
    assert in_thread.in_thread and in_thread.meeting_id == kickoff
    assert {h.meeting_id for h in in_thread.sources} == {kickoff}
    brightline = world.ids[BRIGHTLINE]
    named = await qa.answer("what did we hear from Brightline Dental about their phones?", PRIYA)
    assert brightline not in {h.meeting_id for h in named.sources} | {c.id for c in named.choices}
    forced = await qa.answer("what about phones?", PRIYA, meeting_id=brightline)
    assert forced.text is None and not forced.sources, "a meeting the asker may not see answers nothing"
    assert not forced.in_thread


def test_filler_and_false_starts_go_and_speakers_are_attributed_on_dev_turns() -> None:
    meeting = json.loads((DATA / "ES2006c.json").read_text())
    turns = meeting["meeting_transcripts"]
    first = score.clean(turns[0]["content"])  # "Excellent . So um I sent you the agenda , it was on the ..."
    cleaned = " ".join(sentences(first))
    assert " um " not in f" {cleaned.lower()} " and " ," not in cleaned
    assert "I sent you the agenda" in cleaned
    assert (
        clean("So um I I think we we should go for the the LCD , you know .") == "we should go for the LCD."
    )
    turn = Turn(0, "Maya Chen", first, "00:00:00")
    text = attribute([s for s in MeetingText([turn]).said[0] if "agenda" in s.text])
    assert text.startswith("Maya said they sent the group the agenda"), (
        "reported: I -> they, you -> the group"
    )
    assert "they need to know about the components" in attribute(MeetingText([turn]).said[0]), "we -> they"


def test_restarted_words_go_but_real_words_that_start_the_next_stay() -> None:
    meeting = json.loads((DATA / "ES2006c.json").read_text())
    # Industrial Designer, turn 87 of ES2006c: "... are you sure wha what this means , a spinning wheel ..."
    turn = next(t for t in meeting["meeting_transcripts"] if "wha what this means" in t["content"])
    cleaned = " ".join(sentences(score.clean(turn["content"])))
    assert "wha what" not in cleaned and "sure what this means" in cleaned
    assert clean("it makes it more comp complex") == "it makes it more complex"
    assert clean("we meet to today and go to tomorrow") == "we meet to today and go to tomorrow"


def test_a_question_naming_a_role_answers_from_that_speaker_and_says_the_role() -> None:
    meeting = json.loads((DATA / "ES2006c.json").read_text())
    names = {"Industrial Designer": "Omar Haddad", "User Interface": "Priya Nair", "Marketing": "Jonas Reed"}
    names["Project Manager"] = "Maya Chen"
    turns = [  # the wood-case discussion of ES2006c, turns 397-427
        Turn(i, names[t["speaker"]], score.clean(t["content"]), f"00:{i // 15:02d}:{i * 4 % 60:02d}")
        for i, t in enumerate(meeting["meeting_transcripts"])
        if 397 <= i <= 427 and score.clean(t["content"])
    ]
    question = "What did the Industrial Designer think of wood?"
    plain = MeetingText(turns).answer(question)
    aware = MeetingText(turns, aliases={"industrial designer": "Omar Haddad"}).answer(question)
    assert "Industrial Designer" not in plain.text.split(":", 1)[1], "no role learned: none claimed"
    assert "Omar, the Industrial Designer, thought" in aware.text, "introduced once by name and role"
    omar = sum(t.speaker == "Omar Haddad" for t in aware.cited)
    assert omar > sum(t.speaker == "Omar Haddad" for t in plain.cited), (plain.cited, aware.cited)


async def test_claude_answers_from_the_whole_transcript_citing_times_that_exist(any_db: Database) -> None:
    ids = await ingest_fixtures(any_db)
    meeting_id = ids["ami_ES2006a_kickoff"]
    stamps = sorted(await _timestamps(any_db, meeting_id))
    async with FakeAnthropic() as fake:
        fake.enqueue(
            message_reply(f"Maya said the buttons should be few [{stamps[3]}] and large [99:00:00].")
        )
        client = AsyncAnthropic(api_key="sk-test", base_url=fake.url, max_retries=0)
        try:
            answer = await QAService(
                any_db, SearchIndex(any_db), client, model="claude-sonnet-4-6", prices=DEFAULT_PRICES
            ).answer(QUESTION, EVERYTHING, meeting_id=meeting_id)
        finally:
            await client.close()
    assert answer.text and answer.text.startswith("Maya said the buttons") and answer.model
    assert [h.ts for h in answer.sources] == [stamps[3]], "an invented time is not cited"
    sent = fake.requests[0]
    assert f"[{stamps[-1]}]" in sent.user_text and QUESTION in sent.user_text, "the whole transcript"
    async with any_db.session() as s:
        usage = (await s.scalars(select(LLMUsage).where(LLMUsage.purpose == "qa"))).one()
    assert usage.input_tokens == 1200 and usage.cost_usd > 0


async def test_claude_failure_falls_back_to_the_offline_answer(any_db: Database) -> None:
    ids = await ingest_fixtures(any_db)
    async with FakeAnthropic() as fake:
        fake.enqueue(server_error())
        client = AsyncAnthropic(api_key="sk-test", base_url=fake.url, max_retries=0)
        try:
            answer = await QAService(any_db, SearchIndex(any_db), client).answer(
                QUESTION, EVERYTHING, meeting_id=ids["ami_ES2006a_kickoff"]
            )
        finally:
            await client.close()
    assert answer.text and answer.sources and answer.error and answer.model is None
    assert "Claude is not available" in json.dumps(qa_answer(answer, {}).blocks)


async def test_mention_search_and_help_through_local_slack(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        await bot.wait_for(lambda: len(bot.parents()) == 1)
        await bot.wait_for(lambda: "Generate client OS" in json.dumps(bot.parents()[0].get("blocks")))
        parent_ts = bot.parents()[0]["ts"]

        await bot.slack.mention("U01MAYA", MEETINGS_CHANNEL, "what did Brightline say about their phones?")
        asked = bot.slack.messages(MEETINGS_CHANNEL)[-1]
        await bot.wait_for(lambda: len(bot.slack.ephemerals) == 1)  # outside a card's thread: to Maya only
        reply = bot.slack.ephemerals[-1]
        assert reply["user"] == "U01MAYA" and reply["channel"] == MEETINGS_CHANNEL
        assert "Brightline Dental" in json.dumps(reply["blocks"]) and "timestamp=" in json.dumps(
            reply["blocks"]
        )
        assert " said " in json.dumps(reply["blocks"])
        assert len(bot.slack.thread(MEETINGS_CHANNEL, asked["ts"])) <= 1, "no public reply"

        await bot.slack.send_command("U01MAYA", MEETINGS_CHANNEL, "/os-meetings", "brightline with:@maya")
        await bot.wait_for(lambda: len(bot.slack.ephemerals) == 2)
        results = json.dumps(bot.slack.ephemerals[-1])
        assert "1 meeting" in results and "Brightline Dental" in results
        assert parent_ts.replace(".", "") in results, "links to the meeting's thread"

        await bot.slack.send_command("U01MAYA", MEETINGS_CHANNEL, "/os-help")
        await bot.wait_for(lambda: "Configuration" in json.dumps(bot.slack.ephemerals[-1]))
        shown = json.dumps(bot.slack.ephemerals[-1])
        assert "/os-meetings" in shown and "offline heuristic" in shown and "local Slack sandbox" in shown


def test_the_meeting_topics_name_each_phrase_once_without_numbers_or_stammers() -> None:
    meeting = json.loads((DATA / "ES2006c.json").read_text())
    turns = [
        Turn(i, t["speaker"], score.clean(t["content"]))
        for i, t in enumerate(meeting["meeting_transcripts"])
        if score.clean(t["content"])
    ]
    topics = MeetingText(
        turns
    ).topics()  # was "remote control, voice recognition, spinning wheel and it's it's"
    phrases = re.split(r", | and ", topics)
    assert "remote control" in phrases and "remote controls" not in phrases, topics
    assert len(phrases) == 4 and not any("'" in p or p.split()[0] == p.split()[-1] for p in phrases), topics


def _meeting_text(path: Path) -> MeetingText:
    """A dev meeting the way the bench and QAService see it: fixed people, learned roles."""
    fathom = parse_meeting(score.payload_for(path.stem, json.loads(path.read_text())))
    aliases = {k: who for k, (who, _) in speaker_aliases(fathom).items()}
    return MeetingText(
        (
            Turn(n, line.speaker.display_name, line.text, line.timestamp)
            for n, line in enumerate(fathom.transcript or [])
        ),
        aliases=aliases,
    )


def test_reported_speech_is_written_out_and_backchannels_go_on_dev_turns() -> None:
    turns = json.loads((DATA / "ES2006c.json").read_text())["meeting_transcripts"]
    # Industrial Designer, turn 28: "... Okay . So the batteries , I'll start with the battery , right ?"
    batteries = score.clean(turns[28]["content"])
    assert "Okay . So the batteries" in batteries and "battery , right ?" in batteries
    cleaned = " ".join(sentences(batteries))
    assert "Okay" not in cleaned and "right" not in cleaned, cleaned
    said = attribute(MeetingText([Turn(28, "Omar Haddad", batteries, "00:01:52")]).said[0])
    assert "they will start with the battery" in said and "'ll" not in said, said
    # Project Manager, turn 617: "and it's gonna look sort of vegetable ,"
    vegetable = score.clean(turns[617]["content"])
    assert "it's gonna" in vegetable
    said = attribute(MeetingText([Turn(617, "Maya Chen", vegetable + " green and orange.", None)]).said[0])
    assert "it is going to look vegetable" in said, said
    assert written_out("they can't, it won't, we don't, 'cause they'd") == (
        "they cannot, it will not, we do not, because they would"
    )


def test_a_speaker_is_named_by_role_after_the_first_mention() -> None:
    turns = [
        Turn(
            0, "Omar Haddad", "The wood case would be really hard to keep clean and it breaks easily.", None
        ),
        Turn(1, "Maya Chen", "Rubber or plastic then, since we wanted spongy material anyway.", None),
        Turn(2, "Omar Haddad", "Rubber is cheaper and the rubber case survives being dropped.", None),
    ]
    said = [s for said in MeetingText(turns).said for s in said]
    text = attribute(said, roles={"Omar Haddad": "Industrial Designer"})
    assert text.startswith("Omar, the Industrial Designer, said the wood case"), text
    assert "The Industrial Designer said rubber is cheaper" in text and text.count("Omar") == 1
    assert "Maya said rubber or plastic" in text, "no role learned: the first name"


def test_roles_carry_from_other_meetings_of_the_same_people_without_overriding_this_one() -> None:
    own = {"project manager": "Maya Chen", "cat": "Jonas Reed"}
    nearest = {"marketing expert": "Jonas Reed", "project manager": "Priya Nair"}
    farther = {"industrial designer": "Omar Haddad", "user interface designer": "Jonas Reed"}
    roles = carried_roles(own, [nearest, farther])
    assert roles["project manager"] == "Maya Chen", "a role claimed here stays"
    assert roles["marketing expert"] == "Jonas Reed" and roles["industrial designer"] == "Omar Haddad"
    assert "user interface designer" not in roles, "a person with a role keeps the nearest one"
    assert is_role("marketing expert") and not is_role("cat")


def test_whole_meeting_summary_runs_through_the_meetings_phases_on_a_dev_meeting() -> None:
    text_ = _meeting_text(DATA / "ES2006c.json")
    answer = text_.answer("Summarize the whole meeting.")
    body = answer.text
    assert body.startswith("The meeting was mainly about remote control"), body
    assert "It opened with" in body and "Then the group discussed" in body, body
    assert 40 <= len(body.split()) <= 120
    thirds = {3 * text_.position[t.index] // len(text_.turns) for t in answer.cited}
    assert len(thirds) >= 2, "sentences from more than one phase of the meeting"
    assert [t.index for t in answer.cited] == sorted(t.index for t in answer.cited), "in the order said"
    # before: "It opened with circuit board and last time", "the group discussed kinetic energy and how much"
    for phrase in text_.phrases() + text_.phrases(0, len(text_.turns) // 3, n=2):
        assert not set(phrase.split()) & {"last", "time", "how", "much", "good", "idea"}, phrase
    assert "kinetic energy" in text_.phrases(len(text_.turns) // 3, 2 * len(text_.turns) // 3, n=4)


def test_a_topic_summary_says_what_its_passage_was_about() -> None:
    text_ = _meeting_text(DATA / "ES2006c.json")
    answer = text_.answer("Summarize the discussion about the wood case.")
    assert answer.summary_question and "The group talked about" in answer.text, answer.text
    assert "wood case and" not in answer.text.split("The group talked about", 1)[1].split(".")[0], (
        "the asked topic is not repeated as one of the passage's phrases"
    )


async def test_a_meeting_without_introductions_names_roles_learned_in_the_same_teams_kickoff(
    any_db: Database,
) -> None:
    store, index = MeetingStore(any_db), SearchIndex(any_db)
    qa = QAService(any_db, index)

    async def ingest(path: Path, name: str) -> int:
        fathom = parse_meeting(score.payload_for(name, json.loads(path.read_text())))
        meeting_id = (await store.ingest(fathom)).meeting_id
        await index.index_meeting(meeting_id)
        return meeting_id

    question = "What did the Marketing Expert present about trends?"  # ES2009c: no one says their role
    later = await ingest(DATA / "ES2009c.json", "ES2009c")
    alone = await qa.answer(question, EVERYTHING, meeting_id=later)
    assert alone.text and "Marketing Expert" not in alone.text.split(":", 1)[1], "no role known yet"
    kickoff = DATA.parent / "series" / "ES2009a.json"  # their kickoff: "I'm the Marketing Expert"
    await ingest(kickoff, "ES2009a")
    carried = await qa.answer(question, EVERYTHING, meeting_id=later)
    assert carried.text and "Jonas, the Marketing Expert, presented" in carried.text, carried.text
