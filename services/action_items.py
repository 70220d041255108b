"""Action items changed from Slack: who may change them, the state machine, the audit trail.

Every change reloads the item, checks the actor and the transition against the *current* state (a
button value carries only ids, so a stale card cannot overwrite newer state), bumps `version` and
records the audit entry in the same transaction.

Slack is asked about people (attendees not yet in the people cache, a new owner) *before* that
transaction opens: the directory keeps its own cache in the database, and a second unit of work
opened inside the first waits on SQLite's write lock until "database is locked".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import audit_log
from services.clock import as_utc, utcnow
from services.db import Database
from services.errors import NotAllowed, NotFound, StaleState, UserFacingError
from services.meetings import dedupe_key
from services.models import ActionItem, Meeting, Person
from services.os_config import OSConfig
from services.views import SnoozeKind

PRIORITIES = ("urgent", "important", "strategic")
MAX_TEXT = 2000
SNOOZE_HOUR = 9
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class ValidationFailed(UserFacingError):
    """Edit input the item cannot take; `errors` maps a field name to a message for that field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class Directory(Protocol):
    """What the service needs from Slack: the gateway satisfies it, with its people cache."""

    async def user_for_email(self, email: str | None, *, name: str | None = None) -> Any: ...

    async def user_info(self, user_id: str) -> Any: ...


@dataclass(frozen=True)
class Change:
    """A committed change: the fresh item, and who must be told (a new owner)."""

    item: ActionItem
    notify: str | None = None


class _AskSlack(Exception):
    """The actor's right rests on being an attendee the people cache has never seen."""

    def __init__(self, emails: list[str]) -> None:
        super().__init__("attendees to look up")
        self.emails = emails


class _AlreadyDone(StaleState):
    def __init__(self, by: str | None) -> None:
        super().__init__("This item was already marked done.")
        self.by = by


def snapshot(item: ActionItem) -> dict[str, Any]:
    """The audited fields, JSON-ready."""
    return {
        "text": item.text,
        "status": item.status,
        "owner_slack_id": item.owner_slack_id,
        "owner_name": item.owner_name,
        "owner_email": item.owner_email,
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "priority": item.priority,
        "snoozed_until": as_utc(item.snoozed_until).isoformat() if item.snoozed_until else None,
        "version": item.version,
    }


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def at_local(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """`hour`:00 on `day` in `tz`, as an aware UTC datetime (DST resolved by zoneinfo, fold=0)."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(ZoneInfo("UTC"))


def snooze_until(choice: str, now: datetime, tz: ZoneInfo, picked: date | None = None) -> datetime:
    """When a snooze choice ends, read in the owner's own time zone."""
    local = as_utc(now).astimezone(tz)
    if choice == SnoozeKind.ONE_HOUR:
        return as_utc(now) + timedelta(hours=1)
    if choice == SnoozeKind.TOMORROW:
        return at_local(local.date() + timedelta(days=1), SNOOZE_HOUR, tz)
    if choice == SnoozeKind.NEXT_MONDAY:
        return at_local(local.date() + timedelta(days=7 - local.weekday()), SNOOZE_HOUR, tz)
    if choice == SnoozeKind.PICK_DATE and picked is not None:
        if at_local(picked, SNOOZE_HOUR, tz) <= as_utc(now):
            raise ValidationFailed({"date": "Pick a day in the future."})
        return at_local(picked, SNOOZE_HOUR, tz)
    raise ValidationFailed({"date": "Unknown snooze choice."})


def sort_for_list(items: Sequence[ActionItem], today: date) -> list[ActionItem]:
    """Overdue first (oldest due first), then by due date, undated last."""

    def key(item: ActionItem) -> tuple[int, date, int]:
        overdue = item.due_date is not None and item.due_date < today
        return (0 if overdue else 1, item.due_date or date.max, item.id)

    return sorted(items, key=key)


class ActionItemService:
    def __init__(
        self,
        db: Database,
        os_config: Callable[[], OSConfig],
        directory: Directory | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.os_config = os_config
        self.directory = directory
        self.clock = clock

    # -- reads -------------------------------------------------------------------------------------
    async def get(self, item_id: int) -> ActionItem:
        async with self.db.session() as s:
            return await self._load(s, item_id)

    async def open_items_for(
        self, slack_user_id: str, overdue_only: bool = False, today: date | None = None
    ) -> list[ActionItem]:
        """Every open item the person owns, overdue first; the list builder pages it."""
        today = today or self.clock().date()
        async with self.db.session() as s:
            stmt = select(ActionItem).where(
                ActionItem.owner_slack_id == slack_user_id, ActionItem.status == "open"
            )
            if overdue_only:
                stmt = stmt.where(ActionItem.due_date < today)
            items = list((await s.scalars(stmt)).all())
        return sort_for_list(items, today)

    async def timezone_for(self, slack_user_id: str | None) -> ZoneInfo:
        """The person's Slack time zone (people cache, then users.info), else the OS default."""
        fallback = self.os_config().reminders.timezone
        if not slack_user_id:
            return zone(None, fallback)
        async with self.db.session() as s:
            tz = await s.scalar(
                select(Person.tz).where(Person.slack_user_id == slack_user_id, Person.tz.is_not(None))
            )
        if tz is None and self.directory is not None:
            try:
                tz = (await self.directory.user_info(slack_user_id)).tz
            except Exception:  # a missing tz only means the default zone
                tz = None
        return zone(tz, fallback)

    # -- authorisation -----------------------------------------------------------------------------
    async def ensure_can_change(self, item_id: int, actor: str) -> ActionItem:
        """For opening a form (edit, pick a date): the change itself authorises again when it runs."""
        resolved: set[str] = set()
        for _ in range(2):
            try:
                async with self.db.session() as s:
                    item = await self._load(s, item_id)
                    await self._authorise(s, item, actor, resolved)
                    return item
            except _AskSlack as ask:
                resolved = await self._look_up(ask.emails)
        raise AssertionError("unreachable: the second pass never asks Slack")  # pragma: no cover

    async def _authorise(
        self, s: AsyncSession, item: ActionItem, actor: str, resolved: set[str] | None
    ) -> None:
        """Owner, admin or internal attendee. `resolved`: attendee ids Slack named on an earlier pass
        (None on the first); the first pass raises `_AskSlack` instead of calling Slack inside the
        unit of work, since the directory writes its own cache and SQLite has one writer."""
        if actor and item.owner_slack_id == actor:
            return
        if await self._is_admin(s, actor):
            return
        known, unknown = await self._attendee_ids(s, item.meeting_id)
        if actor in known or (resolved is not None and actor in resolved):
            return
        if resolved is None and unknown and self.directory is not None:
            raise _AskSlack(unknown)
        raise NotAllowed(
            "Only the item's owner, the meeting's attendees from the team and admins can change it."
        )

    async def _is_admin(self, s: AsyncSession, actor: str) -> bool:
        config = self.os_config()
        if config.is_admin(actor):
            return True
        actor_email = await s.scalar(select(Person.email).where(Person.slack_user_id == actor))
        return bool(actor_email and config.is_admin(actor_email))

    async def _attendee_ids(self, s: AsyncSession, meeting_id: int) -> tuple[set[str], list[str]]:
        """Slack ids of the meeting's internal attendees known to the people cache, and the emails
        the cache has never seen (the caller asks Slack about those, outside any unit of work)."""
        meeting = await s.get(Meeting, meeting_id)
        if meeting is None:
            return set(), []
        emails = [i.email.lower() for i in meeting.fathom().internal_invitees if i.email]
        if not emails:
            return set(), []
        known = dict(
            (
                await s.execute(select(Person.email, Person.slack_user_id).where(Person.email.in_(emails)))
            ).all()
        )
        return {uid for uid in known.values() if uid}, [e for e in emails if e not in known]

    async def _look_up(self, emails: list[str]) -> set[str]:
        """Slack ids of attendees the people cache has never seen; runs no unit of work around Slack."""
        ids: set[str] = set()
        if self.directory is None:
            return ids
        for email in emails:
            user = await self.directory.user_for_email(email)
            if user is not None:
                ids.add(user.id)
        return ids

    # -- changes -----------------------------------------------------------------------------------
    async def complete(self, item_id: int, actor: str) -> ActionItem:
        def apply(item: ActionItem) -> None:
            if item.status == "done":
                raise _AlreadyDone(item.completed_by)
            item.status, item.completed_at, item.completed_by = "done", self.clock(), actor
            item.snoozed_until = None

        try:
            return (await self._change(item_id, actor, "action_item.done", apply)).item
        except _AlreadyDone as done:
            by = await self._name_of(done.by)
            raise StaleState(f"This item was already marked done{f' by {by}' if by else ''}.") from None

    async def reopen(self, item_id: int, actor: str) -> ActionItem:
        def apply(item: ActionItem) -> None:
            if item.status != "done":
                raise StaleState("This item is already open.")
            item.status, item.completed_at, item.completed_by = "open", None, None

        return (await self._change(item_id, actor, "action_item.reopen", apply)).item

    async def snooze(
        self,
        item_id: int,
        choice: str,
        actor: str,
        now: datetime | None = None,
        tz: ZoneInfo | None = None,
        picked: date | None = None,
    ) -> ActionItem:
        """Snooze in the owner's time zone (`tz`; looked up when not given)."""
        now = now or self.clock()
        if tz is None:
            tz = await self.timezone_for((await self.get(item_id)).owner_slack_id or actor)
        until = snooze_until(choice, now, tz, picked)

        def apply(item: ActionItem) -> None:
            if item.status == "done":
                raise StaleState("This item is already done; reopen it before snoozing.")
            item.snoozed_until = until

        return (await self._change(item_id, actor, "action_item.snooze", apply)).item

    async def reassign(self, item_id: int, new_owner: str, actor: str) -> Change:
        """Give the item to a Slack user; the change names them so the caller can DM them."""
        owner = await self._checked_owner(new_owner)

        def apply(item: ActionItem) -> None:
            if item.status == "done":
                raise StaleState("This item is already done; reopen it before reassigning.")
            if item.owner_slack_id == new_owner:
                raise StaleState(f"<@{new_owner}> already owns this item.")
            self._set_owner(item, new_owner)

        return await self._change(
            item_id, actor, "action_item.reassign", apply, notify=new_owner, owner=(new_owner, owner)
        )

    async def edit(
        self,
        item_id: int,
        actor: str,
        *,
        version: int,
        text: str | None,
        owner_slack_id: str | None,
        due_date: date | str | None,
        priority: str | None,
    ) -> Change:
        """Apply the edit modal; field errors come back together so the modal can show them all."""
        errors: dict[str, str] = {}
        clean = " ".join((text or "").split())
        if not clean:
            errors["text"] = "Say what needs doing."
        elif len(clean) > MAX_TEXT:
            errors["text"] = f"Keep it under {MAX_TEXT} characters."
        if priority not in PRIORITIES:
            errors["priority"] = "Pick a priority."
        due: date | None = None
        if isinstance(due_date, str) and due_date:
            try:
                due = date.fromisoformat(due_date)
            except ValueError:
                errors["due_date"] = "That is not a date."
        elif isinstance(due_date, date):
            due = due_date
        if errors:
            raise ValidationFailed(errors)
        owner = (owner_slack_id, await self._checked_owner(owner_slack_id)) if owner_slack_id else None
        changed_owner: list[str] = []

        def apply(item: ActionItem) -> None:
            if item.version != version:
                raise StaleState("Someone changed this item since you opened the form. Reopen it to edit.")
            if due is not None and due != item.due_date and due < self.clock().date() - timedelta(days=1):
                raise ValidationFailed({"due_date": "The due date cannot be in the past."})
            item.text, item.priority, item.due_date = clean, str(priority), due
            if owner_slack_id and owner_slack_id != item.owner_slack_id:
                self._set_owner(item, owner_slack_id)
                changed_owner.append(owner_slack_id)

        change = await self._change(item_id, actor, "action_item.edit", apply, owner=owner)
        return Change(change.item, changed_owner[0] if changed_owner else None)

    async def create(self, meeting_id: int, text: str, *, actor: str, owner_slack_id: str) -> ActionItem:
        """A new item of a meeting from Slack ("action: …" in its thread, the message shortcut).
        Authorised like any change to that meeting's items: its internal attendees and admins."""
        clean = " ".join((text or "").split())
        if not clean:
            raise ValidationFailed({"text": "Say what needs doing."})
        if len(clean) > MAX_TEXT:
            raise ValidationFailed({"text": f"Keep it under {MAX_TEXT} characters."})
        owner = await self._checked_owner(owner_slack_id)
        resolved: set[str] | None = None
        for _ in range(2):
            try:
                return await self._create_once(meeting_id, clean, actor, owner_slack_id, owner, resolved)
            except _AskSlack as ask:
                resolved = await self._look_up(ask.emails)
        raise AssertionError("unreachable: the second pass never asks Slack")  # pragma: no cover

    async def _create_once(
        self,
        meeting_id: int,
        text: str,
        actor: str,
        owner_slack_id: str,
        owner: tuple[str | None, str | None],
        resolved: set[str] | None,
    ) -> ActionItem:
        async with self.db.session() as s:
            if await s.get(Meeting, meeting_id) is None:
                raise NotFound("That meeting no longer exists.")
            probe = ActionItem(meeting_id=meeting_id, owner_slack_id=None)
            await self._authorise(s, probe, actor, resolved)
            key = dedupe_key(text)
            existing = await s.scalar(
                select(ActionItem).where(ActionItem.meeting_id == meeting_id, ActionItem.dedupe_key == key)
            )
            if existing is not None:
                raise StaleState("That action item is already on this meeting.")
            last = await s.scalar(
                select(func.max(ActionItem.position)).where(ActionItem.meeting_id == meeting_id)
            )
            item = ActionItem(
                meeting_id=meeting_id,
                position=(last or 0) + 1,
                dedupe_key=key,
                source="manual",
                text=text,
                owner_slack_id=owner_slack_id,
                owner_name=owner[0],
                owner_email=(owner[1] or "").lower() or None,
                owner_external=False,
                priority="important",
                status="open",
                version=1,
            )
            s.add(item)
            await s.flush()
            audit_log.record(s, actor, "action_item.create", f"action_item:{item.id}", None, snapshot(item))
            return item

    # -- internals ---------------------------------------------------------------------------------
    @staticmethod
    def _set_owner(item: ActionItem, slack_id: str) -> None:
        item.owner_slack_id, item.owner_external = slack_id, False
        item.owner_email = item.owner_name = None

    async def _change(
        self,
        item_id: int,
        actor: str,
        action: str,
        apply: Callable[[ActionItem], None],
        *,
        notify: str | None = None,
        owner: tuple[str, tuple[str | None, str | None]] | None = None,
    ) -> Change:
        """One unit of work: lock the row, authorise against its current state, apply, audit.

        `owner`: a new owner's id and (name, email), checked against Slack by the caller. When the
        actor's right rests on attendees Slack must name, the transaction is abandoned, Slack is
        asked outside it, and the unit of work runs once more."""
        resolved: set[str] | None = None
        for _ in range(2):
            try:
                return await self._change_once(item_id, actor, action, apply, notify, owner, resolved)
            except _AskSlack as ask:
                resolved = await self._look_up(ask.emails)
        raise AssertionError("unreachable: the second pass never asks Slack")  # pragma: no cover

    async def _change_once(
        self,
        item_id: int,
        actor: str,
        action: str,
        apply: Callable[[ActionItem], None],
        notify: str | None,
        owner: tuple[str, tuple[str | None, str | None]] | None,
        resolved: set[str] | None,
    ) -> Change:
        async with self.db.session() as s:
            item = await self._load(s, item_id, for_update=True)
            await self._authorise(s, item, actor, resolved)
            before = snapshot(item)
            apply(item)
            if owner and item.owner_slack_id == owner[0]:
                item.owner_name, item.owner_email = owner[1]
            item.version += 1
            item.updated_at = self.clock()
            audit_log.record(s, actor, action, f"action_item:{item.id}", before, snapshot(item))
            await s.flush()
            return Change(item, notify)

    async def _checked_owner(self, slack_id: str) -> tuple[str | None, str | None]:
        """A new owner must be a real person in this workspace; (name, email) when they are.

        Checked before any change, so a forged `selected_user` (`W<!here>`) is never stored."""
        if not slack_id:
            raise ValidationFailed({"owner": "Pick a person."})
        if not SLACK_USER_ID.fullmatch(slack_id):
            raise ValidationFailed({"owner": "That is not a Slack user."})
        async with self.db.session() as s:
            person = await s.scalar(select(Person).where(Person.slack_user_id == slack_id))
            if person:
                return person.name, person.email
        if self.directory is None:
            return None, None
        try:
            user = await self.directory.user_info(slack_id)
        except Exception as exc:  # users.info: user_not_found, or Slack unreachable: refuse either way
            raise ValidationFailed({"owner": "That person could not be found in Slack."}) from exc
        if getattr(user, "is_bot", False):
            raise ValidationFailed({"owner": "An app cannot own an action item; pick a person."})
        return user.name, (user.email or None)

    async def _name_of(self, slack_id: str | None) -> str | None:
        if not slack_id:
            return None
        details = await self._owner_details(slack_id)
        return (details[0] if details else None) or slack_id

    async def _owner_details(self, slack_id: str) -> tuple[str | None, str | None] | None:
        async with self.db.session() as s:
            person = await s.scalar(select(Person).where(Person.slack_user_id == slack_id))
            if person:
                return person.name, person.email
        if self.directory is None:
            return None
        try:
            user = await self.directory.user_info(slack_id)
        except Exception:  # the name is decoration; the id is what matters
            return None
        return user.name, (user.email or None)

    @staticmethod
    async def _load(s: AsyncSession, item_id: int, *, for_update: bool = False) -> ActionItem:
        stmt = select(ActionItem).where(ActionItem.id == item_id)
        if for_update:
            stmt = stmt.with_for_update()
        item = await s.scalar(stmt)
        if item is None:
            raise NotFound("That action item no longer exists.")
        return item
