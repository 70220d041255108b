"""`/os-report [week|month] [client:NAME] [here|--deck]`: the dashboard report, as a DM (`here`: to the
channel; `--deck`: proposed as a Gamma deck, its approval card in this channel)."""

from __future__ import annotations

from typing import Any

from blocks.common import notice
from handlers.context import app_of
from handlers.registrar import Registrar
from services.slack.report import ReportRequest, parse_report

COMMAND = "/os-report"
DECK_FLAGS = ("--deck", "—deck", "deck")  # Slack clients may turn `--` into an em dash


async def os_report(ack: Any, command: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app = app_of(context)
    words = (command.get("text") or "").split()
    here = "here" in (w.lower() for w in words)
    deck = any(w.lower() in DECK_FLAGS for w in words)
    try:
        request = parse_report(" ".join(w for w in words if w.lower() not in ("here", *DECK_FLAGS)))
    except ValueError as exc:
        await respond(**notice(str(exc)).as_kwargs(), response_type="ephemeral", replace_original=False)
        return
    user_id = str(command.get("user_id") or "")
    if deck:
        await os_report_deck(app, request, str(command.get("channel_id") or ""), user_id, respond)
        return
    channel = str(command.get("channel_id") or "") if here else None
    posted_in = await app.slack.reports.post(request, channel=channel, user_id=user_id)  # admins only
    where = "here" if posted_in else "in a DM"
    what = "The coaching record is" if request.kind == "coaching" else f"Your {request.kind}ly report is"
    await respond(
        **notice(f"{what} posted {where}.").as_kwargs(),
        response_type="ephemeral",
        replace_original=False,
    )


async def os_report_deck(app: Any, request: ReportRequest, channel: str, user_id: str, respond: Any) -> None:
    """The report as a Gamma deck: proposed on an approval card in this channel (an approver
    approves; Gamma's progress, then the link and the export, appear on the card)."""
    if app.domain.report_deck is None:
        text = "Gamma is not configured: set GAMMA_API_KEY (see README, Gamma)."
    else:
        entry = await app.domain.report_deck.propose(request.kind, request.client, channel, user_id)
        text = f"{entry.summary}: {entry.status}, on its card in this channel."
    await respond(**notice(text).as_kwargs(), response_type="ephemeral", replace_original=False)


def register(app: Registrar) -> None:
    app.command(COMMAND)(os_report)
