"""Slack's published Web API rate limits, modelled by the local Slack server.

Without them the local server answers every call at once, so a burst benchmark says nothing about
real Slack. With them on, a call beyond its method's limit gets what Slack answers: HTTP 429,
`{"ok": false, "error": "ratelimited"}` and a `Retry-After` header with whole seconds to wait
(https://docs.slack.dev/apis/web-api/rate-limits). The figures and their sources are in
`services/slack/rate_limits.py`, the one table the bot's pacer reads too.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.slack.rate_limits import (
    METHOD_TIERS,
    PER_CHANNEL_METHODS,
    POST_MESSAGE_BURST,
    POST_MESSAGE_PER_SECOND,
    TIER_PER_MINUTE,
    Limit,
    limit_for,
)

__all__ = [
    "METHOD_TIERS",
    "PER_CHANNEL_METHODS",
    "POST_MESSAGE_BURST",
    "POST_MESSAGE_PER_SECOND",
    "RATES_ENV",
    "TIER_PER_MINUTE",
    "Bucket",
    "Limit",
    "RateModel",
    "limit_for",
    "rates_enabled_from_env",
]

RATES_ENV = "LOCAL_SLACK_RATE_LIMITS"


def rates_enabled_from_env(default: bool = False) -> bool:
    """`LOCAL_SLACK_RATE_LIMITS=1` turns the model on for a LocalSlack built without an explicit flag."""
    raw = os.environ.get(RATES_ENV, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{RATES_ENV} must be 1/0, true/false, yes/no or on/off, not {raw!r}")


@dataclass
class Bucket:
    capacity: float
    per_second: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """Take one token; return 0 on success, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.per_second


class RateModel:
    """Token buckets per (method) or (method, channel); `check` answers the Retry-After or None."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, limits: Callable[[str], Limit | None] = limit_for
    ) -> None:
        self.clock = clock
        self.limits = limits
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self.limited = 0  # 429s answered, for benchmarks

    def check(self, method: str, channel: str | None = None) -> int | None:
        """Count one call; return Retry-After seconds (a whole number >= 1) when it is over the limit."""
        limit = self.limits(method)
        if limit is None:
            return None
        scope = (channel or "") if method in PER_CHANNEL_METHODS else ""
        now = self.clock()
        bucket = self._buckets.get((method, scope))
        if bucket is None:
            bucket = Bucket(limit.capacity, limit.per_second, limit.capacity, now)
            self._buckets[(method, scope)] = bucket
        wait = bucket.take(now)
        if wait <= 0.0:
            return None
        self.limited += 1
        return max(1, math.ceil(wait))

    def reset(self) -> None:
        self._buckets.clear()
        self.limited = 0
