"""Decisions from the structure of a conversation: topic episodes and their convergence points.

A meeting is cut into topic episodes by lexical cohesion (TextTiling-like: the content words of
the turns before a gap against those after it; a deep dip in similarity is a topic shift). Within
an episode the decision is where the talk converges: a proposal (a statement about the episode's
topic, often "we could / should / let's…") that at least one OTHER speaker accepts within a few
turns ("yeah", "sounds good", or repeating the proposal's key words), with no counter-proposal
after it. The proposal, not the agreement, is the decision text and its evidence; at most one
decision per episode.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

from services.analysis.extract import Turn

WINDOW = 12  # turns on each side of a gap compared for cohesion
MIN_EPISODE = 15  # turns; shorter dips are the same topic
ACCEPT_TURNS = 4  # acceptance must come this soon after the proposal
MIN_TOPIC = 1  # words the proposal shares with the episode's recurring words (said in 3+ turns)

_COUNTER_RX = re.compile(
    r"^(?:no\b|nah\b|but\b|well,? (?:but|no|I don't)|I don't (?:think|know|agree|like)|not (?:really|sure)"
    r"|what about\b|how about\b|or (?:we|maybe|should)\b|I'd rather\b|I would rather\b|instead\b|hmm\b)",
    re.IGNORECASE,
)
_PROPOSE_RX = re.compile(
    r"\b(?:we (?:could|should|can|will|'ll|must|need|have to|go|take|keep|use|stick|drop|want)"
    r"|we'(?:ll|re going|re gonna|d)|let'?s|I (?:would|'d) (?:say|go|suggest|put|keep|use|prefer)"
    r"|I (?:suggest|propose|vote)|(?:should|must|has to|have to) be|is (?:definitely )?(?:out|in)\b"
    r"|(?:go|going) (?:with|for)|so no\b|instead of|rather than|it(?:'s| is)? (?:gonna|going to) (?:be|have))",
    re.IGNORECASE,
)
_HEDGE_RX = re.compile(r"\b(?:probably|maybe|perhaps|possibly|might|I think|I guess|if (?:it|we))\b", re.I)


@dataclass(frozen=True)
class Convergence:
    pos: int  # position of the proposal in the turn list
    sentence: str
    score: float
    accepted_by: int
    hedged: bool


def segment(bags: Sequence[Counter[str]], window: int = WINDOW, min_len: int = MIN_EPISODE) -> list[int]:
    """Start positions of topic episodes (always including 0) from per-turn content-word bags."""
    n = len(bags)
    if n < 2 * min_len:
        return [0]
    sims: list[float] = []
    left: dict[str, int] = {}
    right: dict[str, int] = {}
    # the dot product and both squared norms are kept up to date as the windows slide (exact:
    # integer counts), so each gap costs the words that enter and leave, not both windows
    dot = left_sq = right_sq = 0

    def move(bag: dict[str, int], other: dict[str, int], words: Counter[str], sign: int) -> tuple[int, int]:
        """Adds sign * words to bag; returns how bag . other and |bag|^2 change."""
        d_dot = d_sq = 0
        for w, v in words.items():
            old = bag.get(w, 0)
            new = old + sign * v
            if new:
                bag[w] = new
            else:
                del bag[w]
            d_dot += (new - old) * other.get(w, 0)
            d_sq += new * new - old * old
        return d_dot, d_sq

    for b in bags[:window]:
        _, d_sq = move(right, left, b, 1)
        right_sq += d_sq
    for gap in range(1, n):  # slide both windows one turn: O(n) bag updates, not O(n * window)
        if crossing := bags[gap - 1]:  # a third of the turns ("yeah", "okay") have no content word
            d_dot, d_sq = move(left, right, crossing, 1)
            dot, left_sq = dot + d_dot, left_sq + d_sq
        if gap - 1 - window >= 0 and (leaving := bags[gap - 1 - window]):
            d_dot, d_sq = move(left, right, leaving, -1)
            dot, left_sq = dot + d_dot, left_sq + d_sq
        if crossing:
            d_dot, d_sq = move(right, left, crossing, -1)
            dot, right_sq = dot + d_dot, right_sq + d_sq
        if gap - 1 + window < n and (entering := bags[gap - 1 + window]):
            d_dot, d_sq = move(right, left, entering, 1)
            dot, right_sq = dot + d_dot, right_sq + d_sq
        norm = math.sqrt(left_sq * right_sq)
        sims.append(dot / norm if norm else 0.0)
    # depth of each valley: how far similarity climbs back on both sides (TextTiling); a climb
    # from i that reaches i - 1 (i + 1) continues as the climb from there: two linear passes
    m = len(sims)
    lpeak = list(sims)
    for i in range(1, m):
        if sims[i - 1] >= sims[i]:
            lpeak[i] = lpeak[i - 1]
    rpeak = list(sims)
    for i in range(m - 2, -1, -1):
        if sims[i + 1] >= sims[i]:
            rpeak[i] = rpeak[i + 1]
    depth = [(lpeak[i] - s) + (rpeak[i] - s) for i, s in enumerate(sims)]
    mean = sum(depth) / len(depth)
    std = math.sqrt(sum((d - mean) ** 2 for d in depth) / len(depth))
    cut = mean + 0.5 * std
    starts = [0]
    for i in sorted(range(len(depth)), key=lambda k: -depth[k]):
        if depth[i] < cut:
            break
        gap = i + 1
        if all(abs(gap - s) >= min_len for s in starts) and n - gap >= min_len:
            starts.append(gap)
    return sorted(starts)


def _accepts(text: str, key: set[str]) -> bool:
    """A short turn that agrees, or one that repeats the proposal's key words ("Buttons.")."""
    from services.analysis import extract

    if _COUNTER_RX.match(text):
        return False
    if extract._AGREE_RX.match(text) and len(text.split()) <= 12:
        return True
    echoed = set(extract._words(text)) & key
    return bool(echoed) and len(text.split()) <= 8 and not text.endswith("?")


def convergences(turns: Sequence[Turn], words: Sequence[list[str]] | None = None) -> list[Convergence]:
    """At most one convergence point per topic episode, in the order said."""
    from services.analysis import extract

    bags = (
        [Counter(w) for w in words] if words is not None else [Counter(extract._words(t[4])) for t in turns]
    )
    starts = segment(bags)
    bounds = list(zip(starts, [*starts[1:], len(turns)], strict=True))
    out: list[Convergence] = []
    for lo, hi in bounds:
        episode_words = Counter(chain.from_iterable(bags[lo:hi]))  # turns saying each word
        topic = {w for w, c in episode_words.items() if c >= 3}
        best: Convergence | None = None
        for pos in range(lo, hi):
            speaker, text = turns[pos][1], turns[pos][4]
            for sentence in extract._sentences(text)[-2:]:
                if sentence.endswith("?") or not _PROPOSE_RX.search(sentence):
                    continue
                key = set(extract._words(sentence))
                on_topic = key & topic
                if len(on_topic) < MIN_TOPIC:
                    continue
                accepted: set[str] = set()
                countered = False
                for later in turns[pos + 1 : min(hi, pos + 1 + ACCEPT_TURNS)]:
                    if later[1] == speaker:
                        continue
                    if _COUNTER_RX.match(later[4]):
                        countered = True
                        break
                    if _accepts(later[4], key):
                        accepted.add(later[1])
                if countered or not accepted:
                    continue
                # the long regexes last: few proposals are on topic and accepted (#14)
                if extract._IN_MEETING_RX.search(sentence) or extract._JOKE_RX.search(sentence):
                    continue
                if extract._UNDECIDED_RX.search(sentence) or extract._HYPOTHETICAL_RX.search(sentence):
                    continue
                score = 1.0 + 1.5 * min(len(accepted), 2) + 0.5 * min(len(on_topic), 4)
                score -= 1.0 if len(key) > 14 else 0.0
                cand = Convergence(pos, sentence, score, len(accepted), bool(_HEDGE_RX.search(sentence)))
                if best is None or cand.score >= best.score:
                    best = cand
        if best is not None:
            out.append(best)
    return out
