"""The OS repository: approved proposals become commits authored by the approver.

Git is driven through its command line (no shell, no extra dependency). Every write holds an asyncio
lock per repository plus a `flock` on a file inside `.git`, so concurrent approvals in one process or
across processes never interleave or lose a change.

A change is built with git plumbing before anything on disk moves: blobs, a tree on a temporary
index, a commit, then `update-ref` from the expected old HEAD (the one atomic step); only then is the
working tree brought up to the new commit. A journal in `.git` names the commit and paths in flight,
so a process killed at any point leaves either no change or a commit whose files the next write (or
`recover()` at start-up) syncs: the commit is the truth, and nothing is ever committed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from services import templating
from services.os_change import (  # re-exported: callers speak in these terms
    ChangeError,
    MergeConflict,
    OSRepoError,
    render_change,
    unified_diff,
)
from services.os_config import CONFIG_FILENAME, OSConfig, OSConfigError, parse_os_config
from services.os_paths import UnsafePath, validate_os_path

try:  # POSIX only; elsewhere the in-process lock still serialises one bot process.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ApplyResult",
    "Author",
    "ChangeError",
    "CommitInfo",
    "FileChange",
    "ManyResult",
    "MergeConflict",
    "OSRepo",
    "OSRepoError",
    "render_change",
    "unified_diff",
]

BOT_AUTHOR_NAME = "Fathom OS"
BOT_AUTHOR_EMAIL = "fathom-os@localhost"
SKELETON_DIR = Path(__file__).resolve().parent.parent / "os_templates" / "os_skeleton"
LOCK_TIMEOUT_S = 30.0
GIT_TIMEOUT_S = 60.0
PUSH_TIMEOUT_S = 180.0
PUSH_ATTEMPTS = 3  # a push rejected because another host pushed first: merge its history, push again
_CREDENTIALS_IN_URL = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_SHA = re.compile(r"^[0-9a-fA-F]{4,40}$")
_TRAILER_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


BLOB_CACHE_SIZE = 512
JOURNAL_NAME = "fathom-os-pending.json"  # in .git: the commit being written, until the tree has it
TEMP_INDEX_PREFIX = "fathom-os-index-"
RECOVERED_DIR = "fathom-os-recovered"  # in .git: copies of whatever start-up recovery overwrote
_ZERO = "0" * 40
_FILE_MODES = ("100644", "100755")

log = logging.getLogger(__name__)

Entry = tuple[str, str]  # (mode, blob id) of a file in a tree


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class FileChange:
    path: str
    action: Literal["create", "append", "update_section"]
    content: str
    section: str | None = None
    base_blob: str | None = None  # blob id of the file at HEAD when the proposal was made


@dataclass(frozen=True)
class ApplyResult:
    sha: str
    short_sha: str
    path: str
    merged: bool
    diff: str
    already_applied: bool = False  # a commit with the same Proposal-Id existed; nothing new written


@dataclass(frozen=True)
class ManyResult:
    """`apply_many`: the one new commit (None when nothing new), and each proposal's outcome."""

    sha: str | None
    applied: dict[str, ApplyResult]
    failed: dict[str, Exception]  # OSRepoError (conflict, no difference) or UnsafePath


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    short: str
    author_name: str
    author_email: str
    date: datetime
    subject: str
    trailers: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def redact(text: str) -> str:
    """Drop `user:token@` from any URL so git's errors can be logged and shown."""
    return _CREDENTIALS_IN_URL.sub(r"\1***@", text)


_LOCKS: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}


def _repo_lock(key: str) -> asyncio.Lock:
    """One lock per repository and event loop (a lock bound to a closed loop would be useless)."""
    loop = asyncio.get_running_loop()
    entry = _LOCKS.get(key)
    if entry is None or entry[0] is not loop:
        entry = (loop, asyncio.Lock())
        _LOCKS[key] = entry
    return entry[1]


def _check_identity(author: Author) -> None:
    for value in (author.name, author.email):
        if not value or not value.strip() or any(c in value for c in "<>\n\r\x00"):
            raise ChangeError(f"invalid commit author {author.name!r} <{author.email}>")


def _commit_message(message: str, trailers: dict[str, str]) -> str:
    lines = [message.strip() or "Update the OS"]
    if trailers:
        trailer_lines = []
        for key, value in trailers.items():
            if not _TRAILER_KEY.match(key) or "\n" in str(value) or "\r" in str(value):
                raise ChangeError(f"invalid commit trailer {key!r}")
            trailer_lines.append(f"{key}: {value}")
        lines += ["", "\n".join(trailer_lines)]
    return "\n".join(lines) + "\n"


class OSRepo:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._real = os.path.realpath(self.path)  # lock registry key; resolved once, not per call
        self._lock_file: str | None = None
        self._git_dir: str | None = None
        self._tree_cache: tuple[str, dict[str, Entry]] | None = None  # HEAD sha -> {path: entry}
        self._blob_cache: OrderedDict[str, str] = OrderedDict()  # blob id -> text (immutable)

    # -- git plumbing -------------------------------------------------------------------------

    def _env(self, author: Author | None) -> dict[str, str]:
        env = dict(os.environ)
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
            env.pop(var, None)
        env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_EDITOR="true", GIT_MERGE_AUTOEDIT="no")
        env.setdefault("GIT_SSH_COMMAND", "ssh -oBatchMode=yes")
        a = author or Author(BOT_AUTHOR_NAME, BOT_AUTHOR_EMAIL)
        env.update(GIT_AUTHOR_NAME=a.name, GIT_AUTHOR_EMAIL=a.email)
        return env

    async def _git_raw(
        self,
        *args: str,
        stdin: bytes | None = None,
        author: Author | None = None,
        cwd: Path | None = None,
        time_limit: float = GIT_TIMEOUT_S,
        index: str | None = None,
    ) -> tuple[int, bytes, str]:
        cmd = [
            "git",
            "-c", f"user.name={BOT_AUTHOR_NAME}",
            "-c", f"user.email={BOT_AUTHOR_EMAIL}",
            "-c", "commit.gpgsign=false",
            "-c", "core.quotepath=off",
            *args,
        ]  # fmt: skip
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                cwd=str(cwd or self.path),
                env=self._env(author) | ({"GIT_INDEX_FILE": index} if index else {}),
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise OSRepoError(f"cannot run git in {self.path}: {exc.strerror or exc}") from exc
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), time_limit)
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise OSRepoError(f"git {args[0]} timed out after {time_limit:.0f}s") from exc
        assert proc.returncode is not None
        return proc.returncode, out, redact(err.decode("utf-8", "replace")).strip()

    async def _git(self, *args: str, **kwargs: Any) -> bytes:
        code, out, err = await self._git_raw(*args, **kwargs)
        if code != 0:
            detail = err or out.decode("utf-8", "replace").strip() or f"exit code {code}"
            raise OSRepoError(redact(f"git {args[0]} failed: {detail}"))
        return out

    async def _git_text(self, *args: str, **kwargs: Any) -> str:
        return (await self._git(*args, **kwargs)).decode("utf-8", "replace").strip()

    @contextlib.asynccontextmanager
    async def _write_lock(self) -> AsyncIterator[None]:
        key = self._real
        async with _repo_lock(key):
            if fcntl is None:  # pragma: no cover
                yield
                return
            if self._lock_file is None:
                self._lock_file = os.path.join(await self._gitdir(), "fathom-os.lock")
            fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                deadline = asyncio.get_running_loop().time() + LOCK_TIMEOUT_S
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if asyncio.get_running_loop().time() > deadline:
                            raise OSRepoError("the OS repository is locked by another process") from None
                        await asyncio.sleep(0.02)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    async def _is_own_repo(self) -> bool:
        """True only if `path` is the top of a work tree (not a folder inside another repo)."""
        if not (self.path / ".git").exists():
            return False
        code, out, _ = await self._git_raw("rev-parse", "--show-cdup")  # empty at the top level
        return code == 0 and not out.strip()

    # -- creation -----------------------------------------------------------------------------

    async def init(self, skeleton_dir: Path = SKELETON_DIR, context: dict[str, Any] | None = None) -> bool:
        """Create the OS from the skeleton; an existing repository is adopted untouched."""
        if await self._is_own_repo():
            return False
        if self.path.exists() and any(self.path.iterdir()):
            raise OSRepoError(f"{self.path} exists, is not empty and is not a git repository")
        files = _render_skeleton(Path(skeleton_dir), context or {})
        # Built aside and renamed into place (atomic; refused when the target is not empty), so
        # instances starting together on one host make one OS: the others adopt it.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.init-", dir=self.path.parent))
        try:
            fresh = OSRepo(staging)
            await fresh._git("init", "--quiet", "--initial-branch=main")
            for rel, text in files.items():
                target = staging / validate_os_path(staging, rel, content=text)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            await fresh._git("add", "--all")
            await fresh._git("commit", "--quiet", "--cleanup=whitespace", "-m", "Initialise the Fathom OS")
            try:
                os.rename(staging, self.path)
            except OSError:
                if await self._is_own_repo():  # another process created it meanwhile
                    return False
                raise OSRepoError(f"{self.path} exists, is not empty and is not a git repository") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already after a successful rename
        return True

    # -- reading ------------------------------------------------------------------------------

    async def _gitdir(self) -> str:
        """`.git` may be a file (worktrees): ask git once where its directory is."""
        if self._git_dir is None:
            code, out, _ = await self._git_raw("rev-parse", "--absolute-git-dir")
            if code != 0:
                raise OSRepoError(f"{self.path} is not a git repository")
            self._git_dir = out.decode().strip()
        return self._git_dir

    async def _head_sha(self) -> str | None:
        """HEAD's commit from the ref files (no process); git itself when they are not plain."""
        try:
            sha = _read_head_ref(await self._gitdir())
        except (OSError, OSRepoError, UnicodeDecodeError):
            sha = None
        if sha:
            return sha
        code, out, _ = await self._git_raw("rev-parse", "--verify", "--quiet", "HEAD")
        return out.decode().strip() if code == 0 else None

    async def _tree(self) -> dict[str, str]:
        """Every tracked path at HEAD with its blob id, listed once per HEAD commit.

        Proposals, diffs and the LLM context read many files per meeting; one `ls-tree` per commit
        instead of two git processes per read keeps a burst of meetings off the process table."""
        head = await self._head_sha()
        if head is None:
            return {}
        return {path: blob for path, (_mode, blob) in (await self._entries(head)).items()}

    async def _entries(self, commit: str, paths: list[str] | None = None) -> dict[str, Entry]:
        """{path: (mode, blob)} of a commit's files (or only of `paths`); HEAD's full list is cached."""
        cached = self._tree_cache
        if cached is not None and cached[0] == commit:
            return cached[1] if paths is None else {p: cached[1][p] for p in paths if p in cached[1]}
        code, out, _ = await self._git_raw(
            "ls-tree", "-r", "-z", "--full-tree", commit, *(["--", *paths] if paths is not None else [])
        )
        tree: dict[str, Entry] = {}
        for line in out.decode("utf-8", "replace").split("\x00") if code == 0 else []:
            meta, _, path = line.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob":
                tree[path] = (parts[0], parts[2])
        if paths is None and code == 0:
            self._tree_cache = (commit, tree)
        return tree

    async def _head_blob(self, rel: str) -> str | None:
        return (await self._tree()).get(rel)

    async def _cat_blob(self, blob: str) -> str:
        if not _SHA.match(blob):
            raise OSRepoError(f"'{blob}' is not a git object id")
        cached = self._blob_cache.get(blob)
        if cached is not None:
            self._blob_cache.move_to_end(blob)
            return cached
        text = (await self._git("cat-file", "blob", blob)).decode("utf-8", "replace")
        self._blob_cache[blob] = text
        if len(self._blob_cache) > BLOB_CACHE_SIZE:
            self._blob_cache.popitem(last=False)
        return text

    async def read(self, rel: str) -> tuple[str | None, str | None]:
        """Content and blob id of a file at HEAD; (None, None) when it does not exist."""
        norm = validate_os_path(self.path, rel)
        blob = await self._head_blob(norm)
        if blob is None:
            return None, None
        return await self._cat_blob(blob), blob

    async def list_files(self, under: str = "") -> list[str]:
        """Paths tracked at HEAD below a folder ('' for all), for building LLM context."""
        prefix = under.strip("/") + "/" if under else ""
        return sorted(p for p in await self._tree() if p.startswith(prefix))

    async def head(self) -> str:
        return await self._git_text("rev-parse", "HEAD")

    # -- writing ------------------------------------------------------------------------------

    async def _ensure_clean(self, rel: str, head_blob: str | None) -> None:
        """Refuse to overwrite (or silently commit) someone's uncommitted edit of the same file."""
        on_disk = (self.path / rel).exists()
        if head_blob is None and not on_disk:
            return
        if on_disk and head_blob is not None and await self._git_text("hash-object", "--", rel) == head_blob:
            return
        raise OSRepoError(f"{rel} has uncommitted edits in the OS working tree; commit or discard them first")

    async def _merge3(
        self,
        rel: str,
        base: str,
        ours: str,
        theirs: str,
        labels: tuple[str, str, str] = ("current", "proposal base", "proposal"),
    ) -> str:
        with tempfile.TemporaryDirectory(prefix="fathom-os-merge-") as tmp:
            paths = []
            for name, text in (("current", ours), ("base", base), ("proposal", theirs)):
                p = Path(tmp) / name
                p.write_text(text, encoding="utf-8")
                paths.append(str(p))
            names = ["-L", f"{labels[0]} {rel}", "-L", labels[1], "-L", labels[2]]
            code, out, err = await self._git_raw("merge-file", "-p", *names, *paths, cwd=Path(tmp))
        text = out.decode("utf-8", "replace")
        if code < 0 or code > 127:
            raise OSRepoError(f"git merge-file failed: {err or code}")
        if code > 0:
            raise MergeConflict(rel, text)
        return text

    async def _find_applied(self, proposal_id: str) -> str | None:
        """A live (not reverted) commit carrying this Proposal-Id, so a retried approval is a no-op."""
        out = await self._git_text(
            "log",
            "--fixed-strings",
            f"--grep=Proposal-Id: {proposal_id}",
            "--format=%H%x1f%(trailers:key=Proposal-Id,valueonly)%x1e",
        )
        for record in filter(None, (r.strip() for r in out.split("\x1e"))):
            sha, _, values = record.partition("\x1f")
            if proposal_id in [v.strip() for v in values.splitlines()]:
                reverted = await self._git_text(
                    "log", "--fixed-strings", f"--grep=This reverts commit {sha}", "--format=%H", "-1"
                )
                return None if reverted else sha
        return None

    async def _compute(
        self, rel: str, change: FileChange, current: str | None, cur_blob: str | None
    ) -> tuple[str, bool]:
        if change.base_blob is None or change.base_blob == cur_blob:
            return render_change(current, change.action, change.content, change.section), False
        if current is None:
            raise MergeConflict(rel, "")  # deleted since the proposal: nothing to merge into
        if change.action == "append":  # appending means "add at the end": rebase instead of merging
            return render_change(current, "append", change.content, None), True
        base = await self._cat_blob(change.base_blob)
        theirs = render_change(base, change.action, change.content, change.section)
        return await self._merge3(rel, base, current, theirs), True

    async def apply(
        self, change: FileChange, author: Author, message: str, trailers: dict[str, str] | None = None
    ) -> ApplyResult:
        """Commit one approved change, merging with edits made since the proposal if needed."""
        trailers = dict(trailers or {})
        _check_identity(author)
        full_message = _commit_message(message, trailers)
        rel = validate_os_path(self.path, change.path, content=change.content)
        async with self._write_lock():
            await self._finish_pending()
            rel = validate_os_path(self.path, change.path, content=change.content)  # re-check under lock
            proposal_id = trailers.get("Proposal-Id")
            if proposal_id and (done := await self._find_applied(proposal_id)):
                return await self._result_for(done, rel)
            head = await self._head_sha()
            if head is None:
                raise OSRepoError(f"{self.path} has no commits yet")
            old_entry = (await self._entries(head)).get(rel)
            cur_blob = old_entry[1] if old_entry else None
            current = await self._cat_blob(cur_blob) if cur_blob else None
            await self._ensure_clean(rel, cur_blob)
            new, merged = await self._compute(rel, change, current, cur_blob)
            if new == current:
                raise ChangeError(f"the change makes no difference to {rel}")
            if rel == CONFIG_FILENAME:
                _check_config(current, new)
            data = new.encode("utf-8")
            blob = await self._store_blob(data)
            mode = old_entry[0] if old_entry else "100644"
            sha = await self._commit({rel: (mode, blob)}, {blob: data}, head, full_message, author)
        return ApplyResult(
            sha=sha, short_sha=sha[:7], path=rel, merged=merged, diff=unified_diff(rel, current, new)
        )

    async def apply_many(
        self,
        changes: Sequence[tuple[str, FileChange]],
        author: Author,
        message: str,
        trailers: dict[str, str],
    ) -> ManyResult:
        """Several approved changes as ONE commit (#16 item 3: one commit per approval action).

        `changes` pairs each change with its proposal id; each id becomes a `Proposal-Id:` trailer,
        so a retry finds the commit and writes nothing. A change that cannot be applied (conflict,
        no difference, unsafe path) is left out and reported; the rest still commit together.
        Two changes to one file apply in order, the second on top of the first."""
        _check_identity(author)
        async with self._write_lock():
            await self._finish_pending()
            head = await self._head_sha()
            if head is None:
                raise OSRepoError(f"{self.path} has no commits yet")
            done = {pid: sha for pid, _ in changes if (sha := await self._find_applied(pid))}
            entries = await self._entries(head)
            texts: dict[str, str | None] = {}
            new_entries: dict[str, Entry | None] = {}
            data: dict[str, bytes] = {}
            applied: dict[str, ApplyResult] = {}
            failed: dict[str, Exception] = {}
            for pid, change in changes:
                if pid in done:
                    applied[pid] = await self._result_for(done[pid], change.path)
                    continue
                try:
                    rel = validate_os_path(self.path, change.path, content=change.content)
                    old_entry = entries.get(rel)
                    cur_blob = old_entry[1] if old_entry else None
                    if rel not in texts:
                        await self._ensure_clean(rel, cur_blob)
                        texts[rel] = await self._cat_blob(cur_blob) if cur_blob else None
                    current = texts[rel]
                    if rel in new_entries:  # a second change to the same file: on top of the first
                        change = FileChange(change.path, change.action, change.content, change.section, None)
                    new, merged = await self._compute(rel, change, current, cur_blob)
                    if new == current:
                        raise ChangeError(f"the change makes no difference to {rel}")
                    if rel == CONFIG_FILENAME:
                        _check_config(current, new)
                except (OSRepoError, UnsafePath) as exc:
                    failed[pid] = exc
                    continue
                blob = await self._store_blob(new.encode("utf-8"))
                data[blob] = new.encode("utf-8")
                new_entries[rel] = (old_entry[0] if old_entry else "100644", blob)
                applied[pid] = ApplyResult("", "", rel, merged=merged, diff=unified_diff(rel, current, new))
                texts[rel] = new
            fresh = [pid for pid, _ in changes if pid in applied and pid not in done]
            sha = ""
            if fresh:
                lines = [f"{k}: {v}" for k, v in trailers.items()] + [f"Proposal-Id: {pid}" for pid in fresh]
                for line in lines:
                    key, _, value = line.partition(": ")
                    if not _TRAILER_KEY.match(key) or "\n" in value or "\r" in value:
                        raise ChangeError(f"invalid commit trailer {key!r}")
                full_message = (message.strip() or "Update the OS") + "\n\n" + "\n".join(lines) + "\n"
                sha = await self._commit(new_entries, data, head, full_message, author)
            for pid in fresh:
                r = applied[pid]
                applied[pid] = ApplyResult(sha, sha[:7], r.path, merged=r.merged, diff=r.diff)
        return ManyResult(sha=sha or None, applied=applied, failed=failed)

    async def _result_for(self, sha: str, rel: str) -> ApplyResult:
        diff = await self._git("show", "--format=", "--no-color", sha, "--", rel)
        return ApplyResult(
            sha, sha[:7], rel, merged=False, diff=diff.decode("utf-8", "replace"), already_applied=True
        )

    async def revert(self, sha: str, author: Author) -> str:
        """Undo a commit the bot made from a proposal, with a new commit by `author`.

        Only commits with a `Proposal-Id` trailer on HEAD's history qualify: an operator's own
        commit (say, the one that named the approvers) is changed with git, not from Slack. The
        result is checked like an approval: a broken `fathom-os.yml`, or one that would leave no
        approver, is refused. On any refusal or conflict nothing is written."""
        if not _SHA.match(sha):
            raise OSRepoError(f"'{sha}' is not a commit id")
        _check_identity(author)
        async with self._write_lock():
            await self._finish_pending()
            head = await self._head_sha()
            code, out, _ = await self._git_raw("rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}")
            full = out.decode().strip()
            if code != 0 or head is None or not full:
                raise ChangeError(f"{sha} is not a commit in the OS")
            if (await self._git_raw("merge-base", "--is-ancestor", full, head))[0] != 0:
                raise ChangeError(f"{sha} is not part of the OS history")
            info = await self._git_text(
                "log", "-1", "--format=%ce%x1f%P%x1f%s%x1f%(trailers:key=Proposal-Id,valueonly)", full
            )
            committer, parents, subject, proposal_ids = (info.split("\x1f") + ["", "", ""])[:4]
            if committer != BOT_AUTHOR_EMAIL or not proposal_ids.strip() or len(parents.split()) != 1:
                raise ChangeError(
                    f"{full[:7]} was not made by the bot from an approved proposal; only those can be "
                    "rolled back from Slack (change anything else with git)"
                )
            reverted = await self._git_text(
                "log", "--fixed-strings", f"--grep=This reverts commit {full}", "--format=%H", "-1"
            )
            if reverted:
                raise ChangeError(f"{full[:7]} was already rolled back by {reverted[:7]}")
            entries, data = await self._revert_entries(parents.strip(), full, head)
            if not entries:
                raise ChangeError(f"{full[:7]} changes nothing that is still in the OS")
            if CONFIG_FILENAME in entries:
                before, _ = await self.read(CONFIG_FILENAME)
                after = entries[CONFIG_FILENAME]
                _check_config(before, data[after[1]].decode("utf-8", "replace") if after else "")
            message = f'Revert "{subject}"\n\nThis reverts commit {full}.\n'
            return await self._commit(entries, data, head, message, author)

    async def _revert_entries(
        self, parent: str, target: str, head: str
    ) -> tuple[dict[str, Entry | None], dict[str, bytes]]:
        """What HEAD's files become when `target`'s change is undone (3-way per file)."""
        raw = await self._git("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", parent, target)
        fields = raw.decode("utf-8", "replace").split("\x00")
        current = await self._entries(head)
        entries: dict[str, Entry | None] = {}
        data: dict[str, bytes] = {}
        for meta, rel in zip(fields[0::2], fields[1::2], strict=False):
            parts = meta.lstrip(":").split()
            if len(parts) != 5:
                continue
            old_mode, new_mode, old_blob, new_blob, _status = parts
            before = None if old_blob == _ZERO else (old_mode, old_blob)  # the file before `target`
            after = None if new_blob == _ZERO else (new_mode, new_blob)  # what `target` made it
            now = current.get(rel)
            await self._ensure_clean(rel, now[1] if now else None)
            if now == before:
                continue  # already back as it was
            if now == after:
                entries[rel] = before
                continue
            if now is None or before is None or after is None:
                raise MergeConflict(rel, "")  # created or deleted on one side, edited on the other
            merged = await self._merge3(
                rel,
                await self._cat_blob(after[1]),
                await self._cat_blob(now[1]),
                await self._cat_blob(before[1]),
                labels=("current", f"{target[:7]}", f"before {target[:7]}"),
            )
            blob_data = merged.encode("utf-8")
            blob = await self._store_blob(blob_data)
            data[blob] = blob_data
            entries[rel] = (now[0], blob)
        for entry in entries.values():
            if entry is not None and entry[1] not in data:
                data[entry[1]] = await self._git("cat-file", "blob", entry[1])
        return entries, data

    # -- the atomic commit --------------------------------------------------------------------
    # Each step is its own method so the crash tests can stop the process between any two of them.

    async def _store_blob(self, data: bytes) -> str:
        return await self._git_text("hash-object", "-w", "--stdin", stdin=data)

    async def _commit(
        self,
        entries: dict[str, Entry | None],
        data: dict[str, bytes],
        parent: str,
        message: str,
        author: Author,
    ) -> str:
        """Commit `entries` ({path: (mode, blob)}, None to delete) on `parent`, then sync the tree.

        Called under the write lock. The working tree is only touched after `update-ref`."""
        commit = await self._commit_tree(await self._build_tree(parent, entries), parent, message, author)
        self._write_journal(parent, commit, sorted(entries))
        await self._move_head(commit, parent)
        if self._tree_cache is not None and self._tree_cache[0] == parent:  # spare the next ls-tree
            tree = dict(self._tree_cache[1])
            for rel, entry in entries.items():
                if entry is None:
                    tree.pop(rel, None)
                else:
                    tree[rel] = entry
            self._tree_cache = (commit, tree)
        await self._sync_worktree({p: (e, data.get(e[1]) if e else None) for p, e in entries.items()})
        self._clear_journal()
        return commit

    async def _build_tree(self, parent: str, entries: dict[str, Entry | None]) -> str:
        gitdir = await self._gitdir()
        index = os.path.join(gitdir, f"{TEMP_INDEX_PREFIX}{uuid.uuid4().hex}")
        try:
            # Start from a copy of the real index when it holds exactly `parent` (the usual case:
            # its cached trees make write-tree cheap); anything staged by hand means a fresh read.
            if (
                not _copy_file(os.path.join(gitdir, "index"), index)
                or (await self._git_raw("diff-index", "--cached", "--quiet", parent, index=index))[0] != 0
            ):
                await self._git("read-tree", parent, index=index)
            lines = [
                f"0 {_ZERO}\t{rel}" if entry is None else f"{entry[0]} {entry[1]}\t{rel}"
                for rel, entry in entries.items()
            ]
            await self._git(
                "update-index", "--index-info", stdin=("\n".join(lines) + "\n").encode(), index=index
            )
            return await self._git_text("write-tree", index=index)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(index)

    async def _commit_tree(self, tree: str, parent: str, message: str, author: Author) -> str:
        return await self._git_text(
            "commit-tree", tree, "-p", parent, "-F", "-", stdin=message.encode(), author=author
        )

    async def _move_head(self, commit: str, expected_old: str) -> None:
        code, _, err = await self._git_raw(
            "update-ref", "-m", "fathom-os: commit", "HEAD", commit, expected_old
        )
        if code != 0:
            self._clear_journal()
            raise OSRepoError(f"the OS changed while the change was being written; try again ({err})")

    async def _sync_worktree(self, files: dict[str, tuple[Entry | None, bytes | None]]) -> None:
        """Bring these paths (file and index entry) to the given content; the commit is already in."""
        for rel, (entry, data) in files.items():
            await self._sync_path(rel, entry, data)
        if files:
            await self._git("update-index", "--add", "--remove", "--", *files)

    async def _sync_path(self, rel: str, entry: Entry | None, data: bytes | None) -> None:
        target = self.path / rel
        if entry is None:
            target.unlink(missing_ok=True)
            _prune_empty_dirs(target.parent, self.path)
            return
        if data is None:
            data = await self._git("cat-file", "blob", entry[1])
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write_bytes(target, data, executable=entry[0] == "100755")

    # -- the journal and crash recovery -------------------------------------------------------

    def _journal_path(self) -> str:
        assert self._git_dir is not None  # set by the write lock
        return os.path.join(self._git_dir, JOURNAL_NAME)

    def _write_journal(self, old: str, new: str, paths: list[str]) -> None:
        tmp = self._journal_path() + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"old": old, "new": new, "paths": paths}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._journal_path())

    def _clear_journal(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._journal_path())

    async def _finish_pending(self) -> list[str]:
        """Under the write lock: finish a change a killed process left half-written.

        The journal names the old and new commit and the paths. Each path whose file still holds
        one of those two versions (so nobody edited it since) is brought to HEAD; anything else is
        left alone and logged. Returns the repaired paths."""
        await self._gitdir()
        try:
            pending = _read_journal(self._journal_path())
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("OS repository: unreadable change journal dropped (%s)", exc)
            self._clear_journal()
            return []
        old, new, paths = pending
        head = await self._head_sha()
        repaired: list[str] = []
        if head is not None and head != old:  # HEAD == old: killed before update-ref, nothing moved
            known = [await self._entries(old, paths), await self._entries(new, paths)]
            target = await self._entries(head, paths)
            in_sync = []
            for rel in paths:
                on_disk = await self._disk_entry(rel)
                if on_disk != target.get(rel):
                    if not any(on_disk == k.get(rel) for k in known):
                        log.warning(
                            "OS repository: %s was edited after an interrupted change; left as is", rel
                        )
                        continue
                    await self._sync_path(rel, target.get(rel), None)
                    repaired.append(rel)
                in_sync.append(rel)
            if in_sync:  # the index lags even where the file is right (killed before update-index)
                await self._git("update-index", "--add", "--remove", "--", *in_sync)
        self._clear_journal()
        if repaired:
            log.warning(
                "OS repository: finished an interrupted change (%s): %s", new[:7], ", ".join(repaired)
            )
        return repaired

    async def _disk_entry(self, rel: str) -> Entry | None:
        target = self.path / rel
        if not target.is_file() or target.is_symlink():
            return None
        mode = "100755" if os.access(target, os.X_OK) else "100644"
        return mode, await self._git_text("hash-object", "--no-filters", "--", rel)

    async def recover(self) -> list[str]:
        """Start-up repair under the write lock; returns the paths brought back to HEAD.

        First an interrupted change from the journal. Then, if tracked files still differ from
        HEAD and every one of them was last committed by the bot (a crash of an older version, or a
        revert left in progress), they are synced to HEAD: the commit is the truth. Their content
        is copied to `.git/fathom-os-recovered/` first, and a tree with edits to files a person
        committed is left alone (logged)."""
        if not await self._is_own_repo() or await self._head_sha() is None:
            return []
        async with self._write_lock():
            repaired = await self._finish_pending()
            gitdir = await self._gitdir()
            if _sweep_leftovers(Path(gitdir), self.path):
                await self._git_raw("revert", "--quit")  # keeps the files; the sync below fixes them
            await self._git_raw("update-index", "-q", "--refresh")
            listing = (await self._git("diff-index", "--name-only", "-z", "HEAD")).decode("utf-8", "replace")
            dirty = [p for p in listing.split("\x00") if p]
            if not dirty:
                return repaired
            head = await self.head()
            committers = [await self._git_text("log", "-1", "--format=%ce", head, "--", p) for p in dirty]
            if any(c != BOT_AUTHOR_EMAIL for c in committers):
                log.warning(
                    "OS repository: uncommitted edits to files people committed (%s); left as they are",
                    ", ".join(dirty),
                )
                return repaired
            backup = Path(gitdir) / RECOVERED_DIR / time.strftime("%Y%m%dT%H%M%S")
            for rel in dirty:
                if (self.path / rel).is_file():
                    (backup / rel).parent.mkdir(parents=True, exist_ok=True)
                    (backup / rel).write_bytes((self.path / rel).read_bytes())
            target = await self._entries(head, dirty)
            await self._sync_worktree({p: (target.get(p), None) for p in dirty})
            log.warning(
                "OS repository: synced %s to HEAD %s after an interrupted write (old content kept in %s)",
                ", ".join(dirty),
                head[:7],
                backup,
            )
            return repaired + dirty

    # -- history and remotes ------------------------------------------------------------------

    async def history(self, path: str | None = None, limit: int = 20) -> list[CommitInfo]:
        fmt = "%x1e%H%x1f%h%x1f%an%x1f%ae%x1f%aI%x1f%s%x1f%(trailers:only,unfold)%x1f"
        args = ["log", f"--max-count={max(1, int(limit))}", f"--format={fmt}", "--name-only", "-z"]
        if path is not None:
            args += ["--", validate_os_path(self.path, path)]
        code, out, err = await self._git_raw(*args)
        if code != 0:
            if "does not have any commits" in err:
                return []
            raise OSRepoError(f"git log failed: {err}")
        return [_parse_commit(r) for r in out.decode("utf-8", "replace").split("\x1e") if r.strip("\x00\n")]

    async def push(self, remote: str, branch: str | None = None) -> None:
        if not remote or remote.startswith("-"):
            raise OSRepoError("invalid remote")
        if branch is not None and (not branch or branch.startswith("-") or ".." in branch):
            raise OSRepoError("invalid branch name")
        refspec = f"HEAD:refs/heads/{branch}" if branch else "HEAD"
        for attempt in range(PUSH_ATTEMPTS):
            # No write lock: a slow remote must not hold up approvals, and git pushes a consistent ref.
            code, out, err = await self._git_raw(
                "push", "--quiet", remote, refspec, time_limit=PUSH_TIMEOUT_S
            )
            if code == 0:
                return
            rejected = "rejected" in err or "fetch first" in err or "non-fast-forward" in err
            if not rejected or attempt == PUSH_ATTEMPTS - 1:
                raise OSRepoError(redact(f"git push failed: {err or out.decode('utf-8', 'replace').strip()}"))
            await self._merge_remote(remote, branch)

    async def _merge_remote(self, remote: str, branch: str | None) -> None:
        """Another host pushed first (several hosts on one OS_REMOTE): merge its history, never rebase,
        so the commit ids proposals recorded (for revert) stay valid. A conflict is aborted and refused."""
        async with self._write_lock():
            if branch is None:
                branch = (await self._git("symbolic-ref", "--short", "HEAD")).decode().strip()
            await self._git("fetch", "--quiet", remote, branch, time_limit=PUSH_TIMEOUT_S)
            code, _out, err = await self._git_raw("merge", "--no-edit", "--quiet", "FETCH_HEAD")
            if code != 0:
                await self._git_raw("merge", "--abort")
                raise OSRepoError(redact(f"git push refused: the remote's changes conflict ({err[:300]})"))


def _read_head_ref(gitdir: str) -> str | None:
    """Two tiny local reads: HEAD, then its ref (loose or packed). None when not that simple."""
    with open(os.path.join(gitdir, "HEAD"), encoding="ascii") as f:
        head = f.read().strip()
    if not head.startswith("ref: "):
        return head if _SHA.match(head) else None
    ref = head[5:]
    try:
        with open(os.path.join(gitdir, ref), encoding="ascii") as f:
            sha = f.read().strip()
            return sha if _SHA.match(sha) else None
    except FileNotFoundError:
        pass
    try:
        with open(os.path.join(gitdir, "packed-refs"), encoding="ascii") as f:
            for line in f:
                sha, _, name = line.strip().partition(" ")
                if name == ref and _SHA.match(sha):
                    return sha
    except FileNotFoundError:
        pass
    return None


def _parse_commit(record: str) -> CommitInfo:
    sha, short, name, email, date, subject, trailer_text, files = record.strip("\n\x00").split("\x1f", 7)
    trailers: dict[str, str] = {}
    for line in trailer_text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            trailers[key.strip()] = value.strip()
    names = [f.strip("\n") for f in files.split("\x00")]
    return CommitInfo(
        sha, short, name, email, datetime.fromisoformat(date), subject, trailers, [f for f in names if f]
    )


def _atomic_write_bytes(target: Path, data: bytes, *, executable: bool = False) -> None:
    tmp = target.with_name(f".{target.name}.fathom-os-tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o755 if executable else 0o644)
    os.replace(tmp, target)


def _copy_file(source: str, target: str) -> bool:
    try:
        with open(source, "rb") as src, open(target, "wb") as dst:
            dst.write(src.read())
    except OSError:
        return False
    return True


def _read_journal(path: str) -> tuple[str, str, list[str]]:
    with open(path, encoding="utf-8") as f:
        pending = json.load(f)
    return str(pending["old"]), str(pending["new"]), [str(p) for p in pending["paths"]]


def _sweep_leftovers(gitdir: Path, root: Path) -> bool:
    """Delete temporary indexes and files of killed writes; True if a revert was left in progress."""
    for leftover in gitdir.glob(f"{TEMP_INDEX_PREFIX}*"):
        leftover.unlink(missing_ok=True)
    for tmp in root.rglob(".*.fathom-os-tmp"):
        if ".git" not in tmp.relative_to(root).parts:
            tmp.unlink(missing_ok=True)
    return (gitdir / "REVERT_HEAD").exists() or (gitdir / "sequencer").exists()


def _prune_empty_dirs(folder: Path, root: Path) -> None:
    """Remove folders a deletion left empty, as git does, up to (not including) the OS root."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _approvers(text: str | None) -> list[str]:
    try:
        return parse_os_config(text).approvers if text else []
    except OSConfigError:
        return []


def _check_config(before: str | None, after: str) -> OSConfig:
    """The one check for every new version of fathom-os.yml (approvals and rollbacks alike)."""
    try:
        config = parse_os_config(after)
    except OSConfigError as exc:
        raise ChangeError(f"refusing to commit a broken {CONFIG_FILENAME}: {exc}") from exc
    if not config.approvers and _approvers(before):
        raise ChangeError(
            f"refusing to leave {CONFIG_FILENAME} without approvers: nobody could approve or roll "
            "back OS changes from Slack any more"
        )
    return config


def _render_skeleton(skeleton_dir: Path, context: dict[str, Any]) -> dict[str, str]:
    """Render every file of the skeleton; StrictUndefined makes a missing variable an error."""
    if not skeleton_dir.is_dir():
        raise OSRepoError(f"OS skeleton not found at {skeleton_dir}")
    env = templating.environment([skeleton_dir])  # sandboxed like every template root
    rendered: dict[str, str] = {}
    for file in sorted(p for p in skeleton_dir.rglob("*") if p.is_file()):
        rel = file.relative_to(skeleton_dir).as_posix()
        try:
            rendered[rel.removesuffix(".j2")] = templating.render(env, rel, context)
        except templating.TemplateRenderError as exc:
            raise OSRepoError(f"cannot render OS skeleton file {rel}: {exc}") from exc
    return rendered
