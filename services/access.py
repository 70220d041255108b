"""Who may see a meeting's content: the one rule behind search, Q&A, Home, the /os-audit picker
and related-meeting links.

A meeting is visible to its internal attendees (a Slack user whose email is among the meeting's
invitees or its recorder, as the search index stores them), to members of the channel its card was
posted in, and to the admins of `fathom-os.yml`. Everyone else is told that nothing matched.

The rule is a SQL condition on a meeting-id column (`Scope.sql`), so every list is filtered in the
query that reads it and scales with the result, not with the number of meetings. Channel
membership comes from Slack through the small `ChannelMembers` protocol (the gateway implements it
with `conversations.members`); the domain never calls Slack itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import TextClause, select, text

from services.db import Database
from services.models import Person, SlackMessageRef
from services.os_config import OSConfig

log = logging.getLogger(__name__)

CARD_PREFIX = "meeting:"  # SlackMessageRef.entity of a meeting's card


class ChannelMembers(Protocol):
    async def members(self, channel_id: str) -> set[str]: ...


class _User(Protocol):
    @property
    def email(self) -> str | None: ...


class UserDirectory(Protocol):
    async def user_info(self, user_id: str) -> _User: ...


class Scope(Protocol):
    """A set of visible meetings as a SQL condition on a meeting-id column."""

    def sql(self, column: str) -> tuple[str, dict[str, Any]]: ...


def where(scope: Scope, column: str = "meetings.id") -> TextClause:
    """The scope as a clause for ORM/Core queries (`select(Meeting).where(where(viewer))`)."""
    sql, params = scope.sql(column)
    return text(sql).bindparams(**params) if params else text(sql)


@dataclass(frozen=True)
class Everything:
    """No restriction: internal computations and admins."""

    def sql(self, column: str) -> tuple[str, dict[str, Any]]:
        return "1=1", {}


EVERYTHING = Everything()


@dataclass(frozen=True)
class Viewer:
    """What one Slack user may see: their emails (attendee rule), the card channels they are in."""

    user_id: str
    emails: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    admin: bool = False
    tag: str = "v"  # bind-parameter prefix, so two scopes can be combined in one query

    def sql(self, column: str) -> tuple[str, dict[str, Any]]:
        if self.admin:
            return "1=1", {}
        parts: list[str] = []
        params: dict[str, Any] = {}
        if self.emails:
            names = _names(params, f"{self.tag}_e", sorted(self.emails))
            parts.append(f"{column} IN (SELECT meeting_id FROM search_attendees WHERE email IN ({names}))")
        if self.channels:
            names = _names(params, f"{self.tag}_c", sorted(self.channels))
            parts.append(
                f"{column} IN (SELECT CAST(SUBSTR(entity, {len(CARD_PREFIX) + 1}) AS INTEGER)"
                f" FROM slack_message_refs WHERE entity LIKE '{CARD_PREFIX}%' AND channel IN ({names}))"
            )
        return (f"({' OR '.join(parts)})" if parts else "1=0"), params


@dataclass(frozen=True)
class AllOf:
    """Visible to every one of these scopes (an answer in a thread: the asker and the channel)."""

    scopes: tuple[Scope, ...]

    def sql(self, column: str) -> tuple[str, dict[str, Any]]:
        parts, params = [], {}
        for scope in self.scopes:
            sql, values = scope.sql(column)
            parts.append(sql)
            params.update(values)
        return (" AND ".join(f"({p})" for p in parts) or "1=1"), params


def _names(params: dict[str, Any], prefix: str, values: Iterable[Any]) -> str:
    names = []
    for n, value in enumerate(values):
        params[f"{prefix}{n}"] = value
        names.append(f":{prefix}{n}")
    return ", ".join(names)


class AccessPolicy:
    """Builds scopes from Slack identity, channel membership and the admins of `fathom-os.yml`."""

    def __init__(
        self,
        db: Database,
        os_config: Callable[[], OSConfig],
        members: ChannelMembers | None = None,
        directory: UserDirectory | None = None,
    ) -> None:
        self.db = db
        self.os_config = os_config
        self.members = members  # set once Slack is connected; without it nobody is a channel member
        self.directory = directory

    async def viewer(self, user_id: str, *, email: str | None = None) -> Viewer:
        """Everything the rule needs about one user, resolved before any content is read
        (`email`: the user's email when the caller already knows it from Slack)."""
        if not user_id:
            return Viewer("")
        emails = await self._emails(user_id, known=bool(email)) | ({email.lower()} if email else set())
        config = self.os_config()
        admin = config.is_admin(user_id) or any(config.is_admin(e) for e in emails)
        channels: frozenset[str] = frozenset()
        if not admin:
            memberships = await self._memberships(await self.card_channels())
            channels = frozenset(c for c, members in memberships.items() if user_id in members)
        return Viewer(user_id, frozenset(emails), channels, admin)

    async def channel_audience(self, channel: str) -> Viewer:
        """What everyone who can read `channel` may see: the cards in channels whose members include
        all of its members (the channel itself at least). Attendee and admin rights are personal,
        so they do not count here."""
        cards = set(await self.card_channels()) | {channel}
        memberships = await self._memberships(sorted(cards))
        readers = memberships.get(channel, set())
        shared = {c for c, members in memberships.items() if c == channel or (readers and readers <= members)}
        return Viewer(f"channel:{channel}", channels=frozenset(shared), tag="ch")

    async def question_scope(self, user_id: str, channel: str, thread_ts: str | None) -> tuple[Scope, bool]:
        """Where an @-mention's answer may go and what it may cite: in the thread of a meeting's card,
        meetings both the asker and every reader of the channel may see (answered in the thread);
        anywhere else, the asker's own meetings, answered to the asker alone (False)."""
        viewer = await self.viewer(user_id)
        if await self.card_at(channel, thread_ts) is None:
            return viewer, False
        return AllOf((viewer, await self.channel_audience(channel))), True

    async def can_see(self, scope: Scope, meeting_id: int) -> bool:
        return meeting_id in await self.visible(scope, [meeting_id])

    async def visible(self, scope: Scope, meeting_ids: Iterable[int]) -> set[int]:
        ids = sorted(set(meeting_ids))
        if not ids:
            return set()
        sql, params = scope.sql("id")
        names = _names(params, "acc_m", ids)
        stmt = text(f"SELECT id FROM meetings WHERE id IN ({names}) AND {sql}").bindparams(**params)
        async with self.db.read_session() as s:
            return {int(r[0]) for r in await s.execute(stmt)}

    async def card_at(self, channel: str, ts: str | None) -> int | None:
        """The meeting whose card is the message `ts` in `channel` (a question in its thread)."""
        if not ts:
            return None
        async with self.db.read_session() as s:
            entity = await s.scalar(
                select(SlackMessageRef.entity).where(
                    SlackMessageRef.channel == channel,
                    SlackMessageRef.ts == ts,
                    SlackMessageRef.entity.like(f"{CARD_PREFIX}%"),
                )
            )
        suffix = (entity or "").removeprefix(CARD_PREFIX)
        return int(suffix) if suffix.isdigit() else None

    async def card_channels(self) -> list[str]:
        """The channels holding meeting cards (routing keeps this a handful)."""
        async with self.db.read_session() as s:
            rows = await s.scalars(
                select(SlackMessageRef.channel)
                .where(SlackMessageRef.entity.like(f"{CARD_PREFIX}%"))
                .distinct()
            )
            return sorted(rows.all())

    async def _emails(self, user_id: str, known: bool = False) -> set[str]:
        async with self.db.read_session() as s:
            emails = {
                e.lower()
                for e in await s.scalars(select(Person.email).where(Person.slack_user_id == user_id))
            }
        if not emails and self.directory is not None and not known:
            try:
                email = (await self.directory.user_info(user_id)).email
            except Exception as exc:  # unknown user: no attendee rights, nothing more
                log.info("users.info for %s failed: %s", user_id, type(exc).__name__)
                email = None
            if email:
                emails.add(email.lower())
        return emails

    async def _memberships(self, channels: list[str]) -> dict[str, set[str]]:
        if self.members is None or not channels:
            return {}
        members = self.members

        async def one(channel: str) -> set[str]:
            try:
                return await members.members(channel)
            except Exception as exc:  # fail closed: a channel we cannot read grants nothing
                log.warning("members of %s unavailable: %s", channel, type(exc).__name__)
                return set()

        found = await asyncio.gather(*(one(c) for c in channels))
        return dict(zip(channels, found, strict=True))


__all__ = [
    "EVERYTHING",
    "AccessPolicy",
    "AllOf",
    "ChannelMembers",
    "Everything",
    "Scope",
    "UserDirectory",
    "Viewer",
    "where",
]
