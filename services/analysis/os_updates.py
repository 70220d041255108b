"""The standard OS updates of a meeting, built in code from the structured analysis.

Both analyzers end here, so what an approver sees does not depend on how a model phrased its
output: one meeting note, one line in the client's log, decision-log entries only for decisions
actually made, team-page entries only for people who took something on, roadmap lines only for
explicit ideas. Every link is written relative to the file it sits in, so it resolves when the OS
is browsed on GitHub or in an editor. The model may add only targeted section changes to files
that already exist (`targeted_updates`), each with its reason.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.analysis.schema import ActionItemOut, DecisionOut, MeetingAnalysis, Mention, OSUpdate
from services.fathom import FathomMeeting, Invitee
from services.os_paths import slugify

CLIENT_TYPES = ("client", "ai_audit", "discovery", "sales")
DECISION_LOG = "decisions/log.md"
ROADMAP = "roadmap.md"
ROADMAP_SECTION = "Later"  # ideas from a meeting are not yet planned: they wait in "Later"
Action = Literal["create", "append", "update_section"]
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")


@dataclass(frozen=True)
class _Ctx:
    meeting: FathomMeeting
    analysis: MeetingAnalysis
    day: date
    note: str  # path of the meeting note
    os_files: Collection[str] | None  # paths tracked in the OS; None when unknown

    def exists(self, path: str) -> bool:
        """Unknown OS (no listing given): assume it exists, so the change is an append."""
        return self.os_files is None or path in self.os_files


def note_path(meeting: FathomMeeting, day: date) -> str:
    return f"meetings/{day:%Y}/{day:%m}/{day.isoformat()}-{slugify(meeting.title)}.md"


def client_slug(meeting: FathomMeeting) -> str | None:
    """brightline-dental.example -> brightline-dental (the external domain's first label)."""
    domains = meeting.external_domains
    return slugify(domains[0].split(".")[0]) if domains else None


def relative_link(text: str, target: str, written_in: str) -> str:
    """A markdown link to `target` (a path from the OS root) from the file `written_in`."""
    href = posixpath.relpath(target, posixpath.dirname(written_in) or ".")
    label = " ".join(text.split()).replace("[", "(").replace("]", ")") or target
    return f"[{label}]({href})"


def has_something_to_say(meeting: FathomMeeting, analysis: MeetingAnalysis) -> bool:
    """False for a meeting with no transcript, no Fathom summary and nothing found: an empty
    recording gets no approval request at all (a note saying only who was invited is noise)."""
    a = analysis
    found = (
        a.action_items,
        a.decisions,
        a.risks,
        a.requirements,
        a.budget,
        a.timeline,
        a.roadmap_ideas,
        meeting.action_items or [],
    )
    return bool(meeting.transcript) or bool(meeting.summary_markdown.strip()) or any(found)


def standard_updates(
    meeting: FathomMeeting,
    analysis: MeetingAnalysis,
    day: date,
    *,
    os_files: Collection[str] | None = None,
    roadmap: str | None = None,
    current: Mapping[str, str] | None = None,
) -> list[OSUpdate]:
    """The meeting's standard updates. `os_files` (paths at HEAD) decides create vs append for
    per-person and per-client files; `roadmap` (the current roadmap.md) lets ideas land in its
    "Later" section instead of after "Done"; `current` (texts of decisions/log.md and coaching/*.md)
    lets a decision that revisits an earlier one supersede it and a coaching entry report progress
    on earlier commitments. Without them the result is still valid."""
    if not has_something_to_say(meeting, analysis):
        return []
    ctx = _Ctx(meeting, analysis, day, note_path(meeting, day), os_files)
    kinds = {t.type for t in analysis.types if t.confidence >= 0.5} | {analysis.primary_type}
    slug = client_slug(meeting) if kinds & set(CLIENT_TYPES) else None
    updates = [_meeting_note(ctx, slug)]
    if slug:
        updates.append(_client_log(ctx, slug))
        updates.append(_client_status(ctx, slug, (current or {}).get(status_path(slug))))
    if slug or "networking" in kinds:
        updates += _contacts_index(ctx, slug, (current or {}).get(CONTACTS))
    updates += _team_pages(ctx)
    if "coaching" in kinds:
        updates += _coaching(ctx, current or {})
    if "networking" in kinds:
        updates += _contacts(ctx)
    made = [d for d in analysis.decisions if d.status == "made" and d.what.strip()]
    if made:
        updates += _decision_log(ctx, made, (current or {}).get(DECISION_LOG), slug)
    ideas = [m for m in analysis.roadmap_ideas if m.text.strip()]
    if ideas:
        updates.append(_roadmap(ctx, ideas, roadmap))
    return updates


def targeted_updates(analysis: MeetingAnalysis, standard: Iterable[OSUpdate]) -> list[OSUpdate]:
    """The model's own proposals worth reviewing: section updates only, never to a file the
    standard updates already write (the note, the logs). Whether the path is allowed and exists
    is checked against the repository by the caller."""
    taken = {u.path for u in standard}
    return [
        u
        for u in analysis.os_updates
        if u.action == "update_section"
        and (u.section or "").strip().lstrip("#").strip()
        and u.content.strip()
        and u.path not in taken
    ]


# -- the files ----------------------------------------------------------------------------------


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _at(timestamp: str | None) -> str:
    return f" ({timestamp})" if timestamp else ""


def _item_line(a: ActionItemOut) -> str:
    owner = a.owner_name or a.owner_email or "unassigned"
    due = f" — due {a.due_date.isoformat()}" if a.due_date else ""
    return f"- [ ] {_one_line(owner, 80)} — {_one_line(a.text, 400)}{due}{_at(a.source_timestamp)}"


def _decision_line(d: DecisionOut) -> str:
    mark = {"made": "", "tentative": "_tentative:_ ", "recap": "_recap of an earlier meeting:_ "}[d.status]
    owner = f" — {_one_line(d.owner, 80)}" if d.owner else ""
    return f"- {mark}{_one_line(d.what, 400)}{owner}{_at(d.source_timestamp)}"


def _demoted(markdown: str) -> str:
    """The summary under the note's own headings: no second title (`#`) or sibling `##`."""
    out: list[str] = []
    for line in markdown.strip().splitlines():
        m = _HEADING.match(line)
        if not out and m and m.group(2).strip().casefold() == "summary":
            continue  # Fathom's own "## Summary" right under ours
        out.append(f"### {m.group(2)}" if m and len(m.group(1)) < 3 else line)
    return "\n".join(out)


def _mentions(title: str, items: list[Mention]) -> str:
    if not items:
        return ""
    lines = "\n".join(f"- {_one_line(m.text, 400)}{_at(m.source_timestamp)}" for m in items)
    return f"\n## {title}\n\n{lines}\n"


def _meeting_note(ctx: _Ctx, slug: str | None) -> OSUpdate:
    m, a = ctx.meeting, ctx.analysis
    attendees = ", ".join(i.name or i.email or "Unknown" for i in m.calendar_invitees) or "not listed"
    meta = [
        f"- **Type:** {a.primary_type.replace('_', ' ')}",
        f"- **Attendees:** {_one_line(attendees, 600)}",
    ]
    if slug:
        meta.append(f"- **Client:** {relative_link(slug, f'clients/{slug}/log.md', ctx.note)}")
    if m.share_url or m.url:
        meta.append(f"- **Recording:** {m.share_url or m.url}")
    summary = _demoted(a.summary) or _one_line(a.summary_one_line, 400)
    decisions = "\n".join(_decision_line(d) for d in a.decisions) or "- none recorded"
    items = "\n".join(_item_line(i) for i in a.action_items) or "- none recorded"
    text = (
        f"# {_one_line(m.title, 200)} — {ctx.day.isoformat()}\n\n"
        + "\n".join(meta)
        + f"\n\n## Summary\n\n{summary}\n\n## Decisions\n\n{decisions}\n\n## Action items\n\n{items}\n"
        + _mentions("Risks", a.risks)
        + _mentions("Requirements", a.requirements)
        + _mentions("Budget", a.budget)
        + _mentions("Timeline", a.timeline)
        + _mentions("Ideas", a.roadmap_ideas)
    )
    return OSUpdate(path=ctx.note, action="create", content=text, reason="the record of this meeting")


def _entry_head(ctx: _Ctx, written_in: str) -> str:
    return f"## {ctx.day.isoformat()} — {relative_link(ctx.meeting.title, ctx.note, written_in)}\n\n"


def _client_log(ctx: _Ctx, slug: str) -> OSUpdate:
    path = f"clients/{slug}/log.md"
    line = (
        f"- {ctx.day.isoformat()} — {relative_link(ctx.meeting.title, ctx.note, path)}"
        f" — {_one_line(ctx.analysis.summary_one_line, 200)}"
    )
    if ctx.exists(path):
        return OSUpdate(path=path, action="append", content=line, reason="one line per client meeting")
    head = f"# {slug.replace('-', ' ').title()} — log\n\nNewest last: one line per meeting or event.\n\n"
    return OSUpdate(path=path, action="create", content=head + line, reason="first meeting with this client")


def _owns_decision(d: DecisionOut, person: Invitee) -> bool:
    owner = (d.owner or "").strip().casefold()
    return bool(owner) and owner in {(person.name or "").casefold(), (person.email or "").casefold()}


def _owns_item(a: ActionItemOut, person: Invitee) -> bool:
    if a.owner_email and person.email:
        return a.owner_email.casefold() == person.email.casefold()
    return bool(a.owner_name and person.name and a.owner_name.casefold() == person.name.casefold())


def _team_pages(ctx: _Ctx) -> list[OSUpdate]:
    """Internal people who took on an item or a decision; nobody gets an "attended" line."""
    out: list[OSUpdate] = []
    seen: set[str] = set()
    for person in ctx.meeting.internal_invitees:
        name = person.name or person.email or ""
        path = f"team/{slugify(name)}.md"
        if not name or path in seen:
            continue
        items = [a for a in ctx.analysis.action_items if _owns_item(a, person)]
        decided = [d for d in ctx.analysis.decisions if d.status == "made" and _owns_decision(d, person)]
        if not items and not decided:
            continue
        seen.add(path)
        lines = [_item_line(a) for a in items] + [f"- Decided: {_one_line(d.what, 400)}" for d in decided]
        body = _entry_head(ctx, path) + "\n".join(lines)
        what = ", ".join(
            p for p in (_count(len(items), "action item"), _count(len(decided), "decision")) if p
        )
        reason = f"{what} for {_one_line(name, 80)}"
        if ctx.exists(path):
            out.append(OSUpdate(path=path, action="append", content=body, reason=reason))
        else:
            body = f"# {_one_line(name, 120)}\n\n{body}"
            out.append(OSUpdate(path=path, action="create", content=body, reason=reason))
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}" if n else ""


def _coaching(ctx: _Ctx, current: Mapping[str, str]) -> list[OSUpdate]:
    """One dated entry per coaching call: goals stated, commitments made, progress on the
    commitments still open in the file (followed up when this call talks about them), and the
    suggested next steps (the new commitments, then the earlier ones not mentioned)."""
    m, a = ctx.meeting, ctx.analysis
    recorder = m.recorded_by.email if m.recorded_by else None
    coach = next(iter(m.external_invitees), None) or next(
        (i for i in m.internal_invitees if recorder and i.email != recorder), None
    )
    name = (coach.name or coach.email or "") if coach else ""
    if not name:
        return []
    path = f"coaching/{slugify(name)}.md"
    said = subject_words(" ".join(line.text for line in m.transcript or []) + " " + a.summary)
    followed: list[str] = []
    quiet: list[str] = []
    for text in open_commitments(current.get(path, "")):
        words = subject_words(text)
        (followed if words and len(words & said) >= 0.6 * len(words) else quiet).append(text)
    goals = [g for g in a.requirements + a.timeline if g.text.strip()]
    sections = [
        ("Goals stated", [f"- {_one_line(g.text, 300)}{_at(g.source_timestamp)}" for g in goals]),
        ("Commitments made", [_item_line(i) for i in a.action_items]),
        (
            "Progress on earlier commitments",
            [f"- [x] followed up: {_one_line(t, 300)}" for t in followed]
            + [f"- [ ] not mentioned: {_one_line(t, 300)}" for t in quiet],
        ),
        (
            "Suggested next steps",
            [f"- {_one_line(i.text, 300)}" for i in a.action_items]
            + [f"- check in on: {_one_line(t, 300)}" for t in quiet],
        ),
    ]
    body = _entry_head(ctx, path) + _one_line(a.summary_one_line, 400)
    for title, lines in sections:
        body += f"\n\n### {title}\n\n" + ("\n".join(lines) if lines else "- none")
    action: Action = "append" if ctx.exists(path) else "create"
    if action == "create":
        body = f"# Coaching with {_one_line(name, 120)}\n\n{body}"
    reason = "coaching call: goals, commitments and progress" + (
        f" ({len(followed)} of {len(followed) + len(quiet)} earlier commitments followed up)"
        if followed or quiet
        else ""
    )
    return [OSUpdate(path=path, action=action, content=body, reason=reason)]


_COMMITMENT = re.compile(
    r"^- \[ \] (?:.+? — )?(.+?)(?: — due \d{4}-\d{2}-\d{2})?(?: \(\d{2}:\d{2}:\d{2}\))?$"
)


def open_commitments(text: str) -> list[str]:
    """Commitments still open in a coaching file: the latest entry's "Commitments made" and
    "not mentioned" lines (earlier entries' were carried forward into it)."""
    entries = log_entries(text)
    if not entries:
        return []
    out: list[str] = []
    for line in entries[-1].body.splitlines():
        if line.startswith("- [ ] not mentioned: "):
            out.append(line.removeprefix("- [ ] not mentioned: ").strip())
        elif (m := _COMMITMENT.match(line)) and not line.startswith("- [ ] not mentioned"):
            out.append(m.group(1).strip())
    return list(dict.fromkeys(out))


def _contacts(ctx: _Ctx) -> list[OSUpdate]:
    out = []
    for person in ctx.meeting.external_invitees:
        name = person.name or person.email or ""
        if not name:
            continue
        path = f"contacts/{slugify(name)}.md"
        body = (
            _entry_head(ctx, path) + f"Met at this meeting. {_one_line(ctx.analysis.summary_one_line, 300)}"
        )
        action: Action = "append" if ctx.exists(path) else "create"
        if action == "create":
            email = f"\n\n- **Email:** {person.email}" if person.email else ""
            body = f"# {_one_line(name, 120)}{email}\n\n{body}"
        out.append(OSUpdate(path=path, action=action, content=body, reason="new or returning contact"))
    return out


CONTACTS = "contacts.md"
PHASES = {"discovery": "discovery", "ai_audit": "audit", "sales": "proposal", "client": "delivery"}
STATUS_SECTION = "Status"


def reads_current(path: str) -> bool:
    """Files whose current text `standard_updates` needs (`current=`): the proposer reads these."""
    return (
        path in (DECISION_LOG, CONTACTS)
        or path.startswith("coaching/")
        or (path.startswith("clients/") and path.endswith("/status.md"))
    )


def status_path(slug: str) -> str:
    return f"clients/{slug}/status.md"


def _status_fields(text: str | None) -> dict[str, str]:
    """`- **Field:** value` lines of the current status section (kept when this meeting says nothing)."""
    body = _section_body(text, STATUS_SECTION) if text else None
    return dict(re.findall(r"^- \*\*(.+?):\*\* (.*)$", body or "", re.M))


def _client_status(ctx: _Ctx, slug: str, current: str | None) -> OSUpdate:
    """One status section per client: phase, last meeting, open items, last decision, next meeting."""
    path, a = status_path(slug), ctx.analysis
    before = _status_fields(current)
    made = [d for d in a.decisions if d.status == "made" and d.what.strip()]
    upcoming = [t for t in a.timeline if re.search(r"\bnext\b|\bfollow[- ]up\b|\bmeet\b", t.text, re.I)]
    items = [i for i in a.action_items if i.text.strip()]
    open_items = "; ".join(_one_line(i.text, 120) for i in items[:5]) + (
        f" (+{len(items) - 5} more)" if len(items) > 5 else ""
    )
    fields = {
        "Phase": PHASES.get(a.primary_type, before.get("Phase", a.primary_type.replace("_", " "))),
        "Last meeting": f"{relative_link(ctx.meeting.title, ctx.note, path)} ({ctx.day.isoformat()})",
        "Open items": open_items or before.get("Open items", "none recorded"),
        "Last decision": (
            f"{_one_line(made[-1].what, 200)} ({ctx.day.isoformat()})"
            if made
            else before.get("Last decision", "none recorded")
        ),
        "Next meeting": _one_line(upcoming[0].text, 200)
        if upcoming
        else before.get("Next meeting", "not set"),
    }
    body = "\n".join(f"- **{k}:** {v}" for k, v in fields.items())
    reason = "the client's status after this meeting"
    if current is not None or (ctx.os_files is not None and path in ctx.os_files):
        return OSUpdate(
            path=path, action="update_section", section=STATUS_SECTION, content=body, reason=reason
        )
    head = f"# {slug.replace('-', ' ').title()} — status\n\n## {STATUS_SECTION}\n\n"
    return OSUpdate(path=path, action="create", content=head + body, reason=reason)


def _contacts_index(ctx: _Ctx, slug: str | None, current: str | None) -> list[OSUpdate]:
    """contacts.md: one section per company, one line per outside person (email, last meeting,
    topics); people met before keep their line, the ones in this meeting get theirs renewed."""
    people = [p for p in ctx.meeting.external_invitees if p.name or p.email][:20]
    if not people:
        return []
    topics = _one_line(ctx.analysis.summary_one_line or ctx.meeting.title, 160)
    link = relative_link(ctx.meeting.title, ctx.note, CONTACTS)
    companies: dict[str, list[str]] = {}
    for p in people:
        domain = (p.email_domain or (p.email or "").partition("@")[2]).lower()
        company = slugify(domain.split(".")[0]) if domain else (slug or "unknown")
        name = _one_line(p.name or p.email or "", 120)
        email = f" ({p.email})" if p.email else ""
        companies.setdefault(company, []).append(
            f"- **{name}**{email} — last met {ctx.day.isoformat()} in {link} — topics: {topics}"
        )
    reason = "who we met, their company, the last meeting and its topics"
    bodies = {}
    for company, lines in companies.items():
        previous = (_section_body(current, company) or "") if current else ""
        renewed = {new.split("**")[1] for new in lines}
        kept = [x for x in previous.splitlines() if x.startswith("- **") and x.split("**")[1] not in renewed]
        bodies[company] = "\n".join(kept + lines)
    if current is None and ctx.os_files is not None and CONTACTS not in ctx.os_files:
        text = "# Contacts\n\nPeople outside the team, by company: email, last meeting, topics.\n\n"
        text += "\n\n".join(f"## {c}\n\n{b}" for c, b in bodies.items())
        return [OSUpdate(path=CONTACTS, action="create", content=text, reason=reason)]
    return [
        OSUpdate(path=CONTACTS, action="update_section", section=c, content=b, reason=reason)
        for c, b in bodies.items()
    ]


def _decision_log(ctx: _Ctx, made: list[DecisionOut], log: str | None, slug: str | None) -> list[OSUpdate]:
    """New entries appended; an earlier entry on the same subject (and the same client, when both
    name one) is marked superseded, with links both ways (anchors in the same file)."""
    source = relative_link(ctx.meeting.title, ctx.note, DECISION_LOG)
    earlier = [e for e in log_entries(log or "") if posixpath.basename(ctx.note) not in e.body]
    entries, marks = [], []
    for d in made:
        what = " ".join(d.what.split())
        title = f"{ctx.day.isoformat()} — {_one_line(what, 120)}"
        lines = [f"## {title}", ""]
        if len(what) > 120:
            lines.append(f"- **Decision:** {_one_line(what, 1000)}")
        if d.owner:
            lines.append(f"- **Decided by:** {_one_line(d.owner, 120)}")
        if d.why:
            lines.append(f"- **Why:** {_one_line(d.why, 600)}")
        if slug:
            lines.append(f"- **Client:** {slug}")
        lines.append(f"- **Source:** {source}{_at(d.source_timestamp)}")
        old = revisits(what, slug, earlier)
        if old is not None:
            lines.append(f"- **Supersedes:** [{old.title}](#{anchor(old.title)})")
            body = old.body.rstrip("\n") + f"\n- **Superseded by:** [{title}](#{anchor(title)})"
            marks.append(
                OSUpdate(
                    path=DECISION_LOG,
                    action="update_section",
                    section=old.title,
                    content=body.strip("\n"),
                    reason=f"revisited on {ctx.day.isoformat()}: marked superseded, linked to the new entry",
                )
            )
            earlier.remove(old)
        entries.append("\n".join(lines))
    append = OSUpdate(
        path=DECISION_LOG,
        action="append",
        content="\n\n".join(entries),
        reason=f"{_count(len(made), 'decision')} made in this meeting"
        + (f", {_count(len(marks), 'earlier decision')} superseded" if marks else ""),
    )
    return [append, *marks]


@dataclass(frozen=True)
class LogEntry:
    title: str  # the heading's text, e.g. "2026-11-16 — Ship in March"
    body: str

    @property
    def client(self) -> str | None:
        m = re.search(r"^- \*\*Client:\*\* (\S+)", self.body, re.M)
        return m.group(1) if m else None

    @property
    def subject(self) -> set[str]:
        decision = re.search(r"^- \*\*Decision:\*\* (.+)$", self.body, re.M)
        return subject_words(decision.group(1) if decision else self.title.partition(" — ")[2])


def log_entries(text: str) -> list[LogEntry]:
    """The `##` entries of decisions/log.md, oldest first."""
    lines, out = text.splitlines(), []
    heads = [
        (i, m.group(2))
        for i, line in enumerate(lines)
        if (m := _HEADING.match(line)) and len(m.group(1)) == 2
    ]
    for n, (i, title) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        out.append(LogEntry(title.strip(), "\n".join(lines[i + 1 : end]).strip("\n")))
    return out


_STOP = set(
    [
        "that",
        "this",
        "with",
        "from",
        "will",
        "have",
        "been",
        "they",
        "them",
        "their",
        "then",
        "than",
        "into",
        "onto",
        "over",
        "also",
        "just",
        "only",
        "about",
        "after",
        "before",
        "again",
        "should",
        "would",
        "could",
        "shall",
        "must",
        "make",
        "made",
        "decide",
        "decided",
        "agree",
        "agreed",
        "instead",
        "going",
        "use",
        "using",
        "keep",
    ]
)


def subject_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.casefold()) if len(w) > 3 and w not in _STOP}


def revisits(what: str, slug: str | None, earlier: list[LogEntry]) -> LogEntry | None:
    """The latest earlier entry on the same subject: at least two content words shared, covering
    60 % of the shorter one; a different client (both named) is never the same decision."""
    words = subject_words(what)
    for entry in reversed(earlier):
        if entry.client and slug and entry.client != slug:
            continue
        if "**Superseded by:**" in entry.body:
            continue  # the chain continues from its newest entry
        shared = words & entry.subject
        if len(shared) >= 2 and len(shared) >= 0.6 * min(len(words), len(entry.subject)):
            return entry
    return None


def anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().casefold()).replace(" ", "-")


def _section_body(text: str, title: str) -> str | None:
    """The body of the first `##` section called `title`, or None when the file has none."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _HEADING.match(line)
        if m and len(m.group(1)) == 2 and m.group(2).strip().casefold() == title.casefold():
            end = next(
                (
                    j
                    for j in range(i + 1, len(lines))
                    if (h := _HEADING.match(lines[j])) and len(h.group(1)) <= 2
                ),
                len(lines),
            )
            return "\n".join(lines[i + 1 : end]).strip("\n")
    return None


def _roadmap(ctx: _Ctx, ideas: list[Mention], current: str | None) -> OSUpdate:
    reason = f"{_count(len(ideas), 'idea')} raised in this meeting"
    body = _section_body(current, ROADMAP_SECTION) if current else None
    if body is None:  # no "Later" section to add to: a dated entry at the end
        lines = "\n".join(f"- {_one_line(m.text, 300)}" for m in ideas)
        return OSUpdate(
            path=ROADMAP, action="append", content=_entry_head(ctx, ROADMAP) + lines, reason=reason
        )
    source = relative_link(ctx.meeting.title, ctx.note, ROADMAP)
    lines = "\n".join(f"- {_one_line(m.text, 300)} (from {source}, {ctx.day.isoformat()})" for m in ideas)
    content = f"{body}\n{lines}" if body.strip() else lines
    return OSUpdate(
        path=ROADMAP, action="update_section", section=ROADMAP_SECTION, content=content, reason=reason
    )


__all__ = [
    "CLIENT_TYPES",
    "client_slug",
    "has_something_to_say",
    "reads_current",
    "note_path",
    "relative_link",
    "standard_updates",
    "targeted_updates",
]
