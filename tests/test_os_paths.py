from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.os_paths import UnsafePath, slugify, validate_os_path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "os"
    (r / "meetings").mkdir(parents=True)
    return r


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("meetings/2025-01-01-kickoff.md", "meetings/2025-01-01-kickoff.md"),
        ("./meetings//notes.MD", "meetings/notes.MD"),
        ("fathom-os.yml", "fathom-os.yml"),
        ("action-items/open.csv", "action-items/open.csv"),
        ("clients/acme/log.md", "clients/acme/log.md"),
    ],
)
def test_safe_paths_are_normalised(root: Path, rel: str, expected: str) -> None:
    assert validate_os_path(root, rel) == expected


@pytest.mark.parametrize(
    ("rel", "reason_part"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("../x.md", ".."),
        ("a/../../x.md", ".."),
        ("meetings/../../../../root/.ssh/authorized_keys", ".."),
        ("/etc/passwd", "absolute"),
        ("C:/Windows/x.md", "absolute"),
        ("c:x.md", "absolute"),
        ("\\\\server\\share\\x.md", "backslash"),
        ("meetings\\x.md", "backslash"),
        (".git/config", ".git"),
        (".GIT/hooks/x.md", ".git"),
        ("sub/.Git/x.md", ".git"),
        ("x.sh", "not part of the OS"),
        ("meetings/noext", "not part of the OS"),
        ("meetings/x.md\x00.md", "NUL"),
        ("meetings/x\n.md", "control"),
        ("meetings/\u202eevil.md", "invisible"),
        (".g\u200cit/config.md", "invisible"),
        ("a" * 300 + ".md", "longer than 255"),
        ("x" * 120 + "/a.md", "longer than 100"),
        ("meetings/what?.md", "characters"),
        ("meetings/notes./x.md", "ends with"),
        ("con.md", "reserved"),
    ],
)
def test_hostile_paths_are_rejected_with_a_reason(root: Path, rel: str, reason_part: str) -> None:
    with pytest.raises(UnsafePath) as err:
        validate_os_path(root, rel)
    assert reason_part in err.value.reason


def test_symlinked_folder_pointing_outside_is_rejected(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "linked")
    with pytest.raises(UnsafePath, match="symbolic link"):
        validate_os_path(root, "linked/x.md")


def test_symlinked_file_is_rejected_even_when_it_points_inside(root: Path) -> None:
    (root / "real.md").write_text("x")
    os.symlink(root / "real.md", root / "alias.md")
    with pytest.raises(UnsafePath, match="symbolic link"):
        validate_os_path(root, "alias.md")


def test_root_that_is_itself_a_symlink_still_works(tmp_path: Path, root: Path) -> None:
    link = tmp_path / "os-link"
    os.symlink(root, link)
    assert validate_os_path(link, "meetings/a.md") == "meetings/a.md"


def test_content_over_the_cap_is_rejected(root: Path) -> None:
    with pytest.raises(UnsafePath, match="byte limit"):
        validate_os_path(root, "a.md", content="x" * 50_000_000)
    assert validate_os_path(root, "a.md", content="x" * 1000, max_bytes=1000) == "a.md"
    with pytest.raises(UnsafePath, match="byte limit"):
        validate_os_path(root, "a.md", content="é" * 501, max_bytes=1000)


def test_binary_content_is_rejected(root: Path) -> None:
    with pytest.raises(UnsafePath, match="NUL"):
        validate_os_path(root, "a.md", content="abc\x00def")


def test_a_file_used_as_folder_is_rejected(root: Path) -> None:
    (root / "notes.md").write_text("x")
    with pytest.raises(UnsafePath, match="not a folder"):
        validate_os_path(root, "notes.md/x.md")


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Acme Corp", "acme-corp"),
        ("  Ça va? Déjà-vu!  ", "ca-va-deja-vu"),
        ("..", "untitled"),
        (".", "untitled"),
        ("", "untitled"),
        ("日本語", "untitled"),
        ("../../etc/passwd", "etc-passwd"),
    ],
)
def test_slugify_gives_a_safe_segment(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_slugify_caps_length_without_trailing_hyphen() -> None:
    slug = slugify("word " * 40)
    assert len(slug) <= 60
    assert not slug.endswith("-")
