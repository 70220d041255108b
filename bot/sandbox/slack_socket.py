"""Socket Mode side of the local Slack: WebSocket connections, envelopes out, acks back.

Slack sends each envelope to one of the app's open connections and expects an ack within 3 s; when
no connection is open it holds the envelope. Doing the same here is what lets tests prove that a bot
reconnects after a dropped socket or a `disconnect` without losing events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)


class AckTimeoutError(TimeoutError):
    """No ack arrived in time: usually no listener matched, or a listener never called `ack()`."""


class NoSocketError(TimeoutError):
    """No Socket Mode connection was open within the wait; the app never connected or did not reconnect."""


@dataclass
class AckRecord:
    envelope_id: str
    type: str
    latency: float
    payload: dict[str, Any]


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    closing: bool = False
    id: str = field(default_factory=lambda: secrets.token_hex(4))


class SocketHub:
    """Holds open Socket Mode connections and delivers envelopes round-robin."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.acks: list[AckRecord] = []
        self.connects = 0
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._changed = asyncio.Condition()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._next = 0

    @property
    def live(self) -> list[_Connection]:
        return [c for c in self._connections if not c.closing and not c.ws.closed]

    def issue_ticket(self) -> str:
        ticket = secrets.token_urlsafe(12)
        self._tickets.add(ticket)
        return ticket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)  # a Socket Mode URL is good for one connection, as on Slack
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _Connection(ws, request)
        await ws.send_str(json.dumps(self._hello()))
        async with self._changed:
            self._connections.append(conn)
            self.connects += 1
            self._changed.notify_all()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(msg.data)
        finally:
            async with self._changed:
                if conn in self._connections:
                    self._connections.remove(conn)
                self._changed.notify_all()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.live) + 1,
            "debug_info": {"host": "local-slack", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            log.warning("local slack: non-JSON socket message ignored")
            return
        future = self._pending.get(str(message.get("envelope_id", "")))
        if future is not None and not future.done():
            future.set_result(message.get("payload") or {})

    async def wait_for_connections(self, count: int = 1, timeout: float = 5.0) -> None:
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.live) >= count)

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError as exc:
            raise NoSocketError(f"expected {count} Socket Mode connection(s) within {timeout}s") from exc

    async def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = 3.0,
        socket_wait: float = 10.0,
        label: str = "",
    ) -> dict[str, Any]:
        """Send one envelope to one connection and return its ack payload ({} for a bare ack)."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        try:
            sent_at = await self._send(json.dumps(envelope), socket_wait)
            try:
                ack = await asyncio.wait_for(future, timeout)
            except TimeoutError as exc:
                raise AckTimeoutError(
                    f"no ack for {envelope_type} envelope {label or envelope_id} within {timeout}s: "
                    "is a listener registered for it, and does it call ack()?"
                ) from exc
            latency = time.perf_counter() - sent_at
            self.acks.append(AckRecord(envelope_id, envelope_type, latency, ack))
            return ack
        finally:
            self._pending.pop(envelope_id, None)

    async def _send(self, raw: str, socket_wait: float) -> float:
        deadline = time.monotonic() + socket_wait
        while True:
            live = self.live
            if not live:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NoSocketError(f"no Socket Mode connection open within {socket_wait}s")
                with contextlib.suppress(NoSocketError):
                    await self.wait_for_connections(1, remaining)
                continue
            conn = live[self._next % len(live)]
            self._next += 1
            try:
                await conn.ws.send_str(raw)
                return time.perf_counter()
            except (ConnectionError, RuntimeError):
                conn.closing = True

    async def drop_all(self) -> int:
        """Cut every connection without a close frame, like a network failure."""
        dropped = list(self._connections)
        for conn in dropped:
            conn.closing = True
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            else:
                await conn.ws.close()
        return len(dropped)

    async def send_disconnect(self, reason: str = "refresh_requested") -> int:
        """Slack's connection refresh: tell each app to reconnect, then stop using the old sockets."""
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "local-slack"}})
        sent = 0
        for conn in self.live:
            conn.closing = True
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.send_str(message)
                sent += 1
        return sent

    async def close(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        for conn in list(self._connections):
            conn.closing = True
            with contextlib.suppress(Exception):
                await conn.ws.close()
