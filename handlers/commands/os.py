"""`/os-rollback COMMIT` (approvers: a revert commit authored by who asked) and `/os-history [path]`."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.common import notice
from handlers.actions.proposals import refresh_card
from handlers.context import services_of
from services.proposals import HistoryEntry

ROLLBACK = "/os-rollback"
HISTORY = "/os-history"


def history_text(entries: list[HistoryEntry], path: str | None) -> str:
    """One line per commit: short id, date, author, subject and the meeting it came from."""
    where = f" of `{path[:200]}`" if path else ""
    if not entries:
        return f"No OS commits{where} yet."
    lines = [f"*Recent OS commits{where}:*"]
    for e in entries:
        c = e.commit
        meeting = f" — meeting: {e.meeting_title}" if e.meeting_title else ""
        subject = c.subject if len(c.subject) <= 100 else c.subject[:99] + "…"
        lines.append(f"`{c.short}` {c.date:%Y-%m-%d} {c.author_name}: {subject}{meeting}")
    return "\n".join(lines)


async def rollback(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    sha = (command.get("text") or "").strip()
    if not sha:
        await respond(
            **notice(f"Usage: {ROLLBACK} COMMIT (see {HISTORY})").as_kwargs(), response_type="ephemeral"
        )
        return
    result = await services.proposals.revert(sha, str(command.get("user_id") or ""))
    for meeting_id in dict.fromkeys(p.meeting_id for p in result.proposals):
        await refresh_card(services, meeting_id)
    text = f"Reverted `{result.sha[:7]}` with commit `{result.reverted_sha[:7]}`."
    if result.push_error:
        text += f" The push to the remote failed: {result.push_error}"
    await respond(**notice(text).as_kwargs(), response_type="ephemeral")


async def history(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    path = (command.get("text") or "").strip() or None
    entries = await services.proposals.history(path)
    await respond(**notice(history_text(entries, path)).as_kwargs(), response_type="ephemeral")


def register(app: AsyncApp) -> None:
    app.command(ROLLBACK)(rollback)
    app.command(HISTORY)(history)
