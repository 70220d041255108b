"""The approval cards in the meeting's thread, updated in place: the meeting's own, and a second one
for a client OS pack from /os-audit (`proposals:<id>:pack`), so "Approve all" on each commits exactly
that card's changes.

The card shows truncated diff previews (Slack caps a message at 50 blocks and 3,000 characters per
section); when anything was cut, the full diff of every proposal is attached to the thread as a
file. A file is uploaded once per distinct content, remembered in the message-ref table, so
re-publishing the card after each click does not flood the thread with copies.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blocks.common import Message
from blocks.proposals import FLAGS, MAX_SHOWN, proposal_card, proposal_edit_modal
from services.analysis.schema import AnalysisOutcome
from services.meetings import MeetingStore
from services.models import Meeting, OSProposal, SlackMessageRef
from services.proposals import ProposalService
from services.slack.gateway import MessageRef, SlackGateway
from services.slack.home import HomePublisher
from services.views import MeetingTitle, ProposalView, proposal_views

log = logging.getLogger(__name__)

TRUNCATION_MARK = "Preview truncated"


class ProposalPublisher:
    def __init__(
        self, proposals: ProposalService, store: MeetingStore, gateway: SlackGateway, home: HomePublisher
    ) -> None:
        self.proposals = proposals
        self.store = store
        self.gateway = gateway
        self.home = home
        self._locks: dict[int, asyncio.Lock] = {}

    async def publish(self, meeting_id: int, *, title: str | None = None) -> MessageRef | None:
        """Post or update the card under the meeting's parent message; None if there is nothing to show.
        `title`: the meeting's, when the caller has the row (the pipeline hook), so it is not read again."""
        lock = self._locks.setdefault(meeting_id, asyncio.Lock())
        async with lock:  # two approvals finishing together must not both post a first card
            parent = await self.gateway.ref(f"meeting:{meeting_id}")
            if parent is None:
                log.warning("meeting %s has no card yet; approval card not posted", meeting_id)
                return None
            proposals = await self.proposals.for_meeting(meeting_id)
            if not proposals:
                return None
            if title is None:
                title = (await self.store.get(meeting_id)).title
            heading = MeetingTitle(meeting_id, title)
            ref: MessageRef | None = None
            for pack in (False, True):  # the meeting's own card, then its client OS pack's (#16 item 3)
                rows = [p for p in proposals if (p.origin == "audit") == pack]
                if not rows:
                    continue
                diffs = await self.proposals.diffs_for(rows)
                views = proposal_views(rows)
                message = proposal_card(heading, views, diffs, pack=pack)
                entity = f"proposals:{meeting_id}:pack" if pack else f"proposals:{meeting_id}"
                posted = await self.gateway.post_or_update(
                    entity, parent.channel, message, thread_ts=parent.ts
                )
                ref = ref or posted
                if _truncated(message, views):
                    await self._attach_full_diff(meeting_id, title, views, diffs, parent)
            return ref

    async def refresh(self, meeting_ids: Sequence[int | None], actor: str | None = None) -> None:
        """The approval cards in place, and (debounced) the approver's Home tab list of pending changes."""
        for meeting_id in dict.fromkeys(meeting_ids):
            if meeting_id is not None:
                await self.publish(meeting_id)
        self.home.refresh_soon([actor])

    async def open_edit(self, trigger_id: str, proposal: OSProposal) -> None:
        await self.gateway.open_view(trigger_id, proposal_edit_modal(ProposalView.of(proposal)))

    async def after_analysis(self, meeting: Meeting, outcome: AnalysisOutcome) -> None:
        """Pipeline hook; a Slack failure here must not make the job re-run the analysis."""
        try:
            await self.publish(meeting.id, title=meeting.title)
        except Exception as exc:
            log.warning(
                "could not publish the approval card for meeting %s: %s", meeting.id, type(exc).__name__
            )

    async def _attach_full_diff(
        self,
        meeting_id: int,
        title: str,
        proposals: Sequence[ProposalView],
        diffs: dict[int, str],
        parent: MessageRef,
    ) -> None:
        content = full_diff(proposals, diffs).encode("utf-8")
        entity = f"proposals_diff:{meeting_id}:{hashlib.sha256(content).hexdigest()[:32]}"
        if await self.gateway.ref(entity) is not None:
            return
        await self.gateway.upload_file(
            parent.channel,
            f"os-proposals-meeting-{meeting_id}.diff",
            content,
            title=f"Full diff of the proposed OS updates: {title}"[:250],
            thread_ts=parent.ts,
        )
        try:
            async with self.proposals.db.session() as s:
                s.add(SlackMessageRef(entity=entity, channel=parent.channel, ts="file", thread_ts=parent.ts))
        except IntegrityError:
            pass  # a concurrent publish uploaded the same content

    async def uploaded(self, meeting_id: int) -> int:
        """How many distinct full diffs were attached for a meeting (for tests and diagnostics)."""
        async with self.proposals.db.session() as s:
            rows = await s.scalars(
                select(SlackMessageRef).where(
                    SlackMessageRef.entity.startswith(f"proposals_diff:{meeting_id}:")
                )
            )
            return len(rows.all())


def _truncated(message: Message, proposals: Sequence[ProposalView]) -> bool:
    return len(proposals) > MAX_SHOWN or TRUNCATION_MARK in str(message.blocks)


def full_diff(proposals: Sequence[ProposalView], diffs: dict[int, str]) -> str:
    """Every proposal of the meeting, its status and its whole diff (or content), as one text file."""
    parts = []
    for p in proposals:
        head = f"### Proposal {p.id}: {p.action} {p.path}" + (f" [{p.section}]" if p.section else "")
        if kind := p.steers_the_bot:
            head += f"\n{FLAGS[kind]}: needs its own approval, never part of Approve all"
        body = diffs.get(p.id) or p.content or ""
        note = f"\n(reason: {p.reason})" if p.reason and p.status in ("invalid", "rejected") else ""
        parts.append(f"{head}\nstatus: {p.status}{note}\n\n{body.rstrip()}\n")
    return "\n".join(parts)


__all__ = ["ProposalPublisher", "full_diff"]
