"""Who a Slack token names: `<@U123|name>`, `U123`, `@handle` or an email -> the person's email.

Serves search (`with:@maya`), Home and Q&A alike; the people cache first, Slack's users.info next.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select

from services.db import Database
from services.models import Person
from services.search import ATTENDEES


class _User(Protocol):
    @property
    def email(self) -> str | None: ...
    @property
    def is_bot(self) -> bool: ...
    @property
    def is_guest(self) -> bool: ...
    @property
    def deleted(self) -> bool: ...


class Directory(Protocol):
    async def user_info(self, user_id: str) -> _User: ...


class People:
    def __init__(self, db: Database, directory: Directory | None = None) -> None:
        self.db = db
        self.directory = directory  # the Slack gateway; without it only the people cache answers

    async def is_member(self, user_id: str) -> bool | None:
        """A full member of the workspace: not a guest, a bot or a deactivated account. None when
        there is no directory to ask (no Slack); a failed lookup raises."""
        if self.directory is None:
            return None
        user = await self.directory.user_info(user_id)
        return not (user.is_bot or user.is_guest or user.deleted)

    async def email_for(self, token: str) -> str | None:
        """The email a token names, if we can tell; an unknown user matches nothing."""
        token = token.strip().strip("<>").split("|")[0]
        if "@" in token and not token.startswith("@"):
            return token.lower()
        handle = token.lstrip("@")
        if handle[:1] in ("U", "W") and handle.isupper():
            async with self.db.session() as s:
                email = await s.scalar(select(Person.email).where(Person.slack_user_id == handle).limit(1))
            if email is None and self.directory is not None:
                try:
                    email = (await self.directory.user_info(handle)).email
                except Exception:  # unknown user: the filter then matches nothing
                    email = None
            return email.lower() if email else None
        async with self.db.session() as s:
            found = await s.scalar(
                select(ATTENDEES.c.email).where(ATTENDEES.c.email.like(f"{handle.lower()}@%")).limit(1)
            )
        return str(found) if found else None
