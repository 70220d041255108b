"""Train services/analysis/decision_weights.json from a QMSum checkout (the TRAIN split only).

    pip install -e '.[train]'                          # scikit-learn, pinned (deterministic output)
    git clone https://github.com/Yale-LILY/QMSum /tmp/QMSum
    python tools/train_decision_model.py /tmp/QMSum           # rewrites the shipped weights
    python tools/train_decision_model.py /tmp/QMSum --check   # exit 1 unless they are reproduced

Labels (weak, from QMSum's query answers): every sentence of an answer that reports a decision
("The group decided to use a rubber case") is matched to the turn of its query's span whose words
overlap it most (idf of the shared words over the turn's length to a power NORM); that turn is a
positive, turns within two of a positive are left out, all others are negatives. Three models are
fitted (NORM 0.5, 1.0, 0.0: logistic regression, C 0.01, balanced classes) over the bot's own
features (services.analysis.decision_model.turn_features) restricted to a generic vocabulary: words
used in at least half of the meetings of EACH corpus (AMI, ICSI, parliamentary committees). Their
weights are averaged and the 6,000 largest kept. Everything is sorted before it is cut, and lbfgs
has no randomness, so the same split and scikit-learn version give the same file.

Only data/ALL/train is read; a path to the validation (this project's dev set) or test split is
refused, and so is a checkout whose train split shares a meeting with them. Nothing here runs in
the bot: the bot reads the JSON (services/analysis/decision_model.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "services" / "analysis" / "decision_weights.json"
SPLIT = Path("data") / "ALL" / "train"
HELD_OUT = ("val", "test")
NORMS = (0.5, 1.0, 0.0)  # turn-length normalisation of the label match, one model each (this order)
C = 0.01
MAX_ITER = 2000
SEED = 0  # LogisticRegression's random_state (lbfgs draws nothing; fixed all the same)
TOP_WEIGHTS = 6000
MIN_FEATURE_ROWS = 3  # a feature seen in fewer training turns is dropped
GENERIC_SHARE = 0.5  # a word is generic when this share of the meetings of every corpus uses it
MIN_OVERLAP = 2  # content words an answer sentence and its turn must share
NEAR = 2  # turns this close to a positive are neither positive nor negative
ROUND = 3

# an answer sentence that reports a decision
DECISION_RX = re.compile(
    r"\b(decid|agreed|agree on|agree that|settled|conclu|decision|chose|opted|go with|went with|finally)",
    re.I,
)
# who decided ("the project manager", "the group"): not words to match a turn by
ROLE_RX = re.compile(
    r"\b(project manager|marketing|user interface|industrial designer|the group|the team|group|team|professor"
    r"|grad [a-z]|phd [a-z])\b",
    re.I,
)
_TAG_RX = re.compile(r"\{[a-z]+\}")  # QMSum's {vocalsound}, {disfmarker}, ...
_WORD_RX = re.compile(r"[a-z][a-z']+")
_SENTENCE_RX = re.compile(r"(?<=[.!?])\s+")
# the stop words of the project's dev-set scorer (tests/support/score.py), which QMSum labels were matched with
_STOP_WORDS = """a an and are as at be been but by can could did do does doing done for from had has have he her his
i if in into is it its just like me my no not now of on or our out so some than that the their them then there
these they this those to too up us very was we well were what when where which who will with would yeah yes you
your okay ok um uh mm hmm gonna wanna going get got also one two really think know mean right sort kind thing
things maybe"""
STOP = frozenset(_STOP_WORDS.split())
STRUCTURAL = ("len", "pos", "agree", "topic")

Turns = list[tuple[str, str]]


def clean(text: str) -> str:
    return " ".join(_TAG_RX.sub("", text).split())


def content_words(text: str) -> set[str]:
    return {w for w in _WORD_RX.findall(text.lower()) if len(w) > 2 and w not in STOP}


def corpus(name: str) -> str:
    """AMI (ES/IS/TS...), ICSI (B...) or a parliamentary committee (covid_*, education_*)."""
    return "ami" if name[:2] in ("ES", "IS", "TS") else "icsi" if name[:1] == "B" else "parliament"


def meeting_turns(meeting: dict[str, Any]) -> Turns:
    return [(t.get("speaker") or "", clean(t.get("content") or "")) for t in meeting["meeting_transcripts"]]


def label_meeting(meeting: dict[str, Any], norm: float = 0.5) -> tuple[Turns, list[int | None]]:
    """One QMSum meeting -> its turns (speaker, cleaned text) and a label per turn: 1 where an
    answer reports a decision, None next to one (left out), 0 elsewhere."""
    turns = meeting_turns(meeting)
    n = len(turns)
    words = [content_words(text) for _, text in turns]
    df = Counter(w for ws in words for w in ws)
    idf = {w: math.log(n / c) for w, c in df.items()}
    positives: set[int] = set()
    for query in meeting.get("specific_query_list", []) + meeting.get("general_query_list", []):
        spans = query.get("relevant_text_span") or [[0, n - 1]]  # a general query spans the meeting
        span = [i for a, b in spans for i in range(int(a), min(n, int(b) + 1))]
        for sentence in _SENTENCE_RX.split(query["answer"]):
            if not DECISION_RX.search(sentence):
                continue
            said = content_words(ROLE_RX.sub(" ", sentence))
            matches = [
                (math.fsum(idf[w] for w in shared) / (len(words[i]) + 3) ** norm, i)  # fsum: no set order
                for i in span
                if len(shared := said & words[i]) >= MIN_OVERLAP
            ]
            if matches:
                positives.add(min(matches, key=lambda m: (-m[0], m[1]))[1])
    labels: list[int | None] = [
        1 if i in positives else None if any(abs(i - p) <= NEAR for p in positives) else 0 for i in range(n)
    ]
    return turns, labels


def load_split(path: Path) -> dict[str, dict[str, Any]]:
    """The train split's meetings by name; refuses anything else."""
    path = path.resolve()
    split = path if path.name == "train" else path / SPLIT
    if path.name in HELD_OUT or not split.is_dir():
        raise SystemExit(
            f"refusing {path}: training reads QMSum's train split only (a checkout or its train folder)"
        )
    files = sorted(split.glob("*.json"))
    if not files:
        raise SystemExit(f"no QMSum meetings in {split} (give the checkout's root)")
    names = {f.stem for f in files}
    for held in HELD_OUT:
        if leaked := names & {f.stem for f in (split.parent / held).glob("*.json")}:
            raise SystemExit(f"refusing {split}: it shares meetings with {held}: {sorted(leaked)[:5]}")
    return {f.stem: json.loads(f.read_text()) for f in files}


def digest(meetings: dict[str, dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for name in sorted(meetings):
        h.update(name.encode() + b"\0" + json.dumps(meetings[name], sort_keys=True).encode() + b"\0")
    return h.hexdigest()


def _features() -> Any:
    sys.path.insert(0, str(ROOT))  # the bot's own feature definition, from this checkout
    from services.analysis import decision_model

    return decision_model


def generic_vocabulary(meetings: dict[str, Turns]) -> set[str]:
    """Tokens used in at least GENERIC_SHARE of the meetings of every corpus."""
    tokens = _features().tokens
    per_corpus: dict[str, Counter[str]] = {}
    for name, turns in meetings.items():
        per_corpus.setdefault(corpus(name), Counter()).update({w for _, t in turns for w in tokens(t)})
    sizes = Counter(corpus(name) for name in meetings)
    words = set().union(*per_corpus.values())
    return {w for w in words if all(per_corpus[c][w] >= GENERIC_SHARE * sizes[c] for c in sizes)}


def generic(feature: str, vocabulary: set[str]) -> bool:
    kind, colon, value = feature.partition(":")
    return not colon or kind in STRUCTURAL or all(w in vocabulary for w in value.split("_"))


def top(weights: dict[str, float], k: int = TOP_WEIGHTS) -> dict[str, float]:
    return dict(sorted(weights.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:k])


def fit(rows: Sequence[Iterable[str]], y: Sequence[int]) -> dict[str, float]:
    """One logistic regression; its weights by feature name ("bias" holds the intercept too)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform([dict.fromkeys(sorted(r), 1) for r in rows])  # no set order
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=MAX_ITER, random_state=SEED)
    clf.fit(matrix, list(y))
    weights = {str(k): float(v) for k, v in zip(vectorizer.feature_names_, clf.coef_[0], strict=True)}
    weights["bias"] = weights.get("bias", 0.0) + float(clf.intercept_[0])
    return {k: round(v, ROUND) for k, v in top(weights).items()}


def train(raw: dict[str, dict[str, Any]]) -> tuple[dict[str, float], list[str]]:
    turn_features = _features().turn_features
    vocabulary = generic_vocabulary({name: meeting_turns(m) for name, m in raw.items()})
    models = []
    for norm in NORMS:
        rows: list[set[str]] = []
        y: list[int] = []
        for meeting in raw.values():
            turns, labels = label_meeting(meeting, norm)
            for features, label in zip(turn_features(turns), labels, strict=True):
                if label is not None:
                    rows.append(features)
                    y.append(label)
        seen = Counter(f for r in rows for f in r)
        kept = [{f for f in r if seen[f] >= MIN_FEATURE_ROWS and generic(f, vocabulary)} for r in rows]
        models.append(fit(kept, y))
        print(f"norm {norm}: {len(y)} turns, {sum(y)} positive, {len(models[-1])} weights", file=sys.stderr)
    keys = sorted(set().union(*models))
    mean = {k: round(sum(m.get(k, 0.0) for m in models) / len(models), ROUND) for k in keys}
    return top(mean), sorted(vocabulary)


def meta(raw: dict[str, dict[str, Any]], vocabulary: list[str], date: str) -> dict[str, Any]:
    import sklearn

    sizes = Counter(corpus(name) for name in raw)
    return {
        "what": "offline analyzer: log-odds that a transcript turn states a decision (#14)",
        "source": "QMSum (github.com/Yale-LILY/QMSum), data/ALL/train",
        "split": "train",
        "meetings": {"total": len(raw), **dict(sorted(sizes.items()))},
        "train_sha256": digest(raw),
        "licence": (
            "QMSum: MIT. Transcripts: AMI Meeting Corpus, CC BY 4.0; ICSI Meeting Corpus, CC BY 4.0; "
            "Welsh Parliament and Parliament of Canada committee proceedings (no licence stated by QMSum). "
            "These weights are statistics over generic words and hold no transcript text."
        ),
        "training": "python tools/train_decision_model.py QMSUM_CHECKOUT",
        "scikit_learn": sklearn.__version__,
        "model": (
            f"logistic regression, C {C}, balanced classes; mean of {len(NORMS)} models "
            f"(label match normalised by turn length ** {', '.join(map(str, NORMS))}); {TOP_WEIGHTS} largest weights"
        ),
        "vocabulary_rule": (
            f"tokens used in >= {GENERIC_SHARE:.0%} of the meetings of each corpus (AMI, ICSI, parliament); "
            f"word features outside it dropped, features seen in < {MIN_FEATURE_ROWS} turns dropped"
        ),
        "vocabulary": " ".join(vocabulary),
        "trained": date,
    }


def write(path: Path, header: dict[str, Any], weights: dict[str, float]) -> None:
    """The metadata readable at the top, the weights on one line under it."""
    body = json.dumps(weights, separators=(",", ":"))
    path.write_text('{\n"meta": ' + json.dumps(header, indent=1) + ',\n"weights": ' + body + "\n}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("qmsum", type=Path, help="a QMSum checkout (or its data/ALL/train folder)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    parser.add_argument("--date", default=datetime.now(UTC).date().isoformat(), help="the 'trained' date")
    args = parser.parse_args(argv)
    raw = load_split(args.qmsum)
    weights, vocabulary = train(raw)
    header = meta(raw, vocabulary, args.date)
    if not args.check:
        write(args.out, header, weights)
        print(f"wrote {args.out}: {len(weights)} weights, vocabulary {len(vocabulary)}", file=sys.stderr)
        return 0
    shipped = json.loads(args.out.read_text())
    same_meta = {k: v for k, v in shipped["meta"].items() if k != "trained"} == {
        k: v for k, v in header.items() if k != "trained"
    }
    changed = {
        k for k in set(weights) | set(shipped["weights"]) if weights.get(k) != shipped["weights"].get(k)
    }
    print(f"{args.out}: {len(changed)} weights differ, metadata {'same' if same_meta else 'differs'}")
    return 0 if same_meta and not changed else 1


if __name__ == "__main__":
    raise SystemExit(main())
