from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.os_config import load_os_config
from services.os_paths import UnsafePath
from services.os_repo import (
    SKELETON_DIR,
    Author,
    ChangeError,
    FileChange,
    MergeConflict,
    OSRepo,
    OSRepoError,
    redact,
    render_change,
    unified_diff,
)

ANN = Author("Ann Lee", "ann@agency.com")
CONTEXT = {"agency_name": "Lee & Partners", "admin_name": "Ann Lee", "admin_email": "ann@agency.com"}


def git(cwd: Path, *args: str) -> str:
    """Plays the part of a human editing the OS with plain git."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    cmd = ["git", "-c", "user.name=Ext Editor", "-c", "user.email=ext@agency.com", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _tree(root: Path) -> list[str]:
    """Every path under root outside .git, to prove an attack created nothing anywhere."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.parts)


def external_commit(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")
    git(root, "add", rel)
    git(root, "commit", "-q", "-m", f"edit {rel}")


@pytest.fixture
async def repo(tmp_path: Path) -> OSRepo:
    r = OSRepo(tmp_path / "os")
    assert await r.init(SKELETON_DIR, CONTEXT) is True
    return r


# -- init ---------------------------------------------------------------------------------------


async def test_init_renders_the_skeleton_into_a_first_commit_by_the_bot(repo: OSRepo) -> None:
    for rel in ["README.md", "fathom-os.yml", "decisions/log.md", "roadmap.md", "templates/meeting-note.md"]:
        assert (repo.path / rel).is_file(), rel
    for folder in [
        "meetings",
        "clients",
        "projects",
        "contacts",
        "directives",
        "action-items",
        "team",
        "coaching",
    ]:
        assert (repo.path / folder / "README.md").is_file(), folder
    assert "# Lee & Partners — operating system" in (repo.path / "README.md").read_text()
    assert (
        git(repo.path, "log", "--format=%an <%ae>|%s").strip()
        == "Fathom OS <fathom-os@localhost>|Initialise the Fathom OS"
    )
    assert git(repo.path, "status", "--porcelain") == ""
    config = load_os_config(repo.path)
    assert config.is_approver("ann@agency.com") and config.is_admin("ann@agency.com")


async def test_skeleton_config_is_valid_without_optional_context(tmp_path: Path) -> None:
    r = OSRepo(tmp_path / "os")
    await r.init(SKELETON_DIR, {"agency_name": "Solo"})
    config = load_os_config(r.path)
    assert config.team == [] and config.reminders.due_hour == 9


async def test_init_fails_clearly_when_a_template_variable_is_missing(tmp_path: Path) -> None:
    with pytest.raises(OSRepoError, match="agency_name"):
        await OSRepo(tmp_path / "os").init(SKELETON_DIR, {})


async def test_existing_repository_is_used_as_is(tmp_path: Path) -> None:
    root = tmp_path / "os"
    root.mkdir()
    git(root, "init", "-q")
    external_commit(root, "mine.md", "my own OS\n")
    head = git(root, "rev-parse", "HEAD")
    assert await OSRepo(root).init(SKELETON_DIR, CONTEXT) is False
    assert git(root, "rev-parse", "HEAD") == head
    assert not (root / "fathom-os.yml").exists()


async def test_folder_inside_another_repository_gets_its_own(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    r = OSRepo(tmp_path / "os")
    assert await r.init(SKELETON_DIR, CONTEXT) is True
    assert (r.path / ".git").is_dir()


async def test_init_refuses_a_non_empty_folder_that_is_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "os").mkdir()
    (tmp_path / "os" / "notes.md").write_text("x")
    with pytest.raises(OSRepoError, match="not empty"):
        await OSRepo(tmp_path / "os").init(SKELETON_DIR, CONTEXT)


# -- pure changes -------------------------------------------------------------------------------

DOC = "# Acme\n\n## Contacts\n\n- Wile E.\n\n### Old\n\nsub\n\n## Terms\n\nNet 30\n"


def test_create_makes_a_new_file_and_refuses_to_overwrite() -> None:
    assert render_change(None, "create", "# Hi") == "# Hi\n"
    with pytest.raises(ChangeError, match="already exists"):
        render_change("", "create", "# Hi")


def test_append_adds_a_blank_line_separator() -> None:
    assert render_change("a\n\n\n", "append", "\nb\n") == "a\n\nb\n"
    assert render_change(None, "append", "b") == "b\n"


def test_update_section_replaces_the_body_including_subsections() -> None:
    out = render_change(DOC, "update_section", "- Road Runner", "contacts")
    assert out == "# Acme\n\n## Contacts\n\n- Road Runner\n\n## Terms\n\nNet 30\n"


def test_update_section_drops_a_repeated_heading_and_handles_the_last_section() -> None:
    out = render_change(DOC, "update_section", "## Terms\n\nNet 45", "## Terms")
    assert out.endswith("## Terms\n\nNet 45\n")
    assert out.count("## Terms") == 1


def test_update_section_creates_a_missing_heading_at_the_end() -> None:
    assert render_change("# A\n", "update_section", "x", "Risks") == "# A\n\n## Risks\n\nx\n"
    assert render_change(None, "update_section", "x", "### Risks") == "### Risks\n\nx\n"


def test_update_section_ignores_headings_inside_code_fences() -> None:
    doc = "# A\n\n```\n## Terms\n```\n\n## Terms\n\nold\n"
    assert (
        render_change(doc, "update_section", "new", "Terms")
        == "# A\n\n```\n## Terms\n```\n\n## Terms\n\nnew\n"
    )


def test_bad_change_requests_raise_change_error() -> None:
    with pytest.raises(ChangeError):
        render_change(DOC, "update_section", "x", None)
    with pytest.raises(ChangeError, match="unknown"):
        render_change(DOC, "delete", "x")


def test_unified_diff_shows_new_files_against_dev_null() -> None:
    diff = unified_diff("a.md", None, "x\n")
    assert diff.startswith("--- /dev/null\n+++ b/a.md\n") and "+x\n" in diff
    assert "No newline" in unified_diff("a.md", "x", "y")


# -- apply --------------------------------------------------------------------------------------


async def test_apply_commits_as_the_approver_with_trailers(repo: OSRepo) -> None:
    change = FileChange("meetings/2025-01-02-acme-kickoff.md", "create", "# Kickoff\n\nGood call.")
    result = await repo.apply(change, ANN, "Add kickoff note", {"Meeting": "rec-42", "Proposal-Id": "p-1"})
    log = git(repo.path, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B")
    assert log.startswith("Ann Lee <ann@agency.com>|Fathom OS <fathom-os@localhost>|Add kickoff note\n\n")
    assert "Meeting: rec-42\nProposal-Id: p-1" in log
    assert result.sha == git(repo.path, "rev-parse", "HEAD").strip()
    assert result.short_sha == result.sha[:7] and result.merged is False
    assert "+Good call." in result.diff
    content, blob = await repo.read("meetings/2025-01-02-acme-kickoff.md")
    assert content == "# Kickoff\n\nGood call.\n" and blob
    assert git(repo.path, "status", "--porcelain") == ""


async def test_read_of_a_missing_file_is_none(repo: OSRepo) -> None:
    assert await repo.read("meetings/nope.md") == (None, None)


async def test_append_and_update_section_commit_the_rendered_text(repo: OSRepo) -> None:
    await repo.apply(FileChange("decisions/log.md", "append", "## 2025-01-03 — Go"), ANN, "Decision", {})
    await repo.apply(FileChange("roadmap.md", "update_section", "- Ship v2", "Next"), ANN, "Roadmap", {})
    log, _ = await repo.read("decisions/log.md")
    roadmap, _ = await repo.read("roadmap.md")
    assert log and log.endswith("\n\n## 2025-01-03 — Go\n")
    assert roadmap and "## Next\n\n- Ship v2\n\n## Later" in roadmap


async def test_create_over_an_existing_file_changes_nothing(repo: OSRepo) -> None:
    head = await repo.head()
    with pytest.raises(ChangeError):
        await repo.apply(FileChange("roadmap.md", "create", "x"), ANN, "x", {})
    assert await repo.head() == head


async def test_external_edit_after_the_proposal_is_merged(repo: OSRepo) -> None:
    _, base = await repo.read("roadmap.md")
    roadmap = (repo.path / "roadmap.md").read_text()
    external_commit(repo.path, "roadmap.md", roadmap.replace("## Done\n", "## Done\n\n- Hired Bob\n"))
    change = FileChange("roadmap.md", "update_section", "- Launch the podcast", "Now", base_blob=base)
    result = await repo.apply(change, ANN, "Roadmap from meeting", {})
    text, _ = await repo.read("roadmap.md")
    assert result.merged is True
    assert text and "- Launch the podcast" in text and "- Hired Bob" in text
    assert "<<<<<<<" not in text


async def test_two_appends_to_the_same_file_both_survive(repo: OSRepo) -> None:
    _, base = await repo.read("decisions/log.md")
    log = (repo.path / "decisions/log.md").read_text()
    external_commit(repo.path, "decisions/log.md", log + "\n## Human entry\n")
    result = await repo.apply(
        FileChange("decisions/log.md", "append", "## Bot entry", base_blob=base), ANN, "d", {}
    )
    text, _ = await repo.read("decisions/log.md")
    assert result.merged and text and text.index("## Human entry") < text.index("## Bot entry")


async def test_conflicting_edit_raises_merge_conflict_and_writes_nothing(repo: OSRepo) -> None:
    _, base = await repo.read("roadmap.md")
    roadmap = (repo.path / "roadmap.md").read_text()
    external_commit(
        repo.path, "roadmap.md", roadmap.replace("Run every client meeting", "Run every sales call")
    )
    head = await repo.head()
    change = FileChange("roadmap.md", "update_section", "- Something else", "Now", base_blob=base)
    with pytest.raises(MergeConflict) as err:
        await repo.apply(change, ANN, "Roadmap", {})
    assert err.value.path == "roadmap.md"
    assert (
        "<<<<<<< current roadmap.md" in err.value.conflict_text
        and ">>>>>>> proposal" in err.value.conflict_text
    )
    assert await repo.head() == head
    assert git(repo.path, "status", "--porcelain") == ""


async def test_ten_concurrent_applies_lose_nothing(repo: OSRepo) -> None:
    head = await repo.head()
    changes = [FileChange(f"meetings/m{i}.md", "create", f"# Meeting {i}") for i in range(5)]
    changes += [FileChange("decisions/log.md", "append", f"## Decision {i}") for i in range(5)]
    results = await asyncio.gather(*(repo.apply(c, ANN, f"change {i}", {}) for i, c in enumerate(changes)))
    assert len({r.sha for r in results}) == 10
    assert git(repo.path, "rev-list", "--count", f"{head}..HEAD").strip() == "10"
    for i in range(5):
        assert (await repo.read(f"meetings/m{i}.md"))[0] == f"# Meeting {i}\n"
    log, _ = await repo.read("decisions/log.md")
    assert log and all(f"## Decision {i}" in log for i in range(5))
    assert git(repo.path, "status", "--porcelain") == ""


async def test_retried_approval_with_the_same_proposal_id_commits_once(repo: OSRepo) -> None:
    change = FileChange("decisions/log.md", "append", "## Once")
    first = await repo.apply(change, ANN, "d", {"Proposal-Id": "p-7"})
    again = await repo.apply(change, ANN, "d", {"Proposal-Id": "p-7"})
    assert again.already_applied and again.sha == first.sha
    assert (await repo.read("decisions/log.md"))[0].count("## Once") == 1  # type: ignore[union-attr]


async def test_broken_config_change_is_refused(repo: OSRepo) -> None:
    with pytest.raises(ChangeError, match="fathom-os.yml"):
        await repo.apply(FileChange("fathom-os.yml", "append", "approver: [x]"), ANN, "cfg", {})
    assert git(repo.path, "status", "--porcelain") == ""


async def test_uncommitted_local_edit_is_not_overwritten(repo: OSRepo) -> None:
    (repo.path / "roadmap.md").write_text("local work in progress\n")
    with pytest.raises(OSRepoError, match="uncommitted"):
        await repo.apply(FileChange("roadmap.md", "append", "x"), ANN, "x", {})
    assert (repo.path / "roadmap.md").read_text() == "local work in progress\n"


async def test_bad_author_is_rejected_before_any_write(repo: OSRepo) -> None:
    with pytest.raises(ChangeError, match="author"):
        await repo.apply(FileChange("a.md", "create", "x"), Author("Eve\n", "e@x"), "x", {})
    assert not (repo.path / "a.md").exists()


async def test_another_process_holding_the_lock_delays_the_commit(repo: OSRepo) -> None:
    holder = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(0.5)\n"
    )
    lock_file = str(repo.path / ".git" / "fathom-os.lock")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", holder, lock_file, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout and await proc.stdout.readline() == b"locked\n"
    start = time.perf_counter()
    await repo.apply(FileChange("meetings/a.md", "create", "a"), ANN, "Add a", {})
    assert time.perf_counter() - start > 0.3
    assert await proc.wait() == 0


async def test_a_folder_that_is_not_a_repository_gives_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(OSRepoError, match="not a git repository"):
        await OSRepo(tmp_path).apply(FileChange("a.md", "create", "a"), ANN, "x", {})


# -- path attacks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "../x.md",
        "/etc/passwd",
        "a/../../x.md",
        ".git/config",
        ".GIT/hooks/x.md",
        "x.sh",
        "meetings/x\x00.md",
        "meetings/../../../../root/.ssh/authorized_keys",
        "linked-dir/x.md",
        "linked-file.md",
    ],
)
async def test_path_attacks_raise_unsafe_path_and_write_nothing(
    repo: OSRepo, tmp_path: Path, path: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.md").write_text("original\n")
    os.symlink(outside, repo.path / "linked-dir")
    os.symlink(outside / "target.md", repo.path / "linked-file.md")
    head = await repo.head()
    before = _tree(tmp_path)
    with pytest.raises(UnsafePath):
        await repo.apply(FileChange(path, "create", "pwned"), ANN, "attack", {})
    assert await repo.head() == head
    assert (outside / "target.md").read_text() == "original\n"
    assert _tree(tmp_path) == before
    assert "pwned" not in (repo.path / ".git" / "config").read_text()


async def test_oversized_content_is_rejected_and_nothing_written(repo: OSRepo) -> None:
    with pytest.raises(UnsafePath, match="byte limit"):
        await repo.apply(FileChange("meetings/big.md", "create", "x" * 50_000_000), ANN, "big", {})
    assert not (repo.path / "meetings" / "big.md").exists()


# -- revert, history, push ----------------------------------------------------------------------


def pid(n: int | str) -> dict[str, str]:
    """The trailer every approved proposal's commit carries (only those can be rolled back)."""
    return {"Proposal-Id": str(n)}


async def test_revert_undoes_a_commit_as_the_given_author(repo: OSRepo) -> None:
    before, _ = await repo.read("roadmap.md")
    applied = await repo.apply(FileChange("roadmap.md", "append", "- oops"), ANN, "Oops", pid(1))
    sha = await repo.revert(applied.sha, Author("Bob Stone", "bob@agency.com"))
    assert (await repo.read("roadmap.md"))[0] == before
    assert (repo.path / "roadmap.md").read_text() == before
    assert git(repo.path, "log", "-1", "--format=%an|%s", sha).strip() == 'Bob Stone|Revert "Oops"'
    assert f"This reverts commit {applied.sha}." in git(repo.path, "log", "-1", "--format=%B", sha)
    assert git(repo.path, "status", "--porcelain") == ""


async def test_revert_of_a_file_edited_since_merges_the_undo(repo: OSRepo) -> None:
    applied = await repo.apply(FileChange("roadmap.md", "append", "- line A"), ANN, "A", pid(1))
    text = (repo.path / "roadmap.md").read_text()
    external_commit(repo.path, "roadmap.md", "# Top line by a person\n\n" + text)
    await repo.revert(applied.sha[:7], ANN)
    now = (repo.path / "roadmap.md").read_text()
    assert now.startswith("# Top line by a person") and "- line A" not in now
    assert git(repo.path, "status", "--porcelain") == ""


async def test_revert_conflict_leaves_the_repository_clean(repo: OSRepo) -> None:
    applied = await repo.apply(FileChange("roadmap.md", "append", "- line A"), ANN, "A", pid(1))
    text = (repo.path / "roadmap.md").read_text()
    external_commit(repo.path, "roadmap.md", text.replace("- line A", "- line A, reworded"))
    head = await repo.head()
    with pytest.raises(MergeConflict) as err:
        await repo.revert(applied.sha, ANN)
    assert "roadmap.md" in err.value.path and "<<<<<<<" in err.value.conflict_text
    assert await repo.head() == head
    assert git(repo.path, "status", "--porcelain") == ""
    assert not (repo.path / ".git" / "REVERT_HEAD").exists()


async def test_reverting_twice_fails_readably_and_later_reverts_still_work(repo: OSRepo) -> None:
    first = await repo.apply(FileChange("meetings/a.md", "create", "a"), ANN, "Add a", pid(1))
    second = await repo.apply(FileChange("meetings/b.md", "create", "b"), ANN, "Add b", pid(2))
    undo = await repo.revert(first.sha, ANN)
    with pytest.raises(ChangeError, match=f"already rolled back by {undo[:7]}"):
        await repo.revert(first.sha, ANN)
    await repo.revert(second.sha, ANN)
    assert not (repo.path / "meetings" / "b.md").exists()
    assert git(repo.path, "status", "--porcelain") == ""


async def test_revert_of_an_unknown_commit_is_a_readable_error(repo: OSRepo) -> None:
    with pytest.raises(OSRepoError, match="not a commit in the OS"):
        await repo.revert("deadbeef", ANN)
    with pytest.raises(OSRepoError, match="not a commit id"):
        await repo.revert("--abort", ANN)


async def test_revert_refuses_a_commit_the_bot_did_not_make_from_a_proposal(repo: OSRepo) -> None:
    external_commit(repo.path, "roadmap.md", "# Roadmap by the operator\n")
    operator = git(repo.path, "rev-parse", "HEAD").strip()
    manual = await repo.apply(FileChange("meetings/x.md", "create", "x"), ANN, "No trailer", {})
    initial = git(repo.path, "rev-list", "--max-parents=0", "HEAD").strip()
    head = await repo.head()
    for sha in (operator, manual.sha, initial):
        with pytest.raises(ChangeError, match="not made by the bot from an approved proposal"):
            await repo.revert(sha, ANN)
    assert await repo.head() == head and git(repo.path, "status", "--porcelain") == ""


async def test_revert_refuses_a_commit_outside_the_os_history(repo: OSRepo) -> None:
    git(repo.path, "checkout", "-q", "-b", "side")
    side = await repo.apply(FileChange("meetings/s.md", "create", "s"), ANN, "Side", pid(9))
    git(repo.path, "checkout", "-q", "main")
    with pytest.raises(ChangeError, match="not part of the OS history"):
        await repo.revert(side.sha, ANN)


async def test_revert_that_would_leave_no_approver_is_refused(repo: OSRepo) -> None:
    config = (repo.path / "fathom-os.yml").read_text()
    listed = '\napprovers:\n  - "ann@agency.com"\n'
    assert listed in config
    external_commit(repo.path, "fathom-os.yml", config.replace(listed, "\n"))  # nobody approves yet
    added = await repo.apply(
        FileChange("fathom-os.yml", "append", 'approvers:\n  - "ann@agency.com"'), ANN, "Approvers", pid(5)
    )
    assert load_os_config(repo.path).approvers == ["ann@agency.com"]
    with pytest.raises(ChangeError, match="without approvers"):
        await repo.revert(added.sha, ANN)
    assert await repo.head() == added.sha and load_os_config(repo.path).approvers == ["ann@agency.com"]
    assert git(repo.path, "status", "--porcelain") == ""


async def test_approval_that_would_leave_no_approver_is_refused(repo: OSRepo) -> None:
    head = await repo.head()
    with pytest.raises(ChangeError, match="without approvers"):
        await repo.apply(FileChange("fathom-os.yml", "append", "approvers: []"), ANN, "x", pid(6))
    assert await repo.head() == head and git(repo.path, "status", "--porcelain") == ""


async def test_revert_that_would_break_the_config_is_refused(repo: OSRepo) -> None:
    config = (repo.path / "fathom-os.yml").read_text()
    external_commit(repo.path, "fathom-os.yml", config.replace("admins: []", "admin: []"))  # typo
    # An approved fix of the typo (written with plain git, as an earlier bot version committed)
    (repo.path / "fathom-os.yml").write_text(config)
    bot = ["-c", "user.name=Fathom OS", "-c", "user.email=fathom-os@localhost"]
    git(repo.path, *bot, "commit", "-q", "-am", "Fix the admins key\n\nProposal-Id: 8")
    fix = git(repo.path, "rev-parse", "HEAD").strip()
    with pytest.raises(ChangeError, match="broken fathom-os.yml.*'admin'"):
        await repo.revert(fix, ANN)
    assert await repo.head() == fix and git(repo.path, "status", "--porcelain") == ""


async def test_history_lists_commits_with_trailers_and_files(repo: OSRepo) -> None:
    await repo.apply(
        FileChange("meetings/a.md", "create", "a"), ANN, "Add a", {"Meeting": "m-1", "Proposal-Id": "p-1"}
    )
    await repo.apply(FileChange("meetings/b.md", "create", "b"), ANN, "Add b", {"Meeting": "m-2"})
    everything = await repo.history()
    assert [c.subject for c in everything] == ["Add b", "Add a", "Initialise the Fathom OS"]
    a = (await repo.history("meetings/a.md"))[0]
    assert (a.author_name, a.author_email, a.files) == ("Ann Lee", "ann@agency.com", ["meetings/a.md"])
    assert a.trailers == {"Meeting": "m-1", "Proposal-Id": "p-1"}
    assert a.sha.startswith(a.short) and a.date.tzinfo is not None
    assert len(await repo.history(limit=1)) == 1


async def test_push_to_a_bare_remote(repo: OSRepo, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    await repo.apply(FileChange("meetings/a.md", "create", "a"), ANN, "Add a", {})
    await repo.push(str(bare), "main")
    assert git(bare, "rev-parse", "main") == git(repo.path, "rev-parse", "HEAD")


async def test_push_errors_hide_credentials(repo: OSRepo, tmp_path: Path) -> None:
    url = f"file://bob:s3cr3t-token@localhost{tmp_path}/missing.git"
    with pytest.raises(OSRepoError) as err:
        await repo.push(url)
    assert "s3cr3t-token" not in str(err.value) and "git push failed" in str(err.value)


async def test_http_push_errors_hide_credentials(repo: OSRepo) -> None:
    with pytest.raises(OSRepoError) as err:
        await repo.push("http://bob:s3cr3t-token@127.0.0.1:1/os.git", "main")
    assert "s3cr3t-token" not in str(err.value)


def test_redact_strips_user_and_token_from_urls() -> None:
    text = "fatal: https://x-access-token:ghp_abc@github.com/a/b.git and ssh://git@host/x"
    assert redact(text) == "fatal: https://***@github.com/a/b.git and ssh://***@host/x"


async def test_reads_follow_commits_made_outside_the_bot_loose_and_packed_refs(repo: OSRepo) -> None:
    before, blob = await repo.read("roadmap.md")
    assert before is not None and blob
    (repo.path / "roadmap.md").write_text(before + "\n- an idea from outside\n")
    git(repo.path, "commit", "-qam", "outside edit")
    after, new_blob = await repo.read("roadmap.md")
    assert after and "an idea from outside" in after and new_blob != blob
    git(repo.path, "pack-refs", "--all")  # refs/heads/main now only in packed-refs
    from services.os_repo import _read_head_ref

    assert _read_head_ref(str(repo.path / ".git")) == git(repo.path, "rev-parse", "HEAD").strip()
    (repo.path / "decisions" / "extra.md").write_text("# extra\n")
    git(repo.path, "add", "decisions/extra.md")
    git(repo.path, "commit", "-qm", "another outside commit")
    assert "decisions/extra.md" in await repo.list_files("decisions")
    assert (await repo.read("decisions/extra.md"))[0] == "# extra\n"


async def test_a_push_rejected_because_another_host_pushed_first_merges_and_retries(
    repo: OSRepo, tmp_path: Path
) -> None:
    """Two hosts, one OS_REMOTE (#17): host B's push is refused (A pushed first), so B merges A's
    history (no rebase: B's commit id, recorded for revert, is kept) and pushes again."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    await repo.push(str(bare), "main")
    git(tmp_path, "clone", "-q", "--branch", "main", str(bare), "host_b")
    host_b = OSRepo(tmp_path / "host_b")
    await repo.apply(FileChange("meetings/a.md", "create", "from host A"), ANN, "Add a", {})
    await repo.push(str(bare), "main")
    mine = await host_b.apply(FileChange("meetings/b.md", "create", "from host B"), ANN, "Add b", {})
    await host_b.push(str(bare), "main")
    remote_head = git(bare, "rev-parse", "main").strip()
    assert remote_head == git(host_b.path, "rev-parse", "HEAD").strip()
    assert git(bare, "show", "main:meetings/a.md").strip() == "from host A"
    assert git(bare, "show", "main:meetings/b.md").strip() == "from host B"
    git(host_b.path, "merge-base", "--is-ancestor", mine.sha, "HEAD")  # B's commit kept under its id

    # the same file changed on both hosts: refused with a clear error, B's clone left clean
    external_commit(repo.path, "meetings/c.md", "A's c\n")
    await repo.push(str(bare), "main")
    external_commit(host_b.path, "meetings/c.md", "B's c\n")
    with pytest.raises(OSRepoError, match="conflict"):
        await host_b.push(str(bare), "main")
    assert git(host_b.path, "status", "--porcelain") == ""
    assert not (host_b.path / ".git" / "MERGE_HEAD").exists()
