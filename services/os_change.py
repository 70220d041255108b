"""Pure text changes to OS files (create / append / update a markdown section) and their diffs.

No git and no I/O: proposals are previewed with these before anyone approves them.
"""

from __future__ import annotations

import difflib
import re


class OSRepoError(Exception):
    """A git operation failed; the message is readable and free of credentials."""


class MergeConflict(OSRepoError):
    """The OS changed since the proposal in a way git cannot merge; nothing was written."""

    def __init__(self, path: str, conflict_text: str) -> None:
        super().__init__(f"{path} changed since the proposal was made and the edits conflict")
        self.path = path
        self.conflict_text = conflict_text


class ChangeError(OSRepoError):
    """The requested change cannot be applied as asked (e.g. create over an existing file)."""


# -- pure text changes ----------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _title_key(title: str) -> str:
    return " ".join(title.strip().lstrip("#").split()).casefold()


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, title) of ATX headings, ignoring lines inside fenced code blocks."""
    found, in_fence = [], False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        m = None if in_fence else _HEADING.match(line)
        if m:
            found.append((i, len(m.group(1)), m.group(2)))
    return found


def _update_section(current: str, content: str, section: str) -> str:
    level_given = len(section.strip()) - len(section.strip().lstrip("#"))
    key = _title_key(section)
    body = content.strip("\n").splitlines()
    # Models often repeat the heading at the top of the new body: do not write it twice.
    first = next((i for i, line in enumerate(body) if line.strip()), None)
    if first is not None and (m := _HEADING.match(body[first])) and _title_key(m.group(2)) == key:
        body = body[first + 1 :]
    body_text = "\n".join(body).strip("\n")
    lines = current.splitlines()
    heads = _headings(lines)
    for n, (idx, level, title) in enumerate(heads):
        if _title_key(title) != key:
            continue
        end = next((j for j, lvl, _ in heads[n + 1 :] if lvl <= level), len(lines))
        new = lines[: idx + 1] + ([""] + body_text.splitlines() if body_text else [])
        if end < len(lines):
            new += [""] + lines[end:]
        return "\n".join(new).rstrip("\n") + "\n"
    heading = "#" * (level_given or 2) + " " + section.strip().lstrip("#").strip()
    block = heading + ("\n\n" + body_text if body_text else "")
    prefix = current.rstrip("\n")
    return (prefix + "\n\n" if prefix else "") + block + "\n"


def render_change(current: str | None, action: str, content: str, section: str | None = None) -> str:
    """New file text for a proposal; pure so proposals can be previewed before approval."""
    if action == "create":
        if current is not None:
            raise ChangeError("the file already exists; propose an append or a section update instead")
        return content.rstrip("\n") + "\n"
    if action == "append":
        if not current or not current.strip():
            return content.strip("\n") + "\n"
        return current.rstrip("\n") + "\n\n" + content.strip("\n") + "\n"
    if action == "update_section":
        if not section or not section.strip().lstrip("#").strip():
            raise ChangeError("update_section needs the heading of the section to replace")
        return _update_section(current or "", content, section)
    raise ChangeError(f"unknown change action {action!r} (expected create, append or update_section)")


def unified_diff(path: str, old: str | None, new: str | None, context: int = 3) -> str:
    """A git-style diff for showing a proposal or a commit in Slack."""
    old_lines = (old or "").splitlines(keepends=True)
    new_lines = (new or "").splitlines(keepends=True)
    out = difflib.unified_diff(
        old_lines,
        new_lines,
        fromfile="/dev/null" if old is None else f"a/{path}",
        tofile="/dev/null" if new is None else f"b/{path}",
        n=context,
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)
