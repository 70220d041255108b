"""Checks on model output against the transcript it was given.

Claude quotes the words behind every action item and decision. A quote that cannot be found in the
transcript (after normalising case, punctuation and filler words, with a little slack for a model
that tidies a sentence) means the item was invented or misattributed: it is dropped, not shown to
people who would act on it. Timestamps are clamped to the recording so a card never links past it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.analysis.chunking import long_time, normalise
from services.analysis.schema import ActionItemOut, DecisionOut, MeetingAnalysis, Mention
from services.fathom import FathomMeeting, timestamp_seconds

log = logging.getLogger(__name__)

COVERAGE = 0.8  # share of a quote's content words that must appear in one or two adjacent turns


@dataclass(frozen=True)
class _Turn:
    seconds: int
    words: frozenset[str]


class TranscriptIndex:
    """Normalised transcript for quote look-ups: one contiguous string plus per-turn word sets."""

    def __init__(self, meeting: FathomMeeting) -> None:
        turns = meeting.transcript or []
        normals = [normalise(t.text) for t in turns]
        self.text = " " + " ".join(n for n in normals if n) + " "
        self.turns = [
            _Turn(timestamp_seconds(t.timestamp), frozenset(n.split()))
            for t, n in zip(turns, normals, strict=True)
        ]
        last = max((t.seconds for t in self.turns), default=0)
        self.duration = max(int(meeting.duration_seconds or 0), last)

    @property
    def empty(self) -> bool:
        return not self.turns

    def find(self, quote: str | None) -> int | None:
        """Seconds of the turn that holds `quote`, or None when it is not in the transcript."""
        words = normalise(quote or "").split()
        if not words:
            return None
        wanted = set(words)
        joined = " " + " ".join(words) + " "
        exact = joined in self.text
        best, best_at = 0.0, None
        for i, turn in enumerate(self.turns):
            pool = turn.words | (self.turns[i + 1].words if i + 1 < len(self.turns) else frozenset())
            cover = len(wanted & pool) / len(wanted)
            if cover > best:
                best, best_at = cover, turn.seconds
                if cover == 1.0:
                    break
        if exact or best >= COVERAGE:
            return best_at
        return None


def _clamp(value: str | None, index: TranscriptIndex) -> str | None:
    return long_time(value, index.duration or None)


def _at(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def check_evidence(analysis: MeetingAnalysis, meeting: FathomMeeting) -> tuple[MeetingAnalysis, int]:
    """Drop items and decisions whose evidence is not in the transcript; clamp every timestamp.

    Fathom's own items are kept whatever their quote (Fathom is the source). Without a transcript
    nothing can be checked, so only timestamps are normalised. Returns the result and how many
    entries were dropped.
    """
    index = TranscriptIndex(meeting)
    dropped = 0

    def item(a: ActionItemOut) -> ActionItemOut | None:
        nonlocal dropped
        stamp = _clamp(a.source_timestamp, index)
        if a.source != "fathom" and not index.empty:
            at = index.find(a.evidence)
            if at is None:
                dropped += 1
                return None
            stamp = stamp or _at(at)
        return a.model_copy(update={"source_timestamp": stamp})

    def decision(d: DecisionOut) -> DecisionOut | None:
        nonlocal dropped
        stamp = _clamp(d.source_timestamp, index)
        if not index.empty:
            at = index.find(d.evidence)
            if at is None:
                dropped += 1
                return None
            stamp = stamp or _at(at)
        return d.model_copy(update={"source_timestamp": stamp})

    def mentions(items: list[Mention]) -> list[Mention]:
        return [m.model_copy(update={"source_timestamp": _clamp(m.source_timestamp, index)}) for m in items]

    items = [x for x in (item(a) for a in analysis.action_items) if x is not None]
    decisions = [x for x in (decision(d) for d in analysis.decisions) if x is not None]
    if dropped:
        log.info("dropped %d entries without evidence", dropped, extra={"recording_id": meeting.recording_id})
    return (
        analysis.model_copy(
            update={
                "action_items": items,
                "decisions": decisions,
                **{
                    k: mentions(getattr(analysis, k))
                    for k in ("risks", "requirements", "budget", "timeline", "roadmap_ideas")
                },
            }
        ),
        dropped,
    )
