"""Dev-set quality of the offline analyzer, written into docs/benchmarks.md.

Runs the shared scorer (../shared/quality/score.py next to the repository) with
`fathom-os analyze --json --offline` on the 20 QMSum/AMI dev meetings, then times the analyzer
in-process on the longest one (an hour-long meeting) and replaces the "Analysis quality (dev set)"
section of docs/benchmarks.md. Without the scorer it says so and exits 0.

    .venv/bin/python bench/bench_quality.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORER = ROOT.parent / "shared" / "quality" / "score.py"
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## Analysis quality (dev set)"
COMMAND = ".venv/bin/fathom-os analyze --json --offline"
# measured on commit debd2b8 (before #14), same scorer and command
BEFORE = {"items": (0.29, 0.03, 1.00, 7), "decisions": (0.50, 0.03, 12)}
# first round of #14 item 2 (commit d14351c), same scorer and command
ROUND1 = {"items": (0.51, 0.30, 0.58, 43), "decisions": (0.23, 0.16, 99)}
# second round (commit 8688008): assignments, role/name map, voiced agreement
ROUND2 = {"items": (0.54, 0.45, 0.54, 61), "decisions": (0.25, 0.19, 110)}
# third round (commit 0d85857): topic episodes with one convergence point each
ROUND3 = {"items": (0.54, 0.45, 0.54, 61), "decisions": (0.28, 0.26, 134)}
# fourth round (commit d9b1df0): the chair, joint tasks, settled-nothing filter (round five kept nothing)
ROUND4 = {"items": (0.67, 0.53, 0.76, 58), "decisions": (0.31, 0.28, 125)}


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _timing(runs: int) -> tuple[str, float, float, int]:
    sys.path.insert(0, str(ROOT))
    from services.analysis import extract
    from services.analysis.heuristic import HeuristicAnalyzer
    from services.fathom import parse_meeting

    spec_dir = SCORER.parent
    sys.path.insert(0, str(spec_dir))
    import score  # the shared scorer builds the payload exactly as it scores it

    meetings = spec_dir.parent / "fixtures" / "qmsum" / "meetings"
    longest = max(
        meetings.glob("*.json"), key=lambda p: len(json.loads(p.read_text())["meeting_transcripts"])
    )
    data = json.loads(longest.read_text())
    payload = score.payload_for(longest.stem, data)
    meeting = parse_meeting(payload)
    analyzer = HeuristicAnalyzer()
    times = []
    for _ in range(runs):
        extract._split.cache_clear()  # cold: each meeting is analysed once
        t0 = time.perf_counter()
        analyzer.analyze_sync(meeting)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return longest.stem, statistics.median(times), p95, len(payload["transcript"])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    if not SCORER.exists():
        print(f"the dev-set scorer is absent ({SCORER}); nothing measured")
        return 0
    out = Path(tempfile.mkdtemp(prefix="quality-")) / "report.json"
    proc = subprocess.run(
        [sys.executable, str(SCORER), "--analyze", COMMAND, "--json", str(out), "--examples", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    print(proc.stdout)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    total = json.loads(out.read_text())["total"]
    i, d = total["items"], total["decisions"]
    name, median, p95, turns = _timing(args.runs)
    bi, bd = BEFORE["items"], BEFORE["decisions"]
    ri, rd = ROUND1["items"], ROUND1["decisions"]
    r2i, r2d = ROUND2["items"], ROUND2["decisions"]
    r3i, r3d = ROUND3["items"], ROUND3["decisions"]
    r4i, r4d = ROUND4["items"], ROUND4["decisions"]
    section = f"""{HEADING}

`python ../shared/quality/score.py --analyze "{COMMAND}"` on the 20 QMSum/AMI dev meetings
(transcript only; gold: 74 action items, 130 decisions made or tentative), written by
`.venv/bin/python bench/bench_quality.py`. Targets (#14): items P ≥ 0.6, R ≥ 0.5, owner ≥ 0.7;
decisions P ≥ 0.5, R ≥ 0.4.

| offline analyzer | items P | items R | owner accuracy | items predicted | decisions P | decisions R | decisions predicted |
|---|---|---|---|---|---|---|---|
| before (#14 filed) | {bi[0]:.2f} | {bi[1]:.2f} | {bi[2]:.2f} | {bi[3]} | {bd[0]:.2f} | {bd[1]:.2f} | {bd[2]} |
| first round (d14351c) | {ri[0]:.2f} | {ri[1]:.2f} | {ri[2]:.2f} | {ri[3]} | {rd[0]:.2f} | {rd[1]:.2f} | {rd[2]} |
| second round (8688008) | {r2i[0]:.2f} | {r2i[1]:.2f} | {r2i[2]:.2f} | {r2i[3]} | {r2d[0]:.2f} | {r2d[1]:.2f} | {r2d[2]} |
| third round (0d85857, topic episodes) | {r3i[0]:.2f} | {r3i[1]:.2f} | {r3i[2]:.2f} | {r3i[3]} | {r3d[0]:.2f} | {r3d[1]:.2f} | {r3d[2]} |
| fourth round (d9b1df0: the chair, joint tasks, settled-nothing filter) | {r4i[0]:.2f} | {r4i[1]:.2f} | {r4i[2]:.2f} | {r4i[3]} | {r4d[0]:.2f} | {r4d[1]:.2f} | {r4d[2]} |
| after (round six: confirmation questions, a learned turn signal, settled-nothing filters, rejections) | {_fmt(i["precision"])} | {_fmt(i["recall"])} | {_fmt(i["owner_accuracy"])} | {i["pred"]} | {_fmt(d["precision"])} | {_fmt(d["recall"])} | {d["pred"]} |

Recaps found {d["recaps_found"]}, marked as recap {d["recaps_marked"]}. Reference: five random turns as
items score 0.05 / 0.07, seven as decisions 0.10 / 0.11. Topic episodes
(services/analysis/episodes.py) on their own: decisions P 0.28 / R 0.22 (104 predicted); the same
convergence rule over fixed windows of the same count scores 0.23 / 0.15, so the lexical
segmentation carries signal.

Round four, by kind of mistake (read from `--examples 20` and the owner errors): the
impersonal "you have to…" of speakers other than the chair in the wrap-up (9 of 28 false items;
the chair is the speaker with most turns, above all in the opening and closing tenths, and most
talk about the meeting itself: right on 18 of 20 dev meetings against 15 by turns alone); "we'll
look into that (later)" naming no task whoever says it (3); "talk to you about", "I'll presume";
roles never introduced in a follow-up meeting (the named person answers "Mm-hmm"; the last one
by elimination: 3 owners); a joint task ("you're going to work together on a prototype") as one
item per person (+3 gold items); a chair handing out tasks turn by turn ("you're looking at the
technical functions design, and for you it's the user requirements specification": the one who
answers takes the last, the others go to whoever has no task this round). Decisions: agreed
remarks that settle nothing are dropped: questions, the running of the meeting, fragments ending
in a function word, a reason or concession ("because…", "although…", "rather than…"). Tried and
dropped because the dev set got worse: dropping conditions ("if / when / whether", P 0.26),
requiring two content words (P 0.26), a bonus for the meeting's second half (+0.01, within
noise, and a bet on AMI's shape), fewer decisions per meeting (turns/90: P 0.31 but R 0.24).

Round five (decisions only, 2026-12-01; nothing kept, since nothing beat round four beyond noise).
All candidates the rules produce, before the per-meeting cap, number 176 at P 0.27 / R 0.34: even a
perfect ranking of today's candidates would stop near R 0.34, so the candidates, not the cap, are
the limit. Tried, each on the whole dev set: (1) a question two other speakers answer alike ("Round
buttons or square ones?" "Round I think." "Um, round."): candidates R 0.34 → 0.35, capped result
unchanged (0.31 / 0.28); (2) merging decisions that share two content words (one matter restated
later): 0.30 / 0.26; (3) the chair's topic-dense sentences in the last fifth of the meeting (a
wrap-up): alone P 0.37 / R 0.16 (57 predicted), merged 0.32 / 0.30, within noise and a bet on AMI's
shape; (4) a short turn by another speaker echoing two content words of the turn before
("Titanium back, plastic front."): P 0.19 alone; (5) a logistic-regression reranker over 41 generic
turn features (agreement, echo, choice and hedge cues, topic recurrence, the chair, later
restatement, the rules' own scores), scored leave-one-meeting-out: P 0.24–0.27 / R 0.24–0.33, below
the hand rules. What separates a decision from a proposal the room only acknowledged is mostly
meaning, not form: the offline decisions stay below target, and Claude (decisions with status,
owner and an evidence quote, checked against the transcript) is the path for decisions a team
relies on.

Round six (decisions, 2026-12-01, each step kept only when F1 rose on both halves of the dev set,
even- and odd-numbered meetings, with any setting chosen on one half and read on the other):
(1) an option put up as a question ("Will we use round buttons or square ones?", "are we going for
a strange form?", "So X?") that another speaker answers within three turns by repeating its words
("Round I think.", "No, not very strange."), written as the question with its answer; open
questions, questions about a person and bare "yeah" answers settle nothing: 0.31 / 0.28 → 0.36 /
0.34 (halves F1 0.296 → 0.370, 0.291 → 0.340); (2) a learned turn signal
(services/analysis/decision_model.py: logistic regression over a turn's generic words and
structure, trained by `tools/train_decision_model.py` on weak labels from the QMSum TRAIN split,
162 AMI, ICSI and parliament meetings none of which is in the dev set, with only words used in at
least half the meetings of each corpus; pure-Python inference, 6,000 weights, ~7 ms an hour-long
meeting; if a held-out meeting is in QMSum's train split, the model has seen weak labels of it,
though only through those generic words): its log-odds join every candidate's score and its five
best turns join the candidates: → 0.38 / 0.38; (3) after the cap, selected remarks that settle nothing are dropped and their slot
left empty (the running of the meeting, an option named and not taken, a narrative of the past,
other people or what "you can" do with no "we", the speaker's own talk, a negative condition), and
a decision restated later in the meeting is kept once: → 0.51 / 0.38 (halves F1 0.440, 0.437);
(4) a decision reached by turning an option down ("Kick it out.", "the sample sensor will have to
go, 'cause that's the most expensive thing", "It's too expensive") that another speaker supports
within three turns, written with the option the speakers were on when it names nothing ("Not The
sample speaker: Kick it out"); a candidate whose question is answered inside it keeps the answer;
a clause ending in a hanging "so / but" is not a fragment: → 0.54 / 0.41 (halves F1 0.472, 0.457;
the rejections alone move only the odd half, 0.437 → 0.457, and their base score works in a
narrow band, 5.5–6). The filters of (3) were written from the noise of the whole dev set, so the
held-out set is their real test; each removes noise in both halves and none has a tuned setting.
Tried in this round and not kept: closure scores over windows (agreement density, echoes, topic
shifts: +0.06 F1 alone, nothing on top of (1)); gating the learned candidates (a "we" verb,
agreement, a topic word: F1 0.39–0.42 against 0.42); strong approvals ("good idea", "I agree")
admitting proposals without choice words (one half up, the other down); refilling the slots the
filters empty (F1 −0.01 to −0.03); other caps (turns/50: P 0.45 / R 0.40; turns/65: 0.50 / 0.39;
turns/75: 0.51 / 0.37); splitting the chair's summary turns into several decisions (P 0.32 →
0.29–0.31). Of the gold decisions still missed, most are agreement reached in short exchanges
with no form of its own ("Titanium back, plastic front." / "I think that's a nice trade-off.").

Meeting type (not scored by the dev set; read on the 162 QMSum train meetings, transcript only):
one passing word of an hour's talk no longer types a meeting (a phrase naming it, such as "partner
sync" or "AI audit", still does), and the business words (pipeline, hiring, planning) support a
partner sync but never make one: parliament sessions typed `internal_partner` 21 of 24 → 0 (19
`other`, 4 `sales`, 1 `ai_audit`), ICSI research meetings 13 of 41 → 0 (40 `other`, 1 `sales`), AMI design
meetings `coaching` (AMI's "your personal coach") 16 → 5 of 97.

Speed: `HeuristicAnalyzer.analyze_sync` on {name} ({turns} turns, about an hour), {args.runs} runs
in-process, sentence cache cleared before each run: median {median:.0f} ms, p95 {p95:.0f} ms
(target p95 < 200 ms; before the sentence cache: median 651 ms, p95 957 ms). Round four (the shared 2-core machine
never quiet: load 4–8): runs of 30 gave median 139–147 / p95 193–297 ms at load 4.2–4.5 and
median 347–424 / p95 418–810 ms at load 6–8, so p95 < 200 ms holds only on a lightly loaded
machine; an interleaved A/B of `extract.extract_all` alone against 0d85857 (5 series of 20 runs)
gave medians 99–333 ms (after) against 117–395 ms (before), 15–25% faster after (unanswered
proposals skip the consensus checks, owner patterns are searched only when reached); the
meeting tone (VADER, #20) adds 17–56 ms of the total. Topic episodes
cost about 28 ms of it (segmentation 6 ms, convergence search 22 ms); round two measured median
94–99 / p95 108–111 ms on a quiet machine, and the episodes round was measured with the shared
2-core machine at load 4.5–5.4, where an interleaved A/B against 8688008 gave median 151–190 /
p95 334–480 ms (before) and 188–216 / 277–388 ms (after): re-run on a quiet machine.

Speed round (#14, after 75cad54; results identical: `fathom-os analyze --json --offline` on all 20
dev meetings and the examples diffed before/after): VADER's compound computed with the words
lowered once, and turns without a lexicon word or emoji scored 0 without VADER
(tests/test_sentiment.py checks equality with `polarity_scores`); a possessive stutter regex and
no `\\1` template in `clean()`; guarded alias searches; the segmentation's cosine and valley
depths in linear passes; one-pass long-word scans. The 2-core machine was never quiet (load
2.9–8.0): the command above, 3 runs of 30 interleaved with 75cad54, gave median 363–879 / p95
694–1689 ms before and 393–904 / 491–1509 ms after at load 6.6–8.0 (the load decides); CPU
time, `bench/bench_analyzer_cpu.py` (3 interleaved A/B series of 30, load 3.0–6.1): median
263–359 ms (min 224–295) before, 188–265 ms (min 157–189) after, about 30% less. Per part (CPU,
best of 15–25): tone 49–57 → 15–23 ms, speaker aliases 21–23 → 10–11 ms, segmentation 14–18 →
8–9 ms, extractive summary 15–20 → 13 ms, `clean()` 1.7× faster. What is left is mostly the
commitment and decision rules (~115 of ~190 ms CPU), so p95 < 200 ms wall needs a lightly
loaded machine or a cheaper pass over those rules.

Speed round two (#14, after 87796dc; results identical: `fathom-os analyze --json --offline` on
all 20 dev meetings and the 8 examples diffed before/after): every cue regex is guarded by the
literals it needs (a substring test; non-ASCII text is always searched;
tests/test_analysis_heuristic.py checks each guard against its regex on the fixtures and on a
phrase per alternative); a clause with no commitment cue at all (3 in 4) is skipped before the
per-rule checks; the five mention rules read sentences split and folded once per `extract_all`;
`_consensus` reads each turn's agreement once and, like the convergence search, runs the long
regexes (in-meeting, joke, undecided, hypothetical) after the cheap tests; the decision rules
share one list of turns and their content words; the meeting-type patterns are compiled once and
skip transcripts without their literals; `clean()` skips its filler, double-space and
space-before-punctuation passes when their literals are absent (printable text; fuzzed equal to
the old `clean()` on 200k strings). CPU, `bench/bench_analyzer_cpu.py` (3 interleaved A/B series
of 30 against 87796dc, load 1.3–1.5): median 171–261 ms (min 149–236) before, 143–195 ms (min
113–165) after; one commit earlier at load 0.8–0.9: 200–232 (149–226) before, 143–182 (123–141)
after, about a fifth less. Per part (CPU, best of 15, in-process A/B): mention rules 18 → 7 ms,
commitments 41 → 36 (9 of it speaker aliases), all decision rules 35 → 25, `extract_all` 108 →
72. Wall, the command above, interleaved with 87796dc (3 runs of 30 each time): at load 1.2–1.3
median 177–248 / p95 253–278 ms before, 180–188 / 194–214 ms after; one commit earlier at load
0.8–1.0 (6 runs) 192–260 / 241–306 before, 134–206 / 189–282 after. So p95 < 200 ms wall is
still not met reliably, even on this otherwise idle 2-core machine: it held in 2 of those 9
runs, and the same code's median moves 134–206 ms from run to run at load < 1 (not the GC: one
gen-2 collection of ~19 ms in 30 runs). What is left (CPU, best runs): sentence splitting ~16
ms (`clean()`'s stutter pass is most of it), commitments ~26 plus aliases ~9, the tone ~15
(services/sentiment.py), convergences ~15, consensus ~10, extractive summary ~9.

Speed on this session's machine (2026-12-01, same kind of 2-core machine, another host; the
command above via `_timing(30)`, 3 runs each): before round six (9a49bfb) median 58–62 / p95
59–74 ms at load 0.4–0.6; after round six (+12 ms: the learned signal ~7 ms, the confirmation
and rejection rules ~3 ms) median 73–74 / p95 82–85 ms at load 0.4–0.5; with the first three steps,
70 / 79–85 ms beside one busy-looping process and 72–290 / 143–339 ms beside two (load 0.7–1.8:
then three runnable processes share two cores). So
p95 < 200 ms holds on this machine with one core to spare; the earlier rounds' 194–214 ms were
measured on a host of the same kind that ran the same code 2.5–3 times slower.
"""
    text = DOC.read_text()
    if HEADING in text:
        start = text.index(HEADING)
        nxt = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + ("\n" + text[nxt + 1 :] if nxt != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
