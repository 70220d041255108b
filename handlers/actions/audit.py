"""Client OS buttons: the meeting card's "Generate client OS" and the preview card's three buttons.

Each click acks at once; slow work (Claude, rendering, the upload) runs in a background task that
redraws the preview card at each stage. `start_preview` and `start_delivery` are also what the
options modal's submission calls.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.audit import AuditAction, AuditRequest, options_modal, preview_card, progress_card
from blocks.ids import MeetingAction
from blocks.values import MeetingRef, decode
from bot.services import Services
from handlers.context import action_value, actor_id, channel_id, services_of
from services.audit import available_industries
from services.audit.service import AuditOptions, AuditService, Output, Preview, Stage
from services.errors import UserFacingError
from services.slack_gateway import MessageRef

log = logging.getLogger(__name__)


def audit_service(services: Services) -> AuditService:
    if services.audit is None:  # the runtime normally builds it; keep handlers usable without
        services.audit = AuditService(services.db, services.store, services.os_repo, gateway=services.gateway)
    return services.audit  # type: ignore[no-any-return]


def options_of(request: AuditRequest) -> AuditOptions:
    return AuditOptions(
        meeting_id=request.meeting_id,
        client_name=(request.client_name or "").strip() or None,
        industry=request.industry if request.industry in (*available_industries(), "general") else None,
        output=Output(request.output),
    )


async def card_home(services: Services, meeting_id: int, fallback_channel: str | None) -> MessageRef:
    """The meeting's thread; a meeting without a card gets its preview where /os-audit was typed."""
    parent = await services.slack.ref(f"meeting:{meeting_id}")
    if parent is not None:
        return MessageRef(parent.channel, parent.ts, parent.ts)
    if fallback_channel:
        return MessageRef(fallback_channel, "", None)
    raise UserFacingError("This meeting has no card in Slack yet, so there is nowhere to show its preview.")


async def _show(services: Services, meeting_id: int, home: MessageRef, message: Any) -> None:
    await services.slack.post_or_update(
        f"audit:{meeting_id}", home.channel, message, thread_ts=home.thread_ts
    )


def _failed(meeting_id: int, exc: BaseException) -> str:
    reference = uuid.uuid4().hex[:12]
    log.error(
        "client OS for meeting %s failed (ref %s): %s",
        meeting_id,
        reference,
        type(exc).__name__,
        exc_info=exc,
    )
    return reference


async def start_preview(
    services: Services,
    options: AuditOptions,
    actor: str,
    fallback_channel: str | None,
    *,
    fresh: bool = False,
) -> None:
    """Checks run now (so a refusal reaches the user); the extraction runs after the ack."""
    service = audit_service(services)
    await service.ensure_can_generate(actor)
    home = await card_home(services, options.meeting_id, fallback_channel)
    title = await service.meeting_title(options.meeting_id)

    async def work() -> None:
        try:
            await _show(services, options.meeting_id, home, progress_card(title, Stage.ANALYSING))
            preview = await service.preview(options, actor, fresh=fresh)
            await _show(services, options.meeting_id, home, preview_card(preview, Stage.READY))
        except Exception as exc:
            reference = _failed(options.meeting_id, exc)
            await _show(services, options.meeting_id, home, progress_card(title, Stage.FAILED, reference))

    service.start(options.meeting_id, work())


async def start_delivery(services: Services, options: AuditOptions, actor: str) -> None:
    service = audit_service(services)
    await service.ensure_can_generate(actor)
    home = await card_home(services, options.meeting_id, None)
    shown: dict[str, Preview] = {}

    async def progress(stage: Stage) -> None:
        if stage in (Stage.GENERATING, Stage.UPLOADING):
            await _show(services, options.meeting_id, home, preview_card(shown["preview"], stage))

    async def work() -> None:
        try:
            shown["preview"] = await service.preview(options, actor)  # cached: what the card showed
            delivery = await service.generate(
                options, actor, channel=home.channel, thread_ts=home.thread_ts, progress=progress
            )
            await _show(
                services,
                options.meeting_id,
                home,
                preview_card(delivery.preview, Stage.DONE, delivery=delivery),
            )
            if delivery.proposals and services.proposals and services.proposals.publisher:
                await services.proposals.publisher.publish(options.meeting_id)
        except Exception as exc:
            reference = _failed(options.meeting_id, exc)
            if "preview" in shown:
                card = preview_card(shown["preview"], Stage.FAILED, reference=reference)
            else:
                card = progress_card(await service.meeting_title(options.meeting_id), Stage.FAILED, reference)
            await _show(services, options.meeting_id, home, card)

    service.start(options.meeting_id, work())


async def open_options(
    services: Services,
    trigger_id: str,
    *,
    query: str = "",
    selected: AuditRequest | None = None,
    channel: str | None,
) -> None:
    meetings = await audit_service(services).recent_meetings(query)
    if selected and all(m.id != selected.meeting_id for m in meetings):
        meetings = await audit_service(services).recent_meetings("", limit=100)
    if not meetings:
        raise UserFacingError(
            f"No meetings match “{query[:80]}”."
            if query
            else "No meetings yet: record one with Fathom first."
        )
    view = options_modal(meetings, available_industries(), selected=selected, channel=channel)
    await services.slack.open_view(trigger_id, view)


async def from_meeting_card(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    ref = decode(MeetingRef, action_value(body))
    await audit_service(services).ensure_can_generate(actor_id(body))
    request = AuditRequest(meeting_id=ref.meeting_id)
    await open_options(services, body["trigger_id"], selected=request, channel=channel_id(body))


async def build(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    request = decode(AuditRequest, action_value(body))
    await start_delivery(services_of(context), options_of(request), actor_id(body))


async def regenerate(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    request = decode(AuditRequest, action_value(body))
    await start_preview(
        services_of(context), options_of(request), actor_id(body), channel_id(body), fresh=True
    )


async def edit_inputs(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    request = decode(AuditRequest, action_value(body))
    await open_options(services, body["trigger_id"], selected=request, channel=channel_id(body))


def register(app: AsyncApp) -> None:
    app.action(MeetingAction.GENERATE_OS.value)(from_meeting_card)
    app.action(AuditAction.BUILD.value)(build)
    app.action(AuditAction.REGENERATE.value)(regenerate)
    app.action(AuditAction.EDIT_INPUTS.value)(edit_inputs)
