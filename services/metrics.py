"""Action-item numbers for the Home tab: are things getting done, how fast, and who is behind.

Computed in Python from one query per call: the Home tab needs a handful of numbers, and keeping
the arithmetic here (not in SQL) makes it the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from sqlalchemy import or_, select

from services.clock import as_utc, utcnow
from services.db import Database
from services.models import ActionItem


@dataclass(frozen=True)
class CompletionRate:
    days: int
    created: int
    done: int

    @property
    def rate(self) -> float | None:
        """Share of the items created in the window that are done now; None when none were created."""
        return self.done / self.created if self.created else None


@dataclass(frozen=True)
class ActionItemMetrics:
    last_7_days: CompletionRate
    last_30_days: CompletionRate
    median_time_to_done: timedelta | None  # items completed in the last 30 days
    overdue_by_person: dict[str, int]  # Slack id, else owner name/email, else "unassigned"


def owner_key(item: ActionItem) -> str:
    return item.owner_slack_id or item.owner_name or item.owner_email or "unassigned"


def compute(items: list[ActionItem], now: datetime, today: date) -> ActionItemMetrics:
    """Pure: the numbers from a list of items, so tests need no database."""

    def rate(days: int) -> CompletionRate:
        since = now - timedelta(days=days)
        window = [i for i in items if as_utc(i.created_at) >= since]
        return CompletionRate(days, len(window), sum(1 for i in window if i.status == "done"))

    since30 = now - timedelta(days=30)
    durations = [
        as_utc(i.completed_at) - as_utc(i.created_at)
        for i in items
        if i.status == "done" and i.completed_at and as_utc(i.completed_at) >= since30
    ]
    overdue = Counter(
        owner_key(i) for i in items if i.status == "open" and i.due_date is not None and i.due_date < today
    )
    return ActionItemMetrics(
        last_7_days=rate(7),
        last_30_days=rate(30),
        median_time_to_done=timedelta(seconds=median(d.total_seconds() for d in durations))
        if durations
        else None,
        overdue_by_person=dict(overdue.most_common()),
    )


class MetricsService:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def action_items(self, today: date | None = None) -> ActionItemMetrics:
        now = as_utc(self.clock())
        today = today or now.date()
        since = now - timedelta(days=30)
        async with self.db.read_session() as s:
            rows = await s.scalars(
                select(ActionItem).where(
                    or_(
                        ActionItem.created_at >= since,
                        ActionItem.completed_at >= since,
                        (ActionItem.status == "open") & (ActionItem.due_date < today),
                    )
                )
            )
            items = list(rows.all())
        return compute(items, now, today)
