"""The dashboard's numbers: meeting efficiency, action-item outcomes, time allocation, ROI, tone.

Each (re-)analysis derives a meeting's facts once (`meeting_facts`, `meeting_speakers`: durations,
counts, talk time, tone; an `after_analysis` hook), so every figure here is plain SQL that runs the
same on SQLite and PostgreSQL: sums and counts in the database; medians and p90s in Python over the
one column SQL returns (SQLite has no percentile function and PostgreSQL's is not portable).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import as_utc, utcnow
from services.cpu import run_cpu
from services.db import Database
from services.fathom import FathomMeeting, timestamp_seconds
from services.models import ActionItem, Decision, LLMUsage, Meeting, MeetingFacts, MeetingSpeaker, Person
from services.sentiment import meeting_tone
from services.views import (
    Allocation,
    Dashboard,
    DecisionRow,
    Efficiency,
    ItemStates,
    ItemStats,
    Period,
    TimelineRow,
    TypeROI,
    WeekTrend,
    Workload,
)

Grouping = str  # "person" | "client" | "type"
GROUPINGS = ("person", "client", "type")
NO_CLIENT = "internal"


def week_of(moment: datetime) -> date:
    day = as_utc(moment).date()
    return day - timedelta(days=day.weekday())


# --- facts: derived once per analysis -------------------------------------------------------------


def derive_facts(meeting: Meeting) -> tuple[MeetingFacts, list[MeetingSpeaker]]:
    """Pure: a meeting row (payload + analysis) -> its facts and one row per participant."""
    fathom = meeting.fathom()
    analysis: dict[str, Any] = meeting.analysis or {}
    started = fathom.started_at or meeting.started_at
    scheduled = None
    if fathom.scheduled_start_time and fathom.scheduled_end_time:
        scheduled = max(0, int((fathom.scheduled_end_time - fathom.scheduled_start_time).total_seconds()))
    duration = fathom.duration_seconds
    lines = fathom.transcript or []
    tone = meeting_tone(fathom)
    claude_tone = analysis.get("sentiment")
    domains = sorted(fathom.external_domains)
    facts = MeetingFacts(
        meeting_id=meeting.id,
        started_at=started,
        week=week_of(started) if started else None,
        client_slug=meeting.client_slug or (domains[0].split(".")[0] if domains else None),
        client_domain=domains[0] if domains else None,
        primary_type=meeting.primary_type or "other",
        scheduled_seconds=scheduled,
        duration_seconds=duration,
        questions=sum(1 for line in lines if "?" in line.text),
        decisions=len(analysis.get("decisions") or []),
        action_items=len(analysis.get("action_items") or []),
        risks=len(analysis.get("risks") or []),
        sentiment=_dec(claude_tone if isinstance(claude_tone, int | float) else tone.score),
        computed_at=utcnow(),
    )
    return facts, _speakers(meeting.id, fathom, tone.by_speaker, duration)


def _speakers(
    meeting_id: int, fathom: FathomMeeting, tones: dict[str, float | None], duration: int | None
) -> list[MeetingSpeaker]:
    """Talk time: a turn lasts until the next turn starts (the last one until the recording ends)."""
    lines = fathom.transcript or []
    talk: dict[str, int] = defaultdict(int)
    turns: dict[str, int] = defaultdict(int)
    emails: dict[str, str | None] = {}
    for i, line in enumerate(lines):
        start = timestamp_seconds(line.timestamp)
        end = timestamp_seconds(lines[i + 1].timestamp) if i + 1 < len(lines) else (duration or start)
        name = line.speaker.display_name
        talk[name] += max(0, end - start)
        turns[name] += 1
        emails.setdefault(name, (line.speaker.matched_calendar_invitee_email or "").lower() or None)
    invitees = {(i.email or "").lower(): i for i in fathom.calendar_invitees if i.email}
    rows: dict[str, MeetingSpeaker] = {}
    for name in talk:
        email = emails.get(name)
        invitee = invitees.get(email or "")
        rows[name] = MeetingSpeaker(
            meeting_id=meeting_id,
            speaker=name[:255],
            email=email,
            is_external=bool(invitee and invitee.is_external),
            talk_seconds=talk[name],
            turns=turns[name],
            sentiment=_dec(tones.get(name)),
        )
    spoke = {r.email for r in rows.values() if r.email}
    for email, invitee in invitees.items():  # attended without speaking: hours count, talk does not
        name = (invitee.name or email)[:255]
        if email not in spoke and name not in rows:
            rows[name] = MeetingSpeaker(
                meeting_id=meeting_id,
                speaker=name,
                email=email,
                is_external=invitee.is_external,
                talk_seconds=0,
                turns=0,
                sentiment=None,
            )
    return list(rows.values())


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(float(value), 4)))


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1): p90 of 10 values is the 9th smallest, an observed value."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _owner() -> Any:
    return func.coalesce(
        ActionItem.owner_slack_id, ActionItem.owner_name, ActionItem.owner_email, "unassigned"
    )


# --- the service ------------------------------------------------------------------------------------


class AnalyticsService:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def after_analysis(self, meeting: Meeting, _outcome: object) -> None:
        """`MeetingPipeline.after_analysis` hook: the facts follow every (re-)analysis."""
        await self.record(meeting.id, loaded=meeting)

    async def record(self, meeting_id: int, *, loaded: Meeting | None = None) -> None:
        """`loaded`: the row, when the caller has it (the pipeline hook), so it is not read again."""
        meeting = loaded
        if meeting is None:
            async with self.db.read_session() as s:
                meeting = await s.get(Meeting, meeting_id)
        if meeting is None:
            return
        facts, speakers = await run_cpu(derive_facts, meeting)  # VADER: off the event loop
        async with self.db.session() as s:
            await s.execute(delete(MeetingSpeaker).where(MeetingSpeaker.meeting_id == meeting_id))
            await s.execute(delete(MeetingFacts).where(MeetingFacts.meeting_id == meeting_id))
            s.add(facts)
            s.add_all(speakers)

    async def backfill(self, batch: int = 200) -> int:
        """Facts for analysed meetings that have none (meetings stored before migration 0010)."""
        done = 0
        while True:
            async with self.db.read_session() as s:
                ids = list(
                    await s.scalars(
                        select(Meeting.id)
                        .outerjoin(MeetingFacts, MeetingFacts.meeting_id == Meeting.id)
                        .where(Meeting.status == "analysed", MeetingFacts.meeting_id.is_(None))
                        .limit(batch)
                    )
                )
            for meeting_id in ids:
                await self.record(meeting_id)
            done += len(ids)
            if len(ids) < batch:
                return done

    def period(self, kind: str, client: str | None = None, now: datetime | None = None) -> Period:
        """'week': the last 7 days; 'month': the last 30, ending now."""
        now = as_utc(now or self.clock())
        days = {"week": 7, "month": 30}[kind]
        return Period(now - timedelta(days=days), now, client)

    # each query takes an open session so a report reads one snapshot

    @staticmethod
    def _in(period: Period) -> list[Any]:
        cond = [MeetingFacts.started_at >= period.since, MeetingFacts.started_at < period.until]
        if period.client:
            cond.append(MeetingFacts.client_slug == period.client)
        return cond

    async def efficiency(self, s: AsyncSession, period: Period) -> Efficiency:
        f = MeetingFacts
        scheduled = f.scheduled_seconds.is_not(None) & f.duration_seconds.is_not(None)
        row = (
            await s.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(f.duration_seconds), 0),
                    func.coalesce(func.sum(f.scheduled_seconds), 0),
                    func.sum(func.coalesce(f.duration_seconds, 0) - f.scheduled_seconds).filter(scheduled),
                    func.count().filter(scheduled),
                    func.coalesce(func.sum(f.questions), 0),
                    func.coalesce(func.sum(f.decisions), 0),
                    func.coalesce(func.sum(f.action_items), 0),
                    func.count().filter(and_(f.decisions == 0, f.action_items == 0)),
                ).where(*self._in(period))
            )
        ).one()
        meetings, seconds, sched, overrun, n_sched, questions, decisions, items, empty = row
        hours = float(seconds or 0) / 3600

        def per_hour(n: int) -> float | None:
            return round(float(n) / hours, 2) if hours else None

        talk_rows = (
            await s.execute(
                select(MeetingSpeaker.speaker, func.sum(MeetingSpeaker.talk_seconds))
                .join(MeetingFacts, MeetingFacts.meeting_id == MeetingSpeaker.meeting_id)
                .where(*self._in(period))
                .group_by(MeetingSpeaker.speaker)
            )
        ).all()
        total_talk = sum(int(t or 0) for _, t in talk_rows)
        share = {
            name: round(int(t or 0) / total_talk, 4)
            for name, t in sorted(talk_rows, key=lambda r: (-int(r[1] or 0), r[0]))
            if total_talk and t
        }
        return Efficiency(
            meetings=int(meetings),
            hours=round(hours, 2),
            scheduled_hours=round(float(sched or 0) / 3600, 2),
            overrun_minutes_avg=round(float(overrun or 0) / 60 / n_sched, 2) if n_sched else None,
            questions_per_hour=per_hour(questions),
            decisions_per_hour=per_hour(decisions),
            items_per_hour=per_hour(items),
            without_outcome=int(empty),
            talk_share=share,
        )

    async def items_by(self, s: AsyncSession, period: Period, grouping: Grouping) -> list[ItemStats]:
        """Items of the period's meetings: completion rate, time to done, overdue share, per group."""
        key = {
            "person": _owner(),
            "client": func.coalesce(MeetingFacts.client_slug, literal(NO_CLIENT)),
            "type": MeetingFacts.primary_type,
        }[grouping]
        today = as_utc(self.clock()).date()
        rows = (
            await s.execute(
                select(
                    key,
                    ActionItem.status,
                    ActionItem.due_date,
                    ActionItem.created_at,
                    ActionItem.completed_at,
                )
                .join(MeetingFacts, MeetingFacts.meeting_id == ActionItem.meeting_id)
                .where(*self._in(period))
            )
        ).all()
        groups: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            groups[str(row[0])].append(row)
        out = []
        for name, members in groups.items():
            hours = [
                (as_utc(done) - as_utc(created)).total_seconds() / 3600
                for _, status, _, created, done in members
                if status == "done" and done and created
            ]
            out.append(
                ItemStats(
                    key=name,
                    created=len(members),
                    done=sum(1 for m in members if m[1] == "done"),
                    overdue=sum(1 for m in members if m[1] == "open" and m[2] is not None and m[2] < today),
                    median_hours_to_done=_r(median(hours)),
                    p90_hours_to_done=_r(percentile(hours, 0.9)),
                )
            )
        return sorted(out, key=lambda x: (-x.created, x.key))

    async def allocation(self, s: AsyncSession, period: Period) -> Allocation:
        f = MeetingFacts
        client = func.coalesce(f.client_slug, literal(NO_CLIENT))
        secs = func.coalesce(func.sum(f.duration_seconds), 0)
        by_client = {
            str(c): _h(v)
            for c, v in (
                await s.execute(select(client, secs).where(*self._in(period)).group_by(client))
            ).all()
        }
        by_week = {
            w: _h(v)
            for w, v in (
                await s.execute(select(f.week, secs).where(*self._in(period)).group_by(f.week))
            ).all()
            if w is not None
        }
        cells = {
            (str(c), w): _h(v)
            for c, w, v in (
                await s.execute(
                    select(client, f.week, secs).where(*self._in(period)).group_by(client, f.week)
                )
            ).all()
            if w is not None
        }
        person_rows = (
            await s.execute(
                select(MeetingSpeaker.email, func.coalesce(func.sum(f.duration_seconds), 0))
                .join(f, f.meeting_id == MeetingSpeaker.meeting_id)
                .where(
                    *self._in(period),
                    MeetingSpeaker.is_external.is_(False),
                    MeetingSpeaker.email.is_not(None),
                )
                .group_by(MeetingSpeaker.email)
            )
        ).all()
        return Allocation(
            by_client=_desc(by_client),
            by_person=_desc({str(e): _h(v) for e, v in person_rows}),
            by_week=dict(sorted(by_week.items())),
            client_weeks=cells,
        )

    async def roi(self, s: AsyncSession, period: Period) -> list[TypeROI]:
        f = MeetingFacts
        base = (
            await s.execute(
                select(
                    f.primary_type,
                    func.count(),
                    func.coalesce(func.sum(f.duration_seconds), 0),
                    func.coalesce(func.sum(f.decisions), 0),
                    func.coalesce(func.sum(f.action_items), 0),
                )
                .where(*self._in(period))
                .group_by(f.primary_type)
            )
        ).all()
        done = dict(
            (
                await s.execute(
                    select(f.primary_type, func.count())
                    .join(ActionItem, ActionItem.meeting_id == f.meeting_id)
                    .where(*self._in(period), ActionItem.status == "done")
                    .group_by(f.primary_type)
                )
            ).all()
        )
        cost = dict(
            (
                await s.execute(
                    select(f.primary_type, func.coalesce(func.sum(LLMUsage.cost_usd), 0))
                    .join(LLMUsage, LLMUsage.meeting_id == f.meeting_id)
                    .where(*self._in(period))
                    .group_by(f.primary_type)
                )
            ).all()
        )
        return sorted(
            (
                TypeROI(
                    type=str(t),
                    meetings=int(n),
                    hours=_h(secs),
                    decisions=int(dec),
                    items_created=int(items),
                    items_done=int(done.get(t, 0)),
                    claude_cost_usd=Decimal(str(cost.get(t, 0))).quantize(Decimal("0.000001")),
                )
                for t, n, secs, dec, items in base
            ),
            key=lambda r: (-r.hours, r.type),
        )

    async def sentiment_by_week(self, s: AsyncSession, period: Period) -> dict[date, float]:
        f = MeetingFacts
        rows = (
            await s.execute(
                select(f.week, func.avg(f.sentiment))
                .where(*self._in(period), f.sentiment.is_not(None))
                .group_by(f.week)
            )
        ).all()
        return {w: round(float(v), 4) for w, v in sorted(rows) if w is not None and v is not None}

    async def client_sentiment(self, s: AsyncSession, client: str, *, last: int = 6) -> list[float]:
        """The client's last `last` meeting scores, oldest first (the drop alert compares them)."""
        f = MeetingFacts
        rows = await s.scalars(
            select(f.sentiment)
            .where(f.client_slug == client, f.sentiment.is_not(None))
            .order_by(f.started_at.desc(), f.meeting_id.desc())
            .limit(last)
        )
        return [float(v) for v in reversed(list(rows)) if v is not None]

    async def decisions(self, s: AsyncSession, period: Period, limit: int = 50) -> list[DecisionRow]:
        rows = (
            await s.execute(
                select(
                    Decision.meeting_id,
                    Meeting.title,
                    MeetingFacts.client_slug,
                    Decision.what,
                    MeetingFacts.started_at,
                )
                .join(MeetingFacts, MeetingFacts.meeting_id == Decision.meeting_id)
                .join(Meeting, Meeting.id == Decision.meeting_id)
                .where(*self._in(period))
                .order_by(MeetingFacts.started_at, Decision.id)
                .limit(limit)
            )
        ).all()
        return [DecisionRow(m, t, c, w, a) for m, t, c, w, a in rows]

    async def risks(self, s: AsyncSession, period: Period, limit: int = 30) -> list[tuple[int, str, str]]:
        """(meeting id, meeting title, risk) in meeting order."""
        rows = (
            await s.execute(
                select(Meeting.id, Meeting.title, Meeting.analysis)
                .join(MeetingFacts, MeetingFacts.meeting_id == Meeting.id)
                .where(*self._in(period), MeetingFacts.risks > 0)
                .order_by(MeetingFacts.started_at)
            )
        ).all()
        out = [
            (mid, title, str(r.get("text", "")))
            for mid, title, a in rows
            for r in (a or {}).get("risks") or []
        ]
        return out[:limit]

    async def network(self, s: AsyncSession, period: Period) -> list[tuple[str, str, int]]:
        """Internal people <-> clients, weighted by meetings shared."""
        f, sp = MeetingFacts, MeetingSpeaker
        rows = (
            await s.execute(
                select(sp.speaker, f.client_slug, func.count(distinct(f.meeting_id)))
                .join(f, f.meeting_id == sp.meeting_id)
                .where(*self._in(period), sp.is_external.is_(False), f.client_slug.is_not(None))
                .group_by(sp.speaker, f.client_slug)
            )
        ).all()
        return sorted(((str(p), str(c), int(n)) for p, c, n in rows), key=lambda e: (-e[2], e[0], e[1]))

    async def timeline(self, s: AsyncSession, period: Period) -> list[TimelineRow]:
        f = MeetingFacts
        client = func.coalesce(f.client_slug, literal(NO_CLIENT))
        rows = (
            await s.execute(
                select(client, f.week, func.count(), func.sum(f.decisions), func.sum(f.action_items))
                .where(*self._in(period), f.week.is_not(None))
                .group_by(client, f.week)
            )
        ).all()
        return sorted(
            (
                TimelineRow(str(c), w, int(n), int(d or 0), int(i or 0))
                for c, w, n, d, i in rows
                if w is not None
            ),
            key=lambda r: (r.client, r.week),
        )

    async def names(self, s: AsyncSession, keys: Iterable[str]) -> dict[str, str]:
        """Display names for the Slack ids among owner keys (from the people cache)."""
        ids = sorted({k for k in keys if k[:1] in ("U", "W")})
        if not ids:
            return {}
        rows = await s.execute(
            select(Person.slack_user_id, Person.name).where(
                Person.slack_user_id.in_(ids), Person.name.is_not(None)
            )
        )
        return {str(u): str(n) for u, n in rows.all()}

    # --- the Home tab's charts: about one user and the team, not a period of meetings

    async def my_item_states(self, s: AsyncSession, user_id: str) -> ItemStates:
        now = as_utc(self.clock())
        a = ActionItem
        row = (
            await s.execute(
                select(
                    func.count().filter(a.status == "open"),
                    func.count().filter(a.status == "open", a.due_date < now.date()),
                    func.count().filter(a.status == "open", a.snoozed_until > now),
                    func.count().filter(a.status == "done", a.completed_at >= now - timedelta(days=30)),
                ).where(a.owner_slack_id == user_id)
            )
        ).one()
        return ItemStates(*(int(v) for v in row))

    async def workload(self, s: AsyncSession, limit: int = 12) -> list[Workload]:
        today = as_utc(self.clock()).date()
        a = ActionItem
        owner = _owner()
        rows = (
            await s.execute(
                select(owner, func.count(), func.count().filter(a.due_date < today))
                .where(a.status == "open")
                .group_by(owner)
                .order_by(func.count().desc(), owner)
                .limit(limit)
            )
        ).all()
        return [Workload(str(p), int(o), int(d)) for p, o, d in rows]

    async def completion_trend(self, s: AsyncSession, weeks: int = 8) -> list[WeekTrend]:
        """Items created per week (by meeting week) and how many of them are done now."""
        since = week_of(as_utc(self.clock())) - timedelta(weeks=weeks - 1)
        f, a = MeetingFacts, ActionItem
        rows = (
            await s.execute(
                select(f.week, func.count(), func.count().filter(a.status == "done"))
                .join(a, a.meeting_id == f.meeting_id)
                .where(f.week >= since)
                .group_by(f.week)
            )
        ).all()
        got = {w: (int(c), int(d)) for w, c, d in rows}
        return [WeekTrend(w, *got.get(w, (0, 0))) for w in (since + timedelta(weeks=i) for i in range(weeks))]

    async def heatmap(self, s: AsyncSession, weeks: int = 8) -> dict[tuple[str, date], float]:
        now = as_utc(self.clock())
        since = datetime.combine(week_of(now) - timedelta(weeks=weeks - 1), datetime.min.time(), now.tzinfo)
        return (await self.allocation(s, Period(since, now + timedelta(seconds=1)))).client_weeks

    async def dashboard(self, period: Period) -> Dashboard:
        async with self.db.read_session() as s:
            people = await self.items_by(s, period, "person")
            names = await self.names(s, (p.key for p in people))
            people = [replace(p, key=names.get(p.key, p.key)) for p in people]
            return Dashboard(
                period=period,
                efficiency=await self.efficiency(s, period),
                items_by={"person": people, **{g: await self.items_by(s, period, g) for g in GROUPINGS[1:]}},
                allocation=await self.allocation(s, period),
                roi=await self.roi(s, period),
                sentiment_by_week=await self.sentiment_by_week(s, period),
                decisions=await self.decisions(s, period),
                risks=await self.risks(s, period),
                network=await self.network(s, period),
                timeline=await self.timeline(s, period),
                trend=await self.completion_trend(s),
            )


def _h(seconds: Any) -> float:
    return round(float(seconds or 0) / 3600, 2)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _desc(d: dict[str, float]) -> dict[str, float]:
    return dict(sorted(d.items(), key=lambda kv: (-kv[1], kv[0])))


def clients_in(rows: Iterable[TimelineRow]) -> list[str]:
    return sorted({r.client for r in rows})
