"""Fathom webhook intake: verify (Standard Webhooks), then store delivery + job in ONE transaction.

The HTTP layer (bot/http.py) only maps `Receipt` to a status code; every rule lives here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, and_, bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from services.clock import utcnow
from services.cpu import run_cpu
from services.db import Database
from services.fathom import FathomMeeting, FathomPayloadError, parse_meeting
from services.intake_inbox import IntakeInbox
from services.jobs import JobQueue
from services.models import WebhookDelivery
from services.pipeline import INGEST_JOB, INGEST_PRIORITY

log = logging.getLogger(__name__)


class SignatureError(Exception):
    """Missing, malformed, expired or non-matching signature. Nothing is stored."""


def verify_signature(secrets: list[str], body: bytes, headers: dict[str, str]) -> str:
    """Return the webhook-id when any configured secret (rotation) matches any v1 signature."""
    lower = {k.lower(): v for k, v in headers.items()}
    webhook_id = lower.get("webhook-id", "")
    if not (webhook_id and lower.get("webhook-timestamp") and lower.get("webhook-signature")):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    if not secrets:
        raise SignatureError("no FATHOM_WEBHOOK_SECRET configured")
    last = "signature does not match"
    for secret in secrets:
        try:
            Webhook(secret).verify(body, lower, json_parse=False)
            return webhook_id
        except Exception as exc:  # the library raises several types for malformed input
            reason = str(exc).lower()
            if "too old" in reason or "too new" in reason:
                raise SignatureError("timestamp outside the 5-minute tolerance") from None
            last = "signature does not match" if "signature" in reason else "malformed signature headers"
    raise SignatureError(last)


MAX_JSON_DEPTH = 64  # Fathom's payload nests about 5 deep
MAX_JSON_INT = 2**63 - 1  # every integer must fit the database's signed 64-bit columns
REJECTED_BODY_PREFIX = 4096  # bytes of a rejected body kept for diagnosis


def _bounded_int(text: str) -> int:
    # the digit count first: int() of a 100k-digit string is slow and above 4,300 digits an error
    if len(text.lstrip("-")) > 19 or not -MAX_JSON_INT - 1 <= (value := int(text)) <= MAX_JSON_INT:
        raise FathomPayloadError(f"integer out of range (limit ±2^63): {text[:24]}")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise FathomPayloadError(f"number out of range: {text[:24]}")
    return value


def _no_constant(name: str) -> Any:
    raise FathomPayloadError(f"{name} is not a JSON number")


def decode_body(body: bytes) -> Any:
    """json.loads with bounds: no NaN/Infinity, integers within 64 bits, nesting at most 64 deep."""
    try:
        data = json.loads(
            body, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant
        )
    except RecursionError:
        raise FathomPayloadError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:  # iterative: a deep document must not exhaust the stack here either
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_JSON_DEPTH:
                    raise FathomPayloadError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
                stack.append((child, depth + 1))
    return data


@dataclass(frozen=True)
class Receipt:
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    delivery_id: int | None = None
    job_id: int | None = None
    recording_id: int | None = None


@dataclass
class _Pending:
    webhook_id: str
    recording_id: int
    body: bytes
    source: str = "webhook"
    done: asyncio.Future[Receipt] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


OFF_LOOP_BYTES = 64 * 1024  # bodies above this are validated in the CPU pool, not on the event loop


def _parse(body: bytes) -> FathomMeeting:
    return parse_meeting(decode_body(body))


# built once: the ids are expanding parameters (the intake process runs this for every ack)
_KNOWN = select(WebhookDelivery.webhook_id, WebhookDelivery.recording_id, WebhookDelivery.status).where(
    or_(
        WebhookDelivery.webhook_id.in_(bindparam("webhook_ids", expanding=True)),
        and_(
            WebhookDelivery.recording_id.in_(bindparam("recording_ids", expanding=True)),
            WebhookDelivery.status == "accepted",
        ),
    )
)


def known_deliveries(
    conn: Connection | Session, webhook_ids: Collection[str], recording_ids: Collection[int]
) -> tuple[set[str], set[int]]:
    """(webhook-ids already stored, recording_ids already accepted) among these: what makes a
    delivery a duplicate. Synchronous, so the intake inbox runs it on its WAL reader of the main file
    in one call; `WebhookIntake` runs it in its write transaction (`AsyncSession.run_sync`)."""
    params = {"webhook_ids": list(webhook_ids), "recording_ids": list(recording_ids)}
    known = conn.execute(_KNOWN, params).all()
    return {row.webhook_id for row in known}, {row.recording_id for row in known if row.status == "accepted"}


class WebhookIntake:
    """Group commit: concurrent deliveries are stored together in one short transaction.

    SQLite has a single writer, so one transaction per request makes 20 concurrent senders queue
    behind each other; batching whatever arrived meanwhile keeps every acknowledgement fast, and
    each delivery is still durable (committed) before its 2xx.
    """

    MAX_BATCH = 200

    def __init__(
        self,
        db: Database,
        queue: JobQueue,
        notify: Callable[[], None] | None = None,
        inbox: IntakeInbox | None = None,
    ) -> None:
        self.db = db
        self.queue = queue
        # with an inbox (SQLite, services/intake_inbox.py) a delivery is acknowledged once it is in
        # the inbox; the bot's mover stores delivery + job through `store_batch`
        self.inbox = inbox
        # wakes the workers after a commit; the intake process sends this to the bot's process
        self._notify = notify or queue.notify
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def receive(self, webhook_id: str, body: bytes, source: str = "webhook") -> Receipt:
        """Store a verified delivery. Duplicates (same webhook-id or recording_id) are acknowledged only.

        `source`: "webhook", or "reconciliation"/"backfill" for meetings listed from Fathom's API,
        which enter through this same intake so one recording is one meeting whichever came first."""
        try:
            if len(body) > OFF_LOOP_BYTES:  # a long transcript: validating it takes milliseconds
                meeting = await run_cpu(_parse, body)
            else:
                meeting = _parse(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return await self._reject(webhook_id, body, "body is not valid JSON")
        except FathomPayloadError as exc:
            return await self._reject(webhook_id, body, str(exc))
        pending = _Pending(webhook_id, meeting.recording_id, body, source)
        self._pending.append(pending)
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="webhook-writer")
        receipt = await asyncio.shield(pending.done)
        log.info(
            "webhook %s recording_id=%s",
            receipt.status,
            receipt.recording_id,
            extra={"delivery_id": receipt.delivery_id},
        )
        return receipt

    async def _write_loop(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.MAX_BATCH], self._pending[self.MAX_BATCH :]
            try:
                if self.inbox is not None:
                    # one synchronous call: what the main database has (a WAL read), then the commit
                    receipts = self.inbox.put(batch)
                else:
                    receipts = await self._store(batch)
            except IntegrityError:
                # another process stored one of these meanwhile: fall back to one at a time
                receipts = [await self._store_one(p) for p in batch]
            except Exception as exc:
                for p in batch:
                    if not p.done.done():
                        p.done.set_exception(exc)
                continue
            if any(r.job_id for r in receipts) or (
                self.inbox is not None and any(r.status == "accepted" for r in receipts)
            ):
                self._notify()  # with an inbox: wakes the mover
            for p, r in zip(batch, receipts, strict=True):
                if not p.done.done():
                    p.done.set_result(r)

    async def store_batch(self, batch: list[_Pending]) -> list[Receipt]:
        """Deliveries from the inbox into this intake's database (idempotent by webhook-id)."""
        try:
            receipts = await self._store(batch)
        except IntegrityError:
            receipts = [await self._store_one(p) for p in batch]
        if any(r.job_id for r in receipts):
            self._notify()
        return receipts

    async def _store_one(self, pending: _Pending) -> Receipt:
        try:
            return (await self._store([pending]))[0]
        except IntegrityError:
            return Receipt("duplicate", "webhook-id already received", None, None, pending.recording_id)

    async def _store(self, batch: list[_Pending]) -> list[Receipt]:
        """One transaction for the whole batch: three reads, two bulk inserts."""
        async with self.db.write_session() as s:
            seen, accepted = await s.run_sync(
                known_deliveries, {p.webhook_id for p in batch}, {p.recording_id for p in batch}
            )
            rows: list[dict[str, Any]] = []
            stored: list[_Pending] = []
            now = utcnow()
            for p in batch:
                if p.webhook_id in seen:
                    continue
                duplicate = p.recording_id in accepted
                rows.append(
                    {
                        "webhook_id": p.webhook_id,
                        "received_at": now,
                        "recording_id": p.recording_id,
                        "body": p.body,
                        "source": p.source,
                        "status": "duplicate" if duplicate else "accepted",
                        "reason": "recording_id already received" if duplicate else None,
                    }
                )
                stored.append(p)
                seen.add(p.webhook_id)
                accepted.add(p.recording_id)
            delivery_ids: list[int] = []
            if rows:
                result = await s.execute(
                    insert(WebhookDelivery).returning(WebhookDelivery.id, sort_by_parameter_order=True), rows
                )
                delivery_ids = list(result.scalars().all())
            fresh = [
                (row, delivery_id)
                for row, delivery_id in zip(rows, delivery_ids, strict=True)
                if row["status"] == "accepted"
            ]
            # a recording seen for the first time cannot have an active job: no key lookup needed
            jobs = await self.queue.enqueue_many(
                s,
                INGEST_JOB,
                [({"delivery_id": d}, f"recording:{row['recording_id']}") for row, d in fresh],
                check_keys=False,
                priority=INGEST_PRIORITY,
            )
        job_for = {d: jobs[i] for i, (_row, d) in enumerate(fresh)}
        # keyed by the pending object: the same webhook-id twice in one batch is stored once
        receipt_for = {
            id(p): Receipt(row["status"], row["reason"], d, job_for.get(d), p.recording_id)
            for p, row, d in zip(stored, rows, delivery_ids, strict=True)
        }
        seen_before = "webhook-id already received"
        return [
            receipt_for.get(id(p)) or Receipt("duplicate", seen_before, None, None, p.recording_id)
            for p in batch
        ]

    async def _reject(self, webhook_id: str, body: bytes, reason: str) -> Receipt:
        """Record the rejection with the reason and a bounded prefix of the body (never the whole)."""
        stored_reason = reason
        if len(body) > REJECTED_BODY_PREFIX:
            stored_reason += f" (body: first {REJECTED_BODY_PREFIX} of {len(body)} bytes kept)"
        prefix = body[:REJECTED_BODY_PREFIX]
        try:
            async with self.db.session() as s:
                delivery = WebhookDelivery(
                    webhook_id=webhook_id, status="rejected", reason=stored_reason, body=prefix
                )
                s.add(delivery)
                await s.flush()
                delivery_id = delivery.id
        except IntegrityError:
            delivery_id = None
        log.warning("webhook rejected: %s", reason)
        return Receipt("rejected", reason, delivery_id)


def sign_delivery(
    secret: str, body: bytes, *, webhook_id: str | None = None, timestamp: float | None = None
) -> dict[str, str]:
    """Headers exactly as Fathom (Svix) sends them; used by the sandbox, benches and `fathom-os send`."""
    import time
    import uuid
    from datetime import UTC, datetime

    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    ts = datetime.fromtimestamp(timestamp if timestamp is not None else time.time(), tz=UTC)
    signature = Webhook(secret).sign(webhook_id, ts, body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(ts.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
