"""Meeting tone offline: VADER (vaderSentiment ships its lexicon, nothing is downloaded at run time).

A turn's compound score is in -1..1; a meeting's and a speaker's score is the word-weighted mean of
their turns, so a long complaint weighs more than an "okay". Turns of fewer than three words
("Yeah.", "Um") are skipped: they are mostly filler and VADER reads them as neutral anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.fathom import FathomMeeting

POSITIVE = 0.05  # VADER's own thresholds for positive / negative
NEGATIVE = -0.05
MIN_WORDS = 3


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def score_text(text: str) -> float:
    return float(_analyzer().polarity_scores(text)["compound"])


def label(score: float | None) -> str:
    if score is None:
        return "unknown"
    if score >= POSITIVE:
        return "positive"
    if score <= NEGATIVE:
        return "negative"
    return "neutral"


@dataclass
class _Acc:
    weighted: float = 0.0
    words: int = 0

    def add(self, score: float, words: int) -> None:
        self.weighted += score * words
        self.words += words

    @property
    def mean(self) -> float | None:
        return round(self.weighted / self.words, 4) if self.words else None


@dataclass(frozen=True)
class MeetingTone:
    score: float | None  # None: no transcript with enough words
    by_speaker: dict[str, float | None] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return label(self.score)


def meeting_tone(meeting: FathomMeeting) -> MeetingTone:
    total = _Acc()
    speakers: dict[str, _Acc] = {}
    for line in meeting.transcript or []:
        words = len(line.text.split())
        acc = speakers.setdefault(line.speaker.display_name, _Acc())
        if words < MIN_WORDS:
            continue
        s = score_text(line.text)
        total.add(s, words)
        acc.add(s, words)
    return MeetingTone(total.mean, {name: acc.mean for name, acc in speakers.items()})


def tone_line(score: float | None) -> str | None:
    """The card's one line: 'Tone: positive (+0.42)'; None when unknown."""
    if score is None:
        return None
    return f"Tone: {label(score)} ({score:+.2f})"
