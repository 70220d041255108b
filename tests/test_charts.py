"""Charts: each renders a PNG with its key numbers in the alt text; uploads happen once per data hash
(the local Slack server records every upload); the weekly report's day and the tone-drop DM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from blocks.charts import chart_block
from blocks.limits import ALT_TEXT
from bot.clients import build_slack_client
from bot.sandbox import LocalSlack
from services import charts
from services.access import AccessPolicy
from services.analytics import AnalyticsService, ItemStates, TimelineRow, WeekTrend, Workload
from services.db import Database
from services.models import Meeting, MeetingFacts
from services.os_config import OSConfig
from services.slack.gateway import RateGate, SlackGateway
from services.slack.report import ChartUploader, ReportPublisher, SentimentWatch, parse_report

W0 = date(2026, 11, 2)
SPECS = [
    charts.items_by_state(ItemStates(open=12, overdue=3, snoozed=1, done_30d=20)),
    charts.workload([Workload("U01MAYA", 7, 2), Workload("U02JONAS", 3, 0)], {"U01MAYA": "Maya Chen"}),
    charts.heatmap({("acme", W0): 2.5, ("acme", W0 + timedelta(weeks=1)): 1.0, ("globex", W0): 0.5}),
    charts.completion_trend([WeekTrend(W0, 10, 6), WeekTrend(W0 + timedelta(weeks=1), 4, 1)]),
    charts.network([("Maya Chen", "acme", 3), ("Jonas Reed", "acme", 1), ("Maya Chen", "globex", 2)]),
    charts.timeline([TimelineRow("acme", W0, 2, 1, 3), TimelineRow("globex", W0, 1, 0, 0)]),
    charts.sentiment({W0: 0.31, W0 + timedelta(weeks=1): -0.12}),
]
KEY_NUMBERS = {
    "items_by_state": ["Open 12", "Overdue 3", "Done (30 d) 20"],
    "workload": ["Maya Chen 7 open, 2 overdue", "U02JONAS 3 open, 0 overdue"],
    "heatmap": ["acme 3.5 h", "globex 0.5 h"],
    "trend": ["6/10 done", "1/4 done"],
    "network": ["Maya Chen – acme: 3 meetings"],
    "timeline": ["acme week of 2026-11-02: 2 meetings, 1 decisions, 3 items"],
    "sentiment": ["+0.31", "-0.12"],
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_each_chart_renders_a_png_with_its_numbers_in_the_alt_text(spec: charts.ChartSpec) -> None:
    png = charts.render(spec)
    assert png.startswith(b"\x89PNG") and 5_000 < len(png) < 200_000
    for number in KEY_NUMBERS[spec.name]:
        assert number in spec.alt_text
    block = chart_block(charts_image(spec), "c").to_dict()
    assert block["slack_file"] == {"id": "F1"} and len(block["alt_text"]) <= ALT_TEXT


def test_empty_charts_render_and_say_so() -> None:
    for spec in (charts.workload([]), charts.heatmap({}), charts.network([]), charts.timeline([])):
        assert charts.render(spec).startswith(b"\x89PNG")
        assert spec.alt_text.endswith("no data yet")


def test_report_arguments() -> None:
    assert parse_report("") == parse_report("week")
    assert parse_report("month client:Acme").kind == "month"
    assert parse_report("month client:Acme").client == "acme"
    with pytest.raises(ValueError, match="yesterday"):
        parse_report("yesterday")


def charts_image(spec: charts.ChartSpec):  # type: ignore[no-untyped-def]
    from services.views import ChartImage

    return ChartImage("F1", spec.title, spec.alt_text)


@pytest.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    local = await LocalSlack.start()
    yield local
    await local.stop()


def _gateway(slack: LocalSlack, db: Database) -> SlackGateway:
    gate = RateGate()
    return SlackGateway(build_slack_client(slack.bot_token, slack.api_url, gate), db, gate)


async def test_a_chart_is_uploaded_once_per_data_and_again_when_it_changes(
    slack: LocalSlack, db: Database
) -> None:
    uploader = ChartUploader(db, _gateway(slack, db))
    first = await uploader.image("home:U1:items_by_state", SPECS[0])
    again = await uploader.image("home:U1:items_by_state", charts.items_by_state(ItemStates(12, 3, 1, 20)))
    assert again.file_id == first.file_id and len(slack.files) == 1 and uploader.rendered == 1
    [stored] = slack.files
    assert (
        stored.id == first.file_id
        and stored.name == "items_by_state.png"
        and stored.content[:4] == b"\x89PNG"
    )
    changed = await uploader.image("home:U1:items_by_state", charts.items_by_state(ItemStates(11, 3, 1, 21)))
    assert changed.file_id != first.file_id and len(slack.files) == 2 and "Open 11" in changed.alt_text
    # a restart keeps the cache: the hash is in the database, not in the process
    fresh = ChartUploader(db, _gateway(slack, db))
    assert (
        await fresh.image("home:U1:items_by_state", charts.items_by_state(ItemStates(11, 3, 1, 21)))
    ).file_id == (changed.file_id)
    assert fresh.rendered == 0 and len(slack.files) == 2


async def _facts(db: Database, scores: list[float]) -> None:
    start = datetime(2026, 11, 2, 10, tzinfo=UTC)
    async with db.session() as s:
        for i in range(len(scores)):
            s.add(
                Meeting(
                    id=i + 1,
                    recording_id=9100 + i,
                    title=f"Acme sync {i + 1}",
                    payload={"title": f"Acme sync {i + 1}", "recording_id": 9100 + i},
                    status="analysed",
                    client_slug="acme",
                )
            )
        await s.flush()
        for i, score in enumerate(scores):
            at = start + timedelta(days=i)
            s.add(
                MeetingFacts(
                    meeting_id=i + 1,
                    started_at=at,
                    week=at.date(),
                    client_slug="acme",
                    sentiment=Decimal(str(score)),
                )
            )


def _config(**reports: object) -> OSConfig:
    return OSConfig.model_validate(
        {
            "clients": [{"name": "Acme", "domains": ["acme.com"], "owner": "U01MAYA"}],
            "admins": ["U01MAYA"],
            "reports": {"sentiment_drop": 0.3, **reports},
        }
    )


async def _stored(db: Database, meeting_id: int) -> Meeting:
    """The row as the pipeline hands it to its after_analysis hooks."""
    async with db.read_session() as s:
        return await s.get_one(Meeting, meeting_id)


async def test_tone_drop_dms_the_account_owner_once_it_passes_the_margin(
    slack: LocalSlack, db: Database
) -> None:
    gateway = _gateway(slack, db)
    watch = SentimentWatch(AnalyticsService(db), gateway, lambda: _config())
    await _facts(db, [0.5, 0.4, 0.3, 0.25])  # latest 0.25 vs mean 0.4: a 0.15 dip, under the margin
    await watch.after_analysis(await _stored(db, 4), None)
    assert slack.dms("U01MAYA") == []
    async with db.session() as s:
        s.add(
            Meeting(
                id=5, recording_id=9200, title="Acme escalation", payload={"title": "x", "recording_id": 9200}
            )
        )
        await s.flush()
        at = datetime(2026, 11, 7, 10, tzinfo=UTC)
        s.add(
            MeetingFacts(
                meeting_id=5, started_at=at, week=at.date(), client_slug="acme", sentiment=Decimal("-0.2")
            )
        )
    async with db.session() as s:
        meeting = await s.get(Meeting, 5)
        assert meeting is not None
        meeting.client_slug = "acme"
    # -0.2 vs mean of the 4 before it (0.3625): a drop of 0.56
    await watch.after_analysis(await _stored(db, 5), None)
    [dm] = slack.dms("U01MAYA")
    assert "Acme" in dm["text"] and "-0.20" in dm["text"] and "below its recent average" in dm["text"]
    await watch.after_analysis(await _stored(db, 5), None)  # a re-analysis tells nobody again
    assert len(slack.dms("U01MAYA")) == 1


async def test_a_report_for_a_channel_is_posted_there_for_an_admin_and_dmed_to_anyone_else(
    slack: LocalSlack, db: Database
) -> None:
    gateway = _gateway(slack, db)
    config = _config()  # admins: U01MAYA
    reports = ReportPublisher(
        AnalyticsService(db),
        ChartUploader(db, gateway),
        gateway,
        AccessPolicy(db, lambda: config),
        lambda: config,
    )
    request = parse_report("month")
    assert await reports.post(request, channel="C02MEETINGS", user_id="U02JONAS") is None  # refused
    assert slack.messages("C02MEETINGS") == []
    [dm] = slack.dms("U02JONAS")
    assert "monthly report" in dm["text"]
    assert await reports.post(request, channel="C02MEETINGS", user_id="U01MAYA") == "C02MEETINGS"
    [posted] = slack.messages("C02MEETINGS")
    assert "monthly report" in posted["text"] and slack.dms("U01MAYA") == []


async def test_weekly_report_posts_on_its_configured_day_and_hour_only(
    slack: LocalSlack, db: Database
) -> None:
    gateway = _gateway(slack, db)
    config = _config(weekly_day="tue", weekly_hour=9, weekly_channel="C02MEETINGS")
    analytics = AnalyticsService(db, clock=lambda: datetime(2026, 12, 1, 9, 5, tzinfo=UTC))
    reports = ReportPublisher(
        analytics, ChartUploader(db, gateway), gateway, AccessPolicy(db, lambda: config), lambda: config
    )
    before = len(slack.messages("C02MEETINGS"))
    assert not await reports.weekly_if_due(datetime(2026, 12, 1, 8, 5, tzinfo=UTC))  # Tuesday, 08:05
    assert not await reports.weekly_if_due(datetime(2026, 12, 2, 9, 5, tzinfo=UTC))  # Wednesday
    assert len(slack.messages("C02MEETINGS")) == before
    assert await reports.weekly_if_due(datetime(2026, 12, 1, 9, 5, tzinfo=UTC))
    [posted] = slack.messages("C02MEETINGS")[before:]
    assert "weekly report" in posted["text"]
    assert {b["slack_file"]["id"] for b in posted["blocks"] if b["type"] == "image"} <= {
        f.id for f in slack.files
    }
