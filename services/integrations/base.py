"""What every connector implements, and the errors the outbox turns into card text or retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

Progress = Callable[[str], Awaitable[None]]


class TargetError(Exception):
    """The target refused the write for good (a 4xx): `message` is the target's own, shown on the card."""

    def __init__(self, target: str, status: int, message: str) -> None:
        super().__init__(f"{target} answered {status}: {message}")
        self.target = target
        self.status = status
        self.message = message[:1000]


class RateLimited(Exception):
    """A 429 (or the target's own rate-limit answer): try again after `retry_after` seconds."""

    def __init__(self, target: str, retry_after: float) -> None:
        super().__init__(f"{target} rate limit: retry after {retry_after:g} s")
        self.target = target
        self.retry_after = retry_after


class TargetUnavailable(Exception):
    """A 5xx or a network error: retried with backoff by the job queue."""


class NotUndoable(Exception):
    """The target keeps no way to take this write back."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    title: str


@dataclass(frozen=True)
class Applied:
    external_id: str
    url: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    remote_status: str | None = None


@dataclass(frozen=True)
class Write:
    """What a connector gets: the entry's id, operation and payload (plain data, no ORM row)."""

    id: int
    operation: str
    payload: dict[str, Any]
    dedupe_key: str
    # an earlier run of this write may have reached the target (it crashed, timed out or was
    # retried): a connector that can, looks for the record it made before creating one
    retry: bool = False


@dataclass(frozen=True)
class RemoteState:
    """A task's state in a project-management target, for two-way status."""

    external_id: str
    done: bool
    status: str
    # owner and due date there (the target's user id, ISO date) for two-way edits; None: unknown
    assignee: str | None = None
    due_date: str | None = None
    modified_at: str | None = None


class Connector(Protocol):
    target: str

    async def apply(self, write: Write, progress: Progress) -> Applied: ...

    async def undo(self, operation: str, external_id: str) -> None: ...

    async def check(self) -> str:
        """A cheap read call: what it says when all is well; raises TargetError when not."""
        ...


class TaskTracker(Connector, Protocol):
    """A project-management target: its tasks' states are read back and closed from here."""

    async def states(self, external_ids: list[str]) -> list[RemoteState]: ...

    async def close(self, external_id: str) -> None: ...


class RateGate:
    """One 429 pauses every caller of that target (a Retry-After window applies to the token, not
    the request): waiters sleep until the window ends instead of collecting more 429s."""

    def __init__(self) -> None:
        self._until = 0.0
        self.waits = 0

    def block(self, seconds: float) -> None:
        self._until = max(self._until, time.monotonic() + max(0.0, seconds))

    async def wait(self) -> None:
        delay = self._until - time.monotonic()
        if delay > 0:
            self.waits += 1
            await asyncio.sleep(delay)


class Pacer:
    """Spaces a target's calls evenly below its published rate once the target has told it (a
    429's `X-HubSpot-RateLimit-Max` / `-Interval-Milliseconds`), instead of collecting 429s."""

    def __init__(self) -> None:
        self.spacing = 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    def learn(self, max_calls: int, interval: float, headroom: float = 0.9) -> None:
        if max_calls > 0 and interval > 0:
            self.spacing = max(self.spacing, interval / (max_calls * headroom))

    async def wait(self) -> None:
        if not self.spacing:
            return
        async with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.spacing
        if slot > now:
            await asyncio.sleep(slot - now)


async def with_rate_limit(gate: RateGate, call: Callable[[], Awaitable[Any]], *, attempts: int = 5) -> Any:
    """Run `call`, honouring Retry-After through the shared gate; after `attempts` 429s it gives up
    (RateLimited reaches the job queue, whose backoff takes over)."""
    for attempt in range(attempts):
        await gate.wait()
        try:
            return await call()
        except RateLimited as exc:
            gate.block(exc.retry_after)
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def retry_after(headers: Any, default: float = 1.0, *, cap: float = 60.0) -> float:
    """Seconds from a Retry-After header (seconds form); the default when absent or unreadable."""
    value = None
    if headers is not None:
        getter = getattr(headers, "get", None)
        value = getter("Retry-After") if getter else None
        if value is None and getter:
            value = getter("retry-after")
    try:
        return min(cap, max(0.0, float(value))) if value is not None else default
    except (TypeError, ValueError):
        return default
