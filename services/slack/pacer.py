"""Send at the rate Slack allows instead of collecting 429s: one token bucket per (method, channel).

One pacer is shared by the whole bot (every job and every handler goes through the gateway). A call
waits for a token of its bucket; waiters are served by priority, then in arrival order:

- `INTERACTIVE` (the default outside a job: a click's chat.update, an ephemeral, a modal),
- `PRIORITY_FIRST_CARD` (a meeting's parent card, `services.jobs`),
- `PRIORITY_NORMAL` (item replies, details, approvals, Home refreshes).

Buckets are per method (Slack's tiers are per method and workspace) and, for chat.postMessage, per
channel, so an ephemeral or a modal never waits behind a channel's bulk posts at all, and a click's
chat.update overtakes every queued bulk update. The pacer runs a little below Slack's published
figures (`services/slack/rate_limits.py`): one token less of burst and `MARGIN` (97 %) of the rate, so the
jitter between granting a token here and the request reaching Slack does not turn into a 429.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from services.jobs import current_job_priority
from services.slack.rate_limits import PER_CHANNEL_METHODS, Limit, limit_for

INTERACTIVE = 100
MARGIN = 0.97


def pacing_priority() -> int:
    """The priority of the code calling Slack now: its job's, or INTERACTIVE outside any job."""
    priority = current_job_priority()
    return INTERACTIVE if priority is None else priority


@dataclass
class _Key:
    capacity: float
    per_second: float
    tokens: float
    stamp: float
    waiters: list[tuple[int, int, asyncio.Future[None]]] = field(default_factory=list)
    drainer: asyncio.Task[None] | None = None

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now


class Pacer:
    """Token buckets with priority queues; `acquire` returns when the call may be sent."""

    def __init__(
        self, limits: Callable[[str], Limit | None] = limit_for, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.clock = clock
        self._keys: dict[tuple[str, str], _Key] = {}
        self._order = itertools.count()
        self.waited = 0  # calls that had to wait for a token (for benchmarks)

    def _key(self, method: str, channel: str | None) -> _Key | None:
        scope = (channel or "") if method in PER_CHANNEL_METHODS else ""
        key = self._keys.get((method, scope))
        if key is None:
            limit = self.limits(method)
            if limit is None:
                return None
            capacity = max(1.0, limit.capacity - 1)
            key = _Key(capacity, limit.per_second * MARGIN, capacity, self.clock())
            self._keys[(method, scope)] = key
        return key

    async def acquire(self, method: str, channel: str | None = None, priority: int | None = None) -> None:
        key = self._key(method, channel)
        if key is None:
            return
        key.refill(self.clock())
        if not key.waiters and key.tokens >= 1.0:
            key.tokens -= 1.0
            return
        self.waited += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        rank = -(pacing_priority() if priority is None else priority)
        heapq.heappush(key.waiters, (rank, next(self._order), future))
        if key.drainer is None or key.drainer.done():
            key.drainer = asyncio.create_task(self._drain(key), name=f"slack-pacer-{method}")
        await future  # a cancelled waiter is skipped by the drainer

    async def _drain(self, key: _Key) -> None:
        while key.waiters:
            key.refill(self.clock())
            if key.tokens < 1.0:
                await asyncio.sleep((1.0 - key.tokens) / key.per_second)
                continue
            while key.waiters:
                _rank, _order, future = heapq.heappop(key.waiters)
                if not future.done():
                    key.tokens -= 1.0
                    future.set_result(None)
                    break
