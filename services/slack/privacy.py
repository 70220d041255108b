"""Erasure on Slack (#18): the admin modal's three steps, and the approval card of an erasure's OS
edits, posted by the `proposals.publish` job.

`fathom-os forget` (or the modal) stores the OS edits as pending proposals and enqueues one
`proposals.publish` job; the running bot's worker posts the card to each approver in a DM. The job
table makes it durable: a CLI erasure while the bot is down is posted when the bot starts, and a
Slack failure retries like any job. Posts are recorded per approver (`erasure:<origin>:<user>`),
so a retried job updates the card instead of posting it twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from blocks.privacy import (
    erasure_card,
    forget_done_modal,
    forget_failed_modal,
    forget_modal,
    forget_preview_modal,
    forget_working_modal,
)
from services.errors import PermanentJobError, UserFacingError
from services.jobs import JobHandler
from services.models import Job
from services.privacy import PUBLISH_JOB, PrivacyService
from services.proposals import ProposalService
from services.slack.gateway import SlackGateway
from services.views import proposal_views

log = logging.getLogger(__name__)


class PrivacyPublisher:
    def __init__(self, privacy: PrivacyService, proposals: ProposalService, gateway: SlackGateway) -> None:
        self.privacy = privacy
        self.proposals = proposals
        self.gateway = gateway
        self._tasks: set[asyncio.Task[None]] = set()

    def handlers(self) -> dict[str, JobHandler]:
        return {PUBLISH_JOB: self._job}

    async def _job(self, job: Job) -> None:
        origin = str((job.payload or {}).get("origin") or "")
        if not origin.startswith("erasure-"):
            raise PermanentJobError(f"{PUBLISH_JOB}: not an erasure origin: {origin[:40]!r}")
        await self.publish(origin)

    async def publish(self, origin: str) -> int:
        """Post (or update) the erasure's approval card in each approver's DM; returns how many."""
        rows = await self.privacy.pending(origin)
        if not rows:
            return 0
        message = erasure_card(proposal_views(rows), await self.proposals.diffs_for(rows))
        posted = 0
        for approver in self.privacy.approvers():
            user = approver if approver.startswith(("U", "W")) else None
            if user is None and (found := await self.gateway.user_for_email(approver)):
                user = found.id
            if user is None:
                log.warning("erasure %s: approver %s has no Slack user; card not sent", origin, approver[:3])
                continue
            channel = await self.gateway.dm_channel(user)
            await self.gateway.post_or_update(f"erasure:{origin}:{user}", channel, message)
            posted += 1
        if not posted:
            log.warning("erasure %s: no approver to send the card to (fathom-os.yml approvers)", origin)
        return posted

    # -- the admin's modal ----------------------------------------------------------------------

    async def open_forget(self, trigger_id: str, user_id: str) -> None:
        await self.privacy.ensure_admin(user_id)
        await self.gateway.open_view(trigger_id, forget_modal())

    async def preview(self, user_id: str, email: str) -> dict[str, Any]:
        """The dry run's modal (raises UserFacingError / ValueError for the handler to show)."""
        report = await self.privacy.preview(user_id, email)
        return forget_preview_modal(email.strip().lower(), report.lines())

    def working(self, email: str) -> dict[str, Any]:
        return forget_working_modal(email)

    def start_erase(self, view_id: str, user_id: str, email: str) -> None:
        """The erasure in the background: the modal submission is acknowledged within 3 s."""
        task = asyncio.create_task(self.erase(view_id, user_id, email))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def erase(self, view_id: str, user_id: str, email: str) -> None:
        """Erase, then show the result in the modal (the submission was acknowledged already)."""
        try:
            report = await self.privacy.erase(user_id, email)
        except (UserFacingError, ValueError) as exc:
            await self.gateway.update_view(view_id, forget_failed_modal(str(exc)[:500]))
            return
        await self.gateway.update_view(view_id, forget_done_modal(report.record_id, report.lines()))
