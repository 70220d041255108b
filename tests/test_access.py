"""Who may see meeting content (services.access), with an outsider, an attendee, a channel member
and an admin: search, Q&A, Home, the /os-audit picker and related links on real storage (SQLite,
and PostgreSQL when configured), channel membership from the local Slack server over HTTP, and an
@-mention answered ephemerally end to end."""

from __future__ import annotations

import json
from pathlib import Path

from bot.sandbox.slack_state import BOT_USER_ID
from services.access import EVERYTHING
from services.audit.service import AuditService
from services.home import HomeService
from services.meetings import MeetingStore
from services.qa import QAService
from services.search import SearchIndex, parse_query
from tests.harness import MEETINGS_CHANNEL, running_bot
from tests.support.access import BRIGHTLINE, CLIENTS, JONAS, OMAR, PRIYA, SAM, World


async def test_brightline_is_visible_to_attendee_channel_member_and_admin_only(world: World) -> None:
    brightline = world.ids[BRIGHTLINE]
    index = SearchIndex(world.db)
    seen = {}
    for user in (SAM, PRIYA, JONAS, OMAR, world.admin):
        viewer = await world.access.viewer(user)
        hits = await index.search(parse_query("brightline dental"), viewer, limit=20)
        seen[user] = {h.meeting_id for h in hits}
        assert (brightline in seen[user]) == await world.access.can_see(viewer, brightline)
    assert seen[SAM] == set(), "an outsider: nothing matched"
    assert brightline not in seen[PRIYA], "attended other meetings, not this one, not in #clients"
    assert brightline in seen[JONAS], "an internal attendee"
    assert brightline in seen[OMAR], "a member of the channel the card was posted in"
    assert brightline in seen[world.admin], "an admin from fathom-os.yml"
    recent = await index.search(parse_query("client:brightline"), await world.access.viewer(SAM))
    assert recent == [], "filters without words (the recent-meetings path) obey the rule too"


async def test_questions_cite_only_meetings_the_asker_may_see(world: World) -> None:
    qa = QAService(world.db, SearchIndex(world.db))
    question = "what did we hear from Brightline Dental about their phones?"
    cited = {}
    for user in (SAM, PRIYA, JONAS, OMAR, world.admin):
        answer = await qa.answer(question, await world.access.viewer(user))
        cited[user] = {h.meeting_id for h in answer.sources}
    brightline = world.ids[BRIGHTLINE]
    assert cited[SAM] == set()
    assert brightline not in cited[PRIYA]
    assert brightline in cited[JONAS] and brightline in cited[OMAR] and brightline in cited[world.admin]


async def test_home_lists_the_meetings_each_user_may_see(world: World) -> None:
    from services.clock import utcnow

    home = HomeService(world.db, world.access)
    shown = {}
    for user in (SAM, PRIYA, OMAR, world.admin):
        data = await home.load(user, email=None, is_approver=False, now=utcnow(), limit=50)
        shown[user] = ({m.id for m in data.meetings}, data.meetings_total)
    everything = set(world.ids.values())
    assert shown[SAM] == (set(), 0)
    assert shown[PRIYA] == (everything - {world.ids[BRIGHTLINE]}, len(everything) - 1)
    assert shown[OMAR] == (everything, len(everything)), "#clients and #meetings member"
    assert shown[world.admin] == (everything, len(everything))


async def test_audit_picker_lists_only_visible_meetings(world: World) -> None:
    audit = AuditService(world.db, MeetingStore(world.db), None)  # type: ignore[arg-type]
    sam = await audit.recent_meetings(await world.access.viewer(SAM), "brightline")
    jonas = await audit.recent_meetings(await world.access.viewer(JONAS), "brightline")
    assert sam == [] and [m.id for m in jonas] == [world.ids[BRIGHTLINE]]


async def test_related_links_on_a_card_show_only_what_every_reader_of_its_channel_may_see(
    world: World,
) -> None:
    index = SearchIndex(world.db)
    kickoff, brightline = world.ids["ami_ES2006a_kickoff"], world.ids[BRIGHTLINE]
    assert brightline in {m.id for m in await index.related(kickoff, EVERYTHING, limit=10)}
    in_meetings = await index.related(
        kickoff, await world.access.channel_audience(MEETINGS_CHANNEL), limit=10
    )
    assert brightline not in {m.id for m in in_meetings}, "#meetings readers are not all in #clients"
    in_clients = await index.related(brightline, await world.access.channel_audience(CLIENTS), limit=10)
    assert kickoff in {m.id for m in in_clients}, "every #clients reader is also in #meetings"


async def test_channel_members_come_back_whole_across_pages(world: World) -> None:
    many = [world.slack.add_user(f"Member {n}", f"m{n}@agency.example").id for n in range(1500)]
    world.slack.channels["C01GENERAL"].members = many
    before = len(world.slack.calls_to("conversations.members"))
    assert await world.gateway.members("C01GENERAL") == set(many)
    assert len(world.slack.calls_to("conversations.members")) - before == 2, "two pages of up to 1000"
    assert await world.gateway.members("C01GENERAL") == set(many)
    assert len(world.slack.calls_to("conversations.members")) - before == 2, "cached"


async def test_mention_outside_a_card_thread_is_answered_ephemerally(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        bot.slack.channels[MEETINGS_CHANNEL].members = ["U01MAYA", JONAS, PRIYA, OMAR, BOT_USER_ID]
        await bot.send(BRIGHTLINE)
        await bot.wait_for(lambda: len(bot.parents()) == 1)
        await bot.wait_for(lambda: "Generate client OS" in json.dumps(bot.parents()[0].get("blocks")))
        card_ts = bot.parents()[0]["ts"]

        question = "what did Brightline say about their phones?"
        await bot.slack.mention(JONAS, "C01GENERAL", question)  # an attendee, in a public channel
        asked = bot.slack.messages("C01GENERAL")[-1]
        await bot.wait_for(lambda: len(bot.slack.ephemerals) == 1)
        to_jonas = bot.slack.ephemerals[0]
        assert (to_jonas["user"], to_jonas["channel"]) == (JONAS, "C01GENERAL")
        assert "Brightline Dental" in json.dumps(to_jonas["blocks"])
        assert len(bot.slack.thread("C01GENERAL", asked["ts"])) == 1, "nothing posted in #general"

        await bot.slack.mention(SAM, "C01GENERAL", question)  # attended nothing, not in #meetings
        await bot.wait_for(lambda: len(bot.slack.ephemerals) == 2)
        to_sam = bot.slack.ephemerals[1]
        assert to_sam["user"] == SAM and "qa:empty" in json.dumps(to_sam["blocks"])
        assert "Brightline" not in json.dumps(to_sam["blocks"])
        assert [m["user"] for m in bot.slack.messages("C01GENERAL")] == [JONAS, SAM]

        await bot.slack.mention(JONAS, MEETINGS_CHANNEL, question, thread_ts=card_ts)  # in the card's thread
        asked_at = float(bot.slack.thread(MEETINGS_CHANNEL, card_ts)[-1]["ts"])

        def answers() -> list[str]:
            later = [m for m in bot.slack.thread(MEETINGS_CHANNEL, card_ts) if float(m["ts"]) > asked_at]
            return [json.dumps(m.get("blocks")) for m in later if "qa:" in json.dumps(m.get("blocks"))]

        await bot.wait_for(lambda: bool(answers()))
        assert "Brightline Dental" in answers()[0] and "timestamp=" in answers()[0]
        assert len(bot.slack.ephemerals) == 2, "answered in the thread, not privately"
