"""The offline analyzer scored on three real dev meetings (QMSum/AMI, tests/data/qmsum/) with the
project's scorer (tests/support/score.py): a regression below the floors fails.

Floors sit just under the numbers measured when they were last raised (round six: decisions
P 0.53 / R 0.35, items unchanged; round four: items P 0.83 / R 0.63 / owner 0.60, decisions
P 0.38 / R 0.31; before it items 0.44 / 0.50, decisions 0.38 / 0.31 with topic-episode
convergence, 0.32 / 0.27 without; first set at items 0.45 / 0.31, decisions 0.23 / 0.15);
raise them as the analyzer improves, never lower them to pass.
"""

from __future__ import annotations

import json
from pathlib import Path

from services.analysis.heuristic import HeuristicAnalyzer
from services.fathom import parse_meeting
from tests.support import score

DATA = Path(__file__).resolve().parent / "data" / "qmsum"
FLOORS = {"items_p": 0.8, "items_r": 0.6, "items_owner": 0.55, "decisions_p": 0.5, "decisions_r": 0.33}


def test_offline_analyzer_stays_above_the_quality_floors_on_three_dev_meetings() -> None:
    items, decisions = score.Tally(), score.Tally()
    names = sorted(p.stem for p in (DATA / "labels").glob("*.json"))
    assert len(names) == 3
    for name in names:
        meeting = json.loads((DATA / "meetings" / f"{name}.json").read_text())
        labels = json.loads((DATA / "labels" / f"{name}.json").read_text())
        analysis = HeuristicAnalyzer().analyze_sync(parse_meeting(score.payload_for(name, meeting)))
        pred_items, pred_decisions = score.preds_of(json.loads(analysis.model_dump_json()))
        items.add(score.score_items(name, pred_items, labels["action_items"]))
        decisions.add(score.score_decisions(name, pred_decisions, labels["decisions"])[0])
    measured = {
        "items_p": items.precision or 0.0,
        "items_r": items.recall or 0.0,
        "items_owner": items.owner_ok / items.owner_n if items.owner_n else 0.0,
        "decisions_p": decisions.precision or 0.0,
        "decisions_r": decisions.recall or 0.0,
    }
    below = {k: round(v, 2) for k, v in measured.items() if v < FLOORS[k]}
    assert not below, f"below the floors {FLOORS}: {below}; noise: {items.noise[:5] + decisions.noise[:5]}"
