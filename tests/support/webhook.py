"""The webhook intake served over real HTTP on a real database: two accepted secrets (one rotated
out), signed Fathom bodies from the fixtures, a server handle that posts and counts rows."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.http import GUARD, ConnectionLimits, create_http_app, start_site
from services.db import Database
from services.jobs import JobQueue
from services.webhook import WebhookIntake
from tests.helpers import load_fixture

SECRET = "whsec_" + base64.b64encode(b"fathom-test-secret-0123456789").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"the-previous-secret-rotated-out").decode()


class Server:
    def __init__(self, url: str, db: Database, guard: Any = None, port: int = 0) -> None:
        self.url = url
        self.db = db
        self.guard = guard
        self.port = port

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as http, http.post(self.url, data=body, headers=headers) as r:
            return r.status, await r.json()

    async def count(self, model: Any, **where: Any) -> int:
        async with self.db.session() as s:
            stmt = select(func.count()).select_from(model)
            for key, value in where.items():
                stmt = stmt.where(getattr(model, key) == value)
            return int(await s.scalar(stmt) or 0)


@asynccontextmanager
async def serving(
    db: Database, limits: ConnectionLimits | None = None, max_bytes: int = 64 * 1024
) -> AsyncIterator[Server]:
    queue = JobQueue(db)
    app = create_http_app(
        db=db,
        intake=WebhookIntake(db, queue),
        secrets=[SECRET, OLD_SECRET],
        max_bytes=max_bytes,
        limits=limits,
    )
    runner, port = await start_site(app, "127.0.0.1", 0)
    try:
        yield Server(f"http://127.0.0.1:{port}/webhooks/fathom", db, app[GUARD], port)
    finally:
        await runner.cleanup()


def body_of(name: str = "partner_sync", **changes: Any) -> bytes:
    payload = load_fixture(name)
    payload.update(changes)
    return json.dumps(payload).encode()
