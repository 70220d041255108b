"""Fathom External API client: list meetings for reconciliation, backfill and polling mode.

httpx rather than the official `fathom-python` SDK (0.0.43, evaluated): the SDK parses each meeting
into strict models (a meeting missing one "required" field such as `share_url` fails the whole
page) and re-serialising them loses the raw body the pipeline stores and unknown fields Fathom adds;
its retry on 429 sleeps per request and cannot share one Retry-After window with the other callers
of a key, nor pace below the limit; and it pulls `requests` and `svix` in as runtime dependencies.
Its models remain the reference: the tests validate the local stand-in's pages against them.

Fathom allows 60 calls a minute per user (API keys are per user): each key gets its own pacer, a
sliding window that waits instead of collecting 429s; a 429's Retry-After blocks that key's
window for every caller. Several keys (each user sees only their own and shared meetings) are
merged by `recording_id`.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.fathom.ai/external/v1"
CALLS_PER_MINUTE = 60
MAX_RATE_WAIT = 300.0  # seconds of Retry-After one listing accepts before giving up


class FathomAPIError(Exception):
    """The API refused or failed; the message says which key (by owner) and why."""


@dataclass(frozen=True)
class ApiKey:
    owner: str  # label only (an e-mail or a name), never sent
    key: str = field(repr=False)


def parse_keys(single: str | None, several: str | None) -> list[ApiKey]:
    """`FATHOM_API_KEY` plus `FATHOM_API_KEYS` ("owner=key,owner=key" or bare keys); no duplicates."""
    out: dict[str, ApiKey] = {}
    if single and single.strip():
        out[single.strip()] = ApiKey("default", single.strip())
    for n, part in enumerate((several or "").split(","), start=1):
        part = part.strip()
        if not part:
            continue
        owner, sep, key = part.partition("=")
        owner, key = (owner.strip(), key.strip()) if sep else (f"key{n}", owner.strip())
        if not key or not owner:
            raise ValueError("FATHOM_API_KEYS: each entry is owner=key (or a bare key)")
        out.setdefault(key, ApiKey(owner, key))
    return list(out.values())


class Pacer:
    """At most `limit` calls per `window` seconds for one key, plus a shared Retry-After block.

    `clock`/`sleep` are injectable so the bench can run a scaled minute.
    """

    def __init__(
        self,
        limit: int = CALLS_PER_MINUTE,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limit, self.window, self.clock, self.sleep = limit, window, clock, sleep
        self._calls: collections.deque[float] = collections.deque()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self.waited = 0.0

    def block(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, self.clock() + seconds)

    async def acquire(self) -> None:
        async with self._lock:  # callers of one key queue here: the window is theirs together
            while True:
                now = self.clock()
                while self._calls and self._calls[0] <= now - self.window:
                    self._calls.popleft()
                wait = self._blocked_until - now
                if len(self._calls) >= self.limit:
                    # 1% margin: the server starts its window when the request arrives, a bit later
                    wait = max(wait, self._calls[0] + self.window * 1.01 - now)
                if wait <= 0:
                    self._calls.append(now)
                    return
                self.waited += wait
                await self.sleep(wait)


@dataclass(frozen=True)
class MeetingPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def retry_after_seconds(value: str | None, default: float = 60.0) -> float:
    """Retry-After as seconds (a number, or an HTTP date); absent or junk -> `default`."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FathomAPI:
    def __init__(
        self,
        base_url: str,
        keys: list[ApiKey],
        *,
        calls_per_minute: int = CALLS_PER_MINUTE,
        window_seconds: float = 60.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_rate_wait: float = MAX_RATE_WAIT,
        timeout: float = 30.0,
    ) -> None:
        if not keys:
            raise ValueError("FathomAPI needs at least one API key")
        self.base_url = base_url.rstrip("/")
        self.keys = keys
        self.pacers = {k.key: Pacer(calls_per_minute, window_seconds, clock, sleep) for k in keys}
        self.sleep = sleep
        self.max_rate_wait = max_rate_wait
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self.calls = 0
        self.rate_limited = 0  # 429s received (each honoured)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def list_meetings(
        self,
        key: ApiKey,
        *,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        cursor: str | None = None,
        include_transcript: bool = True,
        include_summary: bool = True,
        include_action_items: bool = True,
        include_crm_matches: bool = False,
    ) -> MeetingPage:
        """One page of `GET /meetings`; paced; a 429 waits its Retry-After and tries again."""
        params: dict[str, str] = {
            "include_transcript": _flag(include_transcript),
            "include_summary": _flag(include_summary),
            "include_action_items": _flag(include_action_items),
            "include_crm_matches": _flag(include_crm_matches),
        }
        if created_after is not None:
            params["created_after"] = iso(created_after)
        if created_before is not None:
            params["created_before"] = iso(created_before)
        if cursor:
            params["cursor"] = cursor
        pacer = self.pacers[key.key]
        waited, server_errors = 0.0, 0
        while True:
            await pacer.acquire()
            self.calls += 1
            try:
                response = await self._client.get(
                    f"{self.base_url}/meetings", params=params, headers={"X-Api-Key": key.key}
                )
            except httpx.HTTPError as exc:
                server_errors += 1
                if server_errors > 3:
                    raise FathomAPIError(f"Fathom API unreachable ({type(exc).__name__})") from None
                await self.sleep(2.0**server_errors)
                continue
            if response.status_code == 429:
                self.rate_limited += 1
                delay = retry_after_seconds(response.headers.get("retry-after"))
                waited += delay
                if waited > self.max_rate_wait:
                    raise FathomAPIError(f"Fathom API rate limit for {key.owner}: waited {waited:.0f} s")
                log.info("Fathom API 429 for %s: waiting %.1f s", key.owner, delay)
                pacer.block(delay)
                continue
            if response.status_code >= 500:
                server_errors += 1
                if server_errors > 3:
                    raise FathomAPIError(f"Fathom API error {response.status_code} for {key.owner}")
                await self.sleep(2.0**server_errors)
                continue
            if response.status_code in (401, 403):
                raise FathomAPIError(
                    f"Fathom API key of {key.owner} was refused ({response.status_code}): "
                    "create a new key in Fathom's settings (API Access)"
                )
            if response.status_code != 200:
                raise FathomAPIError(
                    f"Fathom API answered {response.status_code} for {key.owner}: {response.text[:200]}"
                )
            return _page(response, key)

    async def meetings(
        self,
        *,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        cursors: dict[str, str | None] | None = None,
        on_page: Callable[[ApiKey, str | None], Awaitable[None]] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every meeting visible to any key, each `recording_id` once (the first key that sees it).

        `cursors` (owner -> cursor) resumes a listing; `on_page(key, next_cursor)` is called after a
        page's meetings were yielded, so a caller can store where to resume. An owner whose cursor
        is stored as None had finished.
        """
        seen: set[int] = set()
        for key in self.keys:
            cursor = (cursors or {}).get(key.owner)
            if cursors is not None and key.owner in cursors and cursor is None:
                continue  # this key's listing had finished before the interruption
            while True:
                page = await self.list_meetings(
                    key, created_after=created_after, created_before=created_before, cursor=cursor
                )
                for item in page.items:
                    rid = item.get("recording_id")
                    if isinstance(rid, int) and rid not in seen:
                        seen.add(rid)
                        yield item
                if on_page is not None:
                    await on_page(key, page.next_cursor)
                if not page.next_cursor:
                    break
                cursor = page.next_cursor


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _page(response: httpx.Response, key: ApiKey) -> MeetingPage:
    try:
        data = response.json()
    except ValueError:
        raise FathomAPIError(f"Fathom API sent a page that is not JSON ({key.owner})") from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise FathomAPIError(f"Fathom API page without items ({key.owner})")
    cursor = data.get("next_cursor")
    return MeetingPage(
        [i for i in items if isinstance(i, dict)], cursor if isinstance(cursor, str) and cursor else None
    )
