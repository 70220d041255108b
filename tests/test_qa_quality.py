"""Offline Q&A scored on three real dev meetings (QMSum/AMI, tests/data/qmsum/meetings, which
carry QMSum's queries and reference answers) by bench/bench_qa.py's own measurement: each query
asked scoped to its meeting, ROUGE F1 (rouge-score, stemming) against the reference.

Floors sit just under the numbers measured when they were set (third round of #22: all queries
R-1 35.6 / R-2 10.7, "summarise" queries R-1 32.2, the three meetings in one database so roles
learned in one name the speakers of the others; second round 31.6 / 8.3 / 28.8; first round
30.7 / 7.6 / 27.6; the random-span baseline scores 18.5 on the same queries; before the scoped
answers of #22 the bot scored about 24 on the whole dev set). Raise them as answers improve, never
lower them to pass.
"""

from __future__ import annotations

from pathlib import Path

from bench.bench_qa import Result, evaluate

DATA = Path(__file__).resolve().parent / "data" / "qmsum" / "meetings"
FLOORS = {"rouge1": 35.2, "rouge2": 10.4, "summarise_rouge1": 31.8}


async def test_scoped_offline_answers_stay_above_the_rouge_floors_on_three_dev_meetings(
    tmp_path: Path,
) -> None:
    paths = sorted(DATA.glob("*.json"))
    assert len(paths) == 3
    result = await evaluate(paths, tmp_path)
    assert len(result.answers) >= 20, "every general and specific query was asked"
    r1, r2, _ = Result.mean(result.answers)
    measured = {"rouge1": r1, "rouge2": r2, "summarise_rouge1": Result.mean(result.summarise)[0]}
    below = {k: round(v, 1) for k, v in measured.items() if v < FLOORS[k]}
    assert not below, f"below the floors {FLOORS}: {below}"
    assert Result.mean(result.baseline)[0] + 8 < r1, "clearly better than a random span"
    assert all(40 <= n <= 120 for n in result.words), sorted(result.words)
    assert result.cited_ok == len(result.answers), "every answer cites timestamps that exist"
