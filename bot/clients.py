"""Every external client is built here (the composition root), never inside services."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from services.slack.gateway import RateGate, retry_handlers
from services.slack.pacer import Pacer

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

# Fallback to the other model is ours (services/analysis/claude.py): keep the SDK's own retries short.
CLAUDE_MAX_RETRIES = 1
CLAUDE_TIMEOUT_SECONDS = 120.0


def build_claude_client(settings: Settings) -> AsyncAnthropic | None:
    """The Anthropic client when ANTHROPIC_API_KEY is set; None means the offline analyzer."""
    if settings.anthropic_api_key is None:
        return None
    from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient

    from services import telemetry

    return AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        max_retries=CLAUDE_MAX_RETRIES,
        timeout=CLAUDE_TIMEOUT_SECONDS,
        # the SDK's default client (timeouts, limits) plus latency by model for /metrics
        http_client=DefaultAsyncHttpxClient(event_hooks=telemetry.claude_latency_hooks()),
    )


def build_slack_client(
    token: str, api_url: str, gate: RateGate, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """Web API client with retries for connection errors, 5xx and 429 (shared Retry-After gate).

    Pass one long-lived `session`: without it slack_sdk opens a new HTTP session (and connection)
    for every call, which costs more than the call itself on a busy bot."""
    return AsyncWebClient(token=token, base_url=api_url, retry_handlers=retry_handlers(gate), session=session)


def build_pacer(api_url: str) -> Pacer | None:
    """Pace below Slack's published limits when talking to Slack. The local Slack server has no
    limits unless it models them (`LOCAL_SLACK_RATE_LIMITS=1`, benchmarks), so tests stay fast."""
    from urllib.parse import urlparse

    from bot.sandbox.slack_rates import rates_enabled_from_env

    local = (urlparse(api_url).hostname or "") in ("127.0.0.1", "localhost", "::1")
    return Pacer() if not local or rates_enabled_from_env() else None


def build_http_session() -> aiohttp.ClientSession:
    """Keep-alive connection pool shared by the Slack client; must be created inside the event loop."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=30),
        connector=aiohttp.TCPConnector(limit=50, keepalive_timeout=30),
        trace_configs=[_slack_call_metrics()],
    )


def _slack_call_metrics() -> aiohttp.TraceConfig:
    """Every Slack HTTP request (retries included) and every 429, by method, for /metrics."""
    from services import telemetry

    async def on_end(_session: object, _ctx: object, params: aiohttp.TraceRequestEndParams) -> None:
        method = telemetry.slack_method(str(params.url))
        telemetry.SLACK_CALLS.labels(method).inc()
        if params.response.status == 429:
            telemetry.SLACK_RATE_LIMITED.labels(method).inc()

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    return trace
