"""CPU time of the offline analyzer on the hour-long dev meeting, for A/B runs on a busy machine.

Wall time on the shared 2-core machine follows its load (a run of 30 at load 7 can take three
times as long as at load 1); process CPU time moves far less, so an interleaved A/B of two source
trees in CPU time shows what a change saves. Same meeting, runs and cold sentence cache as
`bench_quality._timing`:

    git archive <base> | tar -x -C /tmp/base            # the tree to compare against
    for i in 1 2 3; do
      .venv/bin/python bench/bench_analyzer_cpu.py --root /tmp/base
      .venv/bin/python bench/bench_analyzer_cpu.py
    done
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORER_DIR = ROOT.parent / "shared" / "quality"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=ROOT, help="source tree to import (default: this one)")
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    if not (SCORER_DIR / "score.py").exists():
        print(f"the dev-set scorer is absent ({SCORER_DIR}); nothing measured")
        return 0
    sys.path.insert(0, str(args.root.resolve()))
    sys.path.insert(1, str(SCORER_DIR))
    import score  # the shared scorer builds the payload exactly as it scores it

    from services.analysis import extract
    from services.analysis.heuristic import HeuristicAnalyzer
    from services.fathom import parse_meeting

    meetings = SCORER_DIR.parent / "fixtures" / "qmsum" / "meetings"
    longest = max(
        meetings.glob("*.json"), key=lambda p: len(json.loads(p.read_text())["meeting_transcripts"])
    )
    meeting = parse_meeting(score.payload_for(longest.stem, json.loads(longest.read_text())))
    analyzer = HeuristicAnalyzer()
    analyzer.analyze_sync(meeting)  # imports, the language detector, VADER's lexicon
    cpu, wall = [], []
    for _ in range(args.runs):
        extract._split.cache_clear()  # cold: each meeting is analysed once
        t0, c0 = time.perf_counter(), time.process_time()
        analyzer.analyze_sync(meeting)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    cpu.sort()
    wall.sort()
    p95 = min(len(wall) - 1, int(0.95 * len(wall)))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{extract.__file__}: {longest.stem}, {args.runs} runs, load {load}: CPU median "
        f"{statistics.median(cpu):.0f} ms (min {cpu[0]:.0f}), wall median {statistics.median(wall):.0f} ms, "
        f"p95 {wall[p95]:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
