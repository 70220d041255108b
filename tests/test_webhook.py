"""Webhook intake over real HTTP: signatures (vectors from the standardwebhooks sender side),
rejections, duplicates and concurrency, against a real SQLite file."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from bot.http import create_http_app, start_site
from services.db import Database
from services.jobs import JobQueue
from services.models import Job, WebhookDelivery
from services.webhook import WebhookIntake, sign_delivery
from tests.helpers import load_fixture

SECRET = "whsec_" + base64.b64encode(b"fathom-test-secret-0123456789").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"the-previous-secret-rotated-out").decode()


class Server:
    def __init__(self, url: str, db: Database) -> None:
        self.url = url
        self.db = db

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as http, http.post(self.url, data=body, headers=headers) as r:
            return r.status, await r.json()

    async def count(self, model: Any, **where: Any) -> int:
        async with self.db.session() as s:
            stmt = select(func.count()).select_from(model)
            for key, value in where.items():
                stmt = stmt.where(getattr(model, key) == value)
            return int(await s.scalar(stmt) or 0)


@pytest.fixture
async def server(db: Database) -> AsyncIterator[Server]:
    queue = JobQueue(db)
    app = create_http_app(
        db=db, intake=WebhookIntake(db, queue), secrets=[SECRET, OLD_SECRET], max_bytes=64 * 1024
    )
    runner, port = await start_site(app, "127.0.0.1", 0)
    yield Server(f"http://127.0.0.1:{port}/webhooks/fathom", db)
    await runner.cleanup()


def body_of(name: str = "partner_sync", **changes: Any) -> bytes:
    payload = load_fixture(name)
    payload.update(changes)
    return json.dumps(payload).encode()


async def test_signed_fathom_delivery_is_stored_with_one_job(server: Server) -> None:
    body = body_of()
    status, reply = await server.post(body, sign_delivery(SECRET, body))
    assert status == 202 and reply["status"] == "accepted"
    assert await server.count(WebhookDelivery, status="accepted") == 1
    assert await server.count(Job, kind="meeting.ingest") == 1


async def test_signature_made_by_the_sender_library_with_several_signatures_verifies(server: Server) -> None:
    body = body_of()
    now = time.time()
    from datetime import UTC, datetime

    ts = datetime.fromtimestamp(now, tz=UTC)
    good = Webhook(OLD_SECRET).sign("msg_rotation", ts, body.decode())
    headers = {
        "webhook-id": "msg_rotation",
        "webhook-timestamp": str(int(now)),
        "webhook-signature": f"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {good}",
    }
    status, _ = await server.post(body, headers)
    assert status == 202


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), id="missing-sig"
        ),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,bm9wZQ=="}, b), id="wrong-sig"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "garbage"}, b), id="malformed-sig"),
        pytest.param(lambda h, b: (h, b.replace(b"Weekly", b"Weakly")), id="tampered-body"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "msg_other"}, b), id="other-id"),
        pytest.param(lambda h, b: ({**h, "webhook-timestamp": "not-a-number"}, b), id="bad-timestamp"),
    ],
)
async def test_bad_signature_is_401_and_nothing_is_stored(server: Server, mutate: Any) -> None:
    body = body_of()
    headers, body = mutate(sign_delivery(SECRET, body), body)
    status, reply = await server.post(body, headers)
    assert status == 401 and reply["ok"] is False
    assert await server.count(WebhookDelivery) == 0


async def test_timestamp_older_than_five_minutes_is_refused(server: Server) -> None:
    body = body_of()
    status, reply = await server.post(body, sign_delivery(SECRET, body, timestamp=time.time() - 301))
    assert status == 401 and "tolerance" in reply["error"]
    assert await server.count(WebhookDelivery) == 0


async def test_unknown_secret_is_refused(server: Server) -> None:
    body = body_of()
    other = "whsec_" + base64.b64encode(b"somebody-else-entirely-000").decode()
    status, _ = await server.post(body, sign_delivery(other, body))
    assert status == 401


async def test_oversized_body_is_413(server: Server) -> None:
    body = body_of(default_summary={"markdown_formatted": "x" * 70_000})
    status, reply = await server.post(body, sign_delivery(SECRET, body))
    assert status == 413 and "bytes" in reply["error"]
    assert await server.count(WebhookDelivery) == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (json.dumps({"hello": "world"}).encode(), "recording_id is missing"),
        (json.dumps({"recording_id": "abc", "title": "x"}).encode(), "recording_id"),
        (json.dumps({"recording_id": 5, "title": "  "}).encode(), "title"),
    ],
)
async def test_malformed_payload_is_400_with_reason_and_recorded(
    server: Server, body: bytes, reason: str
) -> None:
    status, reply = await server.post(body, sign_delivery(SECRET, body))
    assert status == 400 and reason in reply["error"]
    assert await server.count(WebhookDelivery, status="rejected") == 1
    assert await server.count(Job) == 0


async def test_body_that_is_not_utf8_is_400_and_not_stored(server: Server) -> None:
    body = b"\xff\xfe{}"
    headers = sign_delivery(SECRET, b"{}")
    status, reply = await server.post(body, headers)
    assert status == 400 and "UTF-8" in reply["error"]
    assert await server.count(WebhookDelivery) == 0


async def test_minimal_payload_without_transcript_or_summary_is_accepted(server: Server) -> None:
    body = body_of("minimal_no_content")
    status, _ = await server.post(body, sign_delivery(SECRET, body))
    assert status == 202


async def test_same_webhook_id_twice_is_acknowledged_once(server: Server) -> None:
    body = body_of()
    headers = sign_delivery(SECRET, body, webhook_id="msg_dup")
    first, _ = await server.post(body, headers)
    second, reply = await server.post(body, headers)
    assert (first, second) == (202, 200) and reply["status"] == "duplicate"
    assert await server.count(WebhookDelivery) == 1
    assert await server.count(Job) == 1


async def test_same_recording_id_under_a_new_webhook_id_makes_no_second_job(server: Server) -> None:
    body = body_of()
    await server.post(body, sign_delivery(SECRET, body))
    status, reply = await server.post(body, sign_delivery(SECRET, body))
    assert status == 200 and reply["status"] == "duplicate"
    assert await server.count(Job) == 1


async def test_hundred_concurrent_deliveries_all_stored_once(server: Server) -> None:
    bodies = [body_of(recording_id=700_000 + i) for i in range(100)]
    # every delivery sent twice at once: 200 requests, 100 meetings
    requests = [server.post(b, sign_delivery(SECRET, b, webhook_id=f"msg_{i}")) for i, b in enumerate(bodies)]
    requests += [
        server.post(b, sign_delivery(SECRET, b, webhook_id=f"msg_{i}")) for i, b in enumerate(bodies)
    ]
    results = await asyncio.gather(*requests)
    assert all(status in (200, 202) for status, _ in results)
    assert sum(1 for status, _ in results if status == 202) == 100
    assert await server.count(WebhookDelivery) == 100
    assert await server.count(Job) == 100


async def test_healthz_reports_database_state(server: Server) -> None:
    health = server.url.replace("/webhooks/fathom", "/healthz")
    async with aiohttp.ClientSession() as http, http.get(health) as r:
        report = await r.json()
    assert r.status == 200 and report["database"]["ok"] is True and report["ok"] is True
