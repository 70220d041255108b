"""Two-way edits of owner and due date between an action item and its task in a PM target.

Each side is compared with the values last synced (kept on the outbox entry's payload under
`synced`). A field changed on one side only takes that side's value; changed on both to different
values, the later writer wins (the task's `modified_at` there against the item's last audit-log
entry here; here wins a tie or when a time is unknown). Pure: the outbox applies the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FIELDS = ("assignee", "due_date")


@dataclass(frozen=True)
class Merge:
    final: dict[str, str | None]
    push_there: bool  # the task must change there
    change_here: dict[str, str | None]  # fields the item must take


def merge(
    last: dict[str, Any],
    here: dict[str, str | None],
    there: dict[str, str | None],
    *,
    here_at: datetime | None,
    there_at: datetime | None,
) -> Merge:
    here_at, there_at = _aware(here_at), _aware(there_at)
    final: dict[str, str | None] = {}
    for f in FIELDS:
        h, t, was = here.get(f), there.get(f), last.get(f)
        if h == t:
            final[f] = h
        elif h != was and t != was:  # both edited: the later writer wins
            final[f] = t if (there_at and here_at and there_at > here_at) else h
        elif t != was:
            final[f] = t
        else:
            final[f] = h
    return Merge(
        final=final,
        push_there=any(final[f] != there.get(f) for f in FIELDS),
        change_here={f: final[f] for f in FIELDS if final[f] != here.get(f)},
    )


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:  # Jira: 2026-01-14T15:00:00.000+0000
            parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def owner_key(owners: dict[str, str], target_user: str | None) -> str | None:
    """The Slack id or e-mail that `owners:` maps to this target user (None: not mapped)."""
    if target_user is None:
        return None
    return next((key for key, value in owners.items() if value == target_user), None)
