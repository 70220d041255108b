"""Fathom webhook intake: verify (Standard Webhooks), then store delivery + job in ONE transaction.

The HTTP layer (bot/http.py) only maps `Receipt` to a status code; every rule lives here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from standardwebhooks.webhooks import Webhook

from services.db import Database
from services.fathom import FathomPayloadError, parse_meeting
from services.jobs import JobQueue
from services.models import WebhookDelivery
from services.pipeline import INGEST_JOB

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


@dataclass(frozen=True)
class Receipt:
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    delivery_id: int | None = None
    job_id: int | None = None
    recording_id: int | None = None


class WebhookIntake:
    def __init__(self, db: Database, queue: JobQueue) -> None:
        self.db = db
        self.queue = queue

    async def receive(self, webhook_id: str, body: bytes) -> Receipt:
        """Store a verified delivery. Duplicates (same webhook-id or recording_id) are acknowledged only."""
        try:
            meeting = parse_meeting(json.loads(body))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return await self._reject(webhook_id, body, "body is not valid JSON")
        except FathomPayloadError as exc:
            return await self._reject(webhook_id, body, str(exc))
        recording_id = meeting.recording_id
        try:
            async with self.db.session() as s:
                seen = await s.scalar(
                    select(WebhookDelivery.id).where(WebhookDelivery.webhook_id == webhook_id)
                )
                if seen is not None:
                    return Receipt("duplicate", "webhook-id already received", seen, None, recording_id)
                earlier = await s.scalar(
                    select(WebhookDelivery.id).where(
                        WebhookDelivery.recording_id == recording_id, WebhookDelivery.status == "accepted"
                    )
                )
                status = "duplicate" if earlier is not None else "accepted"
                delivery = WebhookDelivery(
                    webhook_id=webhook_id,
                    status=status,
                    reason="recording_id already received" if earlier else None,
                    recording_id=recording_id,
                    body=body,
                )
                s.add(delivery)
                await s.flush()
                job_id = None
                if status == "accepted":
                    job = await self.queue.enqueue(
                        s, INGEST_JOB, {"delivery_id": delivery.id}, key=f"recording:{recording_id}"
                    )
                    job_id = job.id if job else None
        except IntegrityError:
            # A concurrent delivery with the same webhook-id won the race: that one is stored.
            return Receipt("duplicate", "webhook-id already received", None, None, recording_id)
        if job_id is not None:
            self.queue.notify()
        log.info("webhook %s recording_id=%s", status, recording_id, extra={"delivery_id": delivery.id})
        return Receipt(status, delivery.reason, delivery.id, job_id, recording_id)

    async def _reject(self, webhook_id: str, body: bytes, reason: str) -> Receipt:
        try:
            async with self.db.session() as s:
                delivery = WebhookDelivery(webhook_id=webhook_id, status="rejected", reason=reason, body=body)
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
