"""`/os-report [week|month] [client:NAME] [here]`: the dashboard report, as a DM (or `here`: to the channel)."""

from __future__ import annotations

from typing import Any

from blocks.common import notice
from handlers.context import app_of
from handlers.registrar import Registrar
from services.slack.report import parse_report

COMMAND = "/os-report"


async def os_report(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app = app_of(context)
    words = (command.get("text") or "").split()
    here = "here" in (w.lower() for w in words)
    try:
        request = parse_report(" ".join(w for w in words if w.lower() != "here"))
    except ValueError as exc:
        await respond(**notice(str(exc)).as_kwargs(), response_type="ephemeral", replace_original=False)
        return
    user_id = str(command.get("user_id") or "")
    channel = str(command.get("channel_id") or "") if here else None
    if here and not app.domain.os_config().is_admin(user_id):
        channel = None  # a report to a channel shows every client's figures: admins only
    await app.slack.reports.post(request, channel=channel, user_id=user_id)
    where = "here" if channel else "in a DM"
    what = "The coaching record is" if request.kind == "coaching" else f"Your {request.kind}ly report is"
    await respond(
        **notice(f"{what} posted {where}.").as_kwargs(),
        response_type="ephemeral",
        replace_original=False,
    )


def register(app: Registrar) -> None:
    app.command(COMMAND)(os_report)
