"""Claude analyzer: structured output through the official SDK, routing, fallback, batches, merge.

One request per meeting up to CLAUDE_CHUNK_TOKENS (a two-hour meeting is one call); beyond it the
transcript is split, each part analysed, and one small merge call writes a single headline and
summary over the parts (items and decisions are merged in code, by commitment). Client-facing
meeting types go to CLAUDE_MODEL, the rest to CLAUDE_LIGHT_MODEL; the type is known before the
call from the heuristic's cheap classification of title, invitees and transcript keywords.

The SDK's own retries are kept small (set on the client by `bot/clients.py`); when a model is
overloaded, rate-limited or down we switch to the fallback model rather than wait, because a
meeting card waiting on a retry loop is worse than one analysed by a smaller model. Re-analysis and
backfill may go through the Message Batches API (half price, results within hours): the first
analysis of a meeting never does, so its card is never waiting on a batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import anthropic
import pydantic
from anthropic import AsyncAnthropic, transform_schema

from services.analysis.base import AnalysisFailed
from services.analysis.chunking import (
    estimate_tokens,
    merge_analyses,
    merge_fathom_items,
    render_transcript,
    split_lines,
)
from services.analysis.evidence import check_evidence
from services.analysis.prompts import (
    MERGE_INSTRUCTIONS,
    merge_message,
    system_blocks,
    user_message,
)
from services.analysis.schema import (
    AnalysisOutcome,
    ClaudeAnalysis,
    ClaudeMerge,
    MeetingAnalysis,
    UsageRecord,
)
from services.fathom import FathomMeeting

log = logging.getLogger(__name__)

MAX_OUTPUT_TOKENS = 8_000
MERGE_OUTPUT_TOKENS = 1_500
MILLION = Decimal(1_000_000)
BATCH_DISCOUNT = Decimal("0.5")  # Message Batches: half the list price for input and output
PRIMARY_TYPES = ("ai_audit", "discovery", "client", "sales")
SCHEMA_TOKENS = estimate_tokens(json.dumps(transform_schema(ClaudeAnalysis)))
M = TypeVar("M", bound=pydantic.BaseModel)


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


def cost_usd(
    prices: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]], record: UsageRecord, *, batch: bool = False
) -> float:
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
    return float(round(total * (BATCH_DISCOUNT if batch else 1), 6))


@dataclass
class _Plan:
    """One meeting's requests, decided before any call: model chain, system blocks, user prompts."""

    meeting: FathomMeeting
    os_context: str
    models: list[str]
    system: list[dict[str, Any]]
    prompts: list[str]
    meeting_type: str
    usage: list[UsageRecord] = field(default_factory=list)
    models_used: list[str] = field(default_factory=list)


class ClaudeAnalyzer:
    name = "claude"

    def __init__(
        self,
        client: AsyncAnthropic,
        *,
        model: str,
        fallback_model: str | None,
        prices: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]],
        light_model: str | None = None,
        primary_types: Callable[[], Iterable[str]] | None = None,
        language_for: Callable[[FathomMeeting], str | None] | None = None,
        chunk_tokens: int = 150_000,
        max_concurrency: int = 4,
        max_output_tokens: int = MAX_OUTPUT_TOKENS,
        use_batches: bool = False,
        batch_poll_seconds: float = 30.0,
    ) -> None:
        self._client = client
        self._model = model
        self._light = light_model or model
        self._fallback = fallback_model
        self._primary_types = primary_types or (lambda: PRIMARY_TYPES)
        self._language_for = language_for or (lambda m: m.transcript_language)  # services/languages
        self._prices = prices
        self._chunk_tokens = chunk_tokens
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._max_output_tokens = max_output_tokens
        self.use_batches = use_batches
        self._poll = batch_poll_seconds

    @property
    def client(self) -> AsyncAnthropic:
        return self._client

    # --- routing and planning ----------------------------------------------------------------

    def route(self, meeting: FathomMeeting) -> tuple[str, str]:
        """(model, meeting type): client-facing types on the primary model, the rest on the light one.

        The type comes from the heuristic's classification (title, invitee mix, transcript keywords;
        a few milliseconds), because the model's own classification arrives only with its answer.
        """
        from services.analysis.heuristic import classify

        kind = classify(meeting)[0].type
        primary = {t.lower() for t in self._primary_types()}
        return (self._model if kind in primary else self._light), kind

    def _chain(self, model: str) -> list[str]:
        """The routed model, then one other: the fallback model, or the primary if they coincide."""
        second = self._fallback if self._fallback and self._fallback != model else self._model
        return [model] + ([second] if second != model else [])

    def plan(self, meeting: FathomMeeting, os_context: str = "") -> _Plan:
        model, kind = self.route(meeting)
        system = system_blocks(os_context)
        fixed = sum(estimate_tokens(b["text"]) for b in system) + SCHEMA_TOKENS
        language = self._language_for(meeting)
        fixed += estimate_tokens(user_message(meeting, [], 1, 2, language))
        budget = max(1_000, self._chunk_tokens - fixed)
        chunks = split_lines(render_transcript(meeting), budget)
        prompts = [
            user_message(meeting, lines, i + 1, len(chunks), language) for i, lines in enumerate(chunks)
        ]
        return _Plan(meeting, os_context, self._chain(model), system, prompts, kind)

    # --- the analyzer interface --------------------------------------------------------------

    async def analyze(
        self, meeting: FathomMeeting, *, os_context: str = "", deferred: bool = False
    ) -> AnalysisOutcome:
        """Analyse one meeting. `deferred` (re-analysis, backfill) uses a batch when enabled."""
        if deferred and self.use_batches:
            return (await self.analyze_many([(meeting, os_context)]))[0]
        plan = self.plan(meeting, os_context)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._analyze_part(plan, prompt)) for prompt in plan.prompts]
        except* AnalysisFailed as failures:
            raise failures.exceptions[0] from None
        return await self._finish(plan, [t.result() for t in tasks])

    async def analyze_many(self, meetings: Sequence[tuple[FathomMeeting, str]]) -> list[AnalysisOutcome]:
        """Backfill / re-analysis: every part of every meeting in one Message Batch (half price).

        A part the batch could not answer (errored, expired) is retried as a direct call."""
        plans = [self.plan(m, ctx) for m, ctx in meetings]
        requests = {
            f"m{i}-p{j}": (plan, prompt)
            for i, plan in enumerate(plans)
            for j, prompt in enumerate(plan.prompts)
        }
        answers = await self._run_batch(requests)
        outcomes = []
        for i, plan in enumerate(plans):
            parts = []
            for j, prompt in enumerate(plan.prompts):
                part = answers.get(f"m{i}-p{j}")
                parts.append(part if part is not None else await self._analyze_part(plan, prompt))
            outcomes.append(await self._finish(plan, parts))
        return outcomes

    async def _finish(self, plan: _Plan, parts: list[MeetingAnalysis]) -> AnalysisOutcome:
        merged = merge_analyses(parts)
        if len(parts) > 1:
            merged = await self._merge_step(plan, parts, merged)
        merged, _dropped = check_evidence(merged, plan.meeting)
        merged = merged.model_copy(
            update={"action_items": merge_fathom_items(plan.meeting, merged.action_items)}
        )
        used = sorted(set(plan.models_used))
        model = used[0] if len(used) == 1 else ",".join(used)
        return AnalysisOutcome(analysis=merged, analyzer="claude", model=model, usage=plan.usage)

    async def _merge_step(
        self, plan: _Plan, parts: list[MeetingAnalysis], merged: MeetingAnalysis
    ) -> MeetingAnalysis:
        """One small call over the parts' headlines and summaries; on failure, the joined fallback."""
        system = [{"type": "text", "text": MERGE_INSTRUCTIONS}]
        prompt = merge_message(plan.meeting, parts, self._language_for(plan.meeting))
        for model in plan.models:
            try:
                result = await self._call(
                    model, system, prompt, plan.usage, ClaudeMerge, "meeting_merge", MERGE_OUTPUT_TOKENS
                )
            except (_Transient, _Malformed, AnalysisFailed) as exc:
                log.warning("merge step failed, using the joined summaries", extra={"reason": str(exc)})
                continue
            plan.models_used.append(model)
            update: dict[str, Any] = {"summary_one_line": result.summary_one_line, "summary": result.summary}
            if result.types:
                update["types"] = sorted(result.types, key=lambda t: -t.confidence)
            return merged.model_copy(update=update)
        return merged

    async def _analyze_part(self, plan: _Plan, prompt: str) -> MeetingAnalysis:
        async with self._semaphore:
            reasons: list[str] = []
            for model in plan.models:
                try:
                    result = await self._call_with_repair(model, plan.system, prompt, plan.usage)
                except _Transient as exc:
                    reasons.append(f"{model}: {exc}")
                    log.warning(
                        "claude model unavailable, trying fallback",
                        extra={"model": model, "reason": str(exc)},
                    )
                    continue
                plan.models_used.append(model)
                return result
            raise AnalysisFailed("Claude unavailable (" + "; ".join(reasons) + ")")

    async def _call_with_repair(
        self, model: str, system: list[dict[str, Any]], prompt: str, usage: list[UsageRecord]
    ) -> MeetingAnalysis:
        """One call, and one more if the output does not validate; then give up on Claude."""
        problem = ""
        for attempt in (1, 2):
            try:
                out = await self._call(model, system, prompt, usage, ClaudeAnalysis, "meeting_analysis")
                return out.to_analysis()
            except _Malformed as exc:
                problem = str(exc)
                log.warning(
                    "claude output invalid", extra={"model": model, "attempt": attempt, "reason": problem}
                )
        raise AnalysisFailed(f"Claude returned invalid output twice ({problem})")

    def _record(self, purpose: str, model: str, u: Any, *, batch: bool = False) -> UsageRecord:
        record = UsageRecord(
            purpose=purpose + (" (batch)" if batch else ""),
            model=model,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_creation_tokens=u.cache_creation_input_tokens or 0,
            cache_read_tokens=u.cache_read_input_tokens or 0,
        )
        return record.model_copy(update={"cost_usd": cost_usd(self._prices, record, batch=batch)})

    async def _call(
        self,
        model: str,
        system: list[dict[str, Any]],
        prompt: str,
        usage: list[UsageRecord],
        output: type[M],
        purpose: str,
        max_tokens: int | None = None,
    ) -> M:
        try:
            response = await self._client.messages.parse(
                model=model,
                max_tokens=max_tokens or self._max_output_tokens,
                system=system,  # type: ignore[arg-type]
                messages=[{"role": "user", "content": prompt}],
                output_format=output,
            )
        except pydantic.ValidationError as exc:
            # The SDK validates inside the call, so a bad answer's token usage is not available.
            raise _Malformed(f"schema validation failed: {exc.error_count()} errors") from None
        except anthropic.APIError as exc:
            if _is_transient(exc):
                raise _Transient(_describe(exc)) from None
            raise AnalysisFailed(f"Claude rejected the request ({_describe(exc)})") from None
        usage.append(self._record(purpose, model, response.usage))
        parsed = response.parsed_output
        if parsed is None:
            raise _Malformed(f"no structured output (stop_reason={response.stop_reason})")
        return parsed

    # --- Message Batches ---------------------------------------------------------------------

    async def _run_batch(self, requests: dict[str, tuple[_Plan, str]]) -> dict[str, MeetingAnalysis]:
        """Submit, poll until ended, parse. Parts missing from the answer are left to the caller."""
        schema = {"type": "json_schema", "schema": transform_schema(ClaudeAnalysis)}
        try:
            batch = await self._client.messages.batches.create(
                requests=[
                    {
                        "custom_id": custom_id,
                        "params": {
                            "model": plan.models[0],
                            "max_tokens": self._max_output_tokens,
                            "system": plan.system,  # type: ignore[typeddict-item]
                            "messages": [{"role": "user", "content": prompt}],
                            "output_config": {"format": schema},  # type: ignore[typeddict-item]
                        },
                    }
                    for custom_id, (plan, prompt) in requests.items()
                ]
            )
            while batch.processing_status != "ended":
                await asyncio.sleep(self._poll)
                batch = await self._client.messages.batches.retrieve(batch.id)
            results = await self._client.messages.batches.results(batch.id)
            out: dict[str, MeetingAnalysis] = {}
            async for line in results:
                entry = requests.get(line.custom_id)
                if entry is None or line.result.type != "succeeded":
                    continue
                plan, _ = entry
                message = line.result.message
                plan.usage.append(self._record("meeting_analysis", message.model, message.usage, batch=True))
                text = "".join(getattr(b, "text", "") for b in message.content)
                try:
                    out[line.custom_id] = ClaudeAnalysis.model_validate_json(text).to_analysis()
                except pydantic.ValidationError:
                    log.warning("batch answer invalid; analysing that part directly")
                    continue
                plan.models_used.append(message.model)
            return out
        except anthropic.APIError as exc:
            log.warning("message batch failed, analysing directly", extra={"reason": _describe(exc)})
            return {}
