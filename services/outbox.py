"""The outbox: every write to an outside system is a proposal first, applied once, recorded, undone
where the target allows (the way OS changes go through `services/proposals.py`).

An entry is stored with a unique dedupe key (the same meeting or item never makes two records),
shown on an approval card, and applied by a durable job (`outbox.apply`) after an approver says
so, or at once when `fathom-os.yml` lets that target's operation auto-apply. A 4xx from the target
ends the entry as `failed` with the target's own message (shown on the card); a 429 is honoured
through the connector's shared rate gate; 5xx and network errors are retried with the queue's
backoff. Project-management targets are synced both ways by `sync()`, run on a schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Protocol, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services import audit_log
from services.analysis.schema import AnalysisOutcome
from services.clock import utcnow
from services.db import Database
from services.errors import NotAllowed, NotFound, StaleState, UserFacingError
from services.integrations.base import (
    Applied,
    Attachment,
    Connector,
    NotUndoable,
    RateGate,
    TargetError,
    TaskTracker,
    Write,
    with_rate_limit,
)
from services.jobs import JobHandler, JobQueue
from services.models import ActionItem, Job, Meeting, OutboxEntry
from services.os_config import OSConfig
from services.views import TITLE_KEYS, OutboxEdit, OutboxLine

log = logging.getLogger(__name__)

APPLY_JOB = "outbox.apply"
TARGETS = ("gamma", "hubspot", "salesforce", "asana", "jira", "linear")
PENDING = ("proposed",)
NOT_APPROVER = (
    "Only the approvers listed in fathom-os.yml can approve, reject or undo writes to outside "
    "systems. Ask one of them, or propose adding yourself to `approvers:` in fathom-os.yml."
)
AUTO = "auto-apply"  # approved_by when fathom-os.yml lets the target's operation apply unasked
SYNC = "sync"  # the actor of changes made by two-way sync


class Notifier(Protocol):
    """The Slack side (services/slack/outbox.py): redraw a card, attach a file, redraw an item."""

    async def changed(self, entry: OutboxEntry) -> None: ...

    async def attach(self, entry: OutboxEntry, attachment: Attachment) -> None: ...

    async def item_changed(self, item_id: int) -> None: ...


class PeopleDirectory(Protocol):
    async def user_info(self, user_id: str) -> Any: ...


@dataclass(frozen=True)
class Proposed:
    target: str
    operation: str
    payload: dict[str, Any]
    dedupe_key: str
    summary: str
    meeting_id: int | None = None
    item_id: int | None = None


@dataclass(frozen=True)
class SyncReport:
    done_here: int = 0  # items marked done because the task was completed there
    closed_there: int = 0  # tasks closed there because the item was done here
    edited: int = 0  # owner / due-date edits carried across (either way)


EDIT_LIMITS = {"title": 255, "body": 60_000, "input_text": 400_000}


class InvalidEdit(UserFacingError):
    """An edited field the target would refuse: `field` is which (title / body / due)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def validated_edit(form: OutboxEdit, changes: dict[str, str | None]) -> dict[str, Any]:
    """The payload keys to change; InvalidEdit names the field the target would refuse."""
    out: dict[str, Any] = {}
    if form.title_key and "title" in changes:
        title = " ".join(str(changes["title"] or "").split())
        if not title:
            raise InvalidEdit("title", "A title is required.")
        if len(title) > EDIT_LIMITS["title"]:
            raise InvalidEdit("title", f"At most {EDIT_LIMITS['title']} characters.")
        out[form.title_key] = title
    if form.body_key and "body" in changes:
        body = str(changes["body"] or "").strip()
        cap = EDIT_LIMITS.get(form.body_key, EDIT_LIMITS["body"])
        if form.body_key == "input_text" and not body:
            raise InvalidEdit("body", "Gamma needs some text to build the deck from.")
        if len(body) > cap:
            raise InvalidEdit("body", f"At most {cap:,} characters.")
        out[form.body_key] = body
    if form.due_key and "due" in changes:
        due = (changes["due"] or "").strip() or None
        if due is not None:
            try:
                due = date.fromisoformat(due[:10]).isoformat()
            except ValueError:
                raise InvalidEdit("due", "A date as YYYY-MM-DD.") from None
        out[form.due_key] = due
    return out


def snapshot(e: OutboxEntry) -> dict[str, Any]:
    return {
        "target": e.target,
        "operation": e.operation,
        "status": e.status,
        "dedupe_key": e.dedupe_key,
        "external_id": e.external_id,
        "external_url": e.external_url,
        "error": (e.error or "")[:500] or None,
    }


class OutboxService:
    def __init__(
        self,
        db: Database,
        queue: JobQueue,
        os_config: Callable[[], OSConfig],
        connectors: dict[str, Connector],
        *,
        people: PeopleDirectory | None = None,
        notifier: Notifier | None = None,
        gates: dict[str, RateGate] | None = None,
    ) -> None:
        self.db = db
        self.queue = queue
        self.os_config = os_config
        self.connectors = connectors
        self.people = people
        self.notifier = notifier
        self.gates = gates if gates is not None else {t: RateGate() for t in connectors}

    def with_notifier(self, notifier: Notifier) -> OutboxService:
        """The same outbox drawing its cards through `notifier` (the Slack publisher is built later)."""
        return OutboxService(
            self.db,
            self.queue,
            self.os_config,
            self.connectors,
            people=self.people,
            notifier=notifier,
            gates=self.gates,
        )

    def handlers(self) -> dict[str, JobHandler]:
        return {APPLY_JOB: self.handle_apply}

    # -- reading ------------------------------------------------------------------------------

    async def get(self, entry_id: int) -> OutboxEntry:
        async with self.db.read_session() as s:
            row = await s.get(OutboxEntry, entry_id)
        if row is None:
            raise NotFound(f"Outside write {entry_id} was not found.")
        return row

    async def for_meeting(self, meeting_id: int) -> list[OutboxEntry]:
        return await entries_for_meeting(self.db, meeting_id)

    async def for_item(self, item_id: int) -> list[OutboxEntry]:
        return await entries_for_item(self.db, item_id)

    def configured(self) -> list[str]:
        return [t for t in TARGETS if t in self.connectors]

    # -- proposing ----------------------------------------------------------------------------

    async def propose(self, proposed: Proposed, actor: str) -> OutboxEntry:
        """Store a write (or return the one already stored under its dedupe key); auto-applied when
        fathom-os.yml says this target's operation may go without approval."""
        if proposed.target not in TARGETS:
            raise UserFacingError(f"'{proposed.target}' is not a known target ({', '.join(TARGETS)}).")
        if proposed.target not in self.connectors:
            raise UserFacingError(
                f"{proposed.target} is not configured: set its token in the environment and "
                f"its section under `integrations:` in fathom-os.yml (see README)."
            )
        auto = self.os_config().integrations.auto_applies(proposed.target, proposed.operation)
        try:
            async with self.db.write_session() as s:
                entry = OutboxEntry(
                    target=proposed.target,
                    operation=proposed.operation,
                    payload=proposed.payload,
                    dedupe_key=proposed.dedupe_key[:255],
                    summary=proposed.summary[:500],
                    meeting_id=proposed.meeting_id,
                    item_id=proposed.item_id,
                    status="proposed",
                )
                s.add(entry)
                await s.flush()
                audit_log.record(s, actor, "outbox.proposed", f"outbox:{entry.id}", None, snapshot(entry))
                if auto:
                    await self._approve_in(s, entry, AUTO)
        except IntegrityError:  # proposed before: the same record, never a second one
            async with self.db.read_session() as s:
                found = await s.scalar(
                    select(OutboxEntry).where(OutboxEntry.dedupe_key == proposed.dedupe_key[:255])
                )
            if found is None:
                raise
            return found
        if auto:
            self.queue.notify()
        await self._notify(entry)
        return entry

    async def send_item(self, item_id: int, target: str, actor: str) -> OutboxEntry:
        """ "Send to …" on an item card: propose the task; an approver's click is also the approval."""
        from services.integrations.proposals import issue_for_item

        async with self.db.read_session() as s:
            item = await s.get(ActionItem, item_id)
            meeting = await s.get(Meeting, item.meeting_id) if item is not None else None
        if item is None:
            raise NotFound(f"Action item {item_id} was not found.")
        settings = self.os_config().integrations.settings_for(target)
        entry = await self.propose(issue_for_item(item, meeting, settings, target), actor)
        if entry.status == "proposed" and await self.is_approver(actor):
            entry = await self.approve(entry.id, actor)
        return entry

    async def after_analysis(self, meeting: Meeting, outcome: AnalysisOutcome) -> None:
        """Pipeline hook: the CRM writes of a client, sales or discovery meeting, for approval. A
        failure here must not make the job re-run the analysis."""
        meeting_id, analysis = meeting.id, outcome.analysis
        facts = [f"Budget: {m.text}" for m in analysis.budget] + [
            f"Timeline: {m.text}" for m in analysis.timeline
        ]
        try:
            await self.propose_crm(
                meeting_id,
                "analysis",
                decisions=[d.what for d in analysis.decisions],
                facts=facts,
                loaded=meeting,
            )
        except Exception as exc:
            log.warning("could not propose the CRM writes of meeting %s: %s", meeting_id, type(exc).__name__)
        try:
            await self.propose_items(meeting_id, "analysis", loaded=meeting)
        except Exception as exc:
            log.warning("could not propose the tasks of meeting %s: %s", meeting_id, type(exc).__name__)
        try:
            await self.propose_onboarding_deck(meeting, analysis)
        except Exception as exc:
            log.warning("could not propose the onboarding deck of %s: %s", meeting_id, type(exc).__name__)

    async def propose_onboarding_deck(self, meeting: Meeting, analysis: Any) -> OutboxEntry | None:
        """A new client's first discovery, sales or AI-audit meeting (no earlier meeting with its
        client_slug): the onboarding deck for Gamma, on the card for an approver
        (`integrations.gamma.onboarding: false` turns it off)."""
        from services.integrations.gamma import ONBOARDING_TYPES, onboarding_deck

        config = self.os_config()
        settings = config.integrations.settings_for("gamma")
        slug = meeting.client_slug
        if "gamma" not in self.connectors or not (settings.enabled and settings.onboarding):
            return None
        if not slug or meeting.primary_type not in ONBOARDING_TYPES:
            return None
        stored_first = Meeting.id < meeting.id  # without dates, the one stored first came first
        if meeting.started_at is not None:
            stored_first = (Meeting.started_at < meeting.started_at) | (
                (Meeting.started_at.is_(None) | (Meeting.started_at == meeting.started_at)) & stored_first
            )
        earlier = select(Meeting.id).where(
            Meeting.client_slug == slug, Meeting.id != meeting.id, stored_first
        )
        async with self.db.read_session() as s:
            if await s.scalar(earlier.limit(1)) is not None:
                return None
        client = next((c.name for c in config.clients if c.slug == slug), slug.replace("-", " ").title())
        return await self.propose(onboarding_deck(meeting, analysis, client), "analysis")

    async def _meeting_and_items(
        self, meeting_id: int, loaded: Meeting | None = None
    ) -> tuple[Meeting, list[ActionItem]]:
        """The meeting (unless the caller has the row: the pipeline hook) and its action items."""
        async with self.db.read_session() as s:
            meeting = loaded or await s.get(Meeting, meeting_id)
            if meeting is None:
                raise NotFound(f"Meeting {meeting_id} was not found.")
            items = list(
                (await s.scalars(select(ActionItem).where(ActionItem.meeting_id == meeting_id))).all()
            )
        return meeting, items

    async def propose_items(
        self, meeting_id: int, actor: str, *, loaded: Meeting | None = None
    ) -> list[OutboxEntry]:
        """The rule per meeting type or client (`propose_items`, `meeting_types`, `clients` under a PM
        target in fathom-os.yml): each open agency action item proposed as a task there."""
        from services.integrations.proposals import issue_for_item

        config = self.os_config()
        wanted = [
            (t, config.integrations.settings_for(t))
            for t in ("asana", "jira", "linear")
            if t in self.connectors and config.integrations.settings_for(t).propose_items
        ]
        if not wanted:
            return []
        meeting, items = await self._meeting_and_items(meeting_id, loaded)
        domains = [d.lower() for d in meeting.fathom().external_domains]
        out = []
        for target, settings in wanted:
            if not settings.enabled or (meeting.primary_type or "client") not in settings.meeting_types:
                continue
            clients = [c.lower().lstrip("@") for c in settings.clients]
            if clients and not any(d == c or d.endswith("." + c) for d in domains for c in clients):
                continue
            for item in items:
                if item.owner_external or item.status == "done":
                    continue  # the client's own to-dos are not the agency's tasks
                out.append(await self.propose(issue_for_item(item, meeting, settings, target), actor))
        return out

    async def propose_crm(
        self,
        meeting_id: int,
        actor: str,
        *,
        decisions: Sequence[str] = (),
        facts: Sequence[str] = (),
        loaded: Meeting | None = None,
    ) -> list[OutboxEntry]:
        """After a client, sales or discovery meeting: the CRM writes to approve (HubSpot meeting,
        tasks and note; Salesforce Event and Tasks), for each configured CRM."""
        from services.integrations.proposals import hubspot_for_meeting
        from services.integrations.salesforce import proposals_for_meeting as salesforce_for_meeting

        crms = {"hubspot": hubspot_for_meeting, "salesforce": salesforce_for_meeting}
        if not set(crms) & set(self.connectors):
            return []
        config = self.os_config()
        meeting, items = await self._meeting_and_items(meeting_id, loaded)
        out = []
        for target, build in crms.items():
            settings = config.integrations.settings_for(target)
            if target not in self.connectors or not settings.enabled:
                continue
            if (meeting.primary_type or "client") not in settings.meeting_types:
                continue
            for p in build(meeting, items, config, decisions=decisions, facts=facts):
                out.append(await self.propose(p, actor))
        return out

    async def propose_audit_deck(self, meeting_id: int, pack: Any, actor: str) -> OutboxEntry | None:
        """After an /os-audit delivery: the client proposal deck (SOW, timeline, opportunities) for
        Gamma, on the outbox card for an approver (never generated unasked: it costs credits)."""
        from services.integrations.proposals import deck_for_audit

        if "gamma" not in self.connectors:
            return None
        files: dict[str, str] = dict(getattr(pack, "files", {}) or {})

        def part(suffix: str) -> str | None:
            return next((text for path, text in files.items() if path.lower().endswith(suffix)), None)

        sections = [
            (h, t) for h, t in (("Statement of work", part("sow.md")), ("Timeline", part("timeline.md"))) if t
        ]
        opportunities = list(getattr(pack, "opportunities", []) or [])[:5]
        if opportunities:
            lines = [
                f"- **{o.title}** ({o.value} value, {o.effort} effort): {o.description}"
                for o in opportunities
            ]
            sections.append(("Opportunities", "\n".join(lines)))
        if not sections:
            return None
        client = str(getattr(pack, "client_name", "Client"))
        try:  # the delivery is done whatever happens here
            return await self.propose(deck_for_audit(meeting_id, client, sections), actor)
        except Exception as exc:
            log.warning("could not propose the Gamma deck of meeting %s: %s", meeting_id, type(exc).__name__)
            return None

    async def is_approver(self, actor: str) -> bool:
        try:
            await self.authorise(actor)
        except NotAllowed:
            return False
        return True

    # -- deciding -----------------------------------------------------------------------------

    async def authorise(self, actor: str) -> None:
        config = self.os_config()
        if config.is_approver(actor):
            return
        email = None
        if self.people is not None:
            try:
                email = getattr(await self.people.user_info(actor), "email", None)
            except Exception:
                log.warning("could not look up Slack user %s", actor)
        if not (email and config.is_approver(email)):
            raise NotAllowed(NOT_APPROVER)

    async def approve(self, entry_id: int, actor: str) -> OutboxEntry:
        """Queue the write; approving twice (or a second approver) is the same single write."""
        await self.authorise(actor)
        async with self.db.write_session() as s:
            entry = await self._load(s, entry_id)
            if entry.status in ("approved", "applied"):
                return entry
            if entry.status not in ("proposed", "failed"):
                raise StaleState(_why_not(entry, "approved"))
            await self._approve_in(s, entry, actor)
        self.queue.notify()
        await self._notify(entry)
        return entry

    async def approve_all(self, meeting_id: int, actor: str) -> list[OutboxEntry]:
        await self.authorise(actor)
        out = []
        for entry in await self.for_meeting(meeting_id):
            if entry.status == "proposed":
                out.append(await self.approve(entry.id, actor))
        return out

    async def reject(self, entry_id: int, actor: str) -> OutboxEntry:
        await self.authorise(actor)
        async with self.db.write_session() as s:
            entry = await self._load(s, entry_id)
            if entry.status not in ("proposed", "failed"):
                raise StaleState(_why_not(entry, "rejected"))
            before = snapshot(entry)
            entry.status, entry.approved_by, entry.decided_at = "rejected", actor, utcnow()
            audit_log.record(s, actor, "outbox.rejected", f"outbox:{entry.id}", before, snapshot(entry))
        await self._notify(entry)
        return entry

    async def for_editing(self, entry_id: int, actor: str) -> OutboxEdit:
        """The Edit modal's content; only approvers edit, and only what has not been written."""
        await self.authorise(actor)
        entry = await self.get(entry_id)
        if entry.status not in ("proposed", "failed"):
            raise StaleState(_why_not(entry, "edited"))
        return OutboxEdit.of(entry)

    async def edit(self, entry_id: int, changes: dict[str, str | None], actor: str) -> OutboxEntry:
        """Apply the modal's edits to the payload, re-validated; a failed write goes back to proposed
        (its Approve sends the edited version). Recorded in the audit log with before and after."""
        await self.authorise(actor)
        async with self.db.write_session() as s:
            entry = await self._load(s, entry_id)
            if entry.status not in ("proposed", "failed"):
                raise StaleState(_why_not(entry, "edited"))
            updates = {
                k: v
                for k, v in validated_edit(OutboxEdit.of(entry), changes).items()
                if v != (entry.payload or {}).get(k)  # only what changed is recorded
            }
            before = {k: entry.payload.get(k) for k in updates}
            if updates:
                entry.payload = {**entry.payload, **updates}
                title = next((updates[k] for k in TITLE_KEYS if k in updates), None)
                if title and ": " in entry.summary:
                    entry.summary = f"{entry.summary.split(': ', 1)[0]}: {title}"[:500]
                entry.status, entry.error = "proposed", None
                audit_log.record(s, actor, "outbox.edited", f"outbox:{entry.id}", before, updates)
        await self._notify(entry)
        return entry

    async def undo(self, entry_id: int, actor: str) -> OutboxEntry:
        """Take an applied write back where the target allows (archive, delete)."""
        await self.authorise(actor)
        entry = await self.get(entry_id)
        if entry.status != "applied" or not entry.external_id:
            raise StaleState(_why_not(entry, "undone"))
        connector = self._connector(entry.target)
        gate = self.gates.setdefault(entry.target, RateGate())
        try:
            await with_rate_limit(gate, lambda: connector.undo(entry.operation, entry.external_id or ""))
        except NotUndoable as exc:
            raise UserFacingError(f"{entry.target} cannot take this back: {exc}") from exc
        except TargetError as exc:
            raise UserFacingError(f"{entry.target} refused the undo: {exc.message}") from exc
        async with self.db.write_session() as s:
            row = await self._load(s, entry_id)
            before = snapshot(row)
            row.status = "undone"
            audit_log.record(s, actor, "outbox.undone", f"outbox:{row.id}", before, snapshot(row))
        await self._notify(row)
        return row

    async def _approve_in(self, s: Any, entry: OutboxEntry, actor: str) -> None:
        before = snapshot(entry)
        entry.status, entry.approved_by, entry.decided_at = "approved", actor, utcnow()
        # "queued" marks a write no run has started; after a failure a retry may find what it made
        entry.error, entry.progress = None, "queued" if before["status"] == "proposed" else "queued again"
        audit_log.record(s, actor, "outbox.approved", f"outbox:{entry.id}", before, snapshot(entry))
        await self.queue.enqueue(s, APPLY_JOB, {"entry_id": entry.id}, key=f"outbox:{entry.id}")

    # -- applying (the job) -------------------------------------------------------------------

    async def handle_apply(self, job: Job) -> None:
        entry = await self.get(int(job.payload["entry_id"]))
        if entry.status != "approved":  # applied by an earlier run, rejected meanwhile: nothing to do
            return
        connector = self.connectors.get(entry.target)
        if connector is None:
            await self._finish(entry.id, "failed", error=f"{entry.target} is not configured any more")
            return
        retry = entry.progress != "queued"  # an earlier run started: it may have reached the target
        if not retry:  # committed before the outside call, so a crash during it is seen next time
            entry = await self._finish(entry.id, "approved", progress=f"writing to {entry.target}")
        write = Write(entry.id, entry.operation, dict(entry.payload), entry.dedupe_key, retry=retry)
        gate = self.gates.setdefault(entry.target, RateGate())

        async def progress(text: str) -> None:
            row = await self._finish(entry.id, "approved", progress=text[:255])
            await self._notify(row)

        try:
            applied: Applied = await with_rate_limit(gate, lambda: connector.apply(write, progress))
        except TargetError as exc:  # the target said no: show its words, do not retry
            row = await self._finish(entry.id, "failed", error=exc.message, status_code=exc.status)
            await self._notify(row)
            return
        except Exception as exc:
            if job.attempts >= job.max_attempts:
                row = await self._finish(
                    entry.id, "failed", error=f"gave up after {job.attempts} tries: {exc}"
                )
                await self._notify(row)
            else:
                row = await self._finish(entry.id, "approved", progress=f"retrying ({type(exc).__name__})")
                await self._notify(row)  # the card says it is not stuck
            raise
        row = await self._finish(entry.id, "applied", applied=applied)
        for attachment in applied.attachments:
            if self.notifier is not None:
                await self.notifier.attach(row, attachment)
        await self._notify(row)

    async def _finish(
        self,
        entry_id: int,
        status: str,
        *,
        error: str | None = None,
        progress: str | None = None,
        applied: Applied | None = None,
        status_code: int | None = None,
    ) -> OutboxEntry:
        async with self.db.write_session() as s:
            row = await self._load(s, entry_id)
            before = snapshot(row)
            row.status, row.progress = status, progress
            if error is not None:
                row.error = f"{status_code}: {error}" if status_code else error
            if applied is not None:
                row.external_id, row.external_url = applied.external_id, applied.url
                row.remote_status, row.applied_at, row.error = applied.remote_status, utcnow(), None
            if status != before["status"]:
                audit_log.record(
                    s, row.approved_by or SYNC, f"outbox.{status}", f"outbox:{row.id}", before, snapshot(row)
                )
        return row

    # -- two-way status -----------------------------------------------------------------------

    async def sync(self) -> SyncReport:
        """Completed there -> done here; done here -> closed there (each change in the audit log)."""
        done_here = closed_there = edited = 0
        for target, connector in self.connectors.items():
            if not _is_tracker(connector):
                continue
            async with self.db.read_session() as s:
                rows = (
                    await s.execute(
                        select(OutboxEntry, ActionItem)
                        .join(ActionItem, ActionItem.id == OutboxEntry.item_id)
                        .where(OutboxEntry.target == target, OutboxEntry.status == "applied")
                        .where(OutboxEntry.external_id.is_not(None))
                    )
                ).all()
            if not rows:
                continue
            gate = self.gates.setdefault(target, RateGate())
            ids = [e.external_id for e, _ in rows if e.external_id]
            tracker = cast(TaskTracker, connector)
            states = await with_rate_limit(gate, partial(tracker.states, ids))
            by_id = {st.external_id: st for st in states}
            for entry, item in rows:
                state = by_id.get(entry.external_id or "")
                if state is None:
                    continue
                if state.done and item.status != "done":
                    if await self._mark_done_here(entry, item.id, state.status):
                        done_here += 1
                elif item.status == "done" and not state.done:
                    eid = entry.external_id or ""
                    await with_rate_limit(gate, partial(tracker.close, eid))
                    await self._remote_status(entry.id, "closed from here", "outbox.closed_there")
                    closed_there += 1
                elif state.status != entry.remote_status:
                    await self._remote_status(entry.id, state.status, None)
                if hasattr(connector, "edit") and await self._sync_edits(gate, connector, entry, item, state):
                    edited += 1
        return SyncReport(done_here, closed_there, edited)

    async def _sync_edits(
        self, gate: RateGate, connector: Any, entry: OutboxEntry, item: Any, state: Any
    ) -> bool:
        """Owner and due date both ways, the later writer winning; each change in the audit log."""
        from services.integrations.edits import merge, owner_key, parse_time

        owners = self.os_config().integrations.settings_for(entry.target).owners
        settings = self.os_config().integrations.settings_for(entry.target)
        last = dict(entry.payload.get("synced") or {})
        last.setdefault("assignee", entry.payload.get("assignee_id"))
        last.setdefault("due_date", entry.payload.get("due_date"))
        mapped = settings.owner_for(item.owner_slack_id, item.owner_email)
        has_owner = bool(item.owner_slack_id or item.owner_email)
        here = {
            "assignee": mapped if mapped or not has_owner else last["assignee"],  # unmapped: unchanged
            "due_date": item.due_date.isoformat() if item.due_date else None,
        }
        there = {"assignee": state.assignee, "due_date": state.due_date}
        if here == there == {k: last.get(k) for k in here}:
            return False
        touched = await audit_log.history(self.db, f"action_item:{item.id}", limit=1)
        result = merge(
            last,
            here,
            there,
            here_at=touched[0].at if touched else None,
            there_at=parse_time(state.modified_at),
        )
        if result.push_there:
            assignee, due = result.final["assignee"], result.final["due_date"]
            await with_rate_limit(
                gate, lambda: connector.edit(entry.external_id, assignee=assignee, due_date=due)
            )
        async with self.db.write_session() as s:
            row = await self._load(s, entry.id)
            row.payload = {**row.payload, "synced": result.final}
            if result.push_there:
                audit_log.record(s, SYNC, "outbox.edited_there", f"outbox:{row.id}", there, result.final)
            if result.change_here:
                live = await s.get(ActionItem, item.id, with_for_update=not self.db.is_sqlite)
                if live is not None:
                    before = {
                        "owner_slack_id": live.owner_slack_id,
                        "owner_email": live.owner_email,
                        "due_date": live.due_date.isoformat() if live.due_date else None,
                    }
                    if "due_date" in result.change_here:
                        due_text = result.change_here["due_date"]
                        live.due_date = date.fromisoformat(due_text[:10]) if due_text else None
                    if "assignee" in result.change_here:
                        key = owner_key(owners, result.change_here["assignee"])
                        if key and "@" in key:
                            live.owner_email, live.owner_slack_id = key, None
                        elif key:
                            live.owner_slack_id = key
                    live.version += 1
                    after = {
                        "owner_slack_id": live.owner_slack_id,
                        "owner_email": live.owner_email,
                        "due_date": live.due_date.isoformat() if live.due_date else None,
                    }
                    audit_log.record(
                        s, f"{SYNC}:{entry.target}", "action_item.edited", f"action_item:{item.id}",
                        before, {**after, "by": f"{entry.target} {entry.external_id}"},
                    )  # fmt: skip
        if result.change_here and self.notifier is not None:
            await self.notifier.item_changed(item.id)
        return True

    async def _mark_done_here(self, entry: OutboxEntry, item_id: int, remote: str) -> bool:
        async with self.db.write_session() as s:
            item = await s.get(ActionItem, item_id, with_for_update=not self.db.is_sqlite)
            if item is None or item.status == "done":
                return False
            before = {"status": item.status, "version": item.version}
            item.status, item.completed_at, item.completed_by = "done", utcnow(), None
            item.version += 1
            audit_log.record(
                s,
                f"{SYNC}:{entry.target}",
                "action_item.done",
                f"action_item:{item_id}",
                before,
                {"status": "done", "version": item.version, "by": f"{entry.target} {entry.external_id}"},
            )
            row = await self._load(s, entry.id)
            row.remote_status = remote
        if self.notifier is not None:
            await self.notifier.item_changed(item_id)
        return True

    async def _remote_status(self, entry_id: int, status: str, action: str | None) -> None:
        async with self.db.write_session() as s:
            row = await self._load(s, entry_id)
            before = snapshot(row)
            row.remote_status = status[:40]
            if action:
                audit_log.record(s, SYNC, action, f"outbox:{row.id}", before, {"remote_status": status})

    # -- helpers ------------------------------------------------------------------------------

    def _connector(self, target: str) -> Connector:
        connector = self.connectors.get(target)
        if connector is None:
            raise UserFacingError(f"{target} is not configured (its token is not set).")
        return connector

    @staticmethod
    async def _load(s: Any, entry_id: int) -> OutboxEntry:
        row = await s.get(OutboxEntry, entry_id)
        if row is None:
            raise NotFound(f"Outside write {entry_id} was not found.")
        assert isinstance(row, OutboxEntry)
        return row

    async def _notify(self, entry: OutboxEntry) -> None:
        if self.notifier is None:
            return
        try:
            await self.notifier.changed(entry)
        except Exception as exc:  # a Slack hiccup must not undo or repeat the outside write
            log.warning("could not redraw the card of outbox entry %s: %s", entry.id, type(exc).__name__)


async def entries_for_meeting(db: Database, meeting_id: int) -> list[OutboxEntry]:
    async with db.read_session() as s:
        rows = await s.scalars(
            select(OutboxEntry).where(OutboxEntry.meeting_id == meeting_id).order_by(OutboxEntry.id)
        )
        return list(rows.all())


async def entries_for_item(db: Database, item_id: int) -> list[OutboxEntry]:
    async with db.read_session() as s:
        rows = await s.scalars(
            select(OutboxEntry).where(OutboxEntry.item_id == item_id).order_by(OutboxEntry.id)
        )
        return list(rows.all())


def _is_tracker(connector: Connector) -> bool:
    return hasattr(connector, "states") and hasattr(connector, "close")


def _why_not(entry: OutboxEntry, verb: str) -> str:
    return f"This {entry.target} write is already {entry.status}; it cannot be {verb}."


def pending(entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
    return [e for e in entries if e.status in PENDING]


__all__ = [
    "APPLY_JOB",
    "NOT_APPROVER",
    "InvalidEdit",
    "OutboxEdit",
    "OutboxLine",
    "OutboxService",
    "Proposed",
    "SyncReport",
    "TaskTracker",
]
