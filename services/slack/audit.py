"""The /os-audit preview card in the meeting's thread: progress, preview, delivery.

Slow work (Claude, rendering, the zip upload) runs in the audit service's background tasks after
the Slack ack; this class draws each stage on one card per run (`audit:<meeting_id>:<run>`): a new
/os-audit gets a new card, so a finished "Done / zip" card is never drawn over, and whoever asked
gets an ephemeral, where they asked, linking to the preview.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from blocks.audit import AuditRequest, options_modal, preview_card, progress_card, started_here
from blocks.common import Message
from services.audit import available_industries
from services.audit.service import AuditService
from services.errors import UserFacingError
from services.slack.approvals import ProposalPublisher
from services.slack.gateway import MessageRef, SlackGateway
from services.views import AuditOptions, MeetingChoice, Preview, Stage

log = logging.getLogger(__name__)


class AuditPublisher:
    def __init__(
        self,
        service: AuditService,
        gateway: SlackGateway,
        approvals: ProposalPublisher,
        deck: Callable[[int, Any, str], Awaitable[Any]] | None = None,
    ) -> None:
        self.service = service
        self.gateway = gateway
        self.approvals = approvals
        self.deck = deck  # the client proposal deck proposed for Gamma (OutboxService.propose_audit_deck)

    async def open_options(
        self,
        trigger_id: str,
        meetings: Sequence[MeetingChoice],
        *,
        selected: AuditRequest | None,
        channel: str | None,
    ) -> None:
        view = options_modal(list(meetings), available_industries(), selected=selected, channel=channel)
        await self.gateway.open_view(trigger_id, view)

    async def _home(self, meeting_id: int, fallback_channel: str | None) -> MessageRef:
        """The meeting's thread; a meeting without a card gets its preview where /os-audit was typed."""
        parent = await self.gateway.ref(f"meeting:{meeting_id}")
        if parent is not None:
            return MessageRef(parent.channel, parent.ts, parent.ts)
        if fallback_channel:
            return MessageRef(fallback_channel, "", None)
        raise UserFacingError(
            "This meeting has no card in Slack yet, so there is nowhere to show its preview."
        )

    async def _show(self, meeting_id: int, run: str, home: MessageRef, message: Message) -> MessageRef:
        return await self.gateway.post_or_update(
            f"audit:{meeting_id}:{run}", home.channel, message, thread_ts=home.thread_ts
        )

    @staticmethod
    def new_run() -> str:
        return uuid.uuid4().hex[:10]

    @staticmethod
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
        self,
        options: AuditOptions,
        actor: str,
        fallback_channel: str | None,
        *,
        fresh: bool = False,
        run: str | None = None,
        asked_in: str | None = None,
    ) -> None:
        """Checks run now (so a refusal reaches the user); the extraction runs after the ack.

        `run` redraws that card (Regenerate on it); none starts a new card. `asked_in`: the channel
        the user asked from, which gets an ephemeral pointing at the card."""
        await self.service.ensure_can_generate(actor)
        home = await self._home(options.meeting_id, fallback_channel)
        title = await self.service.meeting_title(options.meeting_id)
        card = run or self.new_run()

        async def work() -> None:
            try:
                ref = await self._show(options.meeting_id, card, home, progress_card(title, Stage.ANALYSING))
                if asked_in:
                    link = await self.gateway.permalink(ref)
                    await self.gateway.post_ephemeral(asked_in, actor, started_here(title, link))
                preview = await self.service.preview(options, actor, fresh=fresh)
                await self._show(options.meeting_id, card, home, preview_card(preview, Stage.READY, run=card))
            except Exception as exc:
                reference = self._failed(options.meeting_id, exc)
                await self._show(
                    options.meeting_id, card, home, progress_card(title, Stage.FAILED, reference)
                )

        self.service.start(options.meeting_id, work())

    async def start_delivery(self, options: AuditOptions, actor: str, run: str | None = None) -> None:
        """Generate, upload the zip and propose into the OS, drawing each stage on the card `run`
        (a finished card's Generate carries no run: the delivery gets a card of its own)."""
        await self.service.ensure_can_generate(actor)
        home = await self._home(options.meeting_id, None)
        card = run or self.new_run()
        shown: dict[str, Preview] = {}

        async def show(message: Message) -> None:
            await self._show(options.meeting_id, card, home, message)

        async def progress(stage: Stage) -> None:
            if stage in (Stage.GENERATING, Stage.UPLOADING):
                await show(preview_card(shown["preview"], stage, run=card))

        async def upload(name: str, content: bytes, title: str) -> None:
            await self.gateway.upload_file(home.channel, name, content, title=title, thread_ts=home.thread_ts)

        async def work() -> None:
            try:
                shown["preview"] = await self.service.preview(options, actor)  # cached: what the card showed
                delivery = await self.service.generate(options, actor, upload=upload, progress=progress)
                await show(preview_card(delivery.preview, Stage.DONE, delivery=delivery))
                if delivery.proposals:
                    await self.approvals.publish(options.meeting_id)
                if self.deck is not None:
                    await self.deck(options.meeting_id, delivery.preview.pack, actor)
            except Exception as exc:
                reference = self._failed(options.meeting_id, exc)
                if "preview" in shown:
                    failed = preview_card(shown["preview"], Stage.FAILED, reference=reference, run=card)
                else:
                    title = await self.service.meeting_title(options.meeting_id)
                    failed = progress_card(title, Stage.FAILED, reference)
                await show(failed)

        self.service.start(options.meeting_id, work())
