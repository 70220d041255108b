"""Meeting Q&A measured on QMSum (query-based meeting summarisation, NAACL 2021), dev meetings.

Every dev meeting (`../shared/fixtures/qmsum/meetings/*.json`, or --meetings DIR) becomes a Fathom
payload the way the project's scorer builds one (tests/support/score.py: fixed people, turn i at
i x 4 s), is ingested, analysed by the offline heuristic and indexed on a real SQLite file; every
query (general_query_list, specific_query_list) is asked scoped to its meeting through
`QAService.answer(..., meeting_id=...)`, and scored with rouge-score (ROUGE-1/2/L F1, stemming)
against QMSum's reference answer, next to a random transcript span of the reference's length.

    .venv/bin/python bench/bench_qa.py [--meetings DIR] [--only ES2006c,...] [--write]

--write puts the table into docs/benchmarks.md (section "Meeting Q&A on QMSum (#22)").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.db import upgrade  # noqa: E402
from services.access import EVERYTHING  # noqa: E402
from services.analysis.heuristic import HeuristicAnalyzer  # noqa: E402
from services.db import Database  # noqa: E402
from services.fathom import parse_meeting  # noqa: E402
from services.meetings import MeetingStore  # noqa: E402
from services.qa import QAService  # noqa: E402
from services.qa_offline import summary_topic  # noqa: E402
from services.search import SearchIndex  # noqa: E402
from tests.support import score  # noqa: E402

DEV = ROOT.parent / "shared" / "fixtures" / "qmsum" / "meetings"
SECTION = "## Meeting Q&A on QMSum (#22)"
KEYS = ("rouge1", "rouge2", "rougeL")


@dataclass
class Result:
    answers: list[list[float]] = field(default_factory=list)  # R-1/2/L x100 per query
    summarise: list[list[float]] = field(default_factory=list)
    baseline: list[list[float]] = field(default_factory=list)
    words: list[int] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    cited_ok: int = 0
    in_span: int = 0  # specific queries whose answer cites a turn inside QMSum's relevant span
    specific: int = 0

    @staticmethod
    def mean(rows: list[list[float]]) -> list[float]:
        return [statistics.fmean(r[i] for r in rows) if rows else 0.0 for i in range(3)]


def _turn_of(ts: str | None) -> int | None:
    """The QMSum turn a cited timestamp stands for (score.payload_for puts turn i at i x 4 s)."""
    if not ts:
        return None
    h, m, s = (int(x) for x in ts.split(":"))
    return (h * 3600 + m * 60 + s) // score.SECONDS_PER_TURN


async def evaluate(paths: list[Path], workdir: Path, *, alone: bool = False) -> Result:
    """`alone`: every meeting in a database of its own (nothing learned from the others)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(KEYS), use_stemmer=True)
    out = Result()
    for batch in [[p] for p in paths] if alone else [paths]:
        await _evaluate(batch, workdir / f"bench_qa_{batch[0].stem}.sqlite3", scorer, out)
    return out


async def _evaluate(paths: list[Path], file: Path, scorer: object, out: Result) -> None:
    db = Database(f"sqlite+aiosqlite:///{file}")
    await upgrade(db)
    store, index = MeetingStore(db), SearchIndex(db)
    qa = QAService(db, index)
    try:
        for path in paths:
            meeting = json.loads(path.read_text())
            fathom = parse_meeting(score.payload_for(path.stem, meeting))
            meeting_id = (await store.ingest(fathom)).meeting_id
            await store.store_analysis(meeting_id, await HeuristicAnalyzer().analyze(fathom))
            await index.index_meeting(meeting_id)
            stamps = {line.timestamp for line in fathom.transcript or []}
            words = " ".join(line.text for line in fathom.transcript or []).split()
            for q in meeting.get("general_query_list", []) + meeting.get("specific_query_list", []):
                t0 = time.perf_counter()
                answer = await qa.answer(q["query"], EVERYTHING, meeting_id=meeting_id)
                out.ms.append((time.perf_counter() - t0) * 1000)
                text = answer.text or ""
                got = scorer.score(q["answer"], text)  # type: ignore[attr-defined]
                row = [got[k].fmeasure * 100 for k in KEYS]
                out.answers.append(row)
                if summary_topic(q["query"]) is not None:
                    out.summarise.append(row)
                out.words.append(len(text.split()))
                out.cited_ok += bool(answer.sources) and all(h.ts in stamps for h in answer.sources)
                spans = [(int(a), int(b)) for a, b in q.get("relevant_text_span") or []]
                if q in meeting.get("specific_query_list", []) and spans:
                    out.specific += 1
                    cited = {_turn_of(h.ts) for h in answer.sources}
                    out.in_span += any(t is not None and a <= t <= b for t in cited for a, b in spans)
                n = len(q["answer"].split())
                start = random.Random(q["query"] + path.stem).randrange(max(1, len(words) - n))  # noqa: S311
                base = scorer.score(q["answer"], " ".join(words[start : start + n]))  # type: ignore[attr-defined]
                out.baseline.append([base[k].fmeasure * 100 for k in KEYS])
    finally:
        await db.dispose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


def table(result: Result, meetings: int, alone: Result | None = None) -> str:
    def fmt(rows: list[list[float]]) -> str:
        return " / ".join(f"{v:.1f}" for v in Result.mean(rows))

    w = result.words
    return "\n".join(
        [
            f"| system ({meetings} dev meetings, {len(result.answers)} queries, scoped) | ROUGE-1 / 2 / L (x100) |",
            "|---|---|",
            f"| offline Q&A, all queries | {fmt(result.answers)} |",
            f'| offline Q&A, "summarise" queries ({len(result.summarise)}) | {fmt(result.summarise)} |',
            *(
                [
                    "| offline Q&A, each meeting in a database of its own (no roles from other meetings)"
                    f" | all {fmt(alone.answers)}; summarise {fmt(alone.summarise)} |"
                ]
                if alone
                else []
            ),
            f"| random transcript span of the reference's length | {fmt(result.baseline)} |",
            "",
            f"Answer length (words): min {min(w)}, p25 {pct(w, 25):.0f}, median {pct(w, 50):.0f},"
            f" p75 {pct(w, 75):.0f}, max {max(w)}; {sum(40 <= x <= 120 for x in w)}/{len(w)} within 40-120."
            f" Latency per answer: p50 {pct(result.ms, 50):.1f} ms, p95 {pct(result.ms, 95):.1f} ms"
            f" (meetings of 30-60 minutes). Answers citing only timestamps that exist:"
            f" {result.cited_ok}/{len(result.answers)}. Specific queries whose answer cites a turn inside"
            f" QMSum's relevant span: {result.in_span}/{result.specific} (of the at most 5 citations shown;"
            " round 2: 57/125 counted so).",
        ]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meetings", type=Path, default=DEV)
    ap.add_argument("--only", default="")
    ap.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument(
        "--alone",
        action="store_true",
        help="also with every meeting in its own database (implied by --write)",
    )
    args = ap.parse_args()
    paths = sorted(args.meetings.glob("*.json"))
    if args.only:
        paths = [p for p in paths if p.stem in set(args.only.split(","))]
    if not paths:
        print(f"no QMSum meetings in {args.meetings}: nothing to measure")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-qa-") as tmp:
        result = asyncio.run(evaluate(paths, Path(tmp)))
        alone = asyncio.run(evaluate(paths, Path(tmp), alone=True)) if args.alone or args.write else None
    text = table(result, len(paths), alone)
    print(text)
    if args.write:
        write_section(text)
    return 0


def write_section(text: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    body = doc.read_text()
    block = (
        f"{SECTION}\n\n`.venv/bin/python bench/bench_qa.py --write` (offline, heuristic analysis, each"
        " query scoped to its meeting; rouge-score F1 with stemming against QMSum's references).\n\n"
        f"{text}\n\n"
        "Before #22 (issue figures, 273 held-out queries): 24.3 / 5.7 / 15.4 scoped (only possible with a"
        ' one-meeting database), "summarise the whole meeting" at the random-span level (19.8 vs 19.4);'
        " the QMSum authors' released model scores 36.3 / 11.5 / 22.5. Targets (held-out, offline, scoped):"
        " ROUGE-1 >= 30 overall, >= 28 on summarise queries; on the dev set both are met from the third round"
        " (with each meeting in its own database: all 29.0, summarise 29.3). First round (scoped, BM25 turn"
        " windows, filler removed): 26.4 / 5.6 / 16.0, summarise 24.5. Second round (reported speech: I/we ->"
        " they, you -> the group; restarted words dropped; the asked speaker found by the role the meeting"
        " gave them; topic phrases deduplicated): 27.7 / 6.0 / 16.8, summarise 26.7, whole-meeting 26.4."
        " Third round, each kept because the whole dev set improved (R-1 all / summarise): speakers named by"
        " role after the first mention (+0.2 / +0.3); a whole-meeting answer in the phases meetings run"
        " through (opening and reports, discussion, conclusions), each with its own topic phrases and its"
        " most central sentence, decisions favoured in the last (whole-meeting 26.9 -> 31.1, before roles were carried);"
        " conversation words (last time, how much, good idea) kept out of topic phrases (+0.04, whole-meeting"
        " +0.2); roles carried from the"
        " nearest meetings sharing two attendees (+1.5 / +1.8: the bench gives each AMI role the same person"
        " in every meeting, so teams keep roles across meetings); contractions and 'gonna' written out"
        " (+0.3 / +0.3); backchannels inside turns (+0.05); a topic summary opened with its passage's own"
        " two phrases (+0.1 / +0.3). Tried and dropped because the whole dev set got worse or did not move:"
        " pseudo-relevance feedback from the best passage (-0.3 R-1), other window sizes (8/20/30 turns) and"
        " answer lengths (50-75 words; 55 and 75 again in round 3), context-clause weights 0.2/0.6/1.0 (all"
        " within +-0.2); round 3: windows scored by how many query words they cover (saturating; +0.1, fewer"
        ' relevant-span citations), question word pairs said side by side (-0.2 to -0.5), a "when discussing'
        ' Z" region found first and the answer searched inside it (relevant-span hits 8 -> 5-7 of 44),'
        " speaker boosts 1.0-3.0 (+-0.1), larger windows for topic summaries (20-45 turns, -0.1 to -0.5),"
        " decision sentences favoured when the question asks for a decision (-0.03), the question's"
        " reporting verb for every speaker (+0.06, reads worse), dropping the lead that restates the"
        " question (-1.7). Leaving the speaker's name out when the role is known would add +0.3 but the"
        " answer would no longer say who spoke. Latency p95 ranged 45-215 ms over round-2 runs and 63-234 ms over eight round-3 runs (load average 5-6)"
        " on the shared 2-core machine (target < 300 ms for a one-hour meeting); the first question on a meeting pays for"
        " preparing its transcript and learning its speakers' roles (cached per meeting after).\n"
    )
    if SECTION in body:
        start = body.index(SECTION)
        end = body.find("\n## ", start + len(SECTION))
        body = body[:start] + block + ("\n" + body[end + 1 :] if end != -1 else "")
    else:
        body = body.rstrip("\n") + "\n\n" + block
    doc.write_text(body)


if __name__ == "__main__":
    sys.exit(main())
