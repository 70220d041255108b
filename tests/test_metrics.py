"""Home tab numbers: completion rates, median time to done, overdue per person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.db import Database
from services.metrics import MetricsService
from services.models import ActionItem, Meeting

NOW = datetime(2026, 1, 30, 12, 0, tzinfo=UTC)


async def test_rates_median_and_overdue_counts(db: Database) -> None:
    async with db.session() as s:
        m = Meeting(recording_id=1, title="m", payload={})
        s.add(m)
        await s.flush()

        def add(n: int, created_days_ago: int, done_after_hours: int | None = None, **kw: object) -> None:
            created = NOW - timedelta(days=created_days_ago)
            s.add(
                ActionItem(
                    meeting_id=m.id,
                    dedupe_key=f"k{n}",
                    source="manual",
                    text="t",
                    created_at=created,
                    status="done" if done_after_hours is not None else "open",
                    completed_at=created + timedelta(hours=done_after_hours)
                    if done_after_hours is not None
                    else None,
                    **kw,
                )
            )

        add(1, 2, 10)
        add(2, 3)
        add(3, 20, 30)
        add(4, 25, owner_slack_id="U01MAYA", due_date=date(2026, 1, 20))
        add(5, 26, owner_slack_id="U01MAYA", due_date=date(2026, 1, 29))
        add(6, 26, owner_name="Rosa", owner_external=True, due_date=date(2026, 1, 2))
        add(7, 1, owner_slack_id="U02JONAS", due_date=date(2026, 2, 2))
    metrics = await MetricsService(db, clock=lambda: NOW).action_items()
    assert (metrics.last_7_days.created, metrics.last_7_days.done) == (3, 1)
    assert (metrics.last_30_days.created, metrics.last_30_days.done) == (7, 2)
    assert metrics.median_time_to_done == timedelta(hours=20)
    assert metrics.overdue_by_person == {"U01MAYA": 2, "Rosa": 1}
