"""Privacy: redaction at the analysis boundary, retention, erasure (`forget`) and export.

- `PrivateAnalysis` wraps the pipeline's analyze function: the analyzer gets a redacted copy of the
  meeting, the analysis it returns has the originals put back, and the meeting's redaction record
  keeps counts by kind (never values).
- `purge_expired` applies `retention:` of `fathom-os.yml`: transcripts (from the stored meeting,
  its raw webhook body and the search index) and raw webhook bodies older than the limits.
- `forget` removes or anonymises one person everywhere this bot stores them and proposes OS edits
  through the normal approval; `export` gathers everything stored about them (subject access).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Text, bindparam, cast, func, or_, select, text, update

from services import audit_log
from services.analysis.schema import AnalysisOutcome, OSUpdate
from services.clock import utcnow
from services.db import Database
from services.errors import NotAllowed
from services.fathom import FathomMeeting
from services.models import (
    ActionItem,
    AuditLog,
    Decision,
    ErasureRecord,
    Meeting,
    OSProposal,
    Person,
    RedactionRecord,
    WebhookDelivery,
)
from services.os_config import OSConfig
from services.redaction import Policy, Redactor, policy_from_config, redact_meeting

log = logging.getLogger(__name__)

REMOVED = "[removed]"
PUBLISH_JOB = "proposals.publish"  # an erasure's approval card, posted by services/slack/privacy.py
BATCH = 200  # rows per write transaction: short transactions, SQLite's writer is never held long
ROWS_PER_MEETING = 100_000  # services.search: SQLite rowid = meeting_id * this + n


class AnalyzeFn(Protocol):
    async def __call__(self, meeting: FathomMeeting, *, os_context: str = "") -> AnalysisOutcome: ...


# -- redaction at the analysis boundary -------------------------------------------------------


def meeting_policy(config: OSConfig, meeting: FathomMeeting) -> Policy:
    """The mode for this meeting: a client rule (by external domain), then a type rule, then the default."""
    privacy = config.privacy
    slug = next(
        (c.slug for d in meeting.external_domains if (c := config.client_for_domain(d)) is not None), None
    )
    meeting_type = None
    if privacy.meeting_types and not (slug and slug in privacy.clients):
        from services.analysis.heuristic import classify  # the type is not known before analysis

        types = classify(meeting)
        meeting_type = types[0].type if types else None
    known = [m.name for m in config.team]
    return policy_from_config(privacy, privacy.mode_for(slug, meeting_type), known)


class PrivateAnalysis:
    """The one boundary between stored meetings and the analyzer (Claude or the heuristic)."""

    def __init__(self, analyze: AnalyzeFn, db: Database, config: Callable[[], OSConfig]) -> None:
        self.analyze = analyze
        self.db = db
        self.config = config

    async def __call__(self, meeting: FathomMeeting, *, os_context: str = "") -> AnalysisOutcome:
        policy = meeting_policy(self.config(), meeting)
        redactor = Redactor(policy)
        # the OS first, configured terms/patterns only (any mode): same OS, same prefix, and a code
        # name gets the same placeholder in the OS and in the meeting
        os_context = redactor.redact_configured(os_context)
        redactor.counts.clear()  # the record counts what was redacted from the meeting
        redacted, redactor = redact_meeting(meeting, policy, redactor)
        outcome = await self.analyze(redacted, os_context=os_context)
        restored = outcome.model_copy(update={"analysis": redactor.restore_model(outcome.analysis)})
        await record_redaction(self.db, meeting.recording_id, "analysis", redactor)
        return restored


class AuditPrivacy:
    """The same boundary for audit extraction (/os-audit): the meeting's mode, and a record."""

    def __init__(self, db: Database, config: Callable[[], OSConfig]) -> None:
        self.db = db
        self.config = config

    def policy_for(self, meeting: FathomMeeting) -> Policy:
        return meeting_policy(self.config(), meeting)

    async def recorded(self, recording_id: int, redactor: Redactor) -> None:
        await record_redaction(self.db, recording_id, "audit", redactor)


async def record_redaction(db: Database, recording_id: int, purpose: str, redactor: Redactor) -> None:
    """Counts by kind for the meeting (one row per purpose, replaced on re-analysis)."""
    async with db.session() as s:
        meeting_id = await s.scalar(select(Meeting.id).where(Meeting.recording_id == recording_id))
        if meeting_id is None:  # analysed without being stored (CLI analyze)
            return
        row = await s.scalar(
            select(RedactionRecord).where(
                RedactionRecord.meeting_id == meeting_id, RedactionRecord.purpose == purpose
            )
        )
        if row is None:
            row = RedactionRecord(meeting_id=meeting_id, purpose=purpose)
            s.add(row)
        row.mode, row.counts, row.at = redactor.mode, redactor.summary(), utcnow()


async def redaction_counts(db: Database, meeting_id: int) -> dict[str, dict[str, Any]]:
    async with db.session() as s:
        rows = await s.scalars(select(RedactionRecord).where(RedactionRecord.meeting_id == meeting_id))
        return {r.purpose: {"mode": r.mode, "counts": dict(r.counts)} for r in rows}


# -- retention ----------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    dry_run: bool
    transcripts: int = 0  # meetings whose transcript was (or would be) purged
    passages: int = 0  # transcript passages removed from the search index
    webhook_bodies: int = 0
    transcripts_before: datetime | None = None
    bodies_before: datetime | None = None

    def lines(self) -> list[str]:
        verb = "would purge" if self.dry_run else "purged"
        out = []
        if self.transcripts_before is None:
            out.append("transcripts: kept forever (retention.transcripts_days not set)")
        else:
            out.append(
                f"transcripts: {verb} {self.transcripts} (meetings before {self.transcripts_before:%Y-%m-%d})"
            )
        if self.bodies_before is None:
            out.append("raw webhook bodies: kept forever (retention.webhook_bodies_days not set)")
        else:
            out.append(
                f"raw webhook bodies: {verb} {self.webhook_bodies} (received before {self.bodies_before:%Y-%m-%d})"
            )
        return out


async def purge_expired(
    db: Database, config: OSConfig, *, now: datetime | None = None, dry_run: bool = False
) -> RetentionReport:
    """Transcripts older than `retention.transcripts_days` leave the meeting, its raw webhook body
    and the search index (so search and Q&A no longer find them); analysis and items stay. Raw
    webhook bodies older than `retention.webhook_bodies_days` are emptied (the delivery row stays,
    so a duplicate delivery is still recognised)."""
    now = now or utcnow()
    keep = config.retention
    report = RetentionReport(dry_run=dry_run)
    if keep.transcripts_days is not None:
        report.transcripts_before = now - timedelta(days=keep.transcripts_days)
        await _purge_transcripts(db, report, report.transcripts_before, now)
    if keep.webhook_bodies_days is not None:
        report.bodies_before = now - timedelta(days=keep.webhook_bodies_days)
        await _purge_bodies(db, report, report.bodies_before)
    if not dry_run and (report.transcripts or report.webhook_bodies):
        log.info(
            "retention: purged %d transcripts (%d search passages), %d raw webhook bodies",
            report.transcripts,
            report.passages,
            report.webhook_bodies,
        )
    return report


async def _purge_transcripts(db: Database, report: RetentionReport, before: datetime, now: datetime) -> None:
    expired = (
        Meeting.transcript_purged_at.is_(None),
        func.coalesce(Meeting.started_at, Meeting.created_at) < before,
    )
    if report.dry_run:
        async with db.session() as s:
            report.transcripts = int(await s.scalar(select(func.count(Meeting.id)).where(*expired)) or 0)
        return
    last_id = 0
    while True:
        async with db.session() as s:
            rows = list(
                (
                    await s.scalars(
                        select(Meeting)
                        .where(*expired, Meeting.id > last_id)
                        .order_by(Meeting.id)
                        .limit(BATCH)
                    )
                ).all()
            )
            if not rows:
                return
            last_id = rows[-1].id
            for m in rows:
                if (m.payload or {}).get("transcript"):
                    m.payload = {**m.payload, "transcript": None}
                m.transcript_purged_at = now
            ids = [m.id for m in rows]
            report.passages += await _drop_line_passages(db, s, ids)
            await _strip_delivery_transcripts(s, [m.recording_id for m in rows])
            report.transcripts += len(rows)


async def _drop_line_passages(db: Database, s: Any, ids: list[int]) -> int:
    if db.is_sqlite:
        # one executemany round trip; rowid ranges keep each delete off a scan of the whole index
        stmt = text("DELETE FROM search_fts WHERE rowid BETWEEN :lo AND :hi AND kind = 'line'")
        params = [{"lo": i * ROWS_PER_MEETING, "hi": (i + 1) * ROWS_PER_MEETING - 1} for i in ids]
        # counted in one query too (BATCH stays below SQLite's 500 compound-select limit)
        counts = " UNION ALL ".join(
            f"SELECT COUNT(*) AS c FROM search_fts WHERE rowid BETWEEN {int(p['lo'])} AND {int(p['hi'])}"
            " AND kind = 'line'"
            for p in params
        )
        found = int((await s.execute(text(f"SELECT SUM(c) FROM ({counts})"))).scalar() or 0)  # noqa: S608
        await s.execute(stmt, params)
        return found
    stmt = text("DELETE FROM search_passages WHERE kind = 'line' AND meeting_id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    return int((await s.execute(stmt, {"ids": ids})).rowcount or 0)


async def _strip_delivery_transcripts(s: Any, recording_ids: list[int]) -> None:
    """The raw body is a copy of the payload: a purged transcript must not survive there."""
    deliveries = await s.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.recording_id.in_(recording_ids), func.length(WebhookDelivery.body) > 0
        )
    )
    for d in deliveries:
        try:
            data = json.loads(d.body)
        except ValueError:
            d.body = b""
            continue
        if isinstance(data, dict) and data.get("transcript"):
            data["transcript"] = None
            d.body = json.dumps(data).encode()


async def _purge_bodies(db: Database, report: RetentionReport, before: datetime) -> None:
    expired = (WebhookDelivery.received_at < before, func.length(WebhookDelivery.body) > 0)
    async with db.session() as s:
        if report.dry_run:
            report.webhook_bodies = int(
                await s.scalar(select(func.count(WebhookDelivery.id)).where(*expired)) or 0
            )
            return
        result = await s.execute(update(WebhookDelivery).where(*expired).values(body=b""))
        report.webhook_bodies = int(getattr(result, "rowcount", 0) or 0)


# -- erasure and export -----------------------------------------------------------------------


@dataclass
class Subject:
    """The person as this bot knows them: e-mail, names seen, Slack id."""

    email: str
    names: set[str] = field(default_factory=set)
    slack_id: str | None = None
    # lone first names ("with Tom"), only when no other known person shares them: replaced in the
    # text of what is scrubbed, never used to find rows or OS lines (too many false hits)
    first_names: set[str] = field(default_factory=set)

    def mentions(self, value: str) -> bool:
        low = value.lower()
        return (
            self.email in low
            or any(n.lower() in low for n in self.names)
            or bool(self.slack_id and self.slack_id in value)
        )

    def scrub(self, value: str) -> str:
        out = re.sub(re.escape(self.email), REMOVED, value, flags=re.I)
        for name in sorted(self.names, key=len, reverse=True):
            out = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", REMOVED, out, flags=re.I)
        for first in self.first_names:  # case-sensitive: "Tom", not "tom" in a URL or word
            out = re.sub(rf"(?<![\w@.]){re.escape(first)}(?![\w@])", REMOVED, out)
        if self.slack_id:
            out = out.replace(self.slack_id, REMOVED)
        return out

    def scrub_data(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, dict):
            return {k: self.scrub_data(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.scrub_data(v) for v in data]
        return data


def _is(value: Any, email: str) -> bool:
    return isinstance(value, str) and value.strip().lower() == email


def scrub_payload(payload: dict[str, Any], who: Subject) -> tuple[dict[str, Any], int]:
    """A Fathom payload without the person: their attendee entry anonymised, their turns
    "[removed]", their e-mail and names replaced wherever else they appear. Returns (payload, turns)."""
    data = json.loads(json.dumps(payload))
    for inv in data.get("calendar_invitees") or []:
        if _is(inv.get("email"), who.email):
            inv.update(name=REMOVED, email=None, matched_speaker_display_name=None)
    turns = 0
    for line in data.get("transcript") or []:
        speaker = line.get("speaker") or {}
        if _is(speaker.get("matched_calendar_invitee_email"), who.email) or (
            speaker.get("display_name") in who.names
        ):
            line["text"] = REMOVED
            line["speaker"] = {"display_name": REMOVED, "matched_calendar_invitee_email": None}
            turns += 1
    if _is((data.get("recorded_by") or {}).get("email"), who.email):
        data["recorded_by"] = {**data["recorded_by"], "name": None, "email": None}
    for item in data.get("action_items") or []:
        if _is((item.get("assignee") or {}).get("email"), who.email):
            item["assignee"] = None
    crm = data.get("crm_matches") or {}
    if crm.get("contacts"):
        crm["contacts"] = [c for c in crm["contacts"] if not _is(c.get("email"), who.email)]
    return who.scrub_data(data), turns


def scrub_analysis(analysis: dict[str, Any], who: Subject) -> dict[str, Any]:
    data = json.loads(json.dumps(analysis))
    for item in data.get("action_items") or []:
        if _is(item.get("owner_email"), who.email) or item.get("owner_name") in who.names:
            item["owner_email"] = item["owner_name"] = None
    data["stakeholders"] = [
        s
        for s in data.get("stakeholders") or []
        if not (_is(s.get("email"), who.email) or s.get("name") in who.names)
    ]
    return who.scrub_data(data)  # type: ignore[no-any-return]


@dataclass
class ErasureReport:
    dry_run: bool
    counts: Counter[str] = field(default_factory=Counter)
    proposals: list[int] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)  # OS files that need an edit by hand
    record_id: int | None = None
    origin: str | None = None  # the proposals' origin (`erasure-<time>`), when any were added

    def lines(self) -> list[str]:
        verb = "would change" if self.dry_run else "changed"
        out = [
            f"{verb}: " + (", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "nothing stored")
        ]
        if self.proposals:
            out.append(f"OS edits proposed for approval: {', '.join(f'#{p}' for p in self.proposals)}")
        for path in self.manual:
            out.append(f"OS file to edit by hand (mention outside a section): {path}")
        out.append(
            "Git history of the OS keeps earlier versions of its files. If the person's data must leave"
            " it too, an operator rewrites history (e.g. `git filter-repo --replace-text`) and"
            " force-pushes every clone and OS_REMOTE."
        )
        return out


class Proposer(Protocol):
    async def propose(
        self, meeting_id: int, updates: Any, actor: str, *, origin: str
    ) -> tuple[list[OSProposal], list[OSProposal]]: ...


async def find_subject(db: Database, email: str, config: OSConfig | None = None) -> Subject:
    email = email.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ValueError(f"not an e-mail address: {email!r}")
    who = Subject(email)
    met: list[str] = []  # names of the others in the person's meetings
    async with db.session() as s:
        person = await s.scalar(select(Person).where(func.lower(Person.email) == email))
        if person is not None:
            who.slack_id = person.slack_user_id
            if person.name:
                who.names.add(person.name)
        for meeting in await _meetings_with(s, email):
            fathom = meeting.fathom()
            for inv in fathom.calendar_invitees:
                names = [n for n in (inv.name, inv.matched_speaker_display_name) if n]
                (who.names.update if _is(inv.email, email) else met.extend)(names)
            for t in fathom.transcript or []:
                if _is(t.speaker.matched_calendar_invitee_email, email):
                    who.names.add(t.speaker.display_name)
                else:
                    met.append(t.speaker.display_name)
        owner_names = await s.scalars(
            select(ActionItem.owner_name).where(func.lower(ActionItem.owner_email) == email).distinct()
        )
        who.names.update(n for n in owner_names if n)
    member = config.member(email) if config else None
    if member:
        who.names.add(member.name)
        who.slack_id = who.slack_id or member.slack_user_id
    who.names = {n for n in who.names if len(n.strip()) > 2 and n not in (REMOVED, "Unknown")}
    met = [n for n in met if n not in who.names and n not in (REMOVED, "Unknown")]
    who.first_names = await _unambiguous_first_names(db, who, config, met)
    return who


async def known_names(db: Database, config: OSConfig | None = None) -> dict[str, set[str]]:
    """Every person this bot knows by name, keyed by e-mail: people and the team of `fathom-os.yml`."""
    known: dict[str, set[str]] = {}
    async with db.read_session() as s:
        for email, name in await s.execute(select(Person.email, Person.name)):
            if email and name:
                known.setdefault(email.lower(), set()).add(name)
    for m in config.team if config else []:
        known.setdefault(m.email, set()).add(m.name)
    return known


async def _unambiguous_first_names(
    db: Database, who: Subject, config: OSConfig | None, met: list[str]
) -> set[str]:
    """The first word of each full name of the person, unless another known person (people, the
    team, anyone else in the person's meetings: `met`) has the same first name: then "Tom" could
    be either, and stays."""
    firsts = {n.split()[0] for n in who.names if len(n.split()) > 1 and len(n.split()[0]) > 2}
    firsts = {f for f in firsts if f[0].isupper() and f.isalpha()}
    if not firsts:
        return set()
    others = {
        name.split()[0].lower()
        for email, names in (await known_names(db, config)).items()
        if email != who.email
        for name in names
        if name.split()
    } | {name.split()[0].lower() for name in met if name.split()}
    return {f for f in firsts if f.lower() not in others}


async def _meetings_with(s: Any, email: str) -> list[Meeting]:
    return list(
        (await s.scalars(select(Meeting).where(cast(Meeting.payload, Text).ilike(f"%{email}%")))).all()
    )


async def forget(
    db: Database,
    email: str,
    *,
    actor: str = "cli",
    config: OSConfig | None = None,
    os_repo: Any = None,
    proposals: Proposer | None = None,
    reindex: Callable[[int], Any] | None = None,
    dry_run: bool = False,
    queue: Any = None,
) -> ErasureReport:
    """`queue` (services.jobs.JobQueue): the proposed OS edits get a `proposals.publish` job, which
    the running bot's worker turns into an approval card (durable: a CLI run while the bot is down
    is posted when it starts)."""
    who = await find_subject(db, email, config)
    report = ErasureReport(dry_run=dry_run)
    touched: list[int] = []
    async with db.session() as s:
        for meeting in await _meetings_with(s, who.email):
            payload, turns = scrub_payload(meeting.payload or {}, who)
            report.counts["meetings"] += 1
            report.counts["transcript turns"] += turns
            touched.append(meeting.id)
            if not dry_run:
                meeting.payload = payload
                meeting.title = who.scrub(meeting.title)[:500]
                if meeting.analysis:
                    meeting.analysis = scrub_analysis(meeting.analysis, who)
            for d in await s.scalars(
                select(WebhookDelivery).where(WebhookDelivery.recording_id == meeting.recording_id)
            ):
                report.counts["raw webhook bodies"] += 1
                if not dry_run:
                    try:
                        d.body = json.dumps(scrub_payload(json.loads(d.body), who)[0]).encode()
                    except (ValueError, AttributeError, TypeError):
                        d.body = b""
        await _forget_items(s, who, report, dry_run)
        await _forget_audit(s, who, report, dry_run)
        person = await s.scalar(select(Person).where(func.lower(Person.email) == who.email))
        if person is not None:
            report.counts["people"] += 1
            if not dry_run:
                await s.delete(person)
        if not dry_run:
            await s.execute(text("DELETE FROM search_attendees WHERE email = :e"), {"e": who.email})
    if os_repo is not None:
        await _propose_os_edits(who, report, os_repo, proposals, actor, dry_run)
    if dry_run:
        return report
    if queue is not None and report.origin:
        await queue.submit(PUBLISH_JOB, {"origin": report.origin}, key=f"{PUBLISH_JOB}:{report.origin}")
    if reindex is not None:
        for meeting_id in touched:
            await reindex(meeting_id)
    async with db.session() as s:
        record = ErasureRecord(actor=actor[:64], counts={k: v for k, v in sorted(report.counts.items())})
        s.add(record)
        await s.flush()
        report.record_id = record.id
        audit_log.record(s, actor, "person.erased", f"erasure:{record.id}", None, dict(record.counts))
    log.info("erasure %s: %s", report.record_id, dict(report.counts))
    return report


async def _forget_items(s: Any, who: Subject, report: ErasureReport, dry_run: bool) -> None:
    owner = or_(
        func.lower(ActionItem.owner_email) == who.email, ActionItem.owner_name.in_(sorted(who.names) or [""])
    )
    name_like = [ActionItem.text.ilike(f"%{n}%") for n in who.names | who.first_names] + [
        ActionItem.text.ilike(f"%{who.email}%")
    ]
    for item in await s.scalars(select(ActionItem).where(or_(owner, *name_like))):
        owned = _is(item.owner_email, who.email) or item.owner_name in who.names
        scrubbed = who.scrub(item.text)  # kept unless it names them
        if not owned and scrubbed == item.text:
            continue  # "Tomorrow" matched "%Tom%"
        report.counts["action items"] += 1
        if dry_run:
            continue
        if owned:
            item.owner_email = item.owner_name = item.owner_slack_id = None
        item.text = scrubbed
        item.version += 1
    mentions = [Decision.what.ilike(f"%{n}%") for n in who.names]
    for decision in await s.scalars(
        select(Decision).where(or_(Decision.owner.in_(sorted(who.names) or [""]), *mentions))
    ):
        report.counts["decisions"] += 1
        if not dry_run:
            decision.owner = None if decision.owner in who.names else decision.owner
            decision.what = who.scrub(decision.what)
            decision.why = who.scrub(decision.why) if decision.why else None


def _audit_mentions(who: Subject) -> ColumnElement[bool]:
    """Audit entries by the person (Slack id) or whose details name them."""
    needles = [who.email, *who.names] + ([who.slack_id] if who.slack_id else [])
    conditions: list[ColumnElement[bool]] = [cast(AuditLog.before, Text).ilike(f"%{n}%") for n in needles]
    conditions += [cast(AuditLog.after, Text).ilike(f"%{n}%") for n in needles]
    if who.slack_id:
        conditions.append(AuditLog.actor == who.slack_id)
    return or_(*conditions)


async def _forget_audit(s: Any, who: Subject, report: ErasureReport, dry_run: bool) -> None:
    for entry in await s.scalars(select(AuditLog).where(_audit_mentions(who))):
        report.counts["audit log entries"] += 1
        if not dry_run:
            entry.before = who.scrub_data(entry.before) if entry.before else entry.before
            entry.after = who.scrub_data(entry.after) if entry.after else entry.after
            if entry.actor == who.slack_id:
                entry.actor = REMOVED


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_TEXT_FILES = (".md", ".markdown", ".txt", ".yml", ".yaml")


def os_edits(path: str, content: str, who: Subject) -> tuple[list[OSUpdate], bool]:
    """Section updates that drop the lines naming the person; True when a mention is outside any
    section (or in a heading, or in a non-markdown file) and needs a person to edit it."""
    lines = content.splitlines()
    hits = [i for i, line in enumerate(lines) if who.mentions(line)]
    if not hits:
        return [], False
    if not path.endswith((".md", ".markdown")):
        return [], True
    heads = [(i, len(m.group(1)), m.group(2)) for i, line in enumerate(lines) if (m := _HEADING.match(line))]
    manual = False
    chosen: dict[int, tuple[int, int, str]] = {}
    for hit in hits:
        owner = next((h for h in reversed(heads) if h[0] < hit), None)
        if owner is None or any(h[0] == hit for h in heads):
            manual = True
            continue
        chosen[owner[0]] = owner
    updates: list[OSUpdate] = []
    covered: list[tuple[int, int]] = []
    for idx, level, title in sorted(chosen.values()):
        end = next((j for j, lvl, _ in heads if j > idx and lvl <= level), len(lines))
        if any(a < idx < b for a, b in covered):
            continue  # an enclosing section already rewrites this one
        covered.append((idx, end))
        body = [line for line in lines[idx + 1 : end] if not who.mentions(line)]
        updates.append(
            OSUpdate(
                path=path,
                action="update_section",
                section="#" * level + " " + title,
                content="\n".join(body).strip("\n") or "_(removed at the person's request)_",
                reason="erasure request: remove a person's personal data",
            )
        )
    return updates, manual


async def _propose_os_edits(
    who: Subject, report: ErasureReport, os_repo: Any, proposals: Proposer | None, actor: str, dry_run: bool
) -> None:
    updates: list[OSUpdate] = []
    for path in await os_repo.list_files():
        if not path.endswith(_TEXT_FILES):
            continue
        content, _ = await os_repo.read(path)
        if not content:
            continue
        found, manual = os_edits(path, content, who)
        updates += found
        if manual:
            report.manual.append(path)
    report.counts["OS sections"] += len(updates)
    if dry_run or not updates or proposals is None:
        return
    origin = f"erasure-{secrets.token_hex(6)}"  # 20 characters; two erasures never share one
    _, added = await proposals.propose(None, updates, actor, origin=origin)  # type: ignore[arg-type]
    report.proposals = [p.id for p in added]
    report.origin = origin if added else None


async def export(
    db: Database, email: str, *, config: OSConfig | None = None, os_repo: Any = None
) -> dict[str, Any]:
    """Everything stored about the person, as JSON-ready data (subject access request)."""
    who = await find_subject(db, email, config)
    out: dict[str, Any] = {"email": who.email, "names": sorted(who.names), "slack_user_id": who.slack_id}
    async with db.session() as s:
        person = await s.scalar(select(Person).where(func.lower(Person.email) == who.email))
        out["person"] = (
            {
                "email": person.email,
                "name": person.name,
                "slack_user_id": person.slack_user_id,
                "tz": person.tz,
                "is_external": person.is_external,
            }
            if person
            else None
        )
        meetings = []
        for m in await _meetings_with(s, who.email):
            fathom = m.fathom()
            meetings.append(
                {
                    "meeting_id": m.id,
                    "recording_id": m.recording_id,
                    "title": m.title,
                    "started_at": m.started_at.isoformat() if m.started_at else None,
                    "url": m.url,
                    "attendee": [
                        i.model_dump(mode="json") for i in fathom.calendar_invitees if _is(i.email, who.email)
                    ],
                    "transcript_turns": [
                        {"timestamp": t.timestamp, "speaker": t.speaker.display_name, "text": t.text}
                        for t in fathom.transcript or []
                        if _is(t.speaker.matched_calendar_invitee_email, who.email)
                        or t.speaker.display_name in who.names
                    ],
                    "transcript_purged": m.transcript_purged_at is not None,
                }
            )
        out["meetings"] = meetings
        owner = or_(
            func.lower(ActionItem.owner_email) == who.email,
            ActionItem.owner_name.in_(sorted(who.names) or [""]),
        )
        out["action_items"] = [
            {
                "id": i.id,
                "meeting_id": i.meeting_id,
                "text": i.text,
                "owner_name": i.owner_name,
                "owner_email": i.owner_email,
                "due_date": i.due_date.isoformat() if i.due_date else None,
                "status": i.status,
            }
            for i in await s.scalars(select(ActionItem).where(owner).order_by(ActionItem.id))
        ]
        out["decisions"] = [
            {"id": d.id, "meeting_id": d.meeting_id, "what": d.what, "owner": d.owner}
            for d in await s.scalars(select(Decision).where(Decision.owner.in_(sorted(who.names) or [""])))
        ]
        out["audit_log"] = [
            {
                "at": a.at.isoformat(),
                "actor": a.actor,
                "action": a.action,
                "entity": a.entity,
                "before": a.before,
                "after": a.after,
            }
            for a in await s.scalars(select(AuditLog).where(_audit_mentions(who)).order_by(AuditLog.id))
        ]
    files = []
    if os_repo is not None:
        for path in await os_repo.list_files():
            if path.endswith(_TEXT_FILES):
                content, _ = await os_repo.read(path)
                found = [line for line in (content or "").splitlines() if who.mentions(line)]
                if found:
                    files.append({"path": path, "lines": found})
    out["os_files"] = files
    return out


class PrivacyService:
    """Erasure from Slack (the admin-only Home action): who may, the dry run, the erasure itself,
    and the erasure's pending OS edits for its approval card."""

    def __init__(
        self,
        db: Database,
        config: Callable[[], OSConfig],
        *,
        os_repo: Any = None,
        proposals: Proposer | None = None,
        queue: Any = None,
        reindex: Callable[[int], Any] | None = None,
        email_for: Callable[[str], Any] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.os_repo = os_repo
        self.proposals = proposals
        self.queue = queue
        self.reindex = reindex
        self.email_for = email_for  # Slack user id -> e-mail (services.people.People.email_for)

    async def ensure_admin(self, user_id: str) -> None:
        """Only admins of `fathom-os.yml` (by Slack id or e-mail) may erase a person."""
        config = self.config()
        if config.is_admin(user_id):
            return
        email = await self.email_for(user_id) if self.email_for else None
        if not (email and config.is_admin(email)):
            raise NotAllowed("Only admins listed in fathom-os.yml can erase a person's data.")

    async def _forget(self, user_id: str, email: str, *, dry_run: bool) -> ErasureReport:
        await self.ensure_admin(user_id)
        return await forget(
            self.db,
            email,
            actor=user_id,
            config=self.config(),
            os_repo=self.os_repo,
            proposals=self.proposals,
            reindex=self.reindex,
            dry_run=dry_run,
            queue=self.queue,
        )

    async def preview(self, user_id: str, email: str) -> ErasureReport:
        """What an erasure would change (nothing is written)."""
        return await self._forget(user_id, email, dry_run=True)

    async def erase(self, user_id: str, email: str) -> ErasureReport:
        """The erasure, recorded (erasure record, `person.erased` in the audit log by `user_id`)."""
        return await self._forget(user_id, email, dry_run=False)

    async def pending(self, origin: str) -> list[OSProposal]:
        """An erasure's OS edits, for its approval card."""
        async with self.db.read_session() as s:
            rows = await s.scalars(
                select(OSProposal)
                .where(OSProposal.origin == origin, OSProposal.meeting_id.is_(None))
                .order_by(OSProposal.id)
            )
            return list(rows.all())

    def approvers(self) -> list[str]:
        return list(self.config().approvers)


# -- compliance report ------------------------------------------------------------------------


def privacy_settings(config: OSConfig) -> dict[str, Any]:
    """The current settings as the compliance report shows them (no personal data)."""
    p, r = config.privacy, config.retention
    return {
        "mode": p.mode,
        "clients": dict(p.clients),
        "meeting_types": dict(p.meeting_types),
        "patterns": [x.kind for x in p.patterns],
        "terms": len(p.terms),
        "phone_region": p.phone_region,
        "transcripts_days": r.transcripts_days,
        "webhook_bodies_days": r.webhook_bodies_days,
    }


__all__ = [
    "PUBLISH_JOB",
    "AuditPrivacy",
    "ErasureReport",
    "PrivacyService",
    "PrivateAnalysis",
    "RetentionReport",
    "export",
    "forget",
    "meeting_policy",
    "privacy_settings",
    "purge_expired",
    "record_redaction",
    "scrub_payload",
]


def qa_policy(config: Callable[[], OSConfig]) -> Policy:
    """Q&A passages come from many meetings: the default mode of `privacy:` applies."""
    return policy_from_config(config().privacy, known_people=[m.name for m in config().team])
