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
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from bot.http import ConnectionLimits
from services.db import Database
from services.models import Job, WebhookDelivery
from services.webhook import REJECTED_BODY_PREFIX, sign_delivery
from tests.support.webhook import OLD_SECRET, SECRET, Server, body_of, serving


@pytest.fixture
async def server(db: Database) -> AsyncIterator[Server]:
    async with serving(db) as running:
        yield running


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


def _nested(depth: int) -> bytes:
    return b'{"recording_id": 5, "title": "t", "deep": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(_nested(100_000), "nested deeper than 64", id="100k-deep"),
        pytest.param(_nested(70), "nested deeper than 64", id="70-deep"),
        pytest.param(b'{"recording_id": 1000000000000000000000000000000, "title": "t"}', "out of range",
                     id="huge-id"),
        pytest.param(b'{"recording_id": 9223372036854775808, "title": "t"}', "out of range", id="2^63"),
        pytest.param(b'{"recording_id": 5, "title": "t", "x": 1' + b"0" * 5000 + b"}", "out of range",
                     id="5000-digits"),
        pytest.param(b'{"recording_id": NaN, "title": "t"}', "NaN is not a JSON number", id="nan"),
        pytest.param(b'{"recording_id": 5, "title": "t", "x": Infinity}', "Infinity", id="infinity"),
        pytest.param(b'{"recording_id": 5, "title": "t", "x": 1e400}', "out of range", id="1e400"),
        pytest.param(b'{"recording_id": -5, "title": "t"}', "greater than 0", id="negative"),
        pytest.param(b'{"recording_id": 0, "title": "t"}', "greater than 0", id="zero"),
        pytest.param(b'{"recording_id": true, "title": "t"}', "not true/false", id="bool"),
    ],
)  # fmt: skip
async def test_hostile_json_is_400_with_the_reason(db: Database, body: bytes, reason: str) -> None:
    async with serving(db, max_bytes=1024 * 1024) as server:
        status, reply = await server.post(body, sign_delivery(SECRET, body))
        assert status == 400 and reason in reply["error"], reply
        assert await server.count(WebhookDelivery, status="rejected") == 1
        assert await server.count(Job) == 0


async def test_largest_64_bit_recording_id_is_accepted(server: Server) -> None:
    body = body_of(recording_id=2**63 - 1)
    status, reply = await server.post(body, sign_delivery(SECRET, body))
    assert status == 202 and reply["recording_id"] == 2**63 - 1


async def test_rejected_body_is_stored_as_a_bounded_prefix_with_the_reason(server: Server) -> None:
    body = json.dumps({"title": "no id", "filler": "x" * 50_000}).encode()
    status, _ = await server.post(body, sign_delivery(SECRET, body))
    assert status == 400
    async with server.db.session() as s:
        row = (await s.scalars(select(WebhookDelivery))).one()
    assert row.status == "rejected" and len(row.body) == REJECTED_BODY_PREFIX == 4096
    assert body.startswith(row.body)
    assert row.reason and "recording_id is missing" in row.reason and f"of {len(body)} bytes" in row.reason


async def _eof_within(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (fails if it does not close)."""
    return await asyncio.wait_for(reader.read(), timeout)


async def test_sender_trickling_headers_is_disconnected_after_the_header_timeout(db: Database) -> None:
    async with serving(db, ConnectionLimits(header_timeout=0.5, body_timeout=5)) as srv:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(b"POST /webhooks/fathom HTTP/1.1\r\nHost: x\r\n")

        async def trickle() -> None:  # a header byte every 50 ms, never finishing the head
            for _ in range(600):
                writer.write(b"X")
                await writer.drain()
                await asyncio.sleep(0.05)

        sender = asyncio.create_task(trickle())
        started = time.monotonic()
        try:
            await _eof_within(reader, 20)
        finally:
            sender.cancel()
            writer.close()
        assert not sender.done() or sender.cancelled()  # closed while the sender was still sending
        assert time.monotonic() - started >= 0.4
        assert await srv.count(WebhookDelivery) == 0


async def test_sender_trickling_the_body_gets_408_after_the_body_timeout(db: Database) -> None:
    async with serving(db, ConnectionLimits(header_timeout=5, body_timeout=0.5)) as srv:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        body = body_of()
        head = sign_delivery(SECRET, body)
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
        writer.write(
            f"POST /webhooks/fathom HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{lines}\r\n".encode()
        )

        async def trickle() -> None:
            for byte in body:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)

        sender = asyncio.create_task(trickle())
        try:
            reply = await _eof_within(reader, 20)
        finally:
            sender.cancel()
            writer.close()
        assert reply.startswith(b"HTTP/1.1 408") and b"body not received" in reply
        assert await srv.count(WebhookDelivery) == 0


async def test_connections_over_the_cap_get_503_and_the_slot_is_freed_on_close(db: Database) -> None:
    async with serving(db, ConnectionLimits(max_connections=2)) as srv:
        held = [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(2)]
        deadline = time.monotonic() + 10
        while srv.guard.open_connections < 2:  # the server has accepted both
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        reply = await _eof_within(reader, 10)
        writer.close()
        assert reply.startswith(b"HTTP/1.1 503") and b"too many open connections" in reply
        for _reader, held_writer in held:
            held_writer.close()
        while srv.guard.open_connections > 0:
            assert time.monotonic() < deadline + 10
            await asyncio.sleep(0.01)
        body = body_of()
        status, _ = await srv.post(body, sign_delivery(SECRET, body))
        assert status == 202
