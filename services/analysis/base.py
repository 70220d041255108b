"""The one analyzer interface, the factory that picks Claude or the heuristic, and the safety net.

The pipeline calls `analyze_with_fallback` and always gets an `AnalysisOutcome`: when Claude fails
completely the heuristic result is returned marked `degraded`, so the card still goes out and the
meeting can be re-analysed later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from services.analysis.schema import AnalysisOutcome
from services.fathom import FathomMeeting

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from bot.config import Settings
    from services.os_config import OSConfig

log = logging.getLogger(__name__)


class AnalysisFailed(Exception):
    """Claude produced no usable analysis; the message is short and safe to store or show."""


@runtime_checkable
class Analyzer(Protocol):
    name: str

    async def analyze(self, meeting: FathomMeeting, *, os_context: str = "") -> AnalysisOutcome: ...


def build_analyzer(
    settings: Settings,
    client: AsyncAnthropic | None = None,
    os_config: Callable[[], OSConfig] | None = None,
) -> Analyzer:
    """Claude when a client is given (bot/clients.py builds it from the key), else the heuristic.

    `os_config` is read at each analysis, so `model_routing.primary_types` in `fathom-os.yml` takes
    effect on the next meeting without a restart."""
    from services.analysis.heuristic import HeuristicAnalyzer

    if client is None:
        return HeuristicAnalyzer()
    from services.analysis.claude import PRIMARY_TYPES, ClaudeAnalyzer
    from services.languages import output_language

    def primary_types() -> list[str]:
        return list(os_config().model_routing.primary_types) if os_config else list(PRIMARY_TYPES)

    return ClaudeAnalyzer(
        client,
        model=settings.claude_model,
        fallback_model=settings.claude_fallback_model,
        light_model=settings.claude_light_model,
        primary_types=primary_types,
        language_for=(lambda m: output_language(os_config(), m)) if os_config else None,
        prices=settings.claude_prices,
        chunk_tokens=settings.claude_chunk_tokens,
        max_concurrency=settings.claude_max_concurrency,
        use_batches=settings.claude_use_batches,
    )


async def analyze_with_fallback(
    primary: Analyzer, heuristic: Analyzer, meeting: FathomMeeting, os_context: str = ""
) -> AnalysisOutcome:
    """Primary analysis, or the heuristic one marked degraded with a short reason (no stack, no secrets)."""
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
