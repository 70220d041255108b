"""OS change proposals: from the analysis to a reviewed commit (and back out again).

Every change the analysis suggests is stored before anyone sees it, with the blob id of the file it
was based on, so an approval much later can still 3-way merge with edits made since. Paths come
from transcripts (and so from whoever spoke in the meeting): each one is checked before it is
stored, and a refused one is kept as `invalid` with the reason so the card can show it, never
applied. Only approvers named in `fathom-os.yml` decide; every step lands in the audit log in the
same transaction as the status change.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select

from services import audit_log
from services.analysis.os_updates import (
    ROADMAP,
    reads_current,
    standard_updates,
    targeted_updates,
)
from services.analysis.schema import AnalysisOutcome, MeetingAnalysis, OSUpdate
from services.clock import utcnow
from services.db import Database
from services.errors import NotAllowed, NotFound, StaleState, UserFacingError
from services.models import Meeting, OSProposal
from services.os_config import OSConfig
from services.os_paths import UnsafePath, validate_os_path
from services.os_repo import (
    Author,
    ChangeError,
    CommitInfo,
    FileChange,
    MergeConflict,
    OSRepo,
    OSRepoError,
    render_change,
    unified_diff,
)
from services.templating import steers_the_bot

log = logging.getLogger(__name__)

PENDING = ("proposed", "conflicted", "invalid")
ACTIONS = ("create", "append", "update_section")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
NOT_APPROVER = (
    "Only the approvers listed in fathom-os.yml can approve, reject, edit or revert OS changes. "
    "Ask one of them, or propose adding yourself to `approvers:` in fathom-os.yml."
)


class PeopleDirectory(Protocol):
    """The Slack gateway's user lookup (name and email of whoever clicked)."""

    async def user_info(self, user_id: str) -> Any: ...


@dataclass(frozen=True)
class Decided:
    """What an approval did; `push_error` is shown to the approver but never undoes the commit."""

    proposal: OSProposal
    merged: bool = False
    push_error: str | None = None


@dataclass(frozen=True)
class ApprovedAll:
    """What "Approve all" did, and the proposals it left for a single approval each."""

    decided: list[Decided]
    held: list[OSProposal]


@dataclass(frozen=True)
class Reverted:
    sha: str
    reverted_sha: str
    proposals: list[OSProposal]
    push_error: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    commit: CommitInfo
    meeting_id: int | None
    meeting_title: str | None


def _snapshot(p: OSProposal) -> dict[str, Any]:
    return {
        "path": p.path,
        "action": p.action,
        "section": p.section,
        "status": p.status,
        "base_blob": p.base_blob,
        "commit_sha": p.commit_sha,
        "content_chars": len(p.content or ""),
    }


def _one_line(text: str, limit: int = 120) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ProposalService:
    def __init__(
        self,
        db: Database,
        repo: OSRepo,
        os_config: Callable[[], OSConfig],
        *,
        remote: str | None = None,
        people: PeopleDirectory | None = None,
    ) -> None:
        self.db = db
        self.repo = repo
        self.os_config = os_config
        self.remote = remote
        self.people = people  # the Slack gateway; without it only Slack ids in the config match

    # -- reading ------------------------------------------------------------------------------

    async def get(self, proposal_id: int) -> OSProposal:
        async with self.db.session() as s:
            row = await s.get(OSProposal, proposal_id)
        if row is None:
            raise NotFound(f"OS proposal {proposal_id} was not found.")
        return row

    async def for_meeting(self, meeting_id: int) -> list[OSProposal]:
        async with self.db.read_session() as s:
            rows = await s.scalars(
                select(OSProposal)
                .where(OSProposal.meeting_id == meeting_id, OSProposal.status != "superseded")
                .order_by(OSProposal.id)
            )
            return list(rows.all())

    async def diff_for(self, proposal: OSProposal) -> str | None:
        """Current file vs the proposal applied; a conflict shows git's conflict text instead."""
        if proposal.status == "conflicted":
            return proposal.reason
        if proposal.status != "proposed":
            return None
        try:
            current, _ = await self.repo.read(proposal.path)
            new = render_change(current, proposal.action, proposal.content, proposal.section)
        except (UnsafePath, ChangeError, OSRepoError):
            return None
        return unified_diff(proposal.path, current, new)

    async def diffs_for(self, proposals: Sequence[OSProposal]) -> dict[int, str]:
        diffs: dict[int, str] = {}
        for p in proposals:
            diff = await self.diff_for(p)
            if diff is not None:
                diffs[p.id] = diff
        return diffs

    async def history(self, path: str | None = None, limit: int = 15) -> list[HistoryEntry]:
        """Recent OS commits with the meeting each came from (the `Meeting:` trailer)."""
        try:
            commits = await self.repo.history(path or None, limit=limit)
        except UnsafePath as exc:
            raise UserFacingError(f"That path cannot be in the OS: {exc.reason}") from exc
        ids = {int(c.trailers["Meeting"]) for c in commits if c.trailers.get("Meeting", "").isdigit()}
        titles: dict[int, str] = {}
        if ids:
            async with self.db.session() as s:
                for m in await s.scalars(select(Meeting).where(Meeting.id.in_(ids))):
                    titles[m.id] = m.title
        out = []
        for c in commits:
            raw = c.trailers.get("Meeting", "")
            mid = int(raw) if raw.isdigit() else None
            out.append(HistoryEntry(c, mid, titles.get(mid) if mid is not None else None))
        return out

    # -- proposing ----------------------------------------------------------------------------

    async def propose_from_analysis(self, meeting_id: int, outcome: AnalysisOutcome) -> list[OSProposal]:
        """One proposal per suggested change (a re-analysis replaces its pending ones)."""
        async with self.db.session() as s:
            meeting = await s.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound(f"Meeting {meeting_id} was not found.")
        return await self.after_analysis(meeting, outcome)

    async def after_analysis(self, meeting: Meeting, outcome: AnalysisOutcome) -> list[OSProposal]:
        """`MeetingPipeline.after_analysis` hook: `propose_from_analysis` with the row already loaded."""
        updates = await self._updates_for(meeting, outcome.analysis)
        _current, added = await self.propose(
            meeting.id, updates, f"analysis:{outcome.analyzer}", origin="analysis"
        )
        return added

    async def _updates_for(self, meeting: Meeting, analysis: MeetingAnalysis) -> list[OSUpdate]:
        """The standard updates built in code, then the model's targeted section changes to files
        that exist. A model path the OS refuses is kept (stored as invalid, shown refused: a sign
        of prompt injection); any other model change is dropped."""
        day = meeting.started_at.date() if meeting.started_at else utcnow().date()
        files = set(await self.repo.list_files())
        roadmap = (await self.repo.read(ROADMAP))[0] if ROADMAP in files else None
        current: dict[str, str] = {}  # decisions that evolve, coaching progress (#20)
        for rel in sorted(p for p in files if reads_current(p)):
            current[rel] = (await self.repo.read(rel))[0] or ""
        standard = standard_updates(
            meeting.fathom(), analysis, day, os_files=files, roadmap=roadmap, current=current
        )
        if not standard:  # nothing to say: no approval request at all
            return []
        targeted = {id(u) for u in targeted_updates(analysis, standard)}
        kept: list[OSUpdate] = []
        for u in analysis.os_updates:
            try:
                path = validate_os_path(self.repo.path, u.path, content=u.content)
            except UnsafePath:
                kept.append(u)
                continue
            if id(u) in targeted and path in files:
                kept.append(u)
            else:
                log.debug(
                    "model OS change dropped (%s %s): not a section of an existing file", u.action, path
                )
        return standard + kept

    async def propose(
        self, meeting_id: int, updates: Sequence[OSUpdate], actor: str, *, origin: str
    ) -> tuple[list[OSProposal], list[OSProposal]]:
        """Store changes as proposals. Pending proposals of the same origin that are not proposed
        again are superseded; identical ones are kept. Returns (one per update, newly added)."""
        fresh = [await self._new_proposal(meeting_id, u, origin) for u in updates]
        async with self.db.session() as s:
            existing = list(
                (
                    await s.scalars(
                        select(OSProposal).where(
                            OSProposal.meeting_id == meeting_id, OSProposal.origin == origin
                        )
                    )
                ).all()
            )
            live = {_key(p): p for p in existing if p.status != "superseded"}
            keep = {_key(p) for p in fresh}
            for old in existing:
                if old.status in PENDING and _key(old) not in keep:
                    audit_log.record(s, actor, "proposal.superseded", f"proposal:{old.id}", _snapshot(old))
                    old.status = "superseded"
            added: list[OSProposal] = []
            current: list[OSProposal] = []
            for p in fresh:
                if _key(p) in live:
                    current.append(live[_key(p)])
                    continue
                live[_key(p)] = p
                s.add(p)
                added.append(p)
                current.append(p)
            await s.flush()
            for p in added:
                audit_log.record(s, actor, "proposal.proposed", f"proposal:{p.id}", None, _snapshot(p))
                if p.status == "invalid":
                    audit_log.record(
                        s, actor, "proposal.invalid", f"proposal:{p.id}", None, {"reason": p.reason}
                    )
        return current, added

    async def _new_proposal(self, meeting_id: int, update: OSUpdate, origin: str) -> OSProposal:
        p = OSProposal(
            meeting_id=meeting_id,
            origin=origin,
            path=update.path[:1000],
            action=update.action,
            section=(update.section or None) and update.section[:255],
            content=update.content,
            status="proposed",
            why=update.reason,
        )
        try:
            p.path = validate_os_path(self.repo.path, update.path, content=update.content)
            _, p.base_blob = await self.repo.read(p.path)
        except UnsafePath as exc:  # shown on the card as refused, never applied
            p.status, p.reason = "invalid", exc.reason
        return p

    # -- deciding -----------------------------------------------------------------------------

    async def authorise(self, actor_slack_id: str) -> Author:
        """The commit author for an approver; anyone else gets a friendly NotAllowed."""
        config = self.os_config()
        user = None
        if self.people is not None:
            try:
                user = await self.people.user_info(actor_slack_id)
            except Exception:
                log.warning("could not look up Slack user %s", actor_slack_id)
        email = getattr(user, "email", None)
        if not (config.is_approver(actor_slack_id) or (email and config.is_approver(email))):
            raise NotAllowed(NOT_APPROVER)
        member = config.member(actor_slack_id) or (config.member(email) if email else None)
        name = getattr(user, "name", None) or (member.name if member else None) or actor_slack_id
        email = email or (member.email if member else None) or f"{actor_slack_id}@users.slack.invalid"
        return Author(name=_one_line(name, 200), email=email)

    async def approve(self, proposal_id: int, actor: str) -> Decided:
        author = await self.authorise(actor)
        return await self._approve(proposal_id, actor, author)

    async def approve_all(self, meeting_id: int, actor: str, *, pack: bool | None = None) -> ApprovedAll:
        """Every proposed change on one approval card, as ONE commit listing every file (#16 item 3).

        `pack`: True for the meeting's client OS pack card (proposals from /os-audit), False for the
        meeting's own card, None for both. Changes that steer the bot (templates, `fathom-os.yml`)
        are held for an explicit approval of their own; a change that conflicts is marked so and
        left out, the rest still commit together."""
        author = await self.authorise(actor)  # refuse before touching anything
        chosen: list[OSProposal] = []
        held: list[OSProposal] = []
        for p in await self.for_meeting(meeting_id):
            if p.status != "proposed" or (pack is not None and (p.origin == "audit") != pack):
                continue
            (held if steers_the_bot(p.path) else chosen).append(p)
        if not chosen:
            return ApprovedAll([], held)
        async with self.db.session() as s:
            meeting = await s.get(Meeting, meeting_id)
        title = _one_line(meeting.title if meeting else "manual change", 100)
        files = "\n".join(f"- {_verb(p.action)} {p.path}" for p in chosen)
        message = f"Apply {len(chosen)} OS changes from meeting “{title}”\n\n{files}"
        changes = [
            (str(p.id), FileChange(p.path, p.action, p.content, p.section, p.base_blob))  # type: ignore[arg-type]
            for p in chosen
        ]
        try:
            result = await self.repo.apply_many(changes, author, message, {"Meeting": str(meeting_id)})
        except OSRepoError as exc:
            raise UserFacingError(f"The OS repository refused the changes: {exc}") from exc
        decided: list[Decided] = []
        for p in chosen:
            error = result.failed.get(str(p.id))
            if isinstance(error, UnsafePath):
                row = await self._set(p.id, actor, "proposal.invalid", status="invalid", reason=error.reason)
                decided.append(Decided(row))
            elif isinstance(error, MergeConflict):
                reason = f"{error}; edit the proposal to resolve.\n{error.conflict_text}".rstrip()
                row = await self._set(p.id, actor, "proposal.conflicted", status="conflicted", reason=reason)
                decided.append(Decided(row))
            elif error is not None:
                row = await self._set(
                    p.id, actor, "proposal.conflicted", status="conflicted", reason=str(error)
                )
                decided.append(Decided(row))
        applied = [p for p in chosen if str(p.id) in result.applied]
        async with self.db.session() as s:
            for p in applied:
                outcome = result.applied[str(p.id)]
                row = await s.get_one(OSProposal, p.id)
                before = _snapshot(row)
                row.status, row.reason, row.commit_sha = "applied", None, outcome.sha
                row.decided_by, row.decided_at = actor, utcnow()
                audit_log.record(
                    s, actor, "proposal.approved", f"proposal:{p.id}", before, {"status": "approved"}
                )
                after = {**_snapshot(row), "merged": outcome.merged, "author": author.email}
                audit_log.record(s, actor, "proposal.applied", f"proposal:{p.id}", before, after)
                decided.append(Decided(row, merged=outcome.merged))
        push_error = await self._push(actor) if result.sha else None
        if push_error:
            decided = [Decided(d.proposal, d.merged, push_error) for d in decided]
        return ApprovedAll(decided, held)

    async def _approve(self, proposal_id: int, actor: str, author: Author) -> Decided:
        p = await self.get(proposal_id)
        if p.status == "applied":
            return Decided(p)
        if p.status != "proposed":
            raise StaleState(_why_not(p, "approved"))
        async with self.db.session() as s:
            meeting = await s.get(Meeting, p.meeting_id) if p.meeting_id else None
        title = _one_line(meeting.title if meeting else "manual change", 100)
        change = FileChange(p.path, p.action, p.content, p.section, p.base_blob)  # type: ignore[arg-type]
        trailers = {"Proposal-Id": str(p.id)}
        if p.meeting_id is not None:
            trailers = {"Meeting": str(p.meeting_id), **trailers}
        message = f"{_verb(p.action)} {p.path} from meeting “{title}”"
        try:
            result = await self.repo.apply(change, author, message, trailers)
        except MergeConflict as exc:
            reason = f"{exc}; edit the proposal to resolve.\n{exc.conflict_text}".rstrip()
            return Decided(
                await self._set(p.id, actor, "proposal.conflicted", status="conflicted", reason=reason)
            )
        except ChangeError as exc:
            return Decided(
                await self._set(p.id, actor, "proposal.conflicted", status="conflicted", reason=str(exc))
            )
        except UnsafePath as exc:
            return Decided(
                await self._set(p.id, actor, "proposal.invalid", status="invalid", reason=exc.reason)
            )
        except OSRepoError as exc:
            raise UserFacingError(f"The OS repository refused the change: {exc}") from exc
        async with self.db.session() as s:
            row = await s.get_one(OSProposal, p.id)
            before = _snapshot(row)
            row.status, row.reason, row.commit_sha = "applied", None, result.sha
            row.decided_by, row.decided_at = actor, utcnow()
            audit_log.record(
                s, actor, "proposal.approved", f"proposal:{p.id}", before, {"status": "approved"}
            )
            after = {**_snapshot(row), "merged": result.merged, "author": author.email}
            audit_log.record(s, actor, "proposal.applied", f"proposal:{p.id}", before, after)
        return Decided(row, merged=result.merged, push_error=await self._push(actor))

    async def reject(self, proposal_id: int, actor: str) -> OSProposal:
        await self.authorise(actor)
        p = await self.get(proposal_id)
        if p.status not in PENDING:
            raise StaleState(_why_not(p, "rejected"))
        return await self._set(p.id, actor, "proposal.rejected", status="rejected", decided=True)

    async def for_editing(self, proposal_id: int, actor: str) -> OSProposal:
        """The proposal to show in the Edit modal, if this actor may edit it in its current state."""
        await self.authorise(actor)
        p = await self.get(proposal_id)
        if p.status not in ("proposed", "conflicted"):
            raise StaleState(_why_not(p, "edited"))
        return p

    async def edit(self, proposal_id: int, content: str, actor: str) -> OSProposal:
        """New content for a pending change; a conflicted one is re-based on the file as it is now."""
        await self.authorise(actor)
        p = await self.get(proposal_id)
        if p.status not in ("proposed", "conflicted"):
            raise StaleState(_why_not(p, "edited"))
        if not content.strip():
            raise UserFacingError("The new content is empty; reject the proposal instead.")
        try:
            validate_os_path(self.repo.path, p.path, content=content)
            current, blob = await self.repo.read(p.path)
        except UnsafePath as exc:
            raise UserFacingError(exc.reason) from exc
        changes: dict[str, Any] = {"content": content, "status": "proposed", "reason": None}
        if p.status == "conflicted":
            changes["base_blob"] = blob
            if p.action == "create" and current is not None:  # created meanwhile: add to it instead
                changes["action"] = "append"
        return await self._set(p.id, actor, "proposal.edited", **changes)

    async def revert(self, target: int | str, actor: str) -> Reverted:
        """Undo an applied proposal (by id) or any OS commit (by sha) with a new commit."""
        author = await self.authorise(actor)
        if isinstance(target, int):
            p = await self.get(target)
            if p.status != "applied" or not p.commit_sha:
                raise StaleState(_why_not(p, "reverted"))
            sha = p.commit_sha
        else:
            sha = target.strip().lower()
            if not _SHA.match(sha):
                raise UserFacingError(
                    f"'{_one_line(target, 50)}' is not a commit id (7 to 40 hex characters)."
                )
        try:
            new_sha = await self.repo.revert(sha, author)
        except MergeConflict as exc:
            raise UserFacingError(f"Later changes to {exc.path} conflict with undoing {sha[:7]}.") from exc
        except OSRepoError as exc:
            raise UserFacingError(f"Could not revert {sha[:7]}: {exc}") from exc
        async with self.db.session() as s:
            rows = list(
                (
                    await s.scalars(
                        select(OSProposal).where(
                            OSProposal.status == "applied", OSProposal.commit_sha.startswith(sha)
                        )
                    )
                ).all()
            )
            for row in rows:
                before = _snapshot(row)
                row.status, row.decided_by, row.decided_at = "reverted", actor, utcnow()
                after = {**_snapshot(row), "revert_sha": new_sha}
                audit_log.record(s, actor, "proposal.reverted", f"proposal:{row.id}", before, after)
            if not rows:
                audit_log.record(s, actor, "os.reverted", f"commit:{sha}", None, {"revert_sha": new_sha})
        return Reverted(sha, new_sha, rows, await self._push(actor))

    # -- helpers ------------------------------------------------------------------------------

    async def _set(
        self, proposal_id: int, actor: str, action: str, *, decided: bool = False, **changes: Any
    ) -> OSProposal:
        async with self.db.session() as s:
            row = await s.get_one(OSProposal, proposal_id)
            before = _snapshot(row)
            for key, value in changes.items():
                setattr(row, key, value)
            if decided:
                row.decided_by, row.decided_at = actor, utcnow()
            after = _snapshot(row)
            if "reason" in changes and changes["reason"]:
                after["reason"] = changes["reason"][:2000]
            audit_log.record(s, actor, action, f"proposal:{proposal_id}", before, after)
        return row

    async def _push(self, actor: str) -> str | None:
        if not self.remote:
            return None
        try:
            await self.repo.push(self.remote)
        except OSRepoError as exc:
            log.warning("push of the OS to its remote failed: %s", exc)
            async with self.db.session() as s:
                audit_log.record(s, actor, "os.push_failed", "os:remote", None, {"error": str(exc)[:500]})
            return str(exc)
        return None


def _key(p: OSProposal) -> tuple[str, str, str | None, str]:
    return (p.path, p.action, p.section, p.content)


def _verb(action: str) -> str:
    return {"create": "Create", "append": "Append to", "update_section": "Update a section of"}.get(
        action, "Change"
    )


def _why_not(p: OSProposal, verb: str) -> str:
    if p.status == "invalid":
        return f"This change was refused ({p.reason}); it cannot be {verb}."
    if p.status == "conflicted" and verb == "approved":
        return "This change conflicts with the OS as it is now; use Edit to resolve it first."
    return f"This change is already {p.status}; it cannot be {verb}."


__all__ = ["ApprovedAll", "Decided", "HistoryEntry", "ProposalService", "Reverted", "NOT_APPROVER"]
