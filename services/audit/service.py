"""/os-audit as a service: pick a meeting, preview its client OS pack, deliver it (zip and/or OS proposals).

Extraction uses Claude when a client is configured and falls back to the offline heuristic, so a
preview always arrives. The extraction behind a preview is kept in memory per (meeting, inputs),
for an hour and at most 64 of them, so the Generate click delivers exactly what the card showed
without a second model call; a Regenerate (or a restart, or an expired preview) extracts again.
Drawing each stage on the thread and uploading the zip are `services.slack.audit.AuditPublisher`'s
job; who is a workspace member is `services.people.People`'s. Only files the OS accepts (markdown,
YAML, CSV) are proposed into it; code and config stay in the zip. Proposals still need an approver.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from cachetools import TTLCache
from sqlalchemy import or_, select

from services import audit_log
from services.access import Scope, where
from services.analysis.schema import OSUpdate
from services.audit.extract import AuditExtractionError, extract_heuristic, extract_with_claude
from services.audit.generator import GeneratedPack, generate_client_os
from services.audit.heuristic import meeting_date
from services.audit.schema import AuditExtraction
from services.db import Database
from services.errors import NotAllowed, UserFacingError
from services.fathom import FathomMeeting
from services.meetings import MeetingStore
from services.models import LLMUsage, Meeting, OSProposal
from services.os_paths import ALLOWED_EXTENSIONS, UnsafePath, slugify, validate_os_path
from services.os_repo import OSRepo
from services.people import People
from services.views import NO_INDUSTRY, AuditOptions, Delivery, MeetingChoice, Output, Preview, Stage

log = logging.getLogger(__name__)

OS_PREFIX = "clients/{client}/claude-code-os"
CLIENT_NAME_MAX = 80
ACTOR = "audit:{user}"


Progress = Callable[[Stage], Awaitable[None]]
ZipSink = Callable[[str, bytes, str], Awaitable[None]]  # (file name, content, title)


class AuditService:
    def __init__(
        self,
        db: Database,
        store: MeetingStore,
        os_repo: OSRepo,
        *,
        client: Any = None,
        model: str = "claude-sonnet-4-6",
        fallback_model: str = "claude-haiku-4-5",
        people: People | None = None,
        proposals: Any = None,
        privacy: Any = None,
    ) -> None:
        self.db = db
        self.privacy = privacy  # services.privacy.AuditPrivacy: the meeting's mode and its record (#18)
        self.proposals = proposals  # services.proposals.ProposalService: the one way into the OS
        self.store = store
        self.os_repo = os_repo
        self.client = client  # anthropic.AsyncAnthropic, or None for the offline heuristic
        self.model = model
        self.fallback_model = fallback_model
        self.people = people  # who may generate (workspace members); None: nobody to ask, no check
        # (meeting, client, industry) -> the pack the card showed, so Generate delivers exactly that;
        # bounded: 64 packs of a few hundred KB at most, and an hour (an unclicked preview is stale)
        self._previews: TTLCache[tuple[int, str | None, str | None], Preview] = TTLCache(64, 3600)
        self._busy: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- choosing ---------------------------------------------------------------------------------

    async def recent_meetings(self, scope: Scope, query: str = "", limit: int = 25) -> list[MeetingChoice]:
        """Newest first among the meetings in `scope` (services.access: what the picker's user may
        see); `query` matches the title or the client (slug or words of it)."""
        stmt = (
            select(Meeting)
            .where(where(scope, "meetings.id"))
            .order_by(Meeting.started_at.desc().nulls_last(), Meeting.id.desc())
        )
        words = query.strip()
        if words:
            like = f"%{words.lower()}%"
            slug = f"%{slugify(words)}%"
            stmt = stmt.where(
                or_(Meeting.title.ilike(like), Meeting.client_slug.ilike(slug), Meeting.title.ilike(slug))
            )
        async with self.db.session() as s:
            rows = (await s.scalars(stmt.limit(limit))).all()
        return [MeetingChoice(m.id, m.title, m.client_slug, m.started_at, m.primary_type) for m in rows]

    async def ensure_can_generate(self, actor: str) -> None:
        """Internal members may generate; guests (restricted accounts) and bots may not.

        Putting files into the OS still goes through approvers, so generation itself is not gated
        on the approver list: it only drafts.
        """
        if self.people is None or not actor:
            return
        try:
            member = await self.people.is_member(actor)
        except Exception:
            log.warning("could not look up Slack user %s; refusing audit generation", actor)
            raise NotAllowed("Could not confirm you are a member of this workspace.") from None
        if member is False:
            raise NotAllowed("Only members of this workspace can generate a client OS (guests cannot).")

    # -- background work ---------------------------------------------------------------------------

    def start(self, meeting_id: int, work: Coroutine[Any, Any, None]) -> None:
        """Run slow work after the ack; one run per meeting at a time, a reference kept until done."""
        if meeting_id in self._busy:
            work.close()
            raise UserFacingError("A client OS is already being prepared for this meeting; watch its card.")
        self._busy.add(meeting_id)
        task = asyncio.create_task(work, name=f"audit:{meeting_id}")
        self._tasks.add(task)

        def finished(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            self._busy.discard(meeting_id)

        task.add_done_callback(finished)

    def busy(self, meeting_id: int) -> bool:
        return meeting_id in self._busy

    async def drain(self) -> None:
        """Wait for running work (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- preview and delivery ----------------------------------------------------------------------

    async def meeting_title(self, meeting_id: int) -> str:
        return (await self.store.get(meeting_id)).title

    async def preview(self, options: AuditOptions, actor: str, *, fresh: bool = False) -> Preview:
        key = (options.meeting_id, options.client_name, options.industry)
        if not fresh and key in self._previews:
            cached = self._previews[key]
            return Preview(options, cached.meeting_title, cached.extraction, cached.pack, cached.source)
        meeting = await self.store.get(options.meeting_id)
        fathom = meeting.fathom()
        extraction, source = await self._extract(meeting.id, fathom, options)
        pack = generate_client_os(
            extraction,
            meeting_title=meeting.title,
            meeting_date=meeting_date(fathom),
            industry=options.industry,
            override_dir=self._override_dir(),
        )
        preview = Preview(options, meeting.title, extraction, pack, source)
        self._previews[key] = preview
        async with self.db.session() as s:
            audit_log.record(s, actor, "audit.previewed", f"meeting:{meeting.id}", None, _summary(preview))
        return preview

    async def generate(
        self,
        options: AuditOptions,
        actor: str,
        *,
        upload: ZipSink | None = None,
        progress: Progress | None = None,
    ) -> Delivery:
        """The zip handed to `upload` and/or proposals into the OS, reporting each stage as it starts.

        `upload` is the Slack side's (`services.slack.audit.AuditPublisher` puts it in the thread)."""
        report = progress or _silent
        await report(Stage.GENERATING)
        delivery = Delivery(await self.preview(options, actor))
        pack = delivery.preview.pack
        outside = zip_only_files(pack)
        # the OS holds text only: when code or config stay out of it, the zip always goes with the
        # proposals, so every file CLAUDE.md names exists somewhere the reader is told about (#16 item 4)
        if options.wants_zip or (options.wants_os and outside):
            await report(Stage.UPLOADING)
            content = await asyncio.to_thread(pack.to_zip)
            delivery.zip_name, delivery.zip_bytes = f"{pack.root}.zip", len(content)
            if upload is None:
                raise UserFacingError("Slack is not configured, so the zip cannot be uploaded.")
            await upload(delivery.zip_name, content, f"{pack.client_name} — Claude Code OS")
        if options.wants_os:
            proposed = await self._propose(options.meeting_id, pack, actor, delivery.zip_name)
            delivery.proposals, delivery.zip_only, delivery.already_in_os = proposed
        async with self.db.session() as s:
            after = {
                **_summary(delivery.preview),
                "output": options.output.value,
                "zip_bytes": delivery.zip_bytes,
                "proposals": [p.id for p in delivery.proposals],
            }
            audit_log.record(s, actor, "audit.generated", f"meeting:{options.meeting_id}", None, after)
        await report(Stage.DONE)
        return delivery

    # -- internals --------------------------------------------------------------------------------

    async def _extract(
        self, meeting_id: int, fathom: FathomMeeting, options: AuditOptions
    ) -> tuple[AuditExtraction, str]:
        if self.client is not None:
            try:
                extraction, usage = await extract_with_claude(
                    self.client,
                    fathom,
                    model=self.model,
                    fallback_model=self.fallback_model,
                    client_name=options.client_name,
                    industry=options.industry,
                    policy=self.privacy.policy_for(fathom) if self.privacy else None,
                    on_redacted=(
                        partial(self.privacy.recorded, fathom.recording_id) if self.privacy else None
                    ),
                )
                await self._record_usage(meeting_id, usage)
                return extraction, "claude"
            except AuditExtractionError as exc:
                log.warning("audit extraction for meeting %s fell back to rules: %s", meeting_id, exc)
        extraction = await asyncio.to_thread(
            extract_heuristic, fathom, client_name=options.client_name, industry=options.industry
        )
        return extraction, "heuristic"

    async def _record_usage(self, meeting_id: int, usage: list[Any]) -> None:
        async with self.db.session() as s:
            s.add_all(LLMUsage.of(meeting_id, u) for u in usage)

    def _override_dir(self) -> Any:
        folder = self.os_repo.path / "templates" / "client_os"
        return folder if folder.is_dir() else None

    async def _propose(
        self, meeting_id: int, pack: GeneratedPack, actor: str, zip_name: str | None = None
    ) -> tuple[list[OSProposal], list[str], list[str]]:
        """One `create` proposal per OS-safe file; identical pending ones are kept, stale ones superseded.

        Written here because ProposalService has no public single-change entry point yet; rows,
        validation and audit records follow its conventions so the approval card treats them alike.
        """
        prefix = OS_PREFIX.format(client=slugify(pack.client_name))
        wanted: dict[str, str] = {}
        zip_only: list[str] = []
        for rel, content in pack.files.items():
            if PurePosixPath(rel).suffix.lower() in ALLOWED_EXTENSIONS:
                wanted[f"{prefix}/{rel}"] = content
            else:
                zip_only.append(rel)
        claude = f"{prefix}/CLAUDE.md"
        if zip_only and claude in wanted:
            wanted[claude] = outside_note(zip_only, zip_name) + wanted[claude]
        kept: list[str] = []
        updates: list[OSUpdate] = []
        for path, content in wanted.items():
            try:
                current, _blob = await self.os_repo.read(
                    validate_os_path(self.os_repo.path, path, content=content)
                )
            except UnsafePath:
                current = None  # stored as invalid by the proposal service, with the reason
            if current is not None:  # the OS has no "replace" action: regenerate into it by hand
                kept.append(path[len(prefix) + 1 :])
                continue
            updates.append(OSUpdate(path=path, action="create", content=content))
        if self.proposals is None:
            raise RuntimeError("the proposal service is not wired")
        result, _added = await self.proposals.propose(
            meeting_id, updates, ACTOR.format(user=actor or "unknown"), origin="audit"
        )
        return result, zip_only, kept


async def _silent(stage: Stage) -> None:
    return None


def _summary(preview: Preview) -> dict[str, Any]:
    pack = preview.pack
    return {
        "client": pack.client_name,
        "industry": pack.industry,
        "source": preview.source,
        "files": len(pack.files),
        "root": pack.root,
    }


__all__ = [
    "AuditOptions",
    "AuditService",
    "Delivery",
    "MeetingChoice",
    "NO_INDUSTRY",
    "Output",
    "Preview",
    "Stage",
]


def zip_only_files(pack: GeneratedPack) -> list[str]:
    """The pack's files the OS does not hold (code, configuration): they travel in the zip only."""
    return [rel for rel in pack.files if PurePosixPath(rel).suffix.lower() not in ALLOWED_EXTENSIONS]


def outside_note(zip_only: list[str], zip_name: str | None) -> str:
    """Prepended to the CLAUDE.md proposed into the OS: what it names that is not in the OS, and where
    it is, so no reference in the OS points at nothing."""
    where = f"`{zip_name}` (attached in the meeting's Slack thread)" if zip_name else "the pack's zip"
    listed = ", ".join(f"`{rel}`" for rel in sorted(zip_only)[:20]) + (" …" if len(zip_only) > 20 else "")
    return (
        f"> **Not in this OS:** {len(zip_only)} code and configuration files ({listed}) are kept out of "
        f"the OS repository, which holds text only. They are in {where}: unpack it next to this file "
        "before running anything below.\n\n"
    )
