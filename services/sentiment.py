"""Meeting tone offline: VADER (vaderSentiment ships its lexicon, nothing is downloaded at run time).

A turn's compound score is in -1..1; a meeting's and a speaker's score is the word-weighted mean of
their turns, so a long complaint weighs more than an "okay". Turns of fewer than three words
("Yeah.", "Um") are skipped: they are mostly filler and VADER reads them as neutral anyway.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import lru_cache

from vaderSentiment import vaderSentiment as vader
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.fathom import FathomMeeting

POSITIVE = 0.05  # VADER's own thresholds for positive / negative
NEGATIVE = -0.05
MIN_WORDS = 3


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def _emoji_chars() -> frozenset[str]:
    """VADER replaces emoji character by character: only one-character keys can ever match."""
    return frozenset(k for k in _analyzer().emojis if len(k) == 1)


_PUNCT = string.punctuation


def _tokens(text: str) -> list[str]:
    """VADER's SentiText._words_and_emoticons: punctuation stripped unless that leaves <= 2 chars."""
    return [w if len(s := w.strip(_PUNCT)) <= 2 else s for w in text.split()]


_NEGATE = frozenset(vader.NEGATE)


def _negated(word: str) -> bool:
    return word in _NEGATE or "n't" in word


def _negation_check(valence: float, lower: list[str], start_i: int, i: int) -> float:
    """VADER's `_negation_check` over the already lowered words (it lowers the whole list per call)."""
    if start_i == 0:
        if _negated(lower[i - 1]):
            valence *= vader.N_SCALAR
    elif start_i == 1:
        if lower[i - 2] == "never" and lower[i - 1] in ("so", "this"):
            valence *= 1.25
        elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
            pass
        elif _negated(lower[i - 2]):
            valence *= vader.N_SCALAR
    else:
        if (lower[i - 3] == "never" and lower[i - 2] in ("so", "this")) or lower[i - 1] in ("so", "this"):
            valence *= 1.25
        elif lower[i - 3] == "without" and "doubt" in (lower[i - 2], lower[i - 1]):
            pass
        elif _negated(lower[i - 3]):
            valence *= vader.N_SCALAR
    return valence


def _special_idioms_check(valence: float, lower: list[str], i: int) -> float:
    """VADER's `_special_idioms_check` (called with i >= 3) over the already lowered words."""
    special, booster = vader.SPECIAL_CASES, vader.BOOSTER_DICT
    onezero = f"{lower[i - 1]} {lower[i]}"
    twoonezero = f"{lower[i - 2]} {lower[i - 1]} {lower[i]}"
    twoone = f"{lower[i - 2]} {lower[i - 1]}"
    threetwoone = f"{lower[i - 3]} {lower[i - 2]} {lower[i - 1]}"
    threetwo = f"{lower[i - 3]} {lower[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in special:
            valence = special[seq]
            break
    if len(lower) - 1 > i and (zeroone := f"{lower[i]} {lower[i + 1]}") in special:
        valence = special[zeroone]
    if len(lower) - 1 > i + 1 and (zeroonetwo := f"{lower[i]} {lower[i + 1]} {lower[i + 2]}") in special:
        valence = special[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in booster:
            valence += booster[n_gram]
    return valence


def score_text(text: str) -> float:
    """VADER's compound score, identical to `polarity_scores(text)["compound"]` but about 3x faster.

    An hour-long meeting has ~1,000 turns and VADER was a quarter of the offline analysis (#14):
    a text without emoji is scored here by VADER's own steps with the words lowered once (VADER
    lowers the whole turn again for every sentiment word, quadratic in long turns), and a text
    with no lexicon word scores 0 without scoring (every valence VADER adds, idioms and boosters
    included, starts from a lexicon word). tests/test_sentiment.py checks equality on real turns.
    """
    analyzer = _analyzer()
    if not _emoji_chars().isdisjoint(text):
        return float(analyzer.polarity_scores(text)["compound"])
    text = text.strip()
    lexicon = analyzer.lexicon
    if text.isascii():  # lowering first changes no token's length, so no stripping
        lower = _tokens(text.lower())
        if lexicon.keys().isdisjoint(lower):
            return 0.0
        words = _tokens(text)
    else:
        words = _tokens(text)
        lower = [w.lower() for w in words]
        if lexicon.keys().isdisjoint(lower):
            return 0.0
    booster = vader.BOOSTER_DICT
    is_cap_diff = vader.allcap_differential(words)
    sentiments: list[float] = []
    n = len(words)
    for i, low in enumerate(lower):  # SentimentIntensityAnalyzer.polarity_scores + sentiment_valence
        if low in booster or (low == "kind" and i < n - 1 and lower[i + 1] == "of"):
            sentiments.append(0)
            continue
        if low not in lexicon:
            sentiments.append(0)
            continue
        valence = lexicon[low]
        if low == "no" and i != n - 1 and lower[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and lower[i - 1] == "no")
            or (i > 1 and lower[i - 2] == "no")
            or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[low] * vader.N_SCALAR
        if words[i].isupper() and is_cap_diff:
            valence += vader.C_INCR if valence > 0 else -vader.C_INCR
        for start_i in range(3):
            before = i - (start_i + 1)
            if i > start_i and lower[before] not in lexicon:
                s = vader.scalar_inc_dec(words[before], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lower, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lower, i)
        sentiments.append(analyzer._least_check(valence, words, i))
    sentiments = analyzer._but_check(words, sentiments)
    total = float(sum(sentiments))  # score_valence, its compound only
    if total > 0:
        total += analyzer._punctuation_emphasis(text)
    elif total < 0:
        total -= analyzer._punctuation_emphasis(text)
    return float(round(vader.normalize(total), 4))


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
