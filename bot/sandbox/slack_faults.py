"""Call recording and fault injection for the local Slack Web API.

Retries, Retry-After handling and server-error recovery only get tested if Slack can be made to
fail on demand; this is that switch, plus the per-method rate limiter that mimics Slack's tiers.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass
class CallRecord:
    """One Web API request as the server saw it (token removed)."""

    method: str
    params: dict[str, Any]
    time: float
    status: int
    ok: bool
    error: str | None = None


@dataclass
class Failure:
    """What a failed call answers: HTTP status, Slack error code and (for 429) Retry-After seconds."""

    status: int
    error: str
    retry_after: int | None = None


@dataclass
class _Planned:
    failure: Failure
    remaining: int


class Faults:
    """Planned failures (`fail_next`) and sliding-window rate limits (`rate_limit`) per method."""

    def __init__(self) -> None:
        self._planned: dict[str, deque[_Planned]] = {}
        self._limits: dict[str, tuple[int, float]] = {}
        self._seen: dict[str, deque[float]] = {}

    def fail_next(
        self, method: str, status: int = 429, retry_after: int = 1, count: int = 1, error: str | None = None
    ) -> None:
        if error is None:
            error = {429: "ratelimited", 200: "fatal_error"}.get(status, "internal_error")
        failure = Failure(status, error, retry_after if status == 429 else None)
        self._planned.setdefault(method, deque()).append(_Planned(failure, count))

    def rate_limit(self, method: str, per_minute: int, window: float = 60.0) -> None:
        """Allow `per_minute` calls per `window` seconds (shorter windows keep tests fast)."""
        self._limits[method] = (per_minute, window)
        self._seen.setdefault(method, deque())

    def clear(self) -> None:
        self._planned.clear()
        self._limits.clear()
        self._seen.clear()

    def check(self, method: str) -> Failure | None:
        """Return the failure this call must get, or None (and count it against the rate limit)."""
        planned = self._planned.get(method)
        if planned:
            head = planned[0]
            head.remaining -= 1
            if head.remaining <= 0:
                planned.popleft()
            return head.failure
        if method not in self._limits:
            return None
        limit, window = self._limits[method]
        seen = self._seen[method]
        now = time.monotonic()
        while seen and seen[0] <= now - window:
            seen.popleft()
        if len(seen) >= limit:
            wait = max(1, math.ceil(seen[0] + window - now))
            return Failure(429, "ratelimited", wait)
        seen.append(now)
        return None
