"""What the Home tab shows one user: their open items, proposals awaiting them, their recent
meetings and a team panel. Bounded queries only (counts + the first few rows), so a user with
thousands of items and a database of thousands of meetings still renders within Slack's budget.

Action-item numbers come from services.metrics; meeting hours, types and Claude cost are small
aggregate queries here.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, or_, select

from services.access import AccessPolicy, Scope, where
from services.clock import as_utc
from services.db import Database
from services.metrics import MetricsService
from services.models import ActionItem, LLMUsage, Meeting, OSProposal, Person
from services.reconcile import recovered_count
from services.views import HomeData, RecentMeeting, TeamPanel, item_views, proposal_views

SHOW_ITEMS = 10
SHOW_PROPOSALS = 5
SHOW_MEETINGS = 5
MODAL_ROWS = 300
TEAM_TTL = 60.0  # seconds  # the "N more" modal lists at most this many


def week_start_of(now: datetime) -> datetime:
    """Monday 00:00 of `now`'s week (the tab's "this week")."""
    return (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


class HomeService:
    def __init__(self, db: Database, access: AccessPolicy) -> None:
        self.db = db
        self.access = access  # recent meetings: only those the user may see
        self._team: tuple[float, TeamPanel] | None = None

    async def email_of(self, user_id: str) -> str | None:
        """From the people cache the gateway fills; the handler falls back to users.info."""
        async with self.db.read_session() as s:
            return await s.scalar(select(Person.email).where(Person.slack_user_id == user_id).limit(1))

    async def load(
        self,
        user_id: str,
        *,
        email: str | None,
        is_approver: bool,
        now: datetime,
        limit: int | None = None,
        is_admin: bool = False,
    ) -> HomeData:
        """`limit` None: the tab's few rows per section; a number: that many (the "N more" modal).
        Admins also get the number of meetings reconciliation recovered this week."""
        items, items_total = await self.open_items(user_id, email, now, limit or SHOW_ITEMS)
        proposals, proposals_total = (
            await self.pending_proposals(limit or SHOW_PROPOSALS) if is_approver else ([], 0)
        )
        viewer = await self.access.viewer(user_id, email=email)
        meetings, meetings_total = await self.recent_meetings(viewer, limit or SHOW_MEETINGS)
        titles = await self._titles({i.meeting_id for i in items} | {p.meeting_id or 0 for p in proposals})
        return HomeData(
            user_id=user_id,
            open_items=item_views(items),
            open_total=items_total,
            proposals=proposal_views(proposals),
            proposals_total=proposals_total,
            is_approver=is_approver,
            meetings=meetings,
            meetings_total=meetings_total,
            team=await self.team_panel(now),
            now=now,
            meeting_titles=titles,
            recovered_week=await recovered_count(self.db, week_start_of(now)) if is_admin else None,
        )

    async def open_items(
        self, user_id: str, email: str | None, now: datetime, limit: int
    ) -> tuple[list[ActionItem], int]:
        """Overdue first, then by due date (undated last), then newest."""
        mine = or_(ActionItem.owner_slack_id == user_id, ActionItem.owner_email == (email or "").lower())
        where = (ActionItem.status == "open", mine if email else ActionItem.owner_slack_id == user_id)
        overdue = case((ActionItem.due_date < now.date(), 0), else_=1)
        undated = case((ActionItem.due_date.is_(None), 1), else_=0)
        async with self.db.read_session() as s:
            total = await s.scalar(select(func.count()).select_from(ActionItem).where(*where)) or 0
            rows = await s.scalars(
                select(ActionItem)
                .where(*where)
                .order_by(overdue, undated, ActionItem.due_date, ActionItem.id.desc())
                .limit(limit)
            )
            return list(rows.all()), int(total)

    async def pending_proposals(self, limit: int) -> tuple[list[OSProposal], int]:
        where = OSProposal.status == "proposed"
        async with self.db.read_session() as s:
            total = await s.scalar(select(func.count()).select_from(OSProposal).where(where)) or 0
            rows = await s.scalars(select(OSProposal).where(where).order_by(OSProposal.id).limit(limit))
            return list(rows.all()), int(total)

    async def recent_meetings(self, scope: Scope, limit: int) -> tuple[list[RecentMeeting], int]:
        """The newest meetings the user may see (services.access: attended, in one of their
        channels, or all of them for an admin), filtered in the query."""
        visible = where(scope, "meetings.id")
        async with self.db.read_session() as s:
            total = await s.scalar(select(func.count()).select_from(Meeting).where(visible))
            rows = await s.execute(
                select(Meeting.id, Meeting.title, Meeting.started_at, Meeting.url)
                .where(visible)
                .order_by(Meeting.started_at.desc(), Meeting.id.desc())
                .limit(limit)
            )
            return [RecentMeeting(*row) for row in rows], int(total or 0)

    async def team_panel(self, now: datetime) -> TeamPanel:
        """Shared by every user and slow to change: cached for TEAM_TTL seconds."""
        cached = self._team
        if cached and time.monotonic() - cached[0] < TEAM_TTL:
            return cached[1]
        panel = await self._team_panel(now)
        self._team = (time.monotonic(), panel)
        return panel

    async def _team_panel(self, now: datetime) -> TeamPanel:
        week_start = week_start_of(now)
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        metrics = await MetricsService(self.db, clock=lambda: now).action_items()
        async with self.db.read_session() as s:
            by_type = await s.execute(
                select(Meeting.primary_type, func.count())
                .where(Meeting.started_at >= week_start)
                .group_by(Meeting.primary_type)
            )
            hours: dict[str, float] = defaultdict(float)
            for client, start, end in await s.execute(
                select(Meeting.client_slug, Meeting.started_at, Meeting.ended_at).where(
                    Meeting.started_at >= month_start
                )
            ):
                if start and end:
                    hours[client or "internal"] += (as_utc(end) - as_utc(start)).total_seconds() / 3600
            cost = await s.scalar(
                select(func.coalesce(func.sum(LLMUsage.cost_usd), 0)).where(
                    LLMUsage.created_at >= month_start
                )
            )
        types: Counter[str] = Counter({(t or "unanalysed"): n for t, n in by_type})
        return TeamPanel(
            completion_7d=metrics.last_7_days.rate,
            completion_30d=metrics.last_30_days.rate,
            median_time_to_done=metrics.median_time_to_done,
            overdue_by_person=metrics.overdue_by_person,
            meetings_by_type_week=dict(types.most_common()),
            hours_by_client_month=dict(sorted(hours.items(), key=lambda kv: -kv[1])),
            claude_cost_month=Decimal(str(cost or 0)),
        )

    async def _titles(self, ids: set[int]) -> dict[int, str]:
        ids.discard(0)
        if not ids:
            return {}
        async with self.db.read_session() as s:
            return dict((await s.execute(select(Meeting.id, Meeting.title).where(Meeting.id.in_(ids)))).all())
