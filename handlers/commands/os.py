"""`/os-rollback COMMIT` (approvers: a revert commit authored by who asked) and `/os-history [path]`."""

from __future__ import annotations

from typing import Any

from blocks.common import notice
from blocks.proposals import history_text, reverted_text
from handlers.context import app_of
from handlers.registrar import Registrar

ROLLBACK = "/os-rollback"
HISTORY = "/os-history"


async def rollback(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, sha = app_of(context), (command.get("text") or "").strip()
    if not sha:
        await respond(
            **notice(f"Usage: {ROLLBACK} COMMIT (see {HISTORY})").as_kwargs(), response_type="ephemeral"
        )
        return
    result = await app.domain.proposals.revert(sha, str(command.get("user_id") or ""))
    await app.slack.approvals.refresh([p.meeting_id for p in result.proposals])
    await respond(**notice(reverted_text(result)).as_kwargs(), response_type="ephemeral")


async def history(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    path = (command.get("text") or "").strip() or None
    entries = await app_of(context).domain.proposals.history(path)
    await respond(**notice(history_text(entries, path)).as_kwargs(), response_type="ephemeral")


def register(app: Registrar) -> None:
    app.command(ROLLBACK)(rollback)
    app.command(HISTORY)(history)
