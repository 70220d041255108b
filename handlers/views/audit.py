"""Options modal submission: validate, ack within Slack's 3 s, then preview in the background."""

from __future__ import annotations

from typing import Any

from blocks.audit import AUTO, AuditField, AuditRequest, AuditView, ModalMeta
from blocks.values import decode
from handlers.actions.audit import options_of
from handlers.context import actor_id, app_of
from handlers.registrar import Registrar
from services.audit import available_industries
from services.errors import UserFacingError
from services.views import NO_INDUSTRY


def _initial(view: dict[str, Any], field: str) -> Any:
    """What the modal showed pre-selected (Slack includes it in state; be safe when it does not)."""
    for block in view.get("blocks", []):
        if block.get("block_id") == field:
            element = block.get("element") or {}
            return (element.get("initial_option") or {}).get("value") or element.get("initial_value")
    return None


def submitted(view: dict[str, Any]) -> tuple[AuditRequest | None, dict[str, str]]:
    """The request in the modal, or the errors to show under each input."""
    values = (view.get("state") or {}).get("values") or {}

    def read(field: AuditField) -> str:
        state = (values.get(field) or {}).get(field) or {}
        chosen = (state.get("selected_option") or {}).get("value") or state.get("value")
        return str(chosen if chosen is not None else (_initial(view, field) or "")).strip()

    errors: dict[str, str] = {}
    meeting = read(AuditField.MEETING)
    if not meeting.isdigit():
        errors[AuditField.MEETING] = "Pick a meeting."
    client = read(AuditField.CLIENT)
    if len(client) > 80:
        errors[AuditField.CLIENT] = "Keep the client name under 80 characters."
    industry = read(AuditField.INDUSTRY) or AUTO
    if industry not in (AUTO, NO_INDUSTRY, *available_industries()):
        errors[AuditField.INDUSTRY] = "Pick one of the listed industries."
    output = read(AuditField.OUTPUT) or "zip"
    if output not in ("zip", "os", "both"):
        errors[AuditField.OUTPUT] = "Pick an output."
    if errors:
        return None, errors
    request = AuditRequest(
        meeting_id=int(meeting),
        client_name=client or None,
        industry=None if industry == AUTO else industry,
        output=output,  # type: ignore[arg-type]
    )
    return request, {}


async def submit(ack: Any, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    request, errors = submitted(view)
    if request is None:
        await ack(response_action="errors", errors=errors)
        return
    meta = decode(ModalMeta, view.get("private_metadata") or "{}")
    try:
        await app_of(context).slack.audit.start_preview(
            options_of(request), actor_id(body), meta.channel, asked_in=meta.channel
        )
    except UserFacingError as exc:  # not allowed, busy, nowhere to post: say so under the meeting
        await ack(response_action="errors", errors={AuditField.MEETING.value: str(exc)[:300]})
        return
    await ack()


def register(app: Registrar) -> None:
    app.view(AuditView.OPTIONS.value)(submit)
