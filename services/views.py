"""What `blocks/` draws: the typed view models the domain hands to the Slack side.

Blocks import only this module, the analysis schema and the Fathom payload models, never ORM rows
or other services; the shapes here are either plain frozen data or protocols that the domain's own
results satisfy structurally.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol


class SnoozeKind(StrEnum):
    """Snooze choices: carried in a button's value (`blocks.values.SnoozeChoice`), turned into a
    datetime by `services.action_items.snooze_until`. Defined once, for both sides."""

    ONE_HOUR = "1h"
    TOMORROW = "tomorrow_9"
    NEXT_MONDAY = "next_monday_9"
    PICK_DATE = "pick_date"  # opens snooze_date_modal


class CommitLine(Protocol):
    @property
    def short(self) -> str: ...
    @property
    def date(self) -> datetime: ...
    @property
    def author_name(self) -> str: ...
    @property
    def subject(self) -> str: ...


class HistoryLine(Protocol):
    """One commit of `/os-history` (`services.proposals.HistoryEntry`)."""

    @property
    def commit(self) -> CommitLine: ...
    @property
    def meeting_title(self) -> str | None: ...


class RevertView(Protocol):
    """A rollback's outcome (`services.proposals.Reverted`)."""

    @property
    def sha(self) -> str: ...
    @property
    def reverted_sha(self) -> str: ...
    @property
    def push_error(self) -> str | None: ...
