"""Time per approved OS change on a realistically large OS.

Builds an OS of 5,000 markdown files in a temp dir, applies 100 proposals one by one (a mix of new
meeting notes, decision-log appends and client-profile section updates, a fifth of them against a
base that changed since the proposal) and prints median and p95 wall time per commit.

    .venv/bin/python bench/bench_os_apply.py [--files 5000] [--proposals 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.os_repo import SKELETON_DIR, Author, FileChange, OSRepo  # noqa: E402

APPROVER = Author("Ann Lee", "ann@agency.com")


def populate(root: Path, n_files: int) -> None:
    """Write the bulk of the OS directly and commit it once: the bench is about applies, not setup."""
    n_clients = max(1, n_files // 10)
    for i in range(n_files):
        if i < n_clients:
            rel = f"clients/client-{i:04d}/README.md"
            text = f"# Client {i}\n\n## Contacts\n\n- Person {i}\n\n## Terms\n\nNet 30\n"
        else:
            rel = f"meetings/2024/{i % 12 + 1:02d}/meeting-{i:05d}.md"
            text = f"# Meeting {i}\n\n" + "Discussion line.\n" * 40
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "add", "--all"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bulk"], cwd=root, check=True)


async def run(n_files: int, n_proposals: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="fathom-os-bench-") as tmp:
        repo = OSRepo(Path(tmp) / "os")
        await repo.init(SKELETON_DIR, {"agency_name": "Bench Agency"})
        populate(repo.path, n_files)
        timings: list[float] = []
        for i in range(n_proposals):
            kind = i % 5
            if kind in (0, 1):
                change = FileChange(
                    f"meetings/2025/meeting-{i:03d}.md", "create", f"# New meeting {i}\n\nNotes."
                )
            elif kind == 2:
                change = FileChange(
                    "decisions/log.md", "append", f"## 2025-02-{i % 28 + 1:02d} — Decision {i}"
                )
            elif kind == 3:
                rel = f"clients/client-{i:04d}/README.md"
                _, blob = await repo.read(rel)
                change = FileChange(
                    rel, "update_section", f"- Person {i}\n- New contact", "Contacts", base_blob=blob
                )
            else:  # proposal made before someone else's commit to the same file: 3-way merge path
                rel = f"clients/client-{i:04d}/README.md"
                _, blob = await repo.read(rel)
                await repo.apply(FileChange(rel, "update_section", "Net 45", "Terms"), APPROVER, "terms", {})
                change = FileChange(
                    rel, "update_section", f"- Person {i}\n- Late contact", "Contacts", base_blob=blob
                )
            start = time.perf_counter()
            await repo.apply(
                change, APPROVER, f"Proposal {i}", {"Meeting": f"rec-{i}", "Proposal-Id": f"p-{i}"}
            )
            timings.append(time.perf_counter() - start)
        return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--proposals", type=int, default=100)
    args = parser.parse_args()
    timings = sorted(asyncio.run(run(args.files, args.proposals)))
    p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
    print(f"OS of {args.files:,} files, {len(timings)} proposals applied one by one")
    print(
        f"median {statistics.median(timings) * 1000:.1f} ms per commit, p95 {p95 * 1000:.1f} ms, max {timings[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
