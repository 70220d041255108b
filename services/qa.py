"""Questions about past meetings, answered from one meeting at a time.

`QAService.answer(question, asker, meeting_id=, channel=, thread_ts=)` is the entry point: it
finds the meeting (the card's thread it was asked in, the meeting the question names, or the one
the question's words fit clearly best), checks it against the access rule (services.access), and
answers from that meeting's transcript: offline with `services.qa_offline` (what was said, by whom,
40-120 words), or with Claude from the whole transcript when it fits (else the retrieved turns),
citing timestamps that exist in it. A channel question that fits several meetings about equally
gets `Answer.choices` ("Which meeting?") instead of a mixed answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from cachetools import LRUCache
from sqlalchemy import select

from services.access import AccessPolicy, Scope, where
from services.analysis.extract import speaker_aliases
from services.clock import utcnow
from services.db import Database
from services.models import LLMUsage, Meeting
from services.qa_offline import (
    SUMMARY_WORDS,
    MeetingText,
    OfflineAnswer,
    Turn,
    carried_roles,
    is_role,
    summary_topic,
)
from services.redaction import Policy, Redactor
from services.search import SearchIndex, SearchQuery, parse_query
from services.views import Answer, Hit, MeetingChoice

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

log = logging.getLogger(__name__)

MAX_TOKENS = 500
MAX_CITATIONS = 5
MAX_CHOICES = 5
CLOSE_CALL = 0.8  # a runner-up scoring at least this share of the best meeting: ask "Which meeting?"
GROUP_MEETINGS = 8  # other meetings of the same people whose roles a meeting may borrow
FULL_TRANSCRIPT_CHARS = 60_000  # about 15k tokens: the whole transcript goes to Claude (cached prefix)
_TS = re.compile(r"\b(\d{1,2}:\d{2}:\d{2})\b")
SYSTEM = (
    "You answer a question about one meeting using only its transcript below (lines are"
    ' `[HH:MM:SS] Speaker: words`). Answer in 40-80 words, saying who said what ("Maya said ...").'
    " After each claim cite the time of the line it rests on in square brackets, like [00:12:04]."
    " If the transcript does not answer the question, say that the meeting does not say, in one"
    " sentence; never add what the meeting does not say. Plain text, no headings."
)


class QAService:
    def __init__(
        self,
        db: Database,
        index: SearchIndex,
        client: AsyncAnthropic | None = None,
        *,
        access: AccessPolicy | None = None,
        model: str = "claude-sonnet-4-6",
        prices: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] | None = None,
        policy: Callable[[], Policy] = Policy,
    ) -> None:
        self.db = db
        self.index = index
        self.client = client
        self.access = access  # resolves a Slack user into a scope; callers may pass a Scope instead
        self.model = model
        self.prices = prices or {}
        self.policy = policy  # redaction before the model (services/redaction.py), standard by default
        self._texts: LRUCache[tuple[object, ...], MeetingText] = LRUCache(maxsize=16)
        self._learned: LRUCache[tuple[int, object], dict[str, str]] = LRUCache(maxsize=256)

    async def answer(
        self,
        question: str,
        asker: str | Scope,
        *,
        meeting_id: int | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
    ) -> Answer:
        """`asker`: a Slack user id (the access rule decides what the answer may cite and where it
        goes) or an already built Scope. `meeting_id` answers from that meeting if the scope allows."""
        question = " ".join(question.split())[:2000]
        if isinstance(asker, str):
            if self.access is None:
                raise RuntimeError("QAService needs an AccessPolicy to answer a Slack user")
            scope, in_thread = await self.access.question_scope(asker, channel or "", thread_ts)
            if in_thread and meeting_id is None:
                meeting_id = await self.access.card_at(channel or "", thread_ts)
        else:
            scope, in_thread = asker, False
        if not question:
            return Answer(question, None, in_thread=in_thread)
        if meeting_id is not None:
            answer = await self._from_meeting(question, meeting_id, scope)
        else:
            answer = await self._from_channel(question, scope)
        return replace(answer, in_thread=in_thread)

    async def candidates(self, question: str, scope: Scope) -> tuple[list[int], list[float]]:
        """Meetings the question could be about, best first, with their text scores."""
        named = await self.index.named_meetings(question, scope, today=utcnow().date())
        if named is not None and len(named) <= 1:
            return named, [1.0] * len(named)
        query = parse_query(question)
        query = SearchQuery(text=query.text, meeting_ids=tuple(named[:500]) if named else None)
        hits = await self.index.search(query, scope, limit=MAX_CHOICES + 1, per_meeting=1, any_word=True)
        ids = [h.meeting_id for h in hits]
        if named and not any(h.score > 0 for h in hits):
            ids = named[: MAX_CHOICES + 1]  # named but no words to rank by: newest first
            return ids, [1.0] * len(ids)
        return ids, [h.score for h in hits]

    async def _from_channel(self, question: str, scope: Scope) -> Answer:
        ids, scores = await self.candidates(question, scope)
        if not ids:
            return Answer(question, None)
        close = [i for i, s in zip(ids, scores, strict=True) if s >= CLOSE_CALL * scores[0]]
        if len(close) > 1:
            return Answer(question, None, choices=await self._choices(close[:MAX_CHOICES]))
        return await self._from_meeting(question, ids[0], scope)

    async def _from_meeting(self, question: str, meeting_id: int, scope: Scope) -> Answer:
        if not await _visible(self.db, scope, meeting_id):
            return Answer(question, None)  # not theirs to see: "nothing found", nothing leaked
        async with self.db.read_session() as s:
            meeting = await s.get(Meeting, meeting_id)
        if meeting is None:
            return Answer(question, None)
        text_ = self._text(meeting, await self._group_roles(meeting, scope))
        offline = text_.answer(question)
        if summary_topic(question) == "" and (summary := _stored_summary(meeting)):
            offline = text_.overview(target=SUMMARY_WORDS, summary_question=True, summary=summary)
        if not text_.turns:
            summary = _stored_summary(meeting)
            return Answer(question, summary, [], meeting_id=meeting_id) if summary else Answer(question, None)
        fallback = Answer(question, offline.text, _hits(meeting, offline.cited), meeting_id=meeting_id)
        if self.client is None:
            return fallback
        return await self._with_claude(question, meeting, text_, offline, fallback)

    def _aliases(self, meeting: Meeting) -> dict[str, str]:
        """Names and roles the meeting's own transcript gives its speakers (cached per meeting)."""
        key = (meeting.id, meeting.updated_at)
        found = self._learned.get(key)
        if found is None:
            fathom = meeting.fathom()
            transcript = [] if meeting.transcript_purged_at else (fathom.transcript or [])
            found = {k: who for k, (who, _) in speaker_aliases(fathom).items()} if transcript else {}
            self._learned[key] = found
        return found

    async def _group_roles(self, meeting: Meeting, scope: Scope) -> list[dict[str, str]]:
        """Roles learned in the nearest other meetings (visible to the asker) that share at least two
        attendees with this one: a team keeps its roles across a series of meetings."""
        from sqlalchemy import column, func, table

        attendees = table("search_attendees", column("email"), column("meeting_id"))
        theirs = select(attendees.c.email).where(attendees.c.meeting_id == meeting.id)
        shared = (
            select(attendees.c.meeting_id)
            .where(attendees.c.email.in_(theirs))
            .group_by(attendees.c.meeting_id)
            .having(func.count() >= 2)
        )
        async with self.db.read_session() as s:
            rows = (
                await s.execute(
                    select(Meeting.id, Meeting.started_at, Meeting.updated_at).where(
                        Meeting.id != meeting.id, Meeting.id.in_(shared), where(scope, "meetings.id")
                    )
                )
            ).all()
            start = meeting.started_at
            near = sorted(
                rows,
                key=lambda r: (
                    abs((r[1] - start).total_seconds()) if r[1] is not None and start is not None else 1e12,
                    abs(r[0] - meeting.id),
                ),
            )[:GROUP_MEETINGS]
            out: list[dict[str, str]] = []
            for mid, _, updated in near:
                learned = self._learned.get((mid, updated))
                if learned is None:  # read its transcript once; the roles stay cached
                    other = await s.get(Meeting, mid)
                    learned = self._aliases(other) if other is not None else {}
                out.append({k: v for k, v in learned.items() if is_role(k)})
        return out

    def _text(self, meeting: Meeting, group: list[dict[str, str]] | None = None) -> MeetingText:
        aliases = carried_roles(self._aliases(meeting), group or [])
        key = (meeting.id, meeting.updated_at, tuple(sorted(aliases.items())))
        cached = self._texts.get(key)
        if cached is None:
            fathom = meeting.fathom()
            transcript = [] if meeting.transcript_purged_at else (fathom.transcript or [])
            cached = MeetingText(
                (
                    Turn(n, line.speaker.display_name, line.text, line.timestamp)
                    for n, line in enumerate(transcript)
                ),
                aliases=aliases,  # "the Industrial Designer" -> the speaker who introduced themselves so
            )
            self._texts[key] = cached
        return cached

    async def _with_claude(
        self, question: str, meeting: Meeting, text_: MeetingText, offline: OfflineAnswer, fallback: Answer
    ) -> Answer:
        lines = [f"[{t.ts or '00:00:00'}] {t.speaker}: {t.text}" for t in text_.turns]
        transcript = "\n".join(lines)
        if len(transcript) > FULL_TRANSCRIPT_CHARS:  # too long: the retrieved turns and their neighbours
            near = {i for t in offline.cited for i in range(t.index - 6, t.index + 7)}
            transcript = "\n".join(
                line for t, line in zip(text_.turns, lines, strict=True) if t.index in near
            )
        redactor = Redactor(self.policy())  # placeholders in the request, originals in the answer
        head = redactor.redact(f"Meeting: {meeting.title}\n\nTranscript:\n{transcript}")
        ask = redactor.redact(f"Question: {question}")
        try:
            message = await self.client.messages.create(  # type: ignore[union-attr]
                model=self.model,
                max_tokens=MAX_TOKENS,
                system=SYSTEM,
                # the meeting's transcript is its own block marked for caching: a follow-up question
                # on the same meeting reads it from the prompt cache (a tenth of the price)
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": head, "cache_control": {"type": "ephemeral"}},
                            {"type": "text", "text": ask},
                        ],
                    }
                ],
            )
        except Exception as exc:  # any API failure: the offline answer is still useful
            log.warning("Q&A call failed: %s", type(exc).__name__)
            return replace(fallback, error=type(exc).__name__)
        reply = redactor.restore("".join(getattr(block, "text", "") for block in message.content).strip())
        await self._record_usage(message.model, message.usage)
        if not reply:
            return replace(fallback, error="empty")
        said = {t.ts: t for t in text_.turns if t.ts}
        cited = [said[ts] for ts in dict.fromkeys(_TS.findall(reply)) if ts in said]  # only times that exist
        return Answer(question, reply, _hits(meeting, cited), model=message.model, meeting_id=meeting.id)

    async def _choices(self, ids: list[int]) -> list[MeetingChoice]:
        async with self.db.read_session() as s:
            rows = {m.id: m for m in await s.scalars(select(Meeting).where(Meeting.id.in_(ids)))}
        return [
            MeetingChoice(m.id, m.title, m.client_slug, m.started_at, m.primary_type)
            for m in (rows.get(i) for i in ids)
            if m is not None
        ]

    async def _record_usage(self, model: str, usage: object) -> None:
        from services.analysis.claude import cost_usd
        from services.analysis.schema import UsageRecord

        record = UsageRecord(
            purpose="qa",
            model=model,
            input_tokens=getattr(usage, "input_tokens", 0) or 0,
            output_tokens=getattr(usage, "output_tokens", 0) or 0,
            cache_creation_tokens=getattr(usage, "cache_creation_input_tokens", 0) or 0,
            cache_read_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
        )
        async with self.db.session() as s:
            s.add(LLMUsage.of(None, record.model_copy(update={"cost_usd": cost_usd(self.prices, record)})))


def _stored_summary(meeting: Meeting) -> str | None:
    """Fathom's summary, or Claude's; the heuristic's extract is rebuilt from the transcript."""
    fathom = meeting.fathom().summary_markdown.strip()
    analysis = meeting.analysis or {}
    text_ = fathom or (
        str(analysis.get("summary") or "") if meeting.analyzer not in (None, "heuristic") else ""
    )
    text_ = re.sub(r"[#*_>`]+|^\s*[-•]\s*", " ", text_, flags=re.M)
    return " ".join(text_.split()) or None


def _hits(meeting: Meeting, cited: list[Turn]) -> list[Hit]:
    """Citations: moments of the recording (Fathom's share link + `?timestamp=<seconds>`)."""
    return [
        Hit(
            meeting_id=meeting.id,
            title=meeting.title,
            started_at=meeting.started_at,
            url=meeting.share_url or meeting.url,
            client=meeting.client_slug,
            meeting_type=meeting.primary_type,
            kind="line",
            ts=t.ts,
            snippet=f"{t.speaker}: {t.text[:300]}",
            score=0.0,
        )
        for t in cited[:MAX_CITATIONS]
    ]


async def _visible(db: Database, scope: Scope, meeting_id: int) -> bool:
    from sqlalchemy import text

    sql, params = scope.sql("id")
    async with db.read_session() as s:
        found = await s.execute(
            text(f"SELECT id FROM meetings WHERE id = :qa_m AND {sql}"), {"qa_m": meeting_id, **params}
        )
        return found.first() is not None
