"""Slack's published Web API rate limits: one table for the bot's pacer and the local Slack server.

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

A limit is a token bucket: a tier's bucket holds a minute's worth of calls (the "+" and the
tolerated bursts) and refills at the per-minute rate; chat.postMessage has one bucket per channel
refilling at 1/s with a small burst. Slack's workspace-wide posting limit has no published figure and
is not modelled. Methods not listed (auth.test, chat.getPermalink: "special", no published figure)
are not limited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


def scaled(limits: Callable[[str], Limit | None], factor: float) -> Callable[[str], Limit | None]:
    """The same limits `factor` times faster (same bursts): lets tests run Slack's shape in seconds."""

    def faster(method: str) -> Limit | None:
        limit = limits(method)
        return None if limit is None else Limit(limit.capacity, limit.per_second * factor)

    return faster
