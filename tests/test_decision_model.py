"""The learned decision signal (services/analysis/decision_model.py): its shipped weights, their
provenance and vocabulary, deterministic scores, and what it says about a real dev-set excerpt.
The label builder of its training script (tools/train_decision_model.py) on a tiny QMSum-shaped
meeting; training itself needs scikit-learn and a QMSum checkout, so it is not run here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

from services.analysis import decision_model
from services.analysis.decision_model import turn_features, turn_logits

ROOT = Path(__file__).resolve().parents[1]

# TS3009b turns 449-458 (QMSum validation split, AMI, CC BY 4.0): the team settles "less is more"
EXCERPT = [
    ("User Interface", "Yeah . I think this is about the maximum number of buttons we need ."),
    ("Marketing", "Alright ."),
    (
        "User Interface",
        "Maybe some less . Like eject we don't need , and some other buttons we don't need . I think uh",
    ),
    (
        "Industrial Designer",
        "Mike , uh can you put uh that picture from me on the in the Word documents file ? In Map ?",
    ),
    (
        "User Interface",
        "Yeah , I will . I think uh for the remote um uh less is more . The less buttons the better the design . Um",
    ),
    ("Project Manager", "Yeah ."),
    ("User Interface", "We should go with that concept I think ."),
    ("Marketing", "Yeah , I agree ."),
    ("User Interface", "I know ."),
    ("Project Manager", "Alright ."),
]
DECISIONS = (4, 6)  # "less is more", "We should go with that concept"
CHIT_CHAT = (3, 8, 9)  # a request to the technician, "I know.", "Alright."

# the product the AMI meetings design: none of it may be a feature
_PRODUCT = """remote control controls button buttons lcd screen battery batteries scroll wheel chip titanium
rubber plastic banana fruit spongy kinetic speech recognition voice logo slogan television tv channel channels
volume design designer colour colours color yellow material materials euro euros price"""
DOMAIN_WORDS = set(_PRODUCT.split())


def test_the_weights_load_with_their_provenance() -> None:
    model = decision_model.model()
    assert model is decision_model.model()  # read once per process
    meta = model.meta
    assert meta["split"] == "train" and "data/ALL/train" in meta["source"] and "QMSum" in meta["source"]
    assert (
        meta["meetings"]["total"]
        == meta["meetings"]["ami"] + meta["meetings"]["icsi"] + meta["meetings"]["parliament"]
    )
    assert "MIT" in meta["licence"] and "CC BY 4.0" in meta["licence"]
    assert meta["training"].startswith("python tools/train_decision_model.py")
    assert meta["scikit_learn"] and len(meta["train_sha256"]) == 64
    assert date.fromisoformat(meta["trained"])
    assert "each corpus" in meta["vocabulary_rule"]
    assert 1000 <= len(model.weights) <= 6000 and "bias" in model.weights
    # a wheel carries the file next to the module
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert decision_model.WEIGHTS_PATH.name in package_data["services.analysis"]


def test_the_vocabulary_is_generic_no_product_words() -> None:
    model = decision_model.model()
    vocabulary = set(model.meta["vocabulary"].split())
    used = set()
    for key in model.weights:
        kind, _, value = key.partition(":")
        if kind in decision_model.WORD_KINDS:
            used.update(value.split("_"))
        else:
            assert key in ("bias", "samespk_prev", "has_q") or kind in decision_model.STRUCTURAL_KINDS, key
    assert used <= vocabulary and len(vocabulary) < 500
    assert not used & DOMAIN_WORDS and not vocabulary & DOMAIN_WORDS


def test_scores_are_the_sum_of_the_features_weights() -> None:
    weights = decision_model.model().weights
    for z, features in zip(turn_logits(EXCERPT), turn_features(EXCERPT), strict=True):
        assert abs(z - sum(weights.get(f, 0.0) for f in features)) < 1e-9
    assert turn_logits([]) == [] and len(turn_logits([("A", "")])) == 1


def test_scores_are_deterministic_across_processes() -> None:
    # string hashing differs per process; the sums are in integer thousandths, so order cannot matter
    code = (
        "import json, sys; from services.analysis.decision_model import turn_logits; "
        "print(json.dumps(turn_logits([tuple(t) for t in json.load(sys.stdin)])))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(EXCERPT),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert json.loads(runs[0]) == json.loads(runs[1]) == turn_logits(EXCERPT) == turn_logits(list(EXCERPT))


def test_a_decision_turn_scores_above_chit_chat_on_a_dev_excerpt() -> None:
    z = turn_logits(EXCERPT)
    assert min(z[i] for i in DECISIONS) > max(z[i] for i in CHIT_CHAT), [round(v, 2) for v in z]


def test_the_training_label_builder_marks_the_turn_an_answer_reports_decided() -> None:
    from tools.train_decision_model import label_meeting

    said = [
        ("Project Manager", "Good morning everyone . {vocalsound}"),
        ("Marketing", "I looked at what people want ."),
        ("Industrial Designer", "We could make the case of rubber , it is soft ."),
        ("User Interface", "Mm-hmm ."),
        ("Marketing", "People like bright colours ."),
        ("Project Manager", "Okay , so we go with the yellow rubber case then ."),
        ("Industrial Designer", "Yeah ."),
        ("User Interface", "Fine ."),
        ("Marketing", "Good ."),
        ("Project Manager", "Next point is the price ."),
    ]
    meeting = {
        "meeting_transcripts": [{"speaker": s, "content": c} for s, c in said],
        "specific_query_list": [
            {
                "query": "What did the group decide about the case?",
                "answer": "Marketing presented what people want. The group decided on a yellow rubber case.",
                "relevant_text_span": [["0", "9"]],
            }
        ],
        "general_query_list": [
            {"query": "Summarize the meeting.", "answer": "The team talked about the case."}
        ],
    }
    turns, labels = label_meeting(meeting)
    assert turns[0] == ("Project Manager", "Good morning everyone .")  # QMSum's {tags} removed
    assert labels == [0, 0, 0, None, None, 1, None, None, 0, 0]
