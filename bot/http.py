"""HTTP server (aiohttp, in the webhook intake's own process, bot/intake_process.py): Fathom webhooks,
health and metrics.

Slow clients are bounded here: a request's headers must arrive within `header_timeout` of the
connection opening (or of the previous response), its body within `body_timeout`, and at most
`max_connections` connections are open at once (the next one gets 503 and is closed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import text

from services import telemetry
from services.db import Database
from services.errors import describe
from services.webhook import SignatureError, WebhookIntake, verify_signature

log = logging.getLogger(__name__)

HealthProbe = Callable[[], Awaitable[dict[str, Any]]]
Exposition = Callable[[], Awaitable[tuple[bytes, str]]]  # /metrics: body and content type
Observe = Callable[[float, str], None]  # a webhook's ack seconds and outcome
WRITE_PROBE_TIMEOUT = 2.0  # seconds the health check waits for the database's write lock
PROBE_TIMEOUT = 3.0  # seconds any other health probe may take


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 256


@dataclass
class _Guard:
    """Open connections of one server: counts them and closes those that send no request in time."""

    limits: ConnectionLimits
    by_transport: dict[asyncio.BaseTransport, _GuardedProtocol] = field(default_factory=dict)

    @property
    def open_connections(self) -> int:
        return len(self.by_transport)


GUARD = web.AppKey("connection_guard", _Guard)

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b'Content-Length: 50\r\n\r\n{"ok": false, "error": "too many open connections"}'
)


class _GuardedProtocol(asyncio.Protocol):
    """Wraps aiohttp's protocol: refuses connections over the cap, arms the header timer while idle."""

    def __init__(self, guard: _Guard, inner: asyncio.Protocol) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.BaseTransport | None = None
        self.refused = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self.guard.open_connections >= self.guard.limits.max_connections:
            self.refused = True
            log.warning("webhook server: %d connections open, refusing one", self.guard.open_connections)
            transport.write(_BUSY)  # type: ignore[attr-defined]
            transport.close()
            return
        self.guard.by_transport[transport] = self
        self.waiting()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.refused:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self.refused else self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.in_request()
        if self.refused:
            return
        if self.transport is not None:
            self.guard.by_transport.pop(self.transport, None)
        self.inner.connection_lost(exc)

    def waiting(self) -> None:
        """No request in progress: the next one's headers must be complete within the timeout."""
        self.in_request()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.guard.limits.header_timeout, self._expire)

    def in_request(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            log.info("webhook server: closing a connection that sent no complete request in time")
            self.transport.close()


class _GuardedSite(web.TCPSite):
    """TCPSite whose connections go through `_GuardedProtocol` (aiohttp has no header timeout)."""

    def __init__(
        self, runner: web.AppRunner, host: str | None, port: int | None, guard: _Guard, sock: Any = None
    ) -> None:
        super().__init__(runner, host, port)
        self.guard = guard
        self.sock = sock  # a listening socket bound by someone else (the bot, for its intake process)

    async def start(self) -> None:
        self._runner._reg_site(self)  # what BaseSite.start does
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        factory = lambda: _GuardedProtocol(self.guard, server())  # noqa: E731
        if self.sock is not None:
            self._server = await loop.create_server(factory, sock=self.sock, backlog=self._backlog)
        else:
            self._server = await loop.create_server(factory, self._host, self._port, backlog=self._backlog)
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


def create_http_app(
    *,
    db: Database,
    intake: WebhookIntake,
    secrets: list[str],
    max_bytes: int,
    probes: dict[str, HealthProbe] | None = None,
    limits: ConnectionLimits | None = None,
    metrics: Exposition | None = None,  # default: this process's registry and the database's totals
    observe: Observe | None = None,  # default: this process's registry
) -> web.Application:
    guard = _Guard(limits or ConnectionLimits())
    record = observe or telemetry.record_webhook

    @web.middleware
    async def measure_webhooks(request: web.Request, handler: Any) -> web.StreamResponse:
        """Acknowledgement latency and outcome of every webhook, for /metrics."""
        if request.path != "/webhooks/fathom":
            return await handler(request)  # type: ignore[no-any-return]
        started = time.perf_counter()
        response: web.StreamResponse = await handler(request)
        body = getattr(response, "body", None)
        status = None
        if response.status in (200, 202) and isinstance(body, bytes):
            status = {"status": "duplicate" if b'"duplicate"' in body else "accepted"}
        record(time.perf_counter() - started, telemetry.webhook_outcome(response.status, status))
        return response

    @web.middleware
    async def request_started(request: web.Request, handler: Any) -> web.StreamResponse:
        protocol = guard.by_transport.get(request.transport) if request.transport else None
        if protocol is not None:
            protocol.in_request()  # headers are in: from here the body timeout applies
        try:
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            if protocol is not None and not protocol.refused:
                protocol.waiting()

    app = web.Application(client_max_size=max_bytes, middlewares=[request_started])
    app[GUARD] = guard
    probes = probes or {}
    started = time.monotonic()
    slow: dict[str, asyncio.Task[dict[str, Any]]] = {}  # probes still running after their timeout

    async def fathom_webhook(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > max_bytes:
            return _error(413, f"body over {max_bytes} bytes")
        try:
            body = await asyncio.wait_for(request.read(), guard.limits.body_timeout)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"body over {max_bytes} bytes")
        except TimeoutError:
            log.warning("webhook body not received within %.0f s: closing", guard.limits.body_timeout)
            response = _error(408, f"body not received within {guard.limits.body_timeout:g} s")
            response.force_close()
            await response.prepare(request)
            await response.write_eof()
            if request.transport is not None:  # aiohttp would linger reading the rest of the body
                request.transport.close()
            return response
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:  # cannot be verified (Standard Webhooks signs text) nor be JSON
            return _error(400, "body is not UTF-8 JSON")
        try:
            webhook_id = verify_signature(secrets, body, dict(request.headers))
        except SignatureError as exc:
            log.warning("webhook signature rejected: %s", exc)
            return _error(401, str(exc))
        try:
            receipt = await intake.receive(webhook_id, body)
        except Exception as exc:  # storage down or read-only: Fathom should retry later
            log.exception("webhook could not be stored")
            return _error(503, f"cannot store the delivery now ({type(exc).__name__}); retry later")
        if receipt.status == "rejected":
            return _error(400, receipt.reason or "rejected")
        return web.json_response(
            {"ok": True, "status": receipt.status, "recording_id": receipt.recording_id},
            status=202 if receipt.status == "accepted" else 200,
        )

    async def healthz(_request: web.Request) -> web.Response:
        report: dict[str, Any] = {"uptime_s": round(time.monotonic() - started, 1)}
        reasons: list[str] = []
        try:
            await probe_write(db)  # also proves the database answers reads
            report["database"] = {"ok": True, "writable": True, "dialect": db.engine.dialect.name}
        except Exception as exc:
            reason = describe(exc)
            report["database"] = {"ok": False, "error": type(exc).__name__, "reason": reason}
            reasons.append(f"database: {reason}")
        for name, probe in probes.items():
            report[name] = await _run_probe(name, probe, slow)
            if not report[name].get("ok", True):
                reasons.append(
                    f"{name}: {report[name].get('reason') or report[name].get('error', 'failing')}"
                )
        report["ok"] = not reasons
        if reasons:
            report["reasons"] = reasons
        return web.json_response(report, status=200 if not reasons else 503)

    app.router.add_post("/webhooks/fathom", fathom_webhook)
    app.router.add_get("/healthz", healthz)
    app.middlewares.append(measure_webhooks)

    async def metrics_page(_request: web.Request) -> web.Response:
        try:
            body, content_type = await (metrics() if metrics is not None else telemetry.exposition(db))
        except Exception as exc:  # the bot's process did not answer (stalled or restarting)
            return _error(503, f"metrics unavailable ({type(exc).__name__})")
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/metrics", metrics_page)
    return app


async def _run_probe(
    name: str, probe: HealthProbe, slow: dict[str, asyncio.Task[dict[str, Any]]]
) -> dict[str, Any]:
    """Run one probe for at most PROBE_TIMEOUT without waiting for it to unwind.

    A probe reading a write-locked SQLite file waits out the 30 s busy timeout, and cancelling it
    would wait just as long; it is left to finish in the background, one at a time per probe.
    """
    running = slow.get(name)
    if running is not None and not running.done():
        return {"ok": False, "reason": "the previous check has not answered yet"}
    task = asyncio.ensure_future(probe())
    done, _ = await asyncio.wait({task}, timeout=PROBE_TIMEOUT)
    if not done:
        slow[name] = task
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved: no warning
        return {"ok": False, "reason": f"no answer within {PROBE_TIMEOUT:g} s"}
    try:
        return task.result()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__, "reason": describe(exc)}


async def probe_write(db: Database, timeout: float = WRITE_PROBE_TIMEOUT) -> None:
    """Prove a write could be committed now (then roll it back); raises when it could not.

    A read answers on a read-only or write-locked database, and so would a plain SELECT health check
    while every webhook fails. The probe takes the write lock for an instant and writes nothing.
    """
    if db.is_sqlite:
        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            async with raw.execute("PRAGMA busy_timeout") as cursor:
                row = await cursor.fetchone()
            previous = int(row[0]) if row else 30000  # the intake's engine uses a short one
            await raw.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            try:
                await raw.execute("BEGIN IMMEDIATE")  # waits at most `timeout` for the write lock
                try:
                    await raw.execute("UPDATE jobs SET id = id WHERE 0")  # fails on a read-only file
                finally:
                    await raw.execute("ROLLBACK")
            finally:
                await raw.execute(f"PRAGMA busy_timeout={previous}")
        return
    async with db.engine.connect() as conn:
        trans = await conn.begin()
        try:
            ms = int(timeout * 1000)
            await conn.execute(text(f"SET LOCAL lock_timeout = {ms}"))
            await conn.execute(text(f"SET LOCAL statement_timeout = {ms}"))
            await conn.execute(text("UPDATE jobs SET id = id WHERE false"))  # refused when read-only
        finally:
            await trans.rollback()


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


async def start_site(
    app: web.Application, host: str | None = None, port: int | None = None, *, sock: Any = None
) -> tuple[web.AppRunner, int]:
    """Start serving on host:port (port 0 picks a free one) or on a listening `sock`; returns the
    runner and the bound port."""
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=app[GUARD].limits.header_timeout)
    await runner.setup()
    site = _GuardedSite(runner, host, port, app[GUARD], sock)
    await site.start()
    return runner, site.port
