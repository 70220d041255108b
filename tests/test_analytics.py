"""Dashboard analytics on SQLite and PostgreSQL against figures computed by hand (see each comment).

Four meetings (one outside the period), five items, three decisions, three Claude calls:
  M1 acme/client  Mon 23 Nov 10:00, scheduled 30 min, ran 45 min; 1 question; 2 decisions, 2 items
  M2 acme/client  Wed 25 Nov 14:00, scheduled 60 min, ran 30 min; no decision, no item
  M3 internal     Fri 27 Nov 09:00, unscheduled, ran 60 min; no transcript; 1 decision, 2 items
  M0 internal     10 Nov (before the period); 1 open item
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.analytics import AnalyticsService, Period, percentile
from services.db import Database
from services.fathom import FathomMeeting
from services.models import ActionItem, Decision, LLMUsage, Meeting
from services.sentiment import label, meeting_tone
from tests.helpers import load_fixture

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PERIOD = Period(datetime(2026, 11, 23, tzinfo=UTC), NOW)
MAYA = {"name": "Maya Chen", "email": "maya@agency.example", "email_domain": "agency.example"}
OMAR = {"name": "Omar Haddad", "email": "omar@agency.example", "email_domain": "agency.example"}
BOB = {"name": "Bob Stone", "email": "bob@acme.com", "email_domain": "acme.com", "is_external": True}


def _t(day: int, hour: int, minute: int = 0) -> str:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC).isoformat()


def _line(who: dict[str, Any], ts: str, text: str) -> dict[str, Any]:
    return {
        "speaker": {"display_name": who["name"], "matched_calendar_invitee_email": who["email"]},
        "text": text,
        "timestamp": ts,
    }


def _analysis(ptype: str, decisions: int, items: int, risks: int, sentiment: float) -> dict[str, Any]:
    return {
        "types": [{"type": ptype, "confidence": 0.9}],
        "summary_one_line": "s",
        "summary": "s",
        "decisions": [{"what": f"d{i}"} for i in range(decisions)],
        "action_items": [{"text": f"a{i}"} for i in range(items)],
        "risks": [{"text": f"risk {i}"} for i in range(risks)],
        "sentiment": sentiment,
    }


MEETINGS: list[dict[str, Any]] = [
    {
        "id": 1,
        "client": "acme",
        "type": "client",
        "payload": {
            "scheduled_start_time": _t(23, 10),
            "scheduled_end_time": _t(23, 10, 30),
            "recording_start_time": _t(23, 10),
            "recording_end_time": _t(23, 10, 45),
            "calendar_invitees": [MAYA, BOB],
            "transcript": [  # Maya 0-10 min and 30-45 min (1500 s), Bob 10-30 min (1200 s)
                _line(MAYA, "00:00:00", "Hello everyone, is the budget approved?"),
                _line(BOB, "00:10:00", "Yes, we are very happy with the great progress."),
                _line(MAYA, "00:30:00", "Great, thanks so much for the wonderful news."),
            ],
        },
        "analysis": _analysis("client", 2, 2, 1, 0.6),
    },
    {
        "id": 2,
        "client": "acme",
        "type": "client",
        "payload": {
            "scheduled_start_time": _t(25, 14),
            "scheduled_end_time": _t(25, 15),
            "recording_start_time": _t(25, 14),
            "recording_end_time": _t(25, 14, 30),
            "calendar_invitees": [MAYA, BOB],
            "transcript": [  # Bob 0-20 min (1200 s), Maya 20-30 min (600 s)
                _line(BOB, "00:00:00", "This is terrible, we are angry about the awful delays."),
                _line(MAYA, "00:20:00", "Sorry, that is a bad problem for everyone."),
            ],
        },
        "analysis": _analysis("client", 0, 0, 0, -0.4),
    },
    {
        "id": 3,
        "client": None,
        "type": "internal_partner",
        "payload": {
            "recording_start_time": _t(27, 9),
            "recording_end_time": _t(27, 10),
            "calendar_invitees": [MAYA, OMAR],
        },
        "analysis": _analysis("internal_partner", 1, 2, 0, 0.5),
    },
    {
        "id": 4,
        "client": None,
        "type": "internal_partner",
        "payload": {"recording_start_time": _t(10, 9), "recording_end_time": _t(10, 10)},
        "analysis": _analysis("internal_partner", 0, 1, 0, 0.0),
    },
]

# (meeting, owner, status, due, created, completed): hours to done 24, 48, 10
ITEMS = [
    (
        1,
        "U_MAYA",
        "done",
        None,
        datetime(2026, 11, 23, 11, tzinfo=UTC),
        datetime(2026, 11, 24, 11, tzinfo=UTC),
    ),
    (
        1,
        "U_OMAR",
        "done",
        None,
        datetime(2026, 11, 23, 11, tzinfo=UTC),
        datetime(2026, 11, 25, 11, tzinfo=UTC),
    ),
    (3, "U_MAYA", "open", date(2026, 11, 28), datetime(2026, 11, 27, 10, tzinfo=UTC), None),
    (
        3,
        "U_OMAR",
        "done",
        None,
        datetime(2026, 11, 27, 10, tzinfo=UTC),
        datetime(2026, 11, 27, 20, tzinfo=UTC),
    ),
    (4, "U_OMAR", "open", None, datetime(2026, 11, 10, 10, tzinfo=UTC), None),
]


async def _seed(db: Database) -> AnalyticsService:
    async with db.session() as s:
        for m in MEETINGS:
            payload = {"title": f"Meeting {m['id']}", "recording_id": 7000 + m["id"], **m["payload"]}
            s.add(
                Meeting(
                    id=m["id"],
                    recording_id=payload["recording_id"],
                    title=payload["title"],
                    payload=payload,
                    status="analysed",
                    primary_type=m["type"],
                    analysis=m["analysis"],
                    client_slug=m["client"],
                )
            )
        await s.flush()
        for n, (mid, owner, status, due, created, done) in enumerate(ITEMS):
            s.add(
                ActionItem(
                    meeting_id=mid,
                    dedupe_key=f"k{n}",
                    source="analysis",
                    text=f"item {n}",
                    owner_slack_id=owner,
                    status=status,
                    due_date=due,
                    created_at=created,
                    completed_at=done,
                )
            )
        s.add_all(
            Decision(meeting_id=mid, what=w) for mid, w in [(1, "Go with plan A"), (1, "Ship"), (3, "Hire")]
        )
        s.add_all(
            LLMUsage(meeting_id=mid, purpose="analysis", model="m", cost_usd=Decimal(c))
            for mid, c in [(1, "0.30"), (2, "0.10"), (3, "0.05")]
        )
    service = AnalyticsService(db, clock=lambda: NOW)
    assert await service.backfill() == 4
    assert await service.backfill() == 0  # facts are stored once
    return service


async def test_efficiency_matches_hand_computed_figures(any_db: Database) -> None:
    service = await _seed(any_db)
    async with any_db.read_session() as s:
        e = await service.efficiency(s, PERIOD)
        acme = await service.efficiency(s, Period(PERIOD.since, PERIOD.until, "acme"))
    assert e.meetings == 3
    assert e.hours == 2.25  # 45 + 30 + 60 min
    assert e.scheduled_hours == 1.5  # 30 + 60 min
    assert e.overrun_minutes_avg == -7.5  # (+15 - 30) / 2
    assert e.questions_per_hour == 0.44  # 1 / 2.25
    assert e.decisions_per_hour == 1.33  # 3 / 2.25
    assert e.items_per_hour == 1.78  # 4 / 2.25
    assert e.without_outcome == 1  # M2
    assert e.talk_share == {"Bob Stone": 0.5333, "Maya Chen": 0.4667}  # 2400 / 4500, 2100 / 4500
    assert (acme.meetings, acme.hours, acme.without_outcome) == (2, 1.25, 1)


async def test_action_items_by_person_client_and_type(any_db: Database) -> None:
    service = await _seed(any_db)
    async with any_db.read_session() as s:
        person = {x.key: x for x in await service.items_by(s, PERIOD, "person")}
        client = {x.key: x for x in await service.items_by(s, PERIOD, "client")}
        types = {x.key: x for x in await service.items_by(s, PERIOD, "type")}
    maya, omar = person["U_MAYA"], person["U_OMAR"]  # M0's item is outside the period
    assert (maya.created, maya.done, maya.overdue) == (2, 1, 1)
    assert (maya.completion_rate, maya.overdue_share) == (0.5, 0.5)
    assert (maya.median_hours_to_done, maya.p90_hours_to_done) == (24.0, 24.0)
    assert (omar.created, omar.done, omar.overdue) == (2, 2, 0)
    assert (omar.median_hours_to_done, omar.p90_hours_to_done) == (29.0, 48.0)  # (10 + 48) / 2; nearest rank
    assert (client["acme"].done, client["acme"].median_hours_to_done) == (2, 36.0)
    assert (client["internal"].overdue_share, client["internal"].median_hours_to_done) == (0.5, 10.0)
    assert types["client"] == client["acme"].__class__(**{**client["acme"].__dict__, "key": "client"})
    assert set(types) == {"client", "internal_partner"}


async def test_time_allocation_roi_and_sentiment(any_db: Database) -> None:
    service = await _seed(any_db)
    async with any_db.read_session() as s:
        a = await service.allocation(s, PERIOD)
        roi = {r.type: r for r in await service.roi(s, PERIOD)}
        tone = await service.sentiment_by_week(s, PERIOD)
        network = await service.network(s, PERIOD)
        timeline = await service.timeline(s, PERIOD)
        decisions = await service.decisions(s, PERIOD)
        risks = await service.risks(s, PERIOD)
    week = date(2026, 11, 23)
    assert a.by_client == {"acme": 1.25, "internal": 1.0}
    assert a.by_person == {"maya@agency.example": 2.25, "omar@agency.example": 1.0}  # Bob is external
    assert a.by_week == {week: 2.25}
    assert a.client_weeks == {("acme", week): 1.25, ("internal", week): 1.0}
    client = roi["client"]
    assert (client.meetings, client.hours, client.decisions, client.items_created, client.items_done) == (
        2,
        1.25,
        2,
        2,
        2,
    )
    assert client.claude_cost_usd == Decimal("0.40") and client.cost_per_decision == Decimal("0.2")
    assert (roi["internal_partner"].items_done, roi["internal_partner"].claude_cost_usd) == (
        1,
        Decimal("0.05"),
    )
    assert tone == {week: pytest.approx(0.2333, abs=1e-4)}  # (0.6 - 0.4 + 0.5) / 3
    assert network == [("Maya Chen", "acme", 2)]
    assert [(r.client, r.meetings, r.decisions, r.items) for r in timeline] == [
        ("acme", 2, 2, 2),
        ("internal", 1, 1, 2),
    ]
    assert [d.what for d in decisions] == ["Go with plan A", "Ship", "Hire"]
    assert risks == [(1, "Meeting 1", "risk 0")]


async def test_home_figures_states_workload_trend(any_db: Database) -> None:
    service = await _seed(any_db)
    async with any_db.read_session() as s:
        states = await service.my_item_states(s, "U_MAYA")
        work = await service.workload(s)
        trend = await service.completion_trend(s, weeks=2)
        heat = await service.heatmap(s, weeks=2)
    assert (states.open, states.overdue, states.snoozed, states.done_30d) == (1, 1, 0, 1)
    assert [(w.person, w.open, w.overdue) for w in work] == [("U_MAYA", 1, 1), ("U_OMAR", 1, 0)]
    assert [(t.week, t.created, t.done) for t in trend] == [
        (date(2026, 11, 23), 4, 3),
        (date(2026, 11, 30), 0, 0),
    ]
    assert heat[("acme", date(2026, 11, 23))] == 1.25


async def test_reanalysis_replaces_facts(any_db: Database) -> None:
    service = await _seed(any_db)
    async with any_db.session() as s:
        m = await s.get(Meeting, 2)
        assert m is not None
        m.analysis = _analysis("client", 1, 0, 0, -0.4)
    await service.after_analysis(m, None)  # the row as stored, as the pipeline hands it over
    async with any_db.read_session() as s:
        assert (await service.efficiency(s, PERIOD)).without_outcome == 0


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(i) for i in range(1, 11)], 0.9) == 9.0
    assert percentile([float(i) for i in range(1, 12)], 0.9) == 10.0


def _with_lines(lines: list[str]) -> FathomMeeting:
    payload = load_fixture("partner_sync")
    speaker = payload["transcript"][0]["speaker"]
    payload["transcript"] = [
        {"speaker": speaker, "text": t, "timestamp": f"00:0{i}:00"} for i, t in enumerate(lines)
    ]
    return FathomMeeting.model_validate(payload)


def test_sentiment_offline_reads_known_tone() -> None:
    happy = _with_lines(["This is great news, we love it.", "Wonderful progress, thank you all so much."])
    angry = _with_lines(["This is terrible and we are very angry.", "The delays are awful and unacceptable."])
    flat = _with_lines(["Ok.", "Yes."])  # under three words: no score
    assert meeting_tone(happy).label == "positive" and meeting_tone(happy).score > 0.5
    assert meeting_tone(angry).label == "negative" and meeting_tone(angry).score < -0.5
    assert meeting_tone(flat).score is None and label(None) == "unknown"
    speaker = next(iter(meeting_tone(angry).by_speaker.values()))
    assert speaker is not None and speaker < -0.5


async def test_report_names_people_from_the_people_cache(any_db: Database) -> None:
    from services.models import Person

    service = await _seed(any_db)
    async with any_db.session() as s:
        s.add(Person(email="maya@agency.example", name="Maya Chen", slack_user_id="U_MAYA"))
    dashboard = await service.dashboard(PERIOD)
    assert {p.key for p in dashboard.items_by["person"]} == {"Maya Chen", "U_OMAR"}  # Omar is not cached
    assert [x.key for x in dashboard.items_by["client"]] == ["acme", "internal"]
