"""Prometheus metrics for `GET /metrics` (prometheus-client), one registry for the process.

Live counters are kept where things happen: webhook acknowledgements (an aiohttp middleware), Slack
Web API calls and 429s by method (an aiohttp trace on the Slack client's session). Totals that the
database already holds (job queue, dead letters, Claude usage and cost, reconciliation recoveries)
are read from it at scrape time, so they are right after a restart and across several instances.
Claude request latency is live too (httpx event hooks on the Anthropic client, by model).
(`services/metrics.py` is something else: the action-item numbers of the Home tab.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from services.clock import as_utc, utcnow
from services.db import Database
from services.models import Job, LLMUsage, WebhookDelivery

REGISTRY = CollectorRegistry()
PREFIX = "fathom_os"

WEBHOOK_DELIVERIES = Counter(
    f"{PREFIX}_webhook_deliveries_total",
    "Fathom webhook deliveries answered, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_ACK_SECONDS = Histogram(
    f"{PREFIX}_webhook_ack_seconds",
    "Time from a webhook request to its acknowledgement",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
SLACK_CALLS = Counter(
    f"{PREFIX}_slack_calls_total", "Slack Web API requests sent, by method", ["method"], registry=REGISTRY
)
SLACK_RATE_LIMITED = Counter(
    f"{PREFIX}_slack_rate_limited_total",
    "Slack Web API 429 answers, by method",
    ["method"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(f"{PREFIX}_jobs_queued", "Jobs waiting or running, by kind", ["kind"], registry=REGISTRY)
QUEUE_OLDEST = Gauge(
    f"{PREFIX}_jobs_oldest_age_seconds",
    "Age of the oldest waiting or running job, by kind",
    ["kind"],
    registry=REGISTRY,
)
DEAD_LETTERS = Gauge(
    f"{PREFIX}_jobs_dead",
    "Jobs that exhausted their attempts (dead letters), by kind",
    ["kind"],
    registry=REGISTRY,
)
CLAUDE_CALLS = Gauge(
    f"{PREFIX}_claude_calls", "Claude API calls recorded, by model", ["model"], registry=REGISTRY
)
CLAUDE_TOKENS = Gauge(
    f"{PREFIX}_claude_tokens",
    "Claude tokens recorded, by model and kind (input, output, cache_write, cache_read)",
    ["model", "kind"],
    registry=REGISTRY,
)
CLAUDE_COST = Gauge(
    f"{PREFIX}_claude_cost_usd", "Claude cost recorded in USD, by model", ["model"], registry=REGISTRY
)
RECOVERED = Gauge(
    f"{PREFIX}_reconciliation_recovered",
    "Meetings brought in by reconciliation that no webhook had delivered",
    registry=REGISTRY,
)
CLAUDE_LATENCY = Histogram(
    f"{PREFIX}_claude_request_seconds",
    "Claude Messages API request latency (request sent to response headers), by model and HTTP status",
    ["model", "status"],
    buckets=(0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0),
    registry=REGISTRY,
)
DELIVERIES_STORED = Gauge(
    f"{PREFIX}_deliveries_stored",
    "Deliveries stored, by source (webhook, reconciliation, backfill) and status",
    ["source", "status"],
    registry=REGISTRY,
)

_ACTIVE = ("queued", "running")


async def refresh_from_db(db: Database) -> None:
    """Set the database-backed gauges (one read-only unit of work, a handful of grouped queries)."""
    now = as_utc(utcnow())
    async with db.session() as s:
        active = (
            await s.execute(
                select(Job.kind, func.count(), func.min(Job.created_at))
                .where(Job.status.in_(_ACTIVE))
                .group_by(Job.kind)
            )
        ).all()
        dead = (
            await s.execute(select(Job.kind, func.count()).where(Job.status == "dead").group_by(Job.kind))
        ).all()
        usage = (
            await s.execute(
                select(
                    LLMUsage.model,
                    func.count(),
                    func.sum(LLMUsage.input_tokens),
                    func.sum(LLMUsage.output_tokens),
                    func.sum(LLMUsage.cache_creation_tokens),
                    func.sum(LLMUsage.cache_read_tokens),
                    func.sum(LLMUsage.cost_usd),
                ).group_by(LLMUsage.model)
            )
        ).all()
        deliveries = (
            await s.execute(
                select(WebhookDelivery.source, WebhookDelivery.status, func.count()).group_by(
                    WebhookDelivery.source, WebhookDelivery.status
                )
            )
        ).all()
    for gauge in (QUEUE_DEPTH, QUEUE_OLDEST, DEAD_LETTERS):
        gauge.clear()
    for kind, n, oldest in active:
        QUEUE_DEPTH.labels(kind).set(n)
        QUEUE_OLDEST.labels(kind).set(max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest else 0.0)
    for kind, n in dead:
        DEAD_LETTERS.labels(kind).set(n)
    for model, calls, tin, tout, cwrite, cread, cost in usage:
        CLAUDE_CALLS.labels(model).set(calls)
        for kind, value in (("input", tin), ("output", tout), ("cache_write", cwrite), ("cache_read", cread)):
            CLAUDE_TOKENS.labels(model, kind).set(value or 0)
        CLAUDE_COST.labels(model).set(float(cost or 0))
    DELIVERIES_STORED.clear()
    recovered = 0
    for source, status, n in deliveries:
        DELIVERIES_STORED.labels(source or "webhook", status).set(n)
        if source == "reconciliation" and status == "accepted":
            recovered = n
    RECOVERED.set(recovered)


async def exposition(db: Database) -> tuple[bytes, str]:
    await refresh_from_db(db)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def webhook_outcome(status: int, body: dict[str, Any] | None) -> str:
    if status in (200, 202) and body:
        return str(body.get("status", "accepted"))
    return {400: "rejected", 401: "unauthorized", 408: "timeout", 413: "too_large", 503: "unavailable"}.get(
        status, f"http_{status}"
    )


def slack_method(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def record_webhook(seconds: float, outcome: str) -> None:
    """One acknowledged webhook (the intake process sends these to the bot's registry)."""
    WEBHOOK_ACK_SECONDS.observe(seconds)
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def claude_model_of(body: bytes) -> str:
    """The `model` of a Messages API request body ("unknown" when it is not JSON or has none)."""
    try:
        model = json.loads(body).get("model")
    except (ValueError, AttributeError):
        return "unknown"
    return model if isinstance(model, str) and model else "unknown"


def claude_latency_hooks() -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """httpx event hooks for the Anthropic client: every `POST …/v1/messages` (retries included, batches
    not: they are asynchronous by design) observed in CLAUDE_LATENCY under the model it asked for."""

    async def on_request(request: Any) -> None:
        if request.method == "POST" and request.url.path.endswith("/messages"):
            request.extensions["fathom_os_started"] = time.perf_counter()

    async def on_response(response: Any) -> None:
        request = response.request
        started = request.extensions.get("fathom_os_started")
        if started is None:
            return
        model = claude_model_of(request.content)
        CLAUDE_LATENCY.labels(model, str(response.status_code)).observe(time.perf_counter() - started)

    return {"request": [on_request], "response": [on_response]}


Handler = Callable[[Any], Awaitable[Any]]
