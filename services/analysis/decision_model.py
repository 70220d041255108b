"""A learned signal for the turns where a meeting settles something (the offline analyzer, #14).

What it is: a linear model (logistic regression) over binary features of one transcript turn: its
words and word pairs, its first three and last words, the previous turn's words, the next turn's
first words, its length, its position in the meeting, how many other speakers agree ("yeah", "sounds
good") within the next three turns, and how many of its words the meeting keeps returning to.
`turn_logits` gives every turn the model's log-odds that it states a decision; `extract._decisions`
adds them to its rule candidates' scores and offers the model's best turns as candidates.

Training data: weak labels from the QMSum corpus (github.com/Yale-LILY/QMSum), TRAIN split only
(data/ALL/train: 162 meetings from AMI, ICSI and parliamentary committees); the validation split is
this project's dev set and the test split is never read. For each sentence of a query answer that
reports a decision ("The group decided to use ..."), the turn of the query's span whose words best
overlap the sentence is a positive; turns within two of a positive are left out; every other turn
is a negative. Only words used in at least half of the meetings of EACH of the three corpora may be
features (a few hundred words such as "we", "use", "made", "decided"; no product-domain words such
as "remote" or "button"), so the weights describe how a meeting talks, not what it talks about. The
shipped weights average three models (three ways of normalising the overlap by turn length) and keep
the 6,000 largest.

Licences: QMSum is MIT (Zhong et al., 2021); its transcripts come from the AMI Meeting Corpus (CC BY
4.0), the ICSI Meeting Corpus (CC BY 4.0) and published committee proceedings of the Welsh Parliament
and the Parliament of Canada (QMSum's README states no licence of its own for these). The weights are
statistics over generic words, no transcript text; decision_weights.json's "meta" says the same.

Retraining (never at run time; scikit-learn is the optional `train` extra):
    pip install -e '.[train]'
    git clone https://github.com/Yale-LILY/QMSum /tmp/QMSum
    python tools/train_decision_model.py /tmp/QMSum            # writes decision_weights.json
    python tools/train_decision_model.py /tmp/QMSum --check    # the shipped file is reproduced
The features are defined once, here (`turn_features`): training calls it, and `turn_logits` is the
same sum of weights computed a word at a time (~1,000 turns in a few milliseconds, pure Python).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEIGHTS_PATH = Path(__file__).with_name("decision_weights.json")
LENGTH_EDGES = (3, 6, 12, 25, 50)  # words in a turn: "len:0" below 3 ... "len:5" from 50
POSITIONS = 10  # "pos:k": the tenth of the meeting the turn is in
AGREE_WINDOW = 3  # turns after this one in which other speakers' agreement counts
PREVIOUS_WORDS = 12  # the previous turn's first words that are features ("p:")
EDGE_WORDS = 3  # a turn's first words ("f:") and the next turn's first words ("n:")
MAX_TOPIC = 5  # "topic:k": words of the turn said in many turns, capped
# the feature kinds that carry words ("b:" pairs them); the rest ("len:2", "agree:1", ...) are structural
WORD_KINDS = ("u", "b", "f", "l", "p", "n")
STRUCTURAL_KINDS = ("len", "pos", "agree", "topic")

_TOKEN_RX = re.compile(r"[a-z][a-z']*|\d+|[?]")
# part of the trained feature set, so not extract._AGREE_RX: it reads lower-case tokens, and a change
# here changes what the weights mean (retrain with tools/train_decision_model.py)
_AGREE_RX = re.compile(
    r"^(?:yeah|yes|yep|yup|okay|ok|right|sure|agreed|i agree|fine|good|great|sounds good|makes sense|exactly"
    r"|definitely|absolutely|alright|cool|true|that's (?:fine|good|right|it)|good idea|perfect|why not|mm-hmm|uh-huh)\b"
)
_FILLER = frozenset(("um", "uh", "mm", "hmm"))


def tokens(text: str) -> list[str]:
    """Lower-case words, numbers and question marks, without 'um/uh'."""
    return [t for t in _TOKEN_RX.findall(text.lower()) if t not in _FILLER]


@dataclass(frozen=True)
class DecisionModel:
    """The weights as read (`weights`), and indexed for `turn_logits` in integer thousandths (the
    file's precision): a sum of integers is exact in any order, so a score never depends on the
    order a set of words happens to iterate in (string hashing differs between processes)."""

    meta: dict[str, Any]
    weights: dict[str, float]
    words: dict[str, dict[str, int]]  # kind ("u", "f", "l", "p", "n") -> word -> weight
    pairs: dict[tuple[str, str], int]
    pair_starts: frozenset[str]
    bias: int
    lengths: tuple[int, ...]
    positions: tuple[int, ...]
    agrees: tuple[int, ...]
    topics: tuple[int, ...]
    same_speaker: int
    question: int


SCALE = 1000  # the weights' precision: three decimals


@functools.cache
def model() -> DecisionModel:
    """The shipped weights, read once per process (the CPU pool warms it at start-up, `warm_up`)."""
    raw = json.loads(WEIGHTS_PATH.read_text())
    weights = {str(k): float(v) for k, v in raw["weights"].items()}
    milli = {k: round(v * SCALE) for k, v in weights.items()}
    words: dict[str, dict[str, int]] = {k: {} for k in WORD_KINDS if k != "b"}
    pairs: dict[tuple[str, str], int] = {}
    for key, value in milli.items():
        kind, _, rest = key.partition(":")
        if kind == "b":
            a, _, b = rest.partition("_")
            pairs[(a, b)] = value
        elif kind in words:
            words[kind][rest] = value
    get = milli.get
    return DecisionModel(
        meta=dict(raw["meta"]),
        weights=weights,
        words=words,
        pairs=pairs,
        pair_starts=frozenset(a for a, _ in pairs),
        bias=get("bias", 0),
        lengths=tuple(get(f"len:{k}", 0) for k in range(len(LENGTH_EDGES) + 1)),
        positions=tuple(get(f"pos:{k}", 0) for k in range(POSITIONS)),
        agrees=tuple(get(f"agree:{k}", 0) for k in range(3)),
        topics=tuple(get(f"topic:{k}", 0) for k in range(MAX_TOPIC + 1)),
        same_speaker=get("samespk_prev", 0),
        question=get("has_q", 0),
    )


def warm_up() -> None:
    """Read and index the weights (~5 ms) when the CPU pool starts, not in a user's first analysis."""
    model()


@dataclass(frozen=True)
class _Meeting:
    """A meeting's turns as the features see them; the structural ones per turn."""

    toks: list[list[str]]
    sets: list[set[str]]
    length: list[int]  # "len:k"
    agree: list[int]  # "agree:k": other speakers agreeing in the next AGREE_WINDOW turns (at most 2)
    topic: list[int]  # "topic:k": words of the turn (longer than three letters) said in many turns


def _meeting(turns: Sequence[tuple[str, str]]) -> _Meeting:
    toks = [tokens(text) for _, text in turns]
    sets = [set(x) for x in toks]
    counts = Counter(itertools.chain.from_iterable(sets))  # turns that say each word
    floor = max(4, len(turns) // 80)
    topical = {w for w, c in counts.items() if c >= floor and len(w) > 3}
    agreeing: list[set[str]] = [set() for _ in turns]
    for j, x in enumerate(toks):
        if len(x) <= 12 and _AGREE_RX.match(" ".join(x[:4])):  # "yeah, sounds good"
            for i in range(max(0, j - AGREE_WINDOW), j):
                agreeing[i].add(turns[j][0])
    return _Meeting(
        toks,
        sets,
        length=[bisect.bisect_right(LENGTH_EDGES, len(x)) for x in toks],
        agree=[min(len(a - {turns[i][0]}), 2) if a else 0 for i, a in enumerate(agreeing)],
        topic=[min(len(x & topical), MAX_TOPIC) for x in sets],
    )


def turn_features(turns: Sequence[tuple[str, str]]) -> list[set[str]]:
    """The features of every turn ((speaker, text) in order) by name: "u:made", "b:we_have",
    "len:2", "bias", ... The definition training uses; `turn_logits` sums the same weights."""
    m = _meeting(turns)
    n = len(turns)
    out: list[set[str]] = []
    for i, x in enumerate(m.toks):
        f = {
            "bias",
            f"len:{m.length[i]}",
            f"pos:{POSITIONS * i // n}",
            f"agree:{m.agree[i]}",
            f"topic:{m.topic[i]}",
        }
        f.update("u:" + w for w in m.sets[i])
        f.update(f"b:{a}_{b}" for a, b in itertools.pairwise(x))
        f.update("f:" + w for w in x[:EDGE_WORDS])
        if x:
            f.add("l:" + x[-1])
        if i > 0:
            f.update("p:" + w for w in m.toks[i - 1][:PREVIOUS_WORDS])
            if turns[i - 1][0] == turns[i][0]:
                f.add("samespk_prev")
        if i + 1 < n:
            f.update("n:" + w for w in m.toks[i + 1][:EDGE_WORDS])
        if "?" in m.sets[i]:
            f.add("has_q")
        out.append(f)
    return out


_ZEROS = itertools.repeat(0)  # the default of every lookup


def turn_logits(turns: Sequence[tuple[str, str]]) -> list[float]:
    """The model's log-odds, per turn ((speaker, text) in order), that the turn states a decision:
    the sum of the weights of its `turn_features`, a dictionary lookup per word (each kind of
    feature a list over the turns: no per-turn branching in Python)."""
    if not turns:
        return []
    mdl, zeros = model(), _ZEROS
    u, first, last, prev, nxt = (mdl.words[k].get for k in ("u", "f", "l", "p", "n"))
    pair, starts = mdl.pairs.get, mdl.pair_starts
    m = _meeting(turns)
    n = len(turns)
    speakers = [speaker for speaker, _ in turns]
    prev_part = [0] + [sum(map(prev, set(x[:PREVIOUS_WORDS]), zeros)) for x in m.toks[:-1]]
    next_part = [sum(map(nxt, set(x[:EDGE_WORDS]), zeros)) for x in m.toks[1:]] + [0]
    same = [0] + [mdl.same_speaker if a == b else 0 for a, b in itertools.pairwise(speakers)]
    parts = (
        [sum(map(u, words, zeros)) for words in m.sets],
        [sum(map(first, set(x[:EDGE_WORDS]), zeros)) for x in m.toks],
        [sum(map(pair, {ab for ab in itertools.pairwise(x) if ab[0] in starts}, zeros)) for x in m.toks],
        [last(x[-1], 0) if x else 0 for x in m.toks],
        [mdl.lengths[k] for k in m.length],
        [mdl.positions[POSITIONS * i // n] for i in range(n)],
        [mdl.agrees[k] for k in m.agree],
        [mdl.topics[k] for k in m.topic],
        [mdl.question if "?" in words else 0 for words in m.sets],
        prev_part,
        next_part,
        same,
    )
    return [(mdl.bias + sum(z)) / SCALE for z in zip(*parts, strict=True)]
