"""A local stand-in for Fathom's External API: `GET /external/v1/meetings` as Fathom answers it.

The real query parameters (created_after, created_before, cursor, include_transcript,
include_summary, include_action_items, include_crm_matches, include_highlights,
calendar_invitees_domains[], calendar_invitees_domains_type, recorded_by[], teams[], meeting_type),
opaque cursors, the `{limit, next_cursor, items}` page, the `X-Api-Key` header, per-key visibility
(a key sees the meetings of its owner and those shared with all teams), and a per-key rate limit
answered with 429 and Retry-After. Pages are validated against the `fathom-python` models in tests.
"""

from __future__ import annotations

import base64
import collections
import copy
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox._standin import Server

BASE_PATH = "/external/v1"

# fields the fathom-python `Meeting` model requires; filled in when a stored meeting lacks them
_REQUIRED_DEFAULTS: dict[str, Any] = {
    "meeting_title": None,
    "meeting_type": None,
    "calendar_invitees_domains_type": "only_internal",
    "shared_with": "all_teams",
    "transcript_language": "en",
    "calendar_invitees": [],
}
_INCLUDES = {
    "include_transcript": "transcript",
    "include_summary": "default_summary",
    "include_action_items": "action_items",
    "include_crm_matches": "crm_matches",
    "include_highlights": "highlights",
}


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bool(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise web.HTTPBadRequest(
        text=json.dumps({"error": f"{name} must be true or false"}), content_type="application/json"
    )


class FathomStandIn(Server):
    """Meetings in memory; `owners` maps an API key to its user's e-mail (None: the key sees all)."""

    def __init__(
        self,
        *,
        page_size: int = 10,
        limit: int = 60,
        window_seconds: float = 60.0,
        owners: dict[str, str | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.page_size = page_size
        self.limit, self.window, self.clock = limit, window_seconds, clock
        self.owners: dict[str, str | None] = owners if owners is not None else {"fathom-test-key": None}
        self._meetings: dict[int, dict[str, Any]] = {}
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._forced_429: list[float] = []
        self.calls = 0
        self.throttled = 0
        self.requests: list[dict[str, str]] = []  # query of every request, for tests

    # -- data ------------------------------------------------------------------------------------
    def add(self, meeting: dict[str, Any]) -> None:
        item = copy.deepcopy(meeting)
        rid = int(item["recording_id"])
        for name, default in _REQUIRED_DEFAULTS.items():
            item.setdefault(name, copy.deepcopy(default))
        created = item.get("created_at") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        item["created_at"] = created
        for name in ("scheduled_start_time", "scheduled_end_time", "recording_start_time"):
            item.setdefault(name, created)
        item.setdefault("recording_end_time", created)
        item.setdefault("url", f"https://fathom.video/calls/{rid}")
        item.setdefault("share_url", f"https://fathom.video/share/{rid}")
        item.setdefault("recorded_by", {"name": "Maya Chen", "email": "maya@agency.example"})
        item["recorded_by"].setdefault("email_domain", item["recorded_by"].get("email", "@").split("@")[1])
        item["recorded_by"].setdefault("team", None)
        item["recorded_by"].setdefault("name", item["recorded_by"].get("email"))
        self._meetings[rid] = item

    def force_429(self, count: int = 1, retry_after: float = 1.0) -> None:
        """The next `count` requests get 429 with this Retry-After, whatever the window says."""
        self._forced_429.extend([retry_after] * count)

    # -- server ----------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.base_url + BASE_PATH

    def routes(self, app: web.Application) -> None:
        app.router.add_get(f"{BASE_PATH}/meetings", self._list)

    def _throttle(self, key: str) -> web.Response | None:
        now = self.clock()
        calls = self._calls[key]
        while calls and calls[0] <= now - self.window:
            calls.popleft()
        retry_after: float | None = None
        if self._forced_429:
            retry_after = self._forced_429.pop(0)
        elif len(calls) >= self.limit:
            retry_after = calls[0] + self.window - now
        if retry_after is None:
            calls.append(now)
            return None
        self.throttled += 1
        # whole seconds as Fathom sends them; a scaled clock (window < 60 s) keeps the fraction
        header = str(math.ceil(retry_after)) if self.window >= 60 else f"{max(retry_after, 0.001):.3f}"
        return web.json_response(
            {"error": "rate limit exceeded"}, status=429, headers={"Retry-After": header}
        )

    async def _list(self, request: web.Request) -> web.Response:
        self.calls += 1
        key = request.headers.get("X-Api-Key", "")
        if key not in self.owners:
            return web.json_response({"error": "invalid API key"}, status=401)
        if (limited := self._throttle(key)) is not None:
            return limited
        query = request.query
        self.requests.append(dict(query))
        try:
            after = _parse_time(query["created_after"]) if "created_after" in query else None
            before = _parse_time(query["created_before"]) if "created_before" in query else None
        except ValueError:
            return web.json_response({"error": "created_after/created_before: ISO 8601 expected"}, status=400)
        includes = {field for name, field in _INCLUDES.items() if _bool(query.get(name), name)}
        owner = self.owners[key]
        domains = set(query.getall("calendar_invitees_domains[]", []))
        domains_type = query.get("calendar_invitees_domains_type", "all")
        recorded_by = set(query.getall("recorded_by[]", []))
        teams = set(query.getall("teams[]", []))
        meeting_type = query.get("meeting_type")

        def visible(m: dict[str, Any]) -> bool:
            created = _parse_time(m["created_at"])
            if after and created <= after or before and created >= before:
                return False
            if (
                owner is not None
                and m["recorded_by"].get("email") != owner
                and m["shared_with"] == "no_teams"
            ):
                return False
            if domains and not domains & {i.get("email_domain") for i in m["calendar_invitees"]}:
                return False
            if domains_type != "all" and m["calendar_invitees_domains_type"] != domains_type:
                return False
            if recorded_by and m["recorded_by"].get("email") not in recorded_by:
                return False
            if teams and m["recorded_by"].get("team") not in teams:
                return False
            return not (meeting_type and m.get("meeting_type") != meeting_type)

        # newest first, as Fathom lists them; ties by recording_id so cursors are stable
        matching = sorted(
            (m for m in self._meetings.values() if visible(m)),
            key=lambda m: (_parse_time(m["created_at"]), m["recording_id"]),
            reverse=True,
        )
        signature = json.dumps(sorted(query.items()), default=str)
        offset = 0
        if cursor := query.get("cursor"):
            try:
                state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
                offset = int(state["o"])
            except (ValueError, KeyError, TypeError):
                return web.json_response({"error": "invalid cursor"}, status=400)
        page = matching[offset : offset + self.page_size]
        next_cursor = None
        if offset + self.page_size < len(matching):
            next_cursor = base64.urlsafe_b64encode(
                json.dumps({"o": offset + self.page_size, "q": hash(signature) & 0xFFFF}).encode()
            ).decode()
        items = []
        for m in page:
            item = {k: v for k, v in m.items() if k not in _INCLUDES.values()}
            for fld in includes:
                item[fld] = m.get(fld)  # serialised at once: no copy needed
            items.append(item)
        return web.json_response({"limit": self.page_size, "next_cursor": next_cursor, "items": items})
