"""Dashboard charts in Slack: uploaded once per data hash, shown by file id; reports and tone alerts.

A chart is rendered and uploaded (files_upload_v2) only when the hash of its data differs from the
one stored in `chart_cache` for that key, so a Home tab re-published after a click that changed
nothing a chart shows costs no rendering and no upload.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from slack_sdk.models.blocks import SectionBlock
from sqlalchemy.exc import IntegrityError

from blocks.common import Message, build, mrkdwn, notice
from blocks.report import CoachingRow, ReportView, coaching_message, report_message
from services import charts
from services.access import AccessPolicy, Scope
from services.analysis.os_updates import log_entries
from services.analytics import AnalyticsService
from services.clock import utcnow
from services.cpu import run_cpu
from services.db import Database
from services.models import ChartCache, Meeting, ReminderSent
from services.os_config import OSConfig
from services.os_paths import slugify
from services.slack.gateway import SlackGateway
from services.views import ChartImage

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


class ChartUploader:
    def __init__(self, db: Database, gateway: SlackGateway) -> None:
        self.db = db
        self.gateway = gateway
        self.rendered = 0  # charts rendered and uploaded by this process (tests, bench)
        self._locks: dict[str, asyncio.Lock] = {}

    async def image(self, key: str, spec: charts.ChartSpec) -> ChartImage:
        digest = spec.data_hash
        async with self._locks.setdefault(key, asyncio.Lock()):  # one upload per key at a time
            async with self.db.read_session() as s:
                cached = await s.get(ChartCache, key)
                if cached is not None and cached.data_hash == digest:
                    return ChartImage(cached.file_id, spec.title, cached.alt_text)
            png = await run_cpu(charts.render, spec)
            file_id = await self.gateway.upload_file(None, spec.filename, png, title=spec.title)
            self.rendered += 1
            async with self.db.session() as s:
                row = await s.get(ChartCache, key)
                if row is None:
                    s.add(ChartCache(key=key, data_hash=digest, file_id=file_id, alt_text=spec.alt_text))
                else:
                    row.data_hash, row.file_id, row.alt_text = digest, file_id, spec.alt_text
                    row.updated_at = utcnow()
            return ChartImage(file_id, spec.title, spec.alt_text)


@dataclass(frozen=True)
class ReportRequest:
    kind: str = "week"  # week | month | coaching
    client: str | None = None
    person: str | None = None  # coaching: the Slack user id


def parse_report(text: str) -> ReportRequest:
    """`[week|month] [client:NAME]` or `coaching @person`; anything else is a clear error."""
    kind, client, person = "week", None, None
    for word in text.split():
        low = word.lower()
        if low == "coaching":
            kind = "coaching"
        elif kind == "coaching" and (m := MENTION.fullmatch(word)):
            person = m.group(1)
        elif low in ("week", "weekly", "month", "monthly"):
            kind = "month" if low.startswith("month") else "week"
        elif low.startswith("client:") and len(word) > 7:
            client = word[7:].strip().lower()
        else:
            raise ValueError(f"I don't understand {word!r}: try `/os-report month client:acme`")
    if kind == "coaching" and person is None:
        raise ValueError("Whose coaching? Try `/os-report coaching @someone`.")
    return ReportRequest(kind, client, person)


class ReportPublisher:
    def __init__(
        self,
        analytics: AnalyticsService,
        uploader: ChartUploader,
        gateway: SlackGateway,
        access: AccessPolicy,
        os_config: Callable[[], OSConfig],
        read_os: Callable[[str], Awaitable[tuple[str | None, str | None]]] | None = None,
    ) -> None:
        self.read_os = read_os  # OSRepo.read: coaching files
        self.analytics = analytics
        self.access = access
        self.uploader = uploader
        self.gateway = gateway
        self.os_config = os_config

    async def build(self, request: ReportRequest, scope: Scope | None = None) -> Message:
        """`scope`: who will read it; decisions and risks of meetings they may not see are left out
        (the figures are aggregates). None: admins (everything)."""
        period = self.analytics.period(request.kind, request.client)
        dashboard = await self.analytics.dashboard(period)
        if scope is not None:
            ids = {d.meeting_id for d in dashboard.decisions} | {r[0] for r in dashboard.risks}
            seen = await self.access.visible(scope, ids)
            dashboard = replace(
                dashboard,
                decisions=[d for d in dashboard.decisions if d.meeting_id in seen],
                risks=[r for r in dashboard.risks if r[0] in seen],
            )
        key = f"report:{request.kind}:{request.client or '*'}"
        specs = [
            charts.heatmap(dashboard.allocation.client_weeks),
            charts.timeline(dashboard.timeline),
            charts.network(dashboard.network),
            charts.sentiment(dashboard.sentiment_by_week),
            charts.completion_trend(dashboard.trend),
        ]
        images = [await self.uploader.image(f"{key}:{spec.name}", spec) for spec in specs]
        return report_message(ReportView(dashboard, request.kind, images))

    async def post(
        self, request: ReportRequest, *, channel: str | None = None, user_id: str | None = None
    ) -> str | None:
        """To `channel` when `user_id` (who asked) is an admin, else as a DM to `user_id`: a report
        in a channel shows every client's figures. The channel it was posted in; None: a DM."""
        if request.kind == "coaching":
            assert user_id and request.person
            await self.gateway.send_dm(user_id, await self.coaching(user_id, request.person))
            return None
        if channel and not (user_id and self.os_config().is_admin(user_id)):
            channel = None  # not an admin: the asker gets it as a DM instead
        if channel:
            await self.gateway.post(
                channel, await self.build(request, await self.access.channel_audience(channel))
            )
        elif user_id:
            await self.gateway.send_dm(user_id, await self.build(request, await self.access.viewer(user_id)))
        return channel

    async def coaching(self, asker: str, person: str) -> Message:
        """`coaching/<person>.md` over time: per call, commitments made and followed up. The file
        is meeting content: shown to the person themself and to admins."""
        config = self.os_config()
        if asker != person and not config.is_admin(asker):
            return notice("Only admins and the person themself can see a coaching record.")
        user = await self.gateway.user_info(person)
        path = f"coaching/{slugify(user.name)}.md"
        text = (await self.read_os(path))[0] if self.read_os else None
        if not text:
            return notice(f"No coaching record for {user.name} yet ({path}).")
        rows = []
        for entry in log_entries(text):
            body = entry.body
            rows.append(
                CoachingRow(
                    entry.title.split(" — ")[0],
                    _count_under(body, "Commitments made"),
                    body.count("- [x] followed up:"),
                    body.count("- [ ] not mentioned:"),
                )
            )
        return coaching_message(user.name, path, rows)

    async def weekly_if_due(self, now: datetime) -> bool:
        """The scheduler's hourly question: post the weekly report when this is its day and hour."""
        reports = self.os_config().reports
        if now.strftime("%a").lower() != reports.weekly_day or now.hour != reports.weekly_hour:
            return False
        await self.weekly()
        return True

    async def weekly(self) -> None:
        """The scheduled report: to `reports.weekly_channel`, else a DM to each admin."""
        config = self.os_config()
        if channel := config.reports.weekly_channel:  # what every reader of the channel may see
            audience = await self.access.channel_audience(channel)
            await self.gateway.post(channel, await self.build(ReportRequest("week"), audience))
            return
        message = await self.build(ReportRequest("week"))  # admins see everything
        for admin in config.admins:
            user = admin if admin.startswith(("U", "W")) else None
            if user is None and (found := await self.gateway.user_for_email(admin)):
                user = found.id
            if user:
                await self.gateway.send_dm(user, message)

    async def home_charts(self, user_id: str) -> list[ChartImage]:
        """The Home tab's four charts for this user (cached by data hash)."""
        async with self.analytics.db.read_session() as s:
            states = await self.analytics.my_item_states(s, user_id)
            work = await self.analytics.workload(s)
            names = await self.analytics.names(s, (w.person for w in work))
            heat = await self.analytics.heatmap(s)
            trend = await self.analytics.completion_trend(s)
        specs = [
            (f"home:{user_id}:items_by_state", charts.items_by_state(states)),
            ("home:team:workload", charts.workload(work, names)),
            ("home:team:heatmap", charts.heatmap(heat)),
            ("home:team:trend", charts.completion_trend(trend)),
        ]
        return [await self.uploader.image(key, spec) for key, spec in specs]


class SentimentWatch:
    """After an analysis: when a client's latest meeting is `reports.sentiment_drop` below the mean
    of its previous ones, DM the client's account owner (`clients[].owner` in fathom-os.yml)."""

    def __init__(
        self, analytics: AnalyticsService, gateway: SlackGateway, os_config: Callable[[], OSConfig]
    ) -> None:
        self.analytics = analytics
        self.gateway = gateway
        self.os_config = os_config

    async def after_analysis(self, meeting: Meeting, _outcome: object) -> None:
        """`MeetingPipeline.after_analysis` hook: the meeting as stored with its analysis."""
        if not meeting.client_slug:
            return
        meeting_id, title = meeting.id, meeting.title
        async with self.analytics.db.read_session() as s:
            scores = await self.analytics.client_sentiment(s, meeting.client_slug)
        client = next((c for c in self.os_config().clients if c.slug == meeting.client_slug), None)
        margin = self.os_config().reports.sentiment_drop
        if client is None or not client.owner or len(scores) < 3:
            return
        *earlier, latest = scores
        average = sum(earlier) / len(earlier)
        if latest > average - margin:
            return
        if not await self._claim(meeting_id):  # once per meeting, however often it is re-analysed
            return
        owner = client.owner
        if not owner.startswith(("U", "W")):
            found = await self.gateway.user_for_email(owner)
            if found is None:
                return
            owner = found.id
        text = (
            f"The tone of *{client.name}*'s latest meeting ({title}) is {latest:+.2f}, "
            f"{average - latest:.2f} below its recent average ({average:+.2f})."
        )
        await self.gateway.send_dm(
            owner, build(text, [SectionBlock(text=mrkdwn(text), block_id="sentiment:drop")])
        )

    async def _claim(self, meeting_id: int) -> bool:
        try:
            async with self.analytics.db.session() as s:
                s.add(ReminderSent(kind="sentiment", subject=f"meeting:{meeting_id}", day=date(2000, 1, 1)))
        except IntegrityError:
            return False
        return True


def _count_under(body: str, heading: str) -> int:
    """Bullet lines under a `### heading` of an entry (a "- none" line counts as zero)."""
    part = body.partition(f"### {heading}")[2].split("\n### ")[0]
    return sum(1 for line in part.splitlines() if line.startswith("- ") and line.strip() != "- none")
