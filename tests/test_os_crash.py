"""A process killed (SIGKILL) at any point of an approval or a rollback never wedges the OS.

Each case runs the change in a child process that kills itself right after a named step of
`OSRepo`'s commit (patched in the child only, so the product code carries no crash hooks). The
parent then "restarts" (a fresh `OSRepo`, `recover()` as the runtime calls it on start-up) and
checks what a user would: the same approval and a later one succeed, `git status` is clean, exactly
one commit carries the proposal's id, and the file says what was approved, once.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services.os_repo import SKELETON_DIR, Author, FileChange, OSRepo

ROOT = Path(__file__).resolve().parents[1]
ANN = Author("Ann Lee", "ann@agency.com")
CONTEXT = {"agency_name": "Lee & Partners", "admin_name": "Ann Lee", "admin_email": "ann@agency.com"}
LOG = "decisions/log.md"
FIRST = FileChange(LOG, "append", "## 2025-03-01 — Ship v2")
LATER = FileChange(LOG, "append", "## 2025-03-02 — Hire Bob")

CHILD = r"""
import asyncio, os, signal, sys
from pathlib import Path

import services.os_repo as os_repo
from services.os_repo import Author, FileChange, OSRepo

path, point, op, target = sys.argv[1:5]


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def kill_after(name):
    original = getattr(OSRepo, name)

    async def wrapped(self, *args, **kwargs):
        await original(self, *args, **kwargs)
        die()

    setattr(OSRepo, name, wrapped)


if point == "mid_file_write":  # the new file's bytes are on disk under a temporary name
    def half_write(target_path, data, *, executable=False):
        target_path.with_name(f".{target_path.name}.fathom-os-tmp").write_bytes(data[: len(data) // 2])
        die()

    os_repo._atomic_write_bytes = half_write
else:
    kill_after({
        "after_blobs": "_store_blob",
        "after_commit_tree": "_commit_tree",
        "after_update_ref": "_move_head",
        "after_file_written": "_sync_path",  # the file is new, the index still old
    }[point])


async def main():
    repo = OSRepo(Path(path))
    ann = Author("Ann Lee", "ann@agency.com")
    if op == "apply":
        change = FileChange("decisions/log.md", "append", "## 2025-03-01 — Ship v2")
        await repo.apply(change, ann, "Decision", {"Proposal-Id": target})
    else:
        await repo.revert(target, ann)


asyncio.run(main())
sys.exit(3)  # the crash point was never reached
"""

POINTS = ["after_blobs", "after_commit_tree", "after_update_ref", "after_file_written", "mid_file_write"]


def git(cwd: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=Ext Editor", "-c", "user.email=ext@agency.com", *args]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def crash(repo: OSRepo, point: str, op: str, target: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(repo.path), point, op, target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr  # killed at the named point, not before


def commits_with(repo: OSRepo, proposal_id: str) -> int:
    out = git(repo.path, "log", "--format=%(trailers:key=Proposal-Id,valueonly)")
    return [line.strip() for line in out.splitlines()].count(proposal_id)


@pytest.fixture
async def repo(tmp_path: Path) -> OSRepo:
    r = OSRepo(tmp_path / "os")
    assert await r.init(SKELETON_DIR, CONTEXT) is True
    return r


@pytest.mark.parametrize("point", POINTS)
async def test_approval_killed_at_any_point_can_be_approved_again_and_later_ones_work(
    repo: OSRepo, point: str
) -> None:
    before = (repo.path / LOG).read_text()
    crash(repo, point, "apply", "41")
    restarted = OSRepo(repo.path)
    await restarted.recover()
    assert git(repo.path, "status", "--porcelain", "--untracked-files=all") == ""
    again = await restarted.apply(FIRST, ANN, "Decision", {"Proposal-Id": "41"})
    assert again.already_applied is (point in ("after_update_ref", "after_file_written", "mid_file_write"))
    later = await restarted.apply(LATER, ANN, "Decision", {"Proposal-Id": "42"})
    assert later.already_applied is False
    assert git(repo.path, "status", "--porcelain", "--untracked-files=all") == ""
    assert commits_with(repo, "41") == 1 and commits_with(repo, "42") == 1
    text = (repo.path / LOG).read_text()
    assert text == before.rstrip("\n") + "\n\n## 2025-03-01 — Ship v2\n\n## 2025-03-02 — Hire Bob\n"
    assert (await restarted.read(LOG))[0] == text


async def test_the_next_write_finishes_a_killed_change_without_a_restart(repo: OSRepo) -> None:
    crash(repo, "after_update_ref", "apply", "41")
    assert git(repo.path, "status", "--porcelain") != ""  # HEAD moved, the file not yet
    later = await OSRepo(repo.path).apply(LATER, ANN, "Decision", {"Proposal-Id": "42"})
    assert not later.already_applied
    assert git(repo.path, "status", "--porcelain") == ""
    text = (repo.path / LOG).read_text()
    assert text.count("Ship v2") == 1 and text.count("Hire Bob") == 1


@pytest.mark.parametrize("point", ["after_commit_tree", "after_update_ref", "after_file_written"])
async def test_rollback_killed_at_any_point_can_be_retried(repo: OSRepo, point: str) -> None:
    before = (repo.path / LOG).read_text()
    applied = await repo.apply(FIRST, ANN, "Decision", {"Proposal-Id": "41"})
    crash(repo, point, "revert", applied.sha)
    restarted = OSRepo(repo.path)
    await restarted.recover()
    assert git(repo.path, "status", "--porcelain", "--untracked-files=all") == ""
    if point == "after_commit_tree":
        await restarted.revert(applied.sha, ANN)
    else:  # the rollback landed; asking again says so
        with pytest.raises(Exception, match="already rolled back"):
            await restarted.revert(applied.sha, ANN)
    reverts = git(
        repo.path, "log", "--fixed-strings", f"--grep=This reverts commit {applied.sha}", "--format=%H"
    )
    assert len(reverts.split()) == 1
    assert (repo.path / LOG).read_text() == before
    assert git(repo.path, "status", "--porcelain") == ""


async def test_start_up_syncs_a_file_an_older_version_left_uncommitted(
    repo: OSRepo, caplog: pytest.LogCaptureFixture
) -> None:
    """The state of the original report: new text written, never committed, no journal."""
    committed = (repo.path / LOG).read_text()
    (repo.path / LOG).write_text(committed + "\n## half-approved\n")
    with caplog.at_level(logging.WARNING, logger="services.os_repo"):
        assert await OSRepo(repo.path).recover() == [LOG]
    assert (repo.path / LOG).read_text() == committed
    assert git(repo.path, "status", "--porcelain") == ""
    assert f"synced {LOG} to HEAD" in caplog.text
    [kept] = list((repo.path / ".git" / "fathom-os-recovered").rglob("log.md"))
    assert kept.read_text().endswith("## half-approved\n")
    await OSRepo(repo.path).apply(LATER, ANN, "Decision", {"Proposal-Id": "42"})
    assert git(repo.path, "status", "--porcelain") == ""


async def test_start_up_leaves_edits_to_files_a_person_committed(repo: OSRepo) -> None:
    (repo.path / "roadmap.md").write_text("# Roadmap by a person\n")
    git(repo.path, "commit", "-qam", "Roadmap by hand")
    (repo.path / "roadmap.md").write_text("# Roadmap by a person, still editing\n")
    assert await OSRepo(repo.path).recover() == []
    assert (repo.path / "roadmap.md").read_text() == "# Roadmap by a person, still editing\n"


async def test_recover_on_a_clean_repository_changes_nothing(repo: OSRepo) -> None:
    head = await repo.head()
    assert await repo.recover() == []
    assert await repo.head() == head and git(repo.path, "status", "--porcelain") == ""
