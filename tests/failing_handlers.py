"""Listeners that fail on purpose, for tests of the app's error handling."""

from __future__ import annotations

from typing import Any

from services.errors import NotAllowed


async def refuse_after_ack(ack: Any) -> None:
    await ack()
    raise NotAllowed("Only approvers may do that.")


async def crash_before_ack(body: dict[str, Any]) -> None:
    raise RuntimeError("secret internal detail xyz")


def register(app: Any) -> None:
    app.action("test.refuse")(refuse_after_ack)
    app.action("test.crash")(crash_before_ack)
