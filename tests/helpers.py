"""Test helpers importable from any test module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "fathom"
if not FIXTURES.exists():  # a clone without shared/ next to it: use the bundled copy
    FIXTURES = Path(__file__).resolve().parents[1] / "examples" / "fathom"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())
