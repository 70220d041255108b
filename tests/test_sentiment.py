"""The fast tone scorer (services/sentiment.py) must give VADER's own compound score, bit for bit."""

from __future__ import annotations

import json
import random
from pathlib import Path

from vaderSentiment import vaderSentiment as vader

from services.sentiment import _analyzer, score_text

ROOT = Path(__file__).resolve().parents[1]

# VADER's own examples and the rules they exercise: negation, "but", "least", "no", boosters,
# ALL CAPS, idioms, "kind of", punctuation emphasis, emoticons and emoji
EDGE_CASES = [
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all",
    "no good, no or bad, never so good, without doubt good, the least good, very least good",
    "the shit is the bomb, yeah right, kind of good sort of bad???",
    "İx. İstanbul is GOOD",
    "   ",
    "",
]


def _turns() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "data" / "qmsum" / "meetings").glob("*.json")):
        texts += [t["content"] for t in json.loads(path.read_text())["meeting_transcripts"]]
    for path in sorted((ROOT / "examples" / "fathom").glob("*.json")):
        texts += [t["text"] for t in json.loads(path.read_text()).get("transcript") or []]
    return texts


def test_score_text_equals_vader_on_real_turns_and_its_edge_cases() -> None:
    analyzer = _analyzer()
    texts = _turns() + EDGE_CASES
    assert len(texts) > 1000
    rng = random.Random(14)
    vocab = [*sorted(vader.BOOSTER_DICT), *vader.NEGATE, "but", "BUT", "least", "at", "kind", "of", "GREAT"]
    vocab += [w for t in texts[:300] for w in t.split()]
    texts += [
        " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 25))) + "!?"[i % 2] for i in range(2000)
    ]
    wrong = [t for t in texts if score_text(t) != analyzer.polarity_scores(t)["compound"]]
    assert wrong == []
