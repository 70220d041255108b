"""A local stand-in for the Anthropic Messages API, for the real SDK to talk to.

`POST /v1/messages`, and the Message Batches endpoints (`POST /v1/messages/batches`,
`GET /v1/messages/batches/{id}`, `GET /v1/messages/batches/{id}/results` as JSONL) with the real
request and response shapes. Scriptable per test: queue replies (`enqueue`), or set
`responder(request_json) -> Reply`; with neither it answers a small valid analysis built from the
request (quoting real transcript lines as evidence), or a merge result for a merge request. Usage
of default answers is estimated from the request (4 characters a token) so costs are meaningful.
Every request, batched or not, is recorded (model, system blocks, messages, headers).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    batch_id: str | None = None

    @property
    def system_text(self) -> str:
        return "".join(block.get("text", "") for block in self.system)

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


_LINE = re.compile(r"^\[(\d+(?::\d\d){1,2})\] ([^:]+): (.+)$", re.M)


def _request_text(request: dict[str, Any]) -> str:
    content = request.get("messages", [{}])[0].get("content", "")
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def _long(stamp: str) -> str:
    parts = [int(p) for p in stamp.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return "{:02d}:{:02d}:{:02d}".format(*parts)


def default_analysis(request: dict[str, Any]) -> dict[str, Any]:
    """A small valid analysis echoing the title and part number, quoting real transcript lines."""
    text = _request_text(request)
    title = (re.search(r"^# Meeting: (.+)$", text, re.M) or [None, "the meeting"])[1]
    part = re.search(r"\(part (\d+) of (\d+)\)", text)
    tag = f" part {part.group(1)}" if part else ""
    lines = _LINE.findall(text)
    first = lines[0] if lines else ("00:00:00", "A", "the start")
    last = lines[-1] if lines else first
    middle = lines[len(lines) // 2] if lines else first
    first_words = " ".join(first[2].split()[:8])

    def quote(line: tuple[str, str, str]) -> str:
        return " ".join(line[2].split()[:12])

    return {
        "types": [{"type": "client", "confidence": 0.8}, {"type": "other", "confidence": 0.2}],
        "summary_one_line": f"Fake analysis of {title}{tag}",
        "summary": f"- Fake summary of {title}{tag}",
        "action_items": [
            {
                "text": "Send the follow-up notes to everyone",
                "owner": "Maya Chen",
                "owner_email": None,
                "due_date": None,
                "priority": "important",
                "evidence": quote(last) if lines else None,
                "source_timestamp": _long(last[0]),
                "source": "analysis",
            },
            {
                "text": f"Follow up on: {first_words}",
                "owner": None,
                "owner_email": None,
                "due_date": None,
                "priority": "important",
                "evidence": quote(first) if lines else None,
                "source_timestamp": _long(first[0]),
                "source": "analysis",
            },
        ],
        "decisions": [
            {
                "what": "Go ahead with the agreed plan",
                "why": None,
                "status": "made",
                "owner": None,
                "evidence": quote(middle) if lines else None,
                "source_timestamp": _long(middle[0]),
            }
        ],
        "risks": [],
        "requirements": [],
        "budget": [],
        "timeline": [],
        "stakeholders": [
            {"name": "Maya Chen", "email": "maya@agency.example", "organisation": None, "role": None}
        ],
        "roadmap_ideas": [],
        "section_changes": [],
    }


def default_merge(request: dict[str, Any]) -> dict[str, Any]:
    text = _request_text(request)
    title = (re.search(r"^# Meeting: (.+)$", text, re.M) or [None, "the meeting"])[1]
    parts = len(re.findall(r"^## Part \d+", text, re.M))
    return {
        "types": [{"type": "client", "confidence": 0.8}],
        "summary_one_line": f"Fake merged analysis of {title} ({parts} parts)",
        "summary": f"- Fake merged summary of {title}",
    }


def is_merge(request: dict[str, Any]) -> bool:
    system = request.get("system") or []
    text = system if isinstance(system, str) else "".join(b.get("text", "") for b in system)
    return text.startswith("You merge")


def estimated_usage(request: dict[str, Any], answer: str) -> dict[str, int]:
    """What the request would cost at 4 characters a token (system, messages and output schema)."""
    sent = json.dumps(request.get("system") or "") + json.dumps(request.get("messages") or [])
    sent += json.dumps(request.get("output_config") or {})
    return usage(len(sent) // 4, len(answer) // 4)


def default_reply(request: dict[str, Any]) -> Reply:
    answer = json.dumps(default_merge(request) if is_merge(request) else default_analysis(request))
    return message_reply(answer, use=estimated_usage(request, answer))


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
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_results: dict[str, list[dict[str, Any]]] = {}
        self.polls_until_ended = 1  # retrieves answered "in_progress" before a batch has ended

    def enqueue(self, *replies: Reply | Callable[[dict[str, Any]], Reply]) -> None:
        self.replies.extend(replies)

    async def __aenter__(self) -> FakeAnthropic:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/batches", self._create_batch)
        app.router.add_get("/v1/messages/batches/{batch_id}", self._retrieve_batch)
        app.router.add_get("/v1/messages/batches/{batch_id}/results", self._batch_results)
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

    @staticmethod
    def _unauthorised(request: web.Request) -> web.Response | None:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not (request.headers.get("x-api-key") or bearer) or not request.headers.get("anthropic-version"):
            return web.json_response(
                {"type": "error", "error": {"type": "authentication_error", "message": "missing key"}},
                status=401,
            )
        return None

    def _record(self, body: dict[str, Any], request: web.Request, batch_id: str | None = None) -> None:
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
                batch_id=batch_id,
            )
        )

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorised(request)) is not None:
            return denied
        body = await request.json()
        self._record(body, request)
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
        return default_reply(body)

    # --- Message Batches ---------------------------------------------------------------------

    def _batch_object(self, batch_id: str) -> dict[str, Any]:
        state = self.batches[batch_id]
        ended = state["polls"] >= self.polls_until_ended
        results = self.batch_results[batch_id]
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for line in results:
            counts[line["result"]["type"] if ended else "processing"] += 1
        now = datetime.now(UTC)
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "ended_at": now.isoformat() if ended else None,
            "created_at": state["created_at"],
            "expires_at": (now + timedelta(hours=24)).isoformat(),
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch_id}/results" if ended else None,
        }

    async def _create_batch(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorised(request)) is not None:
            return denied
        body = await request.json()
        batch_id = f"msgbatch_fake_{next(_ids):06d}"
        lines = []
        for entry in body.get("requests", []):
            params = entry["params"]
            self._record(params, request, batch_id)
            reply = self._next_reply(params)
            if reply.status == 200 and isinstance(reply.body, dict):
                reply.body["model"] = params.get("model", reply.body.get("model"))
                result: dict[str, Any] = {"type": "succeeded", "message": reply.body}
            elif reply.status == 200:
                result = {
                    "type": "errored",
                    "error": {"type": "error", "error": {"type": "api_error", "message": "bad body"}},
                }
            else:
                result = {"type": "errored", "error": reply.body}
            lines.append({"custom_id": entry["custom_id"], "result": result})
        self.batches[batch_id] = {"polls": 0, "created_at": datetime.now(UTC).isoformat()}
        self.batch_results[batch_id] = lines
        return web.json_response(self._batch_object(batch_id))

    async def _retrieve_batch(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorised(request)) is not None:
            return denied
        batch_id = request.match_info["batch_id"]
        if batch_id not in self.batches:
            return web.json_response(
                {"type": "error", "error": {"type": "not_found_error", "message": "no such batch"}},
                status=404,
            )
        self.batches[batch_id]["polls"] += 1
        return web.json_response(self._batch_object(batch_id))

    async def _batch_results(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._unauthorised(request)) is not None:
            return denied
        batch_id = request.match_info["batch_id"]
        if batch_id not in self.batches:
            return web.json_response(
                {"type": "error", "error": {"type": "not_found_error", "message": "no such batch"}},
                status=404,
            )
        text = "".join(json.dumps(line) + "\n" for line in self.batch_results[batch_id])
        return web.Response(text=text, content_type="application/binary")
