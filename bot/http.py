"""HTTP server (aiohttp, same event loop as Bolt and the workers): Fathom webhooks and health."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import text

from services.db import Database
from services.webhook import SignatureError, WebhookIntake, verify_signature

log = logging.getLogger(__name__)

HealthProbe = Callable[[], Awaitable[dict[str, Any]]]


def create_http_app(
    *,
    db: Database,
    intake: WebhookIntake,
    secrets: list[str],
    max_bytes: int,
    probes: dict[str, HealthProbe] | None = None,
) -> web.Application:
    app = web.Application(client_max_size=max_bytes)
    probes = probes or {}
    started = time.monotonic()

    async def fathom_webhook(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > max_bytes:
            return _error(413, f"body over {max_bytes} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"body over {max_bytes} bytes")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:  # cannot be verified (Standard Webhooks signs text) nor be JSON
            return _error(400, "body is not UTF-8 JSON")
        try:
            webhook_id = verify_signature(secrets, body, dict(request.headers))
        except SignatureError as exc:
            log.warning("webhook signature rejected: %s", exc)
            return _error(401, str(exc))
        receipt = await intake.receive(webhook_id, body)
        if receipt.status == "rejected":
            return _error(400, receipt.reason or "rejected")
        return web.json_response(
            {"ok": True, "status": receipt.status, "recording_id": receipt.recording_id},
            status=202 if receipt.status == "accepted" else 200,
        )

    async def healthz(_request: web.Request) -> web.Response:
        report: dict[str, Any] = {"uptime_s": round(time.monotonic() - started, 1)}
        healthy = True
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            report["database"] = {"ok": True, "dialect": db.engine.dialect.name}
        except Exception as exc:
            healthy = False
            report["database"] = {"ok": False, "error": type(exc).__name__}
        for name, probe in probes.items():
            try:
                report[name] = await probe()
            except Exception as exc:
                report[name] = {"ok": False, "error": type(exc).__name__}
            healthy = healthy and bool(report[name].get("ok", True))
        report["ok"] = healthy
        return web.json_response(report, status=200 if healthy else 503)

    app.router.add_post("/webhooks/fathom", fathom_webhook)
    app.router.add_get("/healthz", healthz)
    return app


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner and the bound port (port 0 picks a free one)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    bound = server.sockets[0].getsockname()[1] if server and server.sockets else port  # type: ignore[union-attr]
    return runner, bound
