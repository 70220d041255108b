"""Slack's published Web API rate limits, modelled by the local Slack server.

Without them the local server answers every call at once, so a burst benchmark says nothing about
real Slack. With them on, a call beyond its method's limit gets what Slack answers: HTTP 429,
`{"ok": false, "error": "ratelimited"}` and a `Retry-After` header with whole seconds to wait.

Sources (checked 2026-12):
- Tiers and their figures, "per API method per workspace per app", the 429 + Retry-After answer:
  https://docs.slack.dev/apis/web-api/rate-limits
  (Tier 1 "1+ per minute", Tier 2 "20+ per minute", Tier 3 "50+ per minute", Tier 4 "100+ per
  minute"; "chat.postMessage generally allows posting one message per second per channel, while also
  maintaining a workspace-wide limit"; "Posting messages: 1 per second, short bursts >1 allowed").
- Each method's tier is on its reference page, https://docs.slack.dev/reference/methods/<method>
  (e.g. https://docs.slack.dev/reference/methods/chat.update "Tier 3: 50+ per minute",
  https://docs.slack.dev/reference/methods/views.publish "Tier 4: 100+ per minute"), and the same
  table is kept by Slack's own SDK: slackapi/java-slack-sdk, `MethodsRateLimits.java`.

Each limit is a token bucket: a tier's bucket holds a minute's worth of calls (the "+" and the
tolerated bursts) and refills at the per-minute rate; chat.postMessage has one bucket per channel
refilling at 1/s with a small burst. Slack's workspace-wide posting limit has no published figure
and is not modelled. Methods not listed (auth.test, chat.getPermalink: "special", undocumented
figures) are not limited.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

RATES_ENV = "LOCAL_SLACK_RATE_LIMITS"

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}  # https://docs.slack.dev/apis/web-api/rate-limits

# method -> tier, from https://docs.slack.dev/reference/methods/<method> (and java-slack-sdk's table)
METHOD_TIERS: dict[str, int] = {
    "apps.connections.open": 1,
    "chat.update": 3,
    "chat.delete": 3,
    "chat.postEphemeral": 4,
    "conversations.open": 3,
    "conversations.info": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.members": 4,
    "users.info": 4,
    "users.lookupByEmail": 3,
    "users.list": 2,
    "reactions.add": 3,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}

# chat.postMessage: "one message per second per channel", "short bursts >1 allowed"
# (https://docs.slack.dev/apis/web-api/rate-limits). Slack publishes no burst size; 3 is the model's.
POST_MESSAGE_PER_SECOND = 1.0
POST_MESSAGE_BURST = 3
PER_CHANNEL_METHODS = frozenset({"chat.postMessage"})


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


@dataclass(frozen=True)
class Limit:
    capacity: float
    per_second: float


def limit_for(method: str) -> Limit | None:
    if method in PER_CHANNEL_METHODS:
        return Limit(POST_MESSAGE_BURST, POST_MESSAGE_PER_SECOND)
    tier = METHOD_TIERS.get(method)
    if tier is None:
        return None
    per_minute = TIER_PER_MINUTE[tier]
    return Limit(per_minute, per_minute / 60.0)


class RateModel:
    """Token buckets per (method) or (method, channel); `check` answers the Retry-After or None."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self.limited = 0  # 429s answered, for benchmarks

    def check(self, method: str, channel: str | None = None) -> int | None:
        """Count one call; return Retry-After seconds (a whole number >= 1) when it is over the limit."""
        limit = limit_for(method)
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
