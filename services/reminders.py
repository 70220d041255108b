"""Reminder runs: due-date DMs, overdue nudges, snooze wake-ups, the daily digest, thread notes.

A run is a pure function of the database and the clock, so a scheduler calls `tick()` every minute
and tests call it with any `now`. Each reminder is claimed by INSERTing a `ReminderSent` row (unique
kind + subject + day) *before* anything is sent: a unique-key violation means another run (a second
instance, or this one before a restart) owns it. A claim whose send Slack definitely refused is
released so a later run may try again.

Exactly once across a crash: a claim names its holder (`host:pid:random`), a lease and the
`post_key` its message is sent under, and the message goes through the gateway's crash-safe
`post_or_update` (pending marker before chat.postMessage, the key in the message's metadata). A
claim still `claimed` whose holder is dead (its lease lapsed, or its pid is gone on this host) is
taken over by a conditional UPDATE and sent again under the same key: if the first send reached
Slack, the gateway finds that message in the DM's (or thread's) history and updates it instead of
posting a second one. A claim settled (sent, skipped) or released takes its message's gateway
rows (ref, pending marker) with it in the same transaction: its post key is never sent under again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from cachetools import TTLCache
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.action_items import sort_for_list, zone
from services.clock import as_utc, utcnow
from services.db import Database
from services.holders import dead_local_holder, new_holder_id
from services.models import ActionItem, Person, ReminderSent, SlackMessageRef, SlackPendingPost
from services.os_config import OSConfig, QuietHours, Reminders

log = logging.getLogger(__name__)

Key = tuple[str, str, date]  # kind, subject, day
_DigestLists = tuple[list[ActionItem], list[ActionItem], list[ActionItem]]  # due today, overdue, completed
NOTE_DAY = date(2000, 1, 1)  # thread notes are once per item ever, not once per day
CHUNK = 400
SEND_CONCURRENCY = 8
# A claim's send takes seconds (a 429 wait is bounded at 120 s): a holder silent for this long is
# dead (another host's; a dead pid on this host is seen at once) and its claims are taken over.
CLAIM_LEASE = timedelta(minutes=10)


class Refused(Exception):
    """The sender could not deliver (Slack said no): the claim is released for a later run."""


class ReminderSender(Protocol):
    """Who draws and delivers what a run decided (`services.slack.reminders.ReminderPublisher`).

    `key` names the message for the gateway's crash-safe post: the same key is sent again after a
    crash, and a message already in Slack under it is updated, not posted twice. `fresh`: the key was
    made for this claim just now, so no message can be recorded under it yet (no ref to look up)."""

    async def profile(self, slack_id: str) -> tuple[str | None, str]: ...

    async def remind(
        self, slack_id: str, name: str, items: Sequence[ActionItem], now: datetime, key: str, *, fresh: bool
    ) -> None: ...

    async def digest(
        self,
        slack_id: str,
        due_today: Sequence[ActionItem],
        overdue: Sequence[ActionItem],
        completed: Sequence[ActionItem],
        now: datetime,
        key: str,
        *,
        fresh: bool,
    ) -> None: ...

    async def note(self, item: ActionItem, nudges: int, key: str, *, fresh: bool) -> bool: ...


@dataclass
class RunReport:
    dms: int = 0
    reminded_items: int = 0
    digests: int = 0
    notes: int = 0
    lost_claims: int = 0  # claimed by someone else: another instance or an earlier run
    failed: int = 0
    taken_over: int = 0  # claims of a dead holder sent again by this run


@dataclass
class _Person:
    slack_id: str
    tz: ZoneInfo
    name: str
    items: list[ActionItem] = field(default_factory=list)
    completed: list[ActionItem] = field(default_factory=list)


def in_quiet_hours(local: datetime, quiet: QuietHours) -> bool:
    start, end, now = time.fromisoformat(quiet.start), time.fromisoformat(quiet.end), local.time()
    if start == end:
        return False
    if start < end:
        return start <= now < end
    return now >= start or now < end


def _snoozed(item: ActionItem, now: datetime) -> bool:
    return item.snoozed_until is not None and as_utc(item.snoozed_until) > now


@dataclass(frozen=True)
class _Orphan:
    """A claim whose holder died before marking it sent: maybe in Slack, maybe not."""

    holder: str | None
    post_key: str
    recipient: str | None


def _snooze_key(item: ActionItem) -> Key:
    assert item.snoozed_until is not None
    until = as_utc(item.snoozed_until)
    return ("snooze", f"item:{item.id}@{int(until.timestamp())}", until.date())


class ReminderService:
    def __init__(
        self,
        db: Database,
        os_config: Callable[[], OSConfig],
        sender: ReminderSender,
        clock: Callable[[], datetime] = utcnow,
        concurrency: int = SEND_CONCURRENCY,
        claim_lease: timedelta = CLAIM_LEASE,
    ) -> None:
        self.db = db
        self.os_config = os_config
        self.sender = sender
        self.clock = clock
        self.concurrency = concurrency
        self.claim_lease = claim_lease
        self.holder = new_holder_id()
        self._inflight: set[Key] = set()  # claims this service is sending right now
        # slack id -> (tz, name) of owners missing from the people cache; 10k people, a day at most
        self._profiles: TTLCache[str, tuple[str | None, str]] = TTLCache(maxsize=10_000, ttl=86_400)

    async def tick(self, now: datetime | None = None) -> RunReport:
        now = as_utc(now or self.clock())
        policy = self.os_config().reminders
        report = RunReport()
        people = await self._people(now, policy)
        if not people:
            return report
        claimed, orphans = await self._existing_keys(people)
        nudges = Counter(subject for kind, subject, _ in claimed if kind == "overdue")
        gate = asyncio.Semaphore(self.concurrency)
        mine: defaultdict[str, dict[Key, _Orphan]] = defaultdict(dict)
        for key, orphan in orphans.items():
            mine[orphan.recipient or ""][key] = orphan

        async def one(person: _Person) -> None:
            async with gate:
                await self._remind(
                    person, now, policy, claimed, nudges, report, mine.get(person.slack_id, {})
                )

        await asyncio.gather(*(one(p) for p in people.values()))
        return report

    # -- planning ----------------------------------------------------------------------------------
    async def _people(self, now: datetime, policy: Reminders) -> dict[str, _Person]:
        """Internal owners with a Slack id and something that might need them today."""
        horizon = (now + timedelta(days=1)).date()  # "today" somewhere on Earth
        recent = now - timedelta(days=1)
        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(ActionItem).where(
                        ActionItem.owner_slack_id.is_not(None),
                        ActionItem.owner_external.is_(False),
                        or_(
                            and_(
                                ActionItem.status == "open",
                                or_(ActionItem.due_date <= horizon, ActionItem.snoozed_until <= now),
                            ),
                            and_(ActionItem.status == "done", ActionItem.completed_at >= recent),
                        ),
                    )
                )
            ).all()
            ids = {i.owner_slack_id for i in rows if i.owner_slack_id}
            known: dict[str, tuple[str | None, str]] = {}
            for chunk in _chunks(sorted(ids)):
                for uid, tz, name in (
                    await s.execute(
                        select(Person.slack_user_id, Person.tz, Person.name).where(
                            Person.slack_user_id.in_(chunk)
                        )
                    )
                ).all():
                    if uid:
                        known[uid] = (tz, name or "")
        people: dict[str, _Person] = {}
        for uid in ids:
            tz, name = known.get(uid) or await self._profile(uid)
            people[uid] = _Person(uid, zone(tz, policy.timezone), name)
        for item in rows:
            person = people[item.owner_slack_id or ""]
            (person.completed if item.status == "done" else person.items).append(item)
        return people

    async def _profile(self, uid: str) -> tuple[str | None, str]:
        if uid not in self._profiles:
            try:
                self._profiles[uid] = await self.sender.profile(uid)
            except Exception:  # unknown user: default zone, no name
                self._profiles[uid] = (None, "")
        return self._profiles[uid]

    async def _existing_keys(self, people: dict[str, _Person]) -> tuple[set[Key], dict[Key, _Orphan]]:
        """Claims already made, read once per run so a run does not re-try every old claim, and
        among them the orphans: still `claimed` by a holder that is dead (see the module doc)."""
        subjects: set[str] = set()
        for p in people.values():
            subjects.add(f"user:{p.slack_id}")
            for item in p.items:
                subjects.add(f"item:{item.id}")
                if item.snoozed_until is not None:
                    subjects.add(_snooze_key(item)[1])
        keys: set[Key] = set()
        orphans: dict[Key, _Orphan] = {}
        wall = utcnow()  # leases are real time, whatever `now` the run plans for
        dead: dict[str, bool] = {}
        async with self.db.read_session() as s:
            for chunk in _chunks(sorted(subjects)):
                rows = await s.execute(
                    select(
                        ReminderSent.kind,
                        ReminderSent.subject,
                        ReminderSent.day,
                        ReminderSent.status,
                        ReminderSent.holder,
                        ReminderSent.leased_until,
                        ReminderSent.post_key,
                        ReminderSent.recipient,
                    ).where(ReminderSent.subject.in_(chunk))
                )
                for kind, subject, day, status, holder, until, post_key, recipient in rows.all():
                    key = (kind, subject, day)
                    keys.add(key)
                    if status != "claimed" or post_key is None or until is None or key in self._inflight:
                        continue  # done, or a claim from before leases (never known to be safe)
                    if holder and holder not in dead:
                        dead[holder] = holder != self.holder and dead_local_holder(holder)
                    if as_utc(until) < wall or dead.get(holder or "", False):
                        orphans[key] = _Orphan(holder, post_key, recipient)
        return keys, orphans

    def _plan(
        self,
        person: _Person,
        now: datetime,
        policy: Reminders,
        existing: set[Key],
        nudge_counts: Counter[str],
    ) -> tuple[dict[Key, ActionItem], list[tuple[Key, ActionItem, int]]]:
        """What this person should hear about now: DM claims per item, and thread notes."""
        local = now.astimezone(person.tz)
        today = local.date()
        working = local.weekday() in policy.working_weekdays
        due_time = local.hour >= policy.due_hour
        dm: dict[Key, ActionItem] = {}
        notes: list[tuple[Key, ActionItem, int]] = []
        for item in person.items:
            if _snoozed(item, now):
                continue
            if item.snoozed_until is not None and (key := _snooze_key(item)) not in existing:
                dm[key] = item
            if not (working and due_time) or item.due_date is None or item.due_date > today:
                continue
            if item.due_date == today:
                dm[("due", f"item:{item.id}", today)] = item
                continue
            nudges = nudge_counts.get(f"item:{item.id}", 0)
            if nudges < policy.max_overdue_nudges:
                dm[("overdue", f"item:{item.id}", today)] = item
            else:
                notes.append((("thread_note", f"item:{item.id}", NOTE_DAY), item, nudges))
        dm = {k: v for k, v in dm.items() if k not in existing}
        notes = [n for n in notes if n[0] not in existing]
        return dm, notes

    # -- sending -----------------------------------------------------------------------------------
    async def _remind(
        self,
        person: _Person,
        now: datetime,
        policy: Reminders,
        existing: set[Key],
        nudge_counts: Counter[str],
        report: RunReport,
        orphans: dict[Key, _Orphan],
    ) -> None:
        local = now.astimezone(person.tz)
        if in_quiet_hours(local, policy.quiet_hours):
            return
        await self._resend(person, now, local, orphans, nudge_counts, report)
        dm, notes = self._plan(person, now, policy, existing, nudge_counts)
        if dm:
            post_key = _new_post_key(person.slack_id)
            won = await self._claim(list(dm), person.slack_id, post_key)
            report.lost_claims += len(dm) - len(won)
            if won:
                items = [dm[k] for k in won]
                await self._send_reminder(person, now, local, won, items, post_key, report, fresh=True)
        for key, item, nudges in notes:
            post_key = _new_post_key(person.slack_id)
            if await self._claim([key], person.slack_id, post_key) and await self._note(
                key, item, nudges, report, post_key, fresh=True
            ):
                report.notes += 1
        await self._digest(person, now, local, policy, existing, report)

    async def _resend(
        self,
        person: _Person,
        now: datetime,
        local: datetime,
        orphans: dict[Key, _Orphan],
        nudge_counts: Counter[str],
        report: RunReport,
    ) -> None:
        """Take over this person's orphaned claims, one message (post key) at a time, and send each
        again under its key with what is still open: a message that reached Slack is updated."""
        groups: defaultdict[str, list[Key]] = defaultdict(list)
        for key, orphan in orphans.items():
            groups[orphan.post_key].append(key)
        by_subject: dict[str, ActionItem] = {}
        for item in person.items:
            by_subject[f"item:{item.id}"] = item
            if item.snoozed_until is not None:
                by_subject[_snooze_key(item)[1]] = item
        for post_key, keys in groups.items():
            won = await self._take_over(post_key, keys, orphans)
            if not won:
                report.lost_claims += len(keys)
                continue
            report.taken_over += len(won)
            log.warning("re-sending %d reminder claim(s) of a dead holder as %s", len(won), post_key)
            kind = won[0][0]
            if kind == "digest":
                lists = _digest_lists(person, local.date())
                await self._send_digest(person, now, lists, won, post_key, report, fresh=False)
                continue
            if kind == "thread_note":
                noted = by_subject.get(won[0][1])
                nudges = nudge_counts.get(won[0][1], 0)
                if noted is None:
                    await self._mark(won, "skipped")
                elif await self._note(won[0], noted, nudges, report, post_key, fresh=False):
                    report.notes += 1
                continue
            items = [i for k in won if (i := by_subject.get(k[1])) is not None]
            await self._send_reminder(person, now, local, won, items, post_key, report, fresh=False)

    async def _send_reminder(
        self,
        person: _Person,
        now: datetime,
        local: datetime,
        keys: list[Key],
        items: Iterable[ActionItem],
        post_key: str,
        report: RunReport,
        *,
        fresh: bool,
    ) -> None:
        """One DM under `post_key` listing `items` (each once) for the claims `keys`; with nothing
        left to list (a taken-over claim whose items are done or gone since) they are skipped."""
        listed = sort_for_list(list({i.id: i for i in items}.values()), local.date())
        if not listed:
            await self._mark(keys, "skipped")
        elif await self._send(
            keys, report, self.sender.remind(person.slack_id, person.name, listed, now, post_key, fresh=fresh)
        ):
            report.dms += 1
            report.reminded_items += len(listed)

    async def _digest(
        self,
        person: _Person,
        now: datetime,
        local: datetime,
        policy: Reminders,
        existing: set[Key],
        report: RunReport,
    ) -> None:
        if local.hour < policy.digest_hour or (policy.digest_weekdays_only and local.weekday() >= 5):
            return
        key: Key = ("digest", f"user:{person.slack_id}", local.date())
        if key in existing:
            return  # sent or claimed
        lists = _digest_lists(person, local.date())
        if not any(lists):
            return  # an empty digest is noise
        post_key = _new_post_key(person.slack_id)
        if await self._claim([key], person.slack_id, post_key):
            await self._send_digest(person, now, lists, [key], post_key, report, fresh=True)

    async def _send_digest(
        self,
        person: _Person,
        now: datetime,
        lists: _DigestLists,
        keys: list[Key],
        post_key: str,
        report: RunReport,
        *,
        fresh: bool,
    ) -> None:
        due_today, overdue, completed = lists
        if not any(lists):
            await self._mark(keys, "skipped")  # a taken-over digest with nothing left to say
            return
        sending = self.sender.digest(
            person.slack_id, due_today, overdue, completed, now, post_key, fresh=fresh
        )
        if await self._send(keys, report, sending):
            report.digests += 1

    async def _send(self, keys: list[Key], report: RunReport, sending: Awaitable[None]) -> bool:
        try:
            await sending
        except Refused as exc:
            log.warning("reminder DM refused by Slack (%s); released for a later run", exc)
            await self._release(keys)
            report.failed += 1
            return False
        finally:
            self._inflight.difference_update(keys)  # unknown errors leave the claim to its lease
        await self._mark(keys, "sent")
        return True

    async def _note(
        self, key: Key, item: ActionItem, nudges: int, report: RunReport, post_key: str, *, fresh: bool
    ) -> bool:
        """After the last nudge the meeting's thread hears about it, once."""
        try:
            posted = await self.sender.note(item, nudges, post_key, fresh=fresh)
        except Refused:
            await self._release([key])
            report.failed += 1
            return False
        finally:
            self._inflight.discard(key)
        if not posted:
            await self._mark([key], "skipped")
            return False
        await self._mark([key], "sent")
        return True

    # -- claims ------------------------------------------------------------------------------------
    async def _claim(self, keys: list[Key], recipient: str, post_key: str) -> list[Key]:
        """Claim keys before sending; returns the ones this run owns (and now sends: in flight).

        All at once in one transaction (the common case, one round trip); if any was taken, one
        by one so the others are still ours.
        """
        until = utcnow() + self.claim_lease
        rows = [
            {"kind": k, "subject": s, "day": d, "recipient": recipient, "status": "claimed",
             "holder": self.holder, "leased_until": until, "post_key": post_key}
            for k, s, d in keys
        ]  # fmt: skip
        try:
            async with self.db.session() as s:
                await s.execute(insert(ReminderSent), rows)
            self._inflight.update(keys)
            return keys
        except IntegrityError:
            pass
        won: list[Key] = []
        for key, row in zip(keys, rows, strict=True):
            try:
                async with self.db.session() as s:
                    await s.execute(insert(ReminderSent), [row])
                won.append(key)
            except IntegrityError:
                continue
        self._inflight.update(won)
        return won

    async def _take_over(self, post_key: str, keys: list[Key], orphans: dict[Key, _Orphan]) -> list[Key]:
        """Make a dead holder's claims of one message ours: one conditional UPDATE over its post key
        (still `claimed`, still held by the holder read), so when two instances take over at once
        one gets the whole message and the other none of it."""
        holder = orphans[keys[0]].holder
        until = utcnow() + self.claim_lease
        rows_of = or_(  # by the unique key, so the statements use its index
            *(
                and_(ReminderSent.kind == k, ReminderSent.subject == sub, ReminderSent.day == d)
                for k, sub, d in keys
            )
        )
        async with self.db.session() as s:
            result = await s.execute(
                update(ReminderSent)
                .where(
                    rows_of,
                    ReminderSent.post_key == post_key,
                    ReminderSent.status == "claimed",
                    ReminderSent.holder == holder if holder else ReminderSent.holder.is_(None),
                )
                .values(holder=self.holder, leased_until=until)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return []
            rows = await s.execute(
                select(ReminderSent.kind, ReminderSent.subject, ReminderSent.day).where(
                    rows_of, ReminderSent.post_key == post_key, ReminderSent.holder == self.holder
                )
            )
            ours = {(k, sub, d) for k, sub, d in rows.all()}
        won = [key for key in keys if key in ours]
        self._inflight.update(won)
        return won

    async def _mark(self, keys: list[Key], status: str) -> None:
        """Settle the claims of one message (`sent`, `skipped`); its gateway rows go with them."""
        self._inflight.difference_update(keys)
        async with self.db.session() as s:
            post_key = await self._held_post_key(s, keys[0])
            for kind, subject, day in keys:
                await s.execute(
                    update(ReminderSent)
                    .where(
                        ReminderSent.kind == kind, ReminderSent.subject == subject, ReminderSent.day == day
                    )
                    .values(status=status, sent_at=utcnow())
                )
            await self._forget_message(s, post_key)

    async def _release(self, keys: list[Key]) -> None:
        """Drop the claims of one message for a later run (which sends under a new key)."""
        async with self.db.session() as s:
            post_key = await self._held_post_key(s, keys[0])
            for kind, subject, day in keys:
                await s.execute(
                    delete(ReminderSent).where(
                        ReminderSent.kind == kind, ReminderSent.subject == subject, ReminderSent.day == day
                    )
                )
            await self._forget_message(s, post_key)

    async def _held_post_key(self, s: AsyncSession, key: Key) -> str | None:
        """The message `key`'s claim was sent under, while this service holds the claim: a holder
        taken over as dead (its lease lapsed, yet it was alive) leaves the message to the new holder."""
        kind, subject, day = key
        return await s.scalar(
            select(ReminderSent.post_key).where(
                ReminderSent.kind == kind,
                ReminderSent.subject == subject,
                ReminderSent.day == day,
                ReminderSent.holder == self.holder,
            )
        )

    async def _forget_message(self, s: AsyncSession, post_key: str | None) -> None:
        """Delete the gateway's ref and pending marker of message `post_key` once none of its claims
        is open: a takeover that won only part of a DM settles its part, and whoever sends the rest
        needs the ref to update the message, not post it again."""
        if post_key is None:
            return
        still_open = (
            select(ReminderSent.id)
            .where(ReminderSent.post_key == post_key, ReminderSent.status == "claimed")
            .exists()
        )
        await s.execute(delete(SlackMessageRef).where(SlackMessageRef.entity == post_key, ~still_open))
        await s.execute(delete(SlackPendingPost).where(SlackPendingPost.entity == post_key, ~still_open))

    async def sent_count(self, kind: str | None = None) -> int:
        async with self.db.session() as s:
            stmt = select(func.count()).select_from(ReminderSent).where(ReminderSent.status == "sent")
            if kind:
                stmt = stmt.where(ReminderSent.kind == kind)
            return int(await s.scalar(stmt) or 0)


def _digest_lists(person: _Person, today: date) -> _DigestLists:
    """A digest's sections: due today, overdue (most overdue first), completed in the last day."""
    dated = [i for i in person.items if i.due_date is not None]
    due_today = [i for i in dated if i.due_date == today]
    overdue = sort_for_list([i for i in dated if i.due_date and i.due_date < today], today)
    return due_today, overdue, person.completed


def _new_post_key(recipient: str) -> str:
    """The gateway entity of one message: unique per claim, so two runs never share a message."""
    return f"reminder:{recipient}:{uuid.uuid4().hex[:12]}"


def _chunks(values: list[str]) -> Iterable[list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for i, value in enumerate(values):
        grouped[i // CHUNK].append(value)
    return grouped.values()
