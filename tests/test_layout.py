"""Test modules share helpers through tests/support/, tests/helpers.py, tests/harness.py and
tests/conftest.py fixtures, never by importing another test module (which would run that module's
code again under a second name and hide a shared fixture in one test's file)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_test_modules(source: str) -> set[str]:
    """Every `tests.test_*` module the source imports, in any import form, at any depth."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(filter(None, ["tests" if node.level else "", node.module or ""]))
            modules = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0].startswith("test_"):
                parts = ["tests", *parts]
            if parts[0] == "tests" and len(parts) > 1 and parts[1].startswith("test_"):
                found.add(".".join(parts[:2]))
    return found


def test_the_check_sees_every_form_of_import() -> None:
    source = """
from tests.test_a import x
import tests.test_b
from tests import test_c
from .test_d import y
from test_e import z
def later():
    from tests.test_f import w
from tests.support.os_repo import init_os
import tests.harness
"""
    assert _imported_test_modules(source) == {f"tests.test_{m}" for m in "abcdef"}


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(TESTS)): sorted(imported)
        for path in sorted(TESTS.rglob("*.py"))
        if (imported := _imported_test_modules(path.read_text()))
    }
    assert offenders == {}, "move the shared helper into tests/support/ (or a conftest fixture)"


def test_support_modules_are_not_collected_and_hold_no_tests() -> None:
    for path in (TESTS / "support").rglob("*.py"):
        assert not path.name.startswith("test_"), path
        defs = ast.walk(ast.parse(path.read_text()))
        tests = [d.name for d in defs if isinstance(d, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        assert not [n for n in tests if n.startswith(("test_", "Test"))], path
