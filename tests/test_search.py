"""Search over the Fathom fixtures: ranking, filters, passages with playback links."""

from __future__ import annotations

from datetime import date

from services.access import EVERYTHING
from services.db import Database
from services.search import SearchIndex, parse_query
from tests.helpers import load_fixture
from tests.support.ingest import ingest_fixtures


def test_query_filters_are_parsed_out_of_the_words() -> None:
    q = parse_query(
        "pricing client:Brightline-Dental.example type:ai-audit after:2026-11-01 with:<@U01MAYA|maya>"
    )
    assert q.text == "pricing"
    assert (q.client, q.type, q.after, q.with_user) == (
        "brightline-dental",
        "ai_audit",
        date(2026, 11, 1),
        "<@U01MAYA|maya>",
    )
    assert parse_query("x after:yesterday type:party").problems


async def test_title_match_ranks_the_brightline_meeting_first(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    hits = await SearchIndex(db).search(parse_query("brightline dental"), EVERYTHING)
    assert hits and hits[0].meeting_id == ids["ai_audit_discovery"]
    assert len({h.meeting_id for h in hits}) == len(hits), "one passage per meeting"


async def test_transcript_hit_links_to_the_moment_in_the_recording(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    hits = await SearchIndex(db).search(parse_query("remote control buttons"), EVERYTHING)
    lines = [h for h in hits if h.kind == "line"]
    assert lines, hits
    hit = lines[0]
    assert hit.meeting_id in {
        ids["ami_ES2006a_kickoff"],
        ids["ami_ES2006d_decision"],
        ids["ami_TS3009c_long"],
    }
    assert hit.recording_url and "?timestamp=" in hit.recording_url
    assert "\u27e6" in hit.snippet  # matched words are marked for bolding


async def test_filters_narrow_results_by_client_type_date_and_attendee(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    index = SearchIndex(db)
    everything = {h.meeting_id for h in await index.search(parse_query("the"), EVERYTHING, limit=20)}
    assert len(everything) >= 4
    client = await index.search(parse_query("the client:brightline"), EVERYTHING, limit=20)
    assert {h.meeting_id for h in client} == {ids["ai_audit_discovery"]}
    late = await index.search(parse_query("the after:2026-11-19"), EVERYTHING, limit=20)
    assert {h.meeting_id for h in late} == {ids["ami_ES2006d_decision"], ids["ami_TS3009c_long"]}
    q = parse_query("the with:@rosa")
    rosa = await index.search(
        q.__class__(**{**q.__dict__, "with_email": "rosa@brightline-dental.example"}), EVERYTHING
    )
    assert {h.meeting_id for h in rosa} == {ids["ai_audit_discovery"]}
    nobody = await index.search(parse_query("the with:@nobody"), EVERYTHING)
    assert nobody == []
    meeting_type = (await index.search(parse_query("brightline"), EVERYTHING))[0].meeting_type
    typed = await index.search(parse_query(f"the type:{meeting_type}"), EVERYTHING, limit=20)
    assert ids["ai_audit_discovery"] in {h.meeting_id for h in typed}


async def test_filters_alone_list_recent_meetings_and_reindexing_does_not_duplicate(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    index = SearchIndex(db)
    assert await index.index_meeting(ids["ai_audit_discovery"]) == await index.index_meeting(
        ids["ai_audit_discovery"]
    )
    recent = await index.search(parse_query("after:2026-11-18"), EVERYTHING)
    assert [h.meeting_id for h in recent][0] == ids["ami_TS3009c_long"]
    hits = await index.search(parse_query("brightline"), EVERYTHING, limit=50, per_meeting=50)
    assert len([h for h in hits if h.kind == "title"]) == 1


async def test_question_words_fall_back_to_any_word_matching(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    hits = await SearchIndex(db).search(
        parse_query("what did we decide about brightline zzzunknownword"), EVERYTHING
    )
    assert hits and hits[0].meeting_id == ids["ai_audit_discovery"]


async def test_related_meetings_share_a_client_or_people(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    index = SearchIndex(db)
    # a second call with the same client as the Brightline audit
    data = load_fixture("ai_audit_discovery")
    data.update(
        recording_id=990001,
        title="Brightline Dental - follow-up",
        created_at="2026-11-20T10:00:00Z",
        recording_start_time="2026-11-20T10:00:00Z",
        recording_end_time="2026-11-20T10:30:00Z",
    )
    from services.analysis.heuristic import HeuristicAnalyzer
    from services.fathom import parse_meeting
    from services.meetings import MeetingStore

    store = MeetingStore(db)
    follow_up = (await store.ingest(parse_meeting(data))).meeting_id
    await store.store_analysis(follow_up, await HeuristicAnalyzer().analyze(parse_meeting(data)))
    await index.index_meeting(follow_up)
    related = [m.id for m in await index.related(follow_up, EVERYTHING)]
    assert related[0] == ids["ai_audit_discovery"]
    partner = [m.id for m in await index.related(ids["partner_sync"], EVERYTHING, limit=10)]
    assert ids["ai_audit_discovery"] in partner  # Maya and Jonas were at both
    assert ids["partner_sync"] not in partner
