"""What `blocks/` draws: the typed view models the domain hands to the Slack side.

Blocks import only this module, the analysis schema and the Fathom payload models, never ORM rows
or other services; the shapes here are either plain frozen data or protocols that the domain's own
results satisfy structurally.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


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
