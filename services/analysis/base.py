"""The one analyzer interface, the factory that picks Claude or the heuristic, and the safety net.

The pipeline calls `analyze_with_fallback` and always gets an `AnalysisOutcome`: when Claude fails
completely the heuristic result is returned marked `degraded`, so the card still goes out and the
meeting can be re-analysed later.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from services.analysis.schema import AnalysisOutcome
from services.fathom import FathomMeeting

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from bot.config import Settings

log = logging.getLogger(__name__)

SDK_MAX_RETRIES = 1
SDK_TIMEOUT_SECONDS = 120.0


class AnalysisFailed(Exception):
    """Claude produced no usable analysis; the message is short and safe to store or show."""


@runtime_checkable
class Analyzer(Protocol):
    name: str

    async def analyze(self, meeting: FathomMeeting, *, os_context: str = "") -> AnalysisOutcome: ...


def build_analyzer(settings: Settings, client: AsyncAnthropic | None = None) -> Analyzer:
    """Claude when a key (or a ready client) is given, otherwise the offline heuristic."""
    from services.analysis.heuristic import HeuristicAnalyzer

    if client is None and settings.anthropic_api_key is None:
        return HeuristicAnalyzer()
    from anthropic import AsyncAnthropic

    from services.analysis.claude import ClaudeAnalyzer

    if client is None:
        assert settings.anthropic_api_key is not None
        client = AsyncAnthropic(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            max_retries=SDK_MAX_RETRIES,
            timeout=SDK_TIMEOUT_SECONDS,
        )
    return ClaudeAnalyzer(
        client,
        model=settings.claude_model,
        fallback_model=settings.claude_fallback_model,
        prices=settings.claude_prices,
        chunk_tokens=settings.claude_chunk_tokens,
        max_concurrency=settings.claude_max_concurrency,
    )


async def analyze_with_fallback(
    primary: Analyzer, heuristic: Analyzer, meeting: FathomMeeting, os_context: str = ""
) -> AnalysisOutcome:
    """Primary analysis, or the heuristic one marked degraded with a short reason (no stack, no secrets)."""
    if primary is heuristic:
        return await heuristic.analyze(meeting, os_context=os_context)
    try:
        return await primary.analyze(meeting, os_context=os_context)
    except AnalysisFailed as exc:
        error = str(exc)[:300]
    except Exception as exc:  # the safety net must hold whatever the primary does
        log.exception("analysis failed unexpectedly", extra={"recording_id": meeting.recording_id})
        error = f"{primary.name} failed ({type(exc).__name__})"
    log.warning(
        "analysis degraded to heuristic", extra={"recording_id": meeting.recording_id, "reason": error}
    )
    outcome = await heuristic.analyze(meeting, os_context=os_context)
    return outcome.model_copy(update={"degraded": True, "error": error})
