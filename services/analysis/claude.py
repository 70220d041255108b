"""Claude analyzer: structured output through the official SDK, our own model fallback, chunking.

The SDK's own retries are kept small (set on the client by `build_analyzer`); when the primary model
is overloaded, rate-limited or down we switch to the fallback model rather than wait, because a
meeting card waiting on a retry loop is worse than one analysed by a smaller model.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import anthropic
import pydantic
from anthropic import AsyncAnthropic

from services.analysis.base import AnalysisFailed
from services.analysis.chunking import merge_analyses, merge_fathom_items, render_transcript, split_lines
from services.analysis.prompts import system_blocks, user_message
from services.analysis.schema import AnalysisOutcome, MeetingAnalysis, UsageRecord
from services.fathom import FathomMeeting

log = logging.getLogger(__name__)

MAX_OUTPUT_TOKENS = 8_000
MILLION = Decimal(1_000_000)


class _Transient(Exception):
    """The model could not answer now (overload, rate limit, 5xx, network); another model may."""


class _Malformed(Exception):
    """The model answered but not with a valid MeetingAnalysis."""


def _describe(exc: Exception) -> str:
    """A short, secret-free reason for logs and the stored outcome (never the response body)."""
    if isinstance(exc, anthropic.APIStatusError):
        kind = getattr(exc, "type", None) or type(exc).__name__
        return f"HTTP {exc.status_code} {kind}"
    if isinstance(exc, anthropic.APITimeoutError):
        return "timeout"
    if isinstance(exc, anthropic.APIConnectionError):
        return "connection error"
    return type(exc).__name__


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, anthropic.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, anthropic.APIStatusError):
        # 404 too: a retired or unknown primary model id should not stop the pipeline.
        return exc.status_code in (404, 408, 409, 429) or exc.status_code >= 500
    return False


def cost_usd(prices: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]], record: UsageRecord) -> float:
    """USD from per-million prices (input, output, cache write, cache read); unknown model -> 0."""
    price = prices.get(record.model)
    if price is None:
        return 0.0
    p_in, p_out, p_write, p_read = price
    total = (
        record.input_tokens * p_in
        + record.output_tokens * p_out
        + record.cache_creation_tokens * p_write
        + record.cache_read_tokens * p_read
    ) / MILLION
    return float(round(total, 6))


class ClaudeAnalyzer:
    name = "claude"

    def __init__(
        self,
        client: AsyncAnthropic,
        *,
        model: str,
        fallback_model: str | None,
        prices: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]],
        chunk_tokens: int = 12_000,
        max_concurrency: int = 4,
        max_output_tokens: int = MAX_OUTPUT_TOKENS,
    ) -> None:
        self._client = client
        self._models = [model] + ([fallback_model] if fallback_model and fallback_model != model else [])
        self._prices = prices
        self._chunk_tokens = chunk_tokens
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._max_output_tokens = max_output_tokens

    @property
    def client(self) -> AsyncAnthropic:
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP connection pool (call on shutdown, from the event loop that used it)."""
        await self._client.close()

    async def analyze(self, meeting: FathomMeeting, *, os_context: str = "") -> AnalysisOutcome:
        chunks = split_lines(render_transcript(meeting), self._chunk_tokens)
        system = system_blocks(os_context)
        usage: list[UsageRecord] = []
        models_used: list[str] = []
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(
                        self._analyze_part(
                            system, user_message(meeting, lines, i + 1, len(chunks)), usage, models_used
                        )
                    )
                    for i, lines in enumerate(chunks)
                ]
        except* AnalysisFailed as failures:
            raise failures.exceptions[0] from None
        merged = merge_analyses([t.result() for t in tasks])
        merged = merged.model_copy(update={"action_items": merge_fathom_items(meeting, merged.action_items)})
        model = models_used[0] if len(set(models_used)) == 1 else ",".join(sorted(set(models_used)))
        return AnalysisOutcome(analysis=merged, analyzer="claude", model=model, usage=usage)

    async def _analyze_part(
        self, system: list[dict[str, object]], prompt: str, usage: list[UsageRecord], models_used: list[str]
    ) -> MeetingAnalysis:
        async with self._semaphore:
            reasons: list[str] = []
            for model in self._models:
                try:
                    result = await self._call_with_repair(model, system, prompt, usage)
                except _Transient as exc:
                    reasons.append(f"{model}: {exc}")
                    log.warning(
                        "claude model unavailable, trying fallback",
                        extra={"model": model, "reason": str(exc)},
                    )
                    continue
                models_used.append(model)
                return result
            raise AnalysisFailed("Claude unavailable (" + "; ".join(reasons) + ")")

    async def _call_with_repair(
        self, model: str, system: list[dict[str, object]], prompt: str, usage: list[UsageRecord]
    ) -> MeetingAnalysis:
        """One call, and one more if the output does not validate; then give up on Claude."""
        problem = ""
        for attempt in (1, 2):
            try:
                return await self._call(model, system, prompt, usage)
            except _Malformed as exc:
                problem = str(exc)
                log.warning(
                    "claude output invalid", extra={"model": model, "attempt": attempt, "reason": problem}
                )
        raise AnalysisFailed(f"Claude returned invalid output twice ({problem})")

    async def _call(
        self, model: str, system: list[dict[str, object]], prompt: str, usage: list[UsageRecord]
    ) -> MeetingAnalysis:
        try:
            response = await self._client.messages.parse(
                model=model,
                max_tokens=self._max_output_tokens,
                system=system,  # type: ignore[arg-type]
                messages=[{"role": "user", "content": prompt}],
                output_format=MeetingAnalysis,
            )
        except pydantic.ValidationError as exc:
            # The SDK validates inside the call, so a bad answer's token usage is not available.
            raise _Malformed(f"schema validation failed: {exc.error_count()} errors") from None
        except anthropic.APIError as exc:
            if _is_transient(exc):
                raise _Transient(_describe(exc)) from None
            raise AnalysisFailed(f"Claude rejected the request ({_describe(exc)})") from None
        u = response.usage
        record = UsageRecord(
            purpose="meeting_analysis",
            model=model,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_creation_tokens=u.cache_creation_input_tokens or 0,
            cache_read_tokens=u.cache_read_input_tokens or 0,
        )
        usage.append(record.model_copy(update={"cost_usd": cost_usd(self._prices, record)}))
        parsed = response.parsed_output
        if parsed is None:
            raise _Malformed(f"no structured output (stop_reason={response.stop_reason})")
        return parsed
