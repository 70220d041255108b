"""Full-text search over meetings: titles, summaries, decisions and transcript passages.

SQLite uses an FTS5 table (bm25 with per-kind column weights); PostgreSQL a plain table with a
generated tsvector (ts_rank). Both are derived data: `index_meeting` rebuilds one meeting's rows
and runs as a pipeline `after_analysis` hook, so the index follows every (re-)analysis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import DateTime, bindparam, column, select, table, text

from services.access import Scope
from services.analysis.schema import MEETING_TYPES, AnalysisOutcome
from services.db import Database
from services.fathom import timestamp_seconds
from services.models import Decision, Meeting
from services.views import HIT_CLOSE, HIT_OPEN, Hit

ROWS_PER_MEETING = 100_000  # SQLite rowid = meeting_id * this + n
PASSAGE_CHARS = 320  # consecutive transcript lines are merged up to about this length
# the meeting's own words (title, transcript) outrank what was derived from them: a decision is
# indexed only when its evidence was found in the transcript, and weighs less than a line
KIND_WEIGHTS = {"title": 8.0, "summary": 3.0, "decision": 0.8, "line": 1.0}
_STOP = (
    "a about after all also an and any are as at be been but by can could did do does for from had has"
    " have how i if in into is it its me my of on or our so than that the their them then there these"
    " they this to us was we were what when where which who why will with would you your"
)
STOPWORDS = frozenset(_STOP.split())
ATTENDEES = table("search_attendees", column("email"), column("meeting_id"))  # from migration 0002
_FILTER = re.compile(r"\b(client|type|after|with):(\S+)", re.I)


@dataclass(frozen=True)
class SearchQuery:
    text: str
    client: str | None = None
    type: str | None = None
    after: date | None = None
    with_user: str | None = None  # as typed: `<@U123|name>`, `@name` or an email
    with_email: str | None = None  # resolved by the caller from with_user
    problems: tuple[str, ...] = ()
    meeting_ids: tuple[int, ...] | None = None  # only these meetings (a scoped question)


@dataclass(frozen=True)
class Passage:
    kind: str
    text: str
    ts: str | None = None


def parse_query(raw: str) -> SearchQuery:
    """`pricing client:brightline type:sales after:2026-11-01 with:@maya` -> a typed query."""
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in _FILTER.findall(raw):
        key = key.lower()
        if key == "after":
            try:
                fields["after"] = date.fromisoformat(value)
            except ValueError:
                problems.append(f"after: expects YYYY-MM-DD, got {value!r}")
        elif key == "type":
            wanted = value.lower().replace("-", "_")
            if wanted in MEETING_TYPES:
                fields["type"] = wanted
            else:
                problems.append(f"type: one of {', '.join(MEETING_TYPES)}")
        elif key == "client":
            fields["client"] = value.lower().split(".")[0]
        else:
            fields["with_user"] = value
    words = " ".join(_FILTER.sub(" ", raw).split())
    return SearchQuery(text=words, problems=tuple(problems), **fields)


def meeting_passages(meeting: Meeting, decisions: list[Decision]) -> list[Passage]:
    """What a meeting contributes to the index: title, summary, decisions, transcript passages."""
    fathom = meeting.fathom()
    analysis = meeting.analysis or {}
    out = [Passage("title", meeting.title)]
    summary = " ".join(filter(None, [analysis.get("summary_one_line"), analysis.get("summary")]))
    if summary or fathom.summary_markdown:
        out.append(Passage("summary", summary or fathom.summary_markdown))
    checked = _evidenced(analysis)
    for d in decisions:
        if d.what.strip().lower() not in checked:
            continue  # no transcript evidence recorded: a derived fragment, not the meeting's words
        out.append(Passage("decision", d.what + (f" — {d.why}" if d.why else ""), d.source_timestamp))
    chunk: list[str] = []
    start: str | None = None
    for line in fathom.transcript or []:
        if start is None:
            start = line.timestamp
        chunk.append(f"{line.speaker.display_name}: {line.text}")
        if sum(len(c) for c in chunk) >= PASSAGE_CHARS:
            out.append(Passage("line", "\n".join(chunk), start))
            chunk, start = [], None
    if chunk:
        out.append(Passage("line", "\n".join(chunk), start))
    return out


def _evidenced(analysis: dict[str, Any]) -> set[str]:
    """Decisions whose evidence passed the analysis's check (services/analysis/evidence.py keeps
    only entries whose quoted words are in the transcript)."""
    return {
        str(d.get("what") or "").strip().lower()
        for d in analysis.get("decisions") or []
        if isinstance(d, dict) and d.get("evidence")
    }


def match_expression(words: str, *, any_word: bool) -> str | None:
    """Quoted tokens (so user text is never FTS syntax); AND by default, OR for questions."""
    tokens = re.findall(r"\w+", words.lower())
    if any_word:
        tokens = [t for t in tokens if t not in STOPWORDS] or tokens
    tokens = list(dict.fromkeys(tokens))[:24]
    if not tokens:
        return None
    return (" OR " if any_word else " ").join(f'"{t}"' for t in tokens)


class SearchIndex:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.sqlite = db.is_sqlite

    async def index_meeting(self, meeting_id: int, *, loaded: Meeting | None = None) -> int:
        """Replace one meeting's passages and attendees; returns how many passages were stored.
        `loaded`: the row, when the caller has it (the pipeline hook), so it is not read again."""
        # read and compute before the write transaction: SQLite's write lock (which the webhook
        # intake waits for) is held only for the deletes and inserts (docs/benchmarks.md, #15)
        async with self.db.read_session() as s:
            meeting = loaded or await s.get(Meeting, meeting_id)
            if meeting is None:
                return 0
            decisions = list(
                (await s.scalars(select(Decision).where(Decision.meeting_id == meeting_id))).all()
            )
        passages = meeting_passages(meeting, decisions)[: ROWS_PER_MEETING - 1]
        fathom = meeting.fathom()
        emails = {i.email.lower() for i in fathom.calendar_invitees if i.email}
        if fathom.recorded_by and fathom.recorded_by.email:
            emails.add(fathom.recorded_by.email.lower())
        rows = [self._row(meeting_id, n, p) for n, p in enumerate(passages, start=1)]
        async with self.db.session() as s:
            await s.execute(text("DELETE FROM search_attendees WHERE meeting_id = :m"), {"m": meeting_id})
            if emails:
                await s.execute(
                    text("INSERT INTO search_attendees (email, meeting_id) VALUES (:e, :m)"),
                    [{"e": e, "m": meeting_id} for e in sorted(emails)],
                )
            if self.sqlite:
                low, high = meeting_id * ROWS_PER_MEETING, (meeting_id + 1) * ROWS_PER_MEETING - 1
                await s.execute(
                    text("DELETE FROM search_fts WHERE rowid BETWEEN :lo AND :hi"), {"lo": low, "hi": high}
                )
                sql = (
                    "INSERT INTO search_fts (rowid, title, summary, decision, line, meeting_id, kind, ts,"
                    " seconds) VALUES (:rowid, :title, :summary, :decision, :line, :m, :kind, :ts, :seconds)"
                )
            else:
                await s.execute(text("DELETE FROM search_passages WHERE meeting_id = :m"), {"m": meeting_id})
                sql = (
                    "INSERT INTO search_passages (meeting_id, kind, ts, seconds, body)"
                    " VALUES (:m, :kind, :ts, :seconds, :body)"
                )
            if rows:
                await s.execute(text(sql), rows)
            return len(rows)

    def _row(self, meeting_id: int, n: int, p: Passage) -> dict[str, Any]:
        row: dict[str, Any] = {
            "m": meeting_id,
            "kind": p.kind,
            "ts": p.ts,
            "seconds": timestamp_seconds(p.ts) if p.ts else None,
        }
        if self.sqlite:
            row |= {k: (p.text if k == p.kind else None) for k in KIND_WEIGHTS}
            row["rowid"] = meeting_id * ROWS_PER_MEETING + n
        else:
            row["body"] = p.text
        return row

    async def after_analysis(self, meeting: Meeting, _outcome: AnalysisOutcome) -> None:
        """`MeetingPipeline.after_analysis` hook."""
        await self.index_meeting(meeting.id, loaded=meeting)

    async def search(
        self,
        query: SearchQuery,
        scope: Scope,
        *,
        limit: int = 10,
        per_meeting: int = 1,
        any_word: bool = False,
    ) -> list[Hit]:
        """Best passages first, at most `per_meeting` from one meeting; all words must match
        unless `any_word` (questions), and an all-words search that finds nothing retries with any.
        Only meetings in `scope` (services.access) are searched: the filter is part of the query."""
        expression = match_expression(query.text, any_word=any_word)
        words = set(re.findall(r"\w+", query.text.lower()))
        if expression is None or words <= STOPWORDS:  # nothing to rank by (PostgreSQL drops stopwords)
            return await self._recent(query, scope, limit)
        rows = await self._match(expression, query, scope, limit * per_meeting * 8)
        if not rows and not any_word:
            return await self.search(query, scope, limit=limit, per_meeting=per_meeting, any_word=True)
        counts: dict[int, int] = {}
        kept: list[dict[str, Any]] = []
        for row in rows:
            if counts.get(row["meeting_id"], 0) < per_meeting and len(kept) < limit:
                counts[row["meeting_id"]] = counts.get(row["meeting_id"], 0) + 1
                kept.append(row)
        meetings = await self._meetings({r["meeting_id"] for r in kept})
        return [
            _hit(meetings[r["meeting_id"]], r["kind"], r["ts"], r["snip"], float(r["score"]))
            for r in kept
            if r["meeting_id"] in meetings
        ]

    async def _match(self, expression: str, query: SearchQuery, scope: Scope, n: int) -> list[dict[str, Any]]:
        where, params = _filters(query)
        allowed, allowed_values = scope.sql("meeting_id")
        where += f" AND {allowed}"
        if self.sqlite:
            weights = ", ".join(str(w) for w in KIND_WEIGHTS.values())
            sql = (
                "SELECT meeting_id, kind, ts,"
                f" snippet(search_fts, -1, '{HIT_OPEN}', '{HIT_CLOSE}', '…', 24) AS snip,"
                f" -bm25(search_fts, {weights}) AS score"
                f" FROM search_fts WHERE search_fts MATCH :q {where} ORDER BY bm25(search_fts, {weights})"
                " LIMIT :n"
            )
        else:
            expression = " | ".join(re.findall(r"\w+", expression)) if " OR " in expression else expression
            fn = "to_tsquery('english', :q)" if " | " in expression else "plainto_tsquery('english', :q)"
            cases = " ".join(f"WHEN '{k}' THEN {w}" for k, w in KIND_WEIGHTS.items())
            sql = (
                "SELECT meeting_id, kind, ts, ts_headline('english', body, query,"
                f" 'StartSel={HIT_OPEN},StopSel={HIT_CLOSE},MaxWords=30,MinWords=12') AS snip, score"
                f" FROM (SELECT p.*, q.query, ts_rank(p.tsv, q.query) * CASE p.kind {cases} ELSE 1 END"
                f" AS score FROM search_passages p, {fn} AS q(query) WHERE p.tsv @@ q.query {where}"
                " ORDER BY score DESC LIMIT :n) ranked ORDER BY score DESC"
            )
            expression = expression.replace('"', "")
        stmt = text(sql).bindparams(*params)
        async with self.db.read_session() as s:
            result = await s.execute(stmt, {"q": expression, "n": n, **_values(query), **allowed_values})
            return [dict(r._mapping) for r in result]

    async def related(self, meeting_id: int, scope: Scope, limit: int = 3) -> list[Meeting]:
        """Meetings linked to this one: the same client, or at least two of the same attendees;
        only those in `scope` (for a card: what every reader of its channel may see)."""
        allowed, allowed_values = scope.sql("m.id")
        same_client = (
            "(m.client_slug IS NOT NULL AND m.client_slug = (SELECT client_slug FROM meetings WHERE id = :m))"
        )
        sql = text(
            f"SELECT m.id FROM meetings m WHERE m.id != :m AND ({same_client}"
            " OR m.id IN (SELECT b.meeting_id FROM search_attendees a JOIN search_attendees b"
            "  ON a.email = b.email WHERE a.meeting_id = :m AND b.meeting_id != :m"
            "  GROUP BY b.meeting_id HAVING COUNT(*) >= 2))"
            f" AND {allowed}"
            f" ORDER BY CASE WHEN {same_client} THEN 0 ELSE 1 END, m.started_at DESC, m.id DESC LIMIT :n"
        )
        async with self.db.read_session() as s:
            ids = [row[0] for row in await s.execute(sql, {"m": meeting_id, "n": limit, **allowed_values})]
        found = await self._meetings(set(ids))
        return [found[i] for i in ids if i in found]

    async def named_meetings(self, raw: str, scope: Scope, *, today: date) -> list[int] | None:
        """The meetings in `scope` a question names, newest first, or None when it names none.

        A question names a meeting by its client ("Brightline", `client:`), its title (most of
        the title's words), its date ("yesterday", "on Monday", 2026-11-16) or its people (an
        attendee's first name or email, `with:`); named criteria must all hold."""
        words = set(re.findall(r"[a-z0-9]+", raw.lower()))
        query = parse_query(raw)
        allowed, params = scope.sql("id")
        sql = f"SELECT id, title, client_slug, started_at FROM meetings WHERE {allowed}"
        async with self.db.read_session() as s:
            rows = list(await s.execute(text(sql + " ORDER BY started_at DESC, id DESC LIMIT 5000"), params))
            emails = [
                (str(r[0]), int(r[1]))
                for r in await s.execute(
                    text(
                        f"SELECT email, meeting_id FROM search_attendees WHERE {scope.sql('meeting_id')[0]}"
                    ),
                    scope.sql("meeting_id")[1],
                )
            ]
        order = [int(r[0]) for r in rows]
        criteria: list[set[int]] = []
        clients = {
            int(r[0])
            for r in rows
            if r[2] and (r[2].split("-")[0] in words or (query.client and r[2].startswith(query.client)))
        }
        if clients or query.client:
            criteria.append(clients)
        titles = {int(r[0]) for r in rows if _names_title(str(r[1]), words)}
        if titles:
            criteria.append(titles)
        days = _named_days(raw, today)
        if days:
            criteria.append({int(r[0]) for r in rows if r[3] is not None and _day(r[3]) in days})
        people = {w for w in words if len(w) > 2 and w not in STOPWORDS}
        wanted = (query.with_email or "").lower()
        attended: set[int] = set()
        for email, meeting_id in emails:
            local = re.split(r"[._+\-]", email.split("@")[0])[0]
            if local in people or (wanted and email == wanted):
                attended.add(meeting_id)
        if attended or wanted:
            criteria.append(attended)
        if not criteria:
            return None
        found = set.intersection(*criteria)
        return [i for i in order if i in found]

    async def _recent(self, query: SearchQuery, scope: Scope, limit: int) -> list[Hit]:
        """Filters without words: the latest matching meetings."""
        where, params = _filters(query)
        allowed, allowed_values = scope.sql("id")
        sql = (
            f"SELECT id AS meeting_id FROM meetings WHERE {allowed} {where.replace('meeting_id IN', 'id IN')}"
        )
        stmt = text(sql + " ORDER BY started_at DESC LIMIT :n").bindparams(*params)
        async with self.db.read_session() as s:
            ids = [r[0] for r in await s.execute(stmt, {"n": limit, **_values(query), **allowed_values})]
        meetings = await self._meetings(set(ids))
        return [_hit(meetings[i], "title", None, meetings[i].title, 0.0) for i in ids if i in meetings]

    async def _meetings(self, ids: set[int]) -> dict[int, Meeting]:
        if not ids:
            return {}
        async with self.db.read_session() as s:
            rows = await s.scalars(select(Meeting).where(Meeting.id.in_(ids)))
            return {m.id: m for m in rows}


_TITLE_STOP = STOPWORDS | {"meeting", "call", "sync", "weekly", "daily", "chat", "session", "discussion"}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _names_title(title: str, words: set[str]) -> bool:
    """Most of a title's own words (a distinctive one, with a digit, is enough) are in the question."""
    own = {w for w in re.findall(r"[a-z0-9]+", title.lower()) if w not in _TITLE_STOP and len(w) > 2}
    if not own:
        return False
    hit = own & words
    return any(any(c.isdigit() for c in w) and len(w) > 3 for w in hit) or (
        len(hit) >= 2 and len(hit) >= 0.6 * len(own)
    )


def _named_days(raw: str, today: date) -> set[date]:
    lowered = raw.lower()
    days: set[date] = set()
    if re.search(r"\byesterday", lowered):
        days.add(date.fromordinal(today.toordinal() - 1))
    if re.search(r"\btoday|\bthis morning", lowered):
        days.add(today)
    for n, name in enumerate(_WEEKDAYS):
        if re.search(rf"\b{name}", lowered):
            back = (today.weekday() - n) % 7 or 7
            days.add(date.fromordinal(today.toordinal() - back))
    for iso in re.findall(r"\b\d{4}-\d{2}-\d{2}\b", raw):
        try:
            days.add(date.fromisoformat(iso))
        except ValueError:
            continue
    return days


def _day(value: Any) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.date() if isinstance(value, datetime) else value


def _filters(query: SearchQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.client:
        clauses.append("client_slug LIKE :client")
    if query.type:
        clauses.append("primary_type = :type")
    if query.after:
        clauses.append("started_at >= :after")
        params.append(bindparam("after", type_=DateTime(timezone=True)))
    if query.with_user is not None or query.with_email is not None:
        clauses.append("id IN (SELECT meeting_id FROM search_attendees WHERE email = :email)")
    if query.meeting_ids is not None:
        names = ", ".join(f":only_m{n}" for n in range(len(query.meeting_ids))) or "NULL"
        clauses.append(f"id IN ({names})")
    if not clauses:
        return "", params
    return f"AND meeting_id IN (SELECT id FROM meetings WHERE {' AND '.join(clauses)})", params


def _values(query: SearchQuery) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if query.client:
        values["client"] = f"{query.client}%"
    if query.type:
        values["type"] = query.type
    if query.after:
        values["after"] = datetime.combine(query.after, time.min, tzinfo=UTC)
    if query.with_user is not None or query.with_email is not None:
        values["email"] = (query.with_email or "").lower()
    for n, meeting_id in enumerate(query.meeting_ids or ()):
        values[f"only_m{n}"] = meeting_id
    return values


def _hit(meeting: Meeting, kind: str, ts: str | None, snip: str, score: float) -> Hit:
    return Hit(
        meeting_id=meeting.id,
        title=meeting.title,
        started_at=meeting.started_at,
        url=meeting.url,
        client=meeting.client_slug,
        meeting_type=meeting.primary_type,
        kind=kind,
        ts=ts,
        snippet=snip or meeting.title,
        score=score,
    )


__all__ = ["ATTENDEES", "Hit", "SearchIndex", "SearchQuery", "match_expression", "parse_query"]
