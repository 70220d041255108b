"""Path safety for the OS repository.

Paths arrive from LLM proposals and Slack users, so every one is treated as hostile: a single
`../` or a symlink planted in the repo must never let the bot write outside the OS, into `.git`
(hooks are executable), or produce a file the OS does not consist of.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path, PurePosixPath

ALLOWED_EXTENSIONS = frozenset({".md", ".yml", ".yaml", ".csv"})
MAX_PATH_CHARS = 255
MAX_SEGMENT_CHARS = 100
DEFAULT_MAX_BYTES = 256_000
SLUG_MAX_CHARS = 60

# Characters Windows refuses in names (a clone of the OS on a laptop must still check out).
_WINDOWS_FORBIDDEN = set('<>:"|?*')
_WINDOWS_RESERVED = (
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
)


class UnsafePath(ValueError):
    """A path (or its content) the OS refuses to write; `reason` is safe to show a user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_characters(rel: str) -> None:
    for ch in rel:
        if ch == "\x00":
            raise UnsafePath("the path contains a NUL byte")
        # Cc = control chars, Cf = invisible format chars (bidi overrides, zero-width joiners that
        # can disguise `.git`), Cs/Co/Cn = surrogates, private use, unassigned.
        if unicodedata.category(ch).startswith("C"):
            raise UnsafePath(f"the path contains an invisible or control character (U+{ord(ch):04X})")
    if "\\" in rel:
        raise UnsafePath("backslashes are not allowed in OS paths; use '/' between folders")


def _split_segments(rel: str) -> list[str]:
    if rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
        raise UnsafePath("absolute paths are not allowed; give a path relative to the OS root")
    segments = [s for s in rel.split("/") if s not in ("", ".")]
    if not segments:
        raise UnsafePath("the path names no file")
    for seg in segments:
        if seg == "..":
            raise UnsafePath("'..' segments are not allowed; paths must stay inside the OS")
        if seg.casefold().startswith(".git"):
            raise UnsafePath("paths under .git (git's own files) cannot be written")
        if len(seg) > MAX_SEGMENT_CHARS:
            raise UnsafePath(f"the path segment '{seg[:20]}…' is longer than {MAX_SEGMENT_CHARS} characters")
        if _WINDOWS_FORBIDDEN & set(seg):
            raise UnsafePath(f"the path segment '{seg}' contains one of the characters < > : \" | ? *")
        if seg.endswith((" ", ".")):
            raise UnsafePath(f"the path segment '{seg}' ends with a space or a dot")
        if seg.split(".")[0].casefold() in _WINDOWS_RESERVED:
            raise UnsafePath(f"'{seg}' is a reserved device name on Windows")
    return segments


def _check_filesystem(root: Path, segments: list[str], norm: str) -> None:
    """Reject symlinks anywhere below the root and anything that resolves outside it.

    Any symlink is refused, not only escaping ones: writing through a link inside the repo would
    change a file git does not see as changed, and the link target could be swapped later.
    """
    root_real = Path(os.path.realpath(root))
    current = root_real
    for i, seg in enumerate(segments):
        current = current / seg
        if current.is_symlink():
            shown = "/".join(segments[: i + 1])
            raise UnsafePath(f"'{shown}' is a symbolic link; the OS only writes regular files")
        if i < len(segments) - 1 and current.exists() and not current.is_dir():
            raise UnsafePath(f"'{'/'.join(segments[: i + 1])}' is a file, not a folder")
    final = Path(os.path.realpath(root_real / norm))
    if not final.is_relative_to(root_real):
        raise UnsafePath("the path resolves outside the OS repository")
    if final.exists() and not final.is_file():
        raise UnsafePath(f"'{norm}' exists and is not a regular file")


def validate_os_path(
    root: Path, rel: str, *, content: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> str:
    """Return `rel` as a normalised POSIX path inside `root`, or raise `UnsafePath` saying why."""
    if not isinstance(rel, str) or not rel.strip():
        raise UnsafePath("the path is empty")
    if len(rel) > MAX_PATH_CHARS:
        raise UnsafePath(f"the path is longer than {MAX_PATH_CHARS} characters")
    _check_characters(rel)
    segments = _split_segments(rel)
    norm = "/".join(segments)
    suffix = PurePosixPath(norm).suffix.lower()
    if suffix not in ALLOWED_EXTENSIONS:
        allowed = ", ".join(sorted(ALLOWED_EXTENSIONS))
        raise UnsafePath(f"'{suffix or 'no extension'}' files are not part of the OS (allowed: {allowed})")
    if content is not None:
        size = len(content.encode("utf-8", errors="surrogatepass"))
        if size > max_bytes:
            raise UnsafePath(f"the content is {size:,} bytes, over the {max_bytes:,} byte limit")
        if "\x00" in content:
            raise UnsafePath("the content contains a NUL byte (binary data is not allowed)")
    _check_filesystem(root, segments, norm)
    return norm


def slugify(text: str) -> str:
    """A path segment from arbitrary text (client names, meeting titles); never empty or dots."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:SLUG_MAX_CHARS].rstrip("-")
    return slug or "untitled"
