"""Typed button values: ids only, JSON on the wire, the same model on both sides.

The handler reloads state from the ids and checks authorisation; a value never carries text or
permissions a user could tamper with. Renaming a field breaks `decode` loudly, not silently.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from blocks.ids import SnoozeOption
from blocks.limits import BUTTON_VALUE


class _Ref(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemRef(_Ref):
    item_id: int


class MeetingRef(_Ref):
    meeting_id: int


class ProposalRef(_Ref):
    proposal_id: int


class SnoozeChoice(_Ref):
    item_id: int
    choice: SnoozeOption


class PageRef(_Ref):
    """Which page of `/os-actions` to show, and of whose list (None: the clicker's own)."""

    page: int = Field(ge=1)
    user: str | None = Field(default=None, max_length=32)
    overdue: bool = False


class QAPick(_Ref):
    """A "Which meeting?" button: the meeting, and the asker's own question (the one value that
    carries text: an ephemeral message is not sent back with the click). Access is checked again."""

    meeting_id: int
    question: str = Field(max_length=1500)


class ItemVersionRef(_Ref):
    """An edit modal's private_metadata: the item and the version the form was opened at."""

    item_id: int
    version: int


class OutboxRef(_Ref):
    entry_id: int


class SendRef(_Ref):
    """ "Send to …" on an item card: the item and the target's name (checked by the service)."""

    item_id: int
    target: str = Field(max_length=20)


RefT = TypeVar("RefT", bound=BaseModel)


def encode(model: BaseModel) -> str:
    value = model.model_dump_json()
    if len(value) > BUTTON_VALUE:
        raise ValueError(f"{type(model).__name__} value is {len(value)} chars > {BUTTON_VALUE}")
    return value


def decode(cls: type[RefT], value: str | None) -> RefT:
    """Parse a value drawn by `encode`; anything else is a ValueError naming the expected model."""
    if not value:
        raise ValueError(f"empty value where a {cls.__name__} was expected")
    try:
        return cls.model_validate_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        raise ValueError(f"not a {cls.__name__}: {where}: {first['msg']}") from None
