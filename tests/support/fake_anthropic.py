"""A local stand-in for the Anthropic Messages API (`POST /v1/messages`), for the real SDK to talk to.

Scriptable per test: queue replies (`enqueue`), or set `responder(request_json) -> Reply`; with
neither it answers a small valid `MeetingAnalysis` built from the request. Every request is
recorded (model, system blocks, messages, headers) so tests assert on what was really sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_ids = itertools.count(1)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON; str -> sent as-is (for broken bodies)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class RecordedRequest:
    model: str
    system: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def api_key(self) -> str:
        """The key as sent: `x-api-key` (the documented header) or `Authorization: Bearer` (SDK 2.x)."""
        return self.headers.get("x-api-key") or self.headers.get("authorization", "").removeprefix("Bearer ")

    @property
    def user_text(self) -> str:
        content = self.messages[0]["content"] if self.messages else ""
        if isinstance(content, str):
            return content
        return "".join(block.get("text", "") for block in content)


def usage(
    input_tokens: int = 1200, output_tokens: int = 300, cache_creation: int = 0, cache_read: int = 0
) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
    }


def message_reply(
    text: str,
    *,
    model: str = "claude-sonnet-4-6",
    stop_reason: str = "end_turn",
    use: dict[str, int] | None = None,
) -> Reply:
    body = {
        "id": f"msg_fake_{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": use or usage(),
    }
    return Reply(body=body, headers={"request-id": body["id"].replace("msg", "req")})


def analysis_reply(analysis: dict[str, Any], **kwargs: Any) -> Reply:
    return message_reply(json.dumps(analysis), **kwargs)


def error_reply(status: int, kind: str, message: str = "fake error", *, retry_after_ms: int = 1) -> Reply:
    """An API error as Anthropic sends it; a 1 ms retry-after keeps the SDK's own retry fast."""
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Reply(status=status, body=body, headers={"retry-after-ms": str(retry_after_ms)})


def overloaded() -> Reply:
    return error_reply(529, "overloaded_error", "Overloaded")


def rate_limited() -> Reply:
    return error_reply(
        429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
    )


def server_error() -> Reply:
    return error_reply(500, "api_error", "Internal server error")


def malformed_json_reply(**kwargs: Any) -> Reply:
    return message_reply('{"types": [{"type": "client", "confidence": 0.9}], "summary_one_li', **kwargs)


def invalid_schema_reply(**kwargs: Any) -> Reply:
    return message_reply(json.dumps({"types": [{"type": "banana", "confidence": 7}], "summary": 3}), **kwargs)


def default_analysis(request: dict[str, Any]) -> dict[str, Any]:
    """A small valid analysis echoing the meeting title and the part number from the prompt."""
    content = request.get("messages", [{}])[0].get("content", "")
    text = content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
    title = (re.search(r"^# Meeting: (.+)$", text, re.M) or [None, "the meeting"])[1]
    part = re.search(r"\(part (\d+) of (\d+)\)", text)
    tag = f" part {part.group(1)}" if part else ""
    first = re.search(r"^\[(\d\d:\d\d:\d\d)\] [^:]+: (.+)$", text, re.M)
    first_ts, first_words = (first[1], " ".join(first[2].split()[:8])) if first else ("00:00:00", "the start")
    return {
        "types": [{"type": "client", "confidence": 0.8}, {"type": "other", "confidence": 0.2}],
        "summary_one_line": f"Fake analysis of {title}{tag}",
        "summary": f"- Fake summary of {title}{tag}",
        "action_items": [
            {
                "text": "Send the follow-up notes to everyone",
                "owner_name": "Maya Chen",
                "priority": "important",
            },
            {"text": f"Follow up on: {first_words}", "source_timestamp": first_ts},
        ],
        "decisions": [{"what": "Go ahead with the agreed plan"}],
        "risks": [],
        "requirements": [],
        "budget": [],
        "timeline": [],
        "stakeholders": [{"name": "Maya Chen", "email": "maya@agency.example"}],
        "roadmap_ideas": [],
        "os_updates": [],
    }


class FakeAnthropic:
    """Use as `async with FakeAnthropic() as server:` then `AsyncAnthropic(base_url=server.url)`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.replies: deque[Reply | Callable[[dict[str, Any]], Reply]] = deque()
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.in_flight = 0
        self.clients: list[Any] = []  # SDK clients a test made; closed with the server, before the loop ends
        self.max_in_flight = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    def enqueue(self, *replies: Reply | Callable[[dict[str, Any]], Reply]) -> None:
        self.replies.extend(replies)

    async def __aenter__(self) -> FakeAnthropic:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not (request.headers.get("x-api-key") or bearer) or not request.headers.get("anthropic-version"):
            return web.json_response(
                {"type": "error", "error": {"type": "authentication_error", "message": "missing key"}},
                status=401,
            )
        body = await request.json()
        system = body.get("system") or []
        if isinstance(system, str):
            system = [{"type": "text", "text": system}]
        self.requests.append(
            RecordedRequest(
                model=body.get("model", ""),
                system=system,
                messages=body.get("messages", []),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self._next_reply(body)
            if reply.delay:
                await asyncio.sleep(reply.delay)
        finally:
            self.in_flight -= 1
        if reply.status == 200 and isinstance(reply.body, dict) and reply.body.get("type") == "message":
            reply.body["model"] = body.get("model", reply.body["model"])
        if isinstance(reply.body, str):
            return web.Response(
                status=reply.status, text=reply.body, headers=reply.headers, content_type="application/json"
            )
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        if self.replies:
            item = self.replies.popleft()
            return item(body) if callable(item) else item
        if self.responder is not None:
            return self.responder(body)
        return analysis_reply(default_analysis(body))
