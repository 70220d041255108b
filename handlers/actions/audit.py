"""Client OS buttons: the meeting card's "Generate client OS" and the preview card's three buttons.

Each click acks at once; slow work (Claude, rendering, the upload) runs in the background and
`services.slack.audit.AuditPublisher` redraws the preview card at each stage.
"""

from __future__ import annotations

import logging
from typing import Any

from blocks.audit import AuditAction, AuditRequest
from blocks.ids import MeetingAction
from blocks.values import MeetingRef, decode
from handlers.context import AppContext, action_value, actor_id, app_of, channel_id
from handlers.registrar import Registrar
from services.audit import available_industries
from services.errors import UserFacingError
from services.views import AuditOptions, Output

log = logging.getLogger(__name__)


def options_of(request: AuditRequest) -> AuditOptions:
    return AuditOptions(
        meeting_id=request.meeting_id,
        client_name=(request.client_name or "").strip() or None,
        industry=request.industry if request.industry in (*available_industries(), "general") else None,
        output=Output(request.output),
    )


async def open_options(
    app: AppContext,
    trigger_id: str,
    *,
    query: str = "",
    selected: AuditRequest | None = None,
    channel: str | None,
    user: str,
) -> None:
    viewer = await app.domain.access.viewer(user)  # the picker lists only meetings this user may see
    meetings = await app.domain.audit.recent_meetings(viewer, query)
    if selected and all(m.id != selected.meeting_id for m in meetings):
        meetings = await app.domain.audit.recent_meetings(viewer, "", limit=100)
    if not meetings:
        raise UserFacingError(
            f"No meetings match “{query[:80]}”."
            if query
            else "No meetings yet: record one with Fathom first."
        )
    await app.slack.audit.open_options(trigger_id, meetings, selected=selected, channel=channel)


async def from_meeting_card(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(MeetingRef, action_value(body))
    await app.domain.audit.ensure_can_generate(actor_id(body))
    request = AuditRequest(meeting_id=ref.meeting_id)
    await open_options(
        app, body["trigger_id"], selected=request, channel=channel_id(body), user=actor_id(body)
    )


async def build(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    request = decode(AuditRequest, action_value(body))
    await app_of(context).slack.audit.start_delivery(options_of(request), actor_id(body), request.run)


async def regenerate(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    request = decode(AuditRequest, action_value(body))
    await app_of(context).slack.audit.start_preview(
        options_of(request), actor_id(body), channel_id(body), fresh=True, run=request.run
    )


async def edit_inputs(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    request = decode(AuditRequest, action_value(body))
    await open_options(
        app_of(context), body["trigger_id"], selected=request, channel=channel_id(body), user=actor_id(body)
    )


def register(app: Registrar) -> None:
    app.action(MeetingAction.GENERATE_OS.value)(from_meeting_card)
    app.action(AuditAction.BUILD.value)(build)
    app.action(AuditAction.REGENERATE.value)(regenerate)
    app.action(AuditAction.EDIT_INPUTS.value)(edit_inputs)
