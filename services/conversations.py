"""Conversations in Slack: replies in a meeting card's thread continue the meeting, and questions
sent to the app by DM are answered from every meeting the asker may see.

The decision half is pure (`classify`): a reply is a question, an "action:"/"todo:" command, a
correction, or chit-chat the bot stays quiet on. The service half turns each into one domain
change: a Q&A answer scoped to that meeting, a new action item (authorised like any item change),
or an OS proposal (meeting note / client file) that an approver reviews. Slack stays outside: the
handler passes texts and ids in, and publishes what comes back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.access import AccessPolicy
from services.action_items import ActionItemService
from services.analysis.os_updates import client_slug, note_path
from services.analysis.schema import OSUpdate
from services.clock import utcnow
from services.db import Database
from services.errors import NotFound
from services.meetings import MeetingStore
from services.models import ActionItem, OSProposal
from services.once import first_sighting
from services.proposals import ProposalService
from services.qa import QAService
from services.views import Answer

MAX_SUMMARY_LINES = 40
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
_COMMAND = re.compile(
    r"^\s*(?:action(?:\s+item)?|todo|to-do|aufgabe|tarea)\s*[:：]\s*(?P<body>.+)$", re.I | re.S
)
_CORRECTION = re.compile(
    r"^\s*(?:correction\s*[:,-]|actually\b|to correct\b|small correction\b|fyi\W+actually\b"
    r"|eigentlich\b|korrektur\s*:|en realidad\b|corrección\s*:)",
    re.I,
)
_NOT_BUT = re.compile(r"\b(?:is|are|was|were|it's|ist|es)\b.+,\s*(?:not|nicht|no)\s+\S", re.I)
_QUESTION_WORDS = re.compile(
    r"^\s*(?:what|who|whom|whose|when|where|why|how|which|did|do|does|is|are|was|were|can|could|"
    r"should|would|will|has|have|had|any|wer|was|wann|wo|warum|wie|welche[rsnm]?|gibt|haben|hat|"
    r"qué|que|quién|quien|cuándo|cuando|dónde|donde|por qué|cómo|como|cuál|cual)\b",
    re.I,
)
_SUMMARISE = re.compile(
    r"^\s*(?:summari[sz]e|sum up)(?:\s+(?:the|this)\s+(?:discussion|thread))?\s*[.!]?\s*$", re.I
)
HELP_WORDS = {"help", "?", "hilfe", "ayuda", "what can you do", "what can you do?"}


class Intent(StrEnum):
    QUESTION = "question"
    ACTION = "action"
    CORRECTION = "correction"
    SUMMARISE = "summarise"
    CHITCHAT = "chitchat"


@dataclass(frozen=True)
class Classified:
    intent: Intent
    body: str  # the text without the command prefix


def classify(text: str) -> Classified:
    """What a reply in a meeting thread asks for. Only clear questions and commands count: the bot
    must stay quiet when people simply talk ("thanks!", "great call", "see you Friday")."""
    clean = " ".join((text or "").split())
    if not clean:
        return Classified(Intent.CHITCHAT, "")
    if m := _COMMAND.match(clean):
        return Classified(Intent.ACTION, m.group("body").strip())
    if _SUMMARISE.match(clean):
        return Classified(Intent.SUMMARISE, clean)
    if _CORRECTION.match(clean) or _NOT_BUT.search(clean):
        return Classified(Intent.CORRECTION, clean)
    words = MENTION.sub("", clean).split()
    if clean.rstrip().endswith("?") or clean.startswith("¿"):
        return Classified(Intent.QUESTION, clean) if len(words) >= 2 else Classified(Intent.CHITCHAT, clean)
    if _QUESTION_WORDS.match(clean) and len(words) >= 4 and not clean.endswith("!"):
        return Classified(Intent.QUESTION, clean)
    return Classified(Intent.CHITCHAT, clean)


def is_help(text: str) -> bool:
    return " ".join((text or "").lower().split()).strip(" .!") in HELP_WORDS


def owner_and_text(body: str, author: str) -> tuple[str, str]:
    """The first mentioned person owns the item (`action: <@U2> send the deck`), else the author;
    the mention leaves the item's text."""
    found = MENTION.search(body)
    owner = found.group(1) if found else author
    text = " ".join(MENTION.sub(" ", body, count=1).split()) if found else body
    return owner, text.strip(" -–—:") or body


@dataclass(frozen=True)
class ThreadMessage:
    """One reply in a meeting thread, as the handler read it from Slack (bots already left out)."""

    user: str
    text: str


def origin_for(channel: str, ts: str) -> str:
    """A proposal origin unique to one Slack message (fits `os_proposals.origin`, 20 characters),
    so two corrections in one thread never supersede each other."""
    return "slack:" + hashlib.sha1(f"{channel}:{ts}".encode()).hexdigest()[:12]  # noqa: S324 - an id


class ConversationService:
    def __init__(
        self,
        db: Database,
        access: AccessPolicy,
        qa: QAService,
        action_items: ActionItemService,
        proposals: ProposalService,
        store: MeetingStore,
    ) -> None:
        self.db = db
        self.access = access
        self.qa = qa
        self.action_items = action_items
        self.proposals = proposals
        self.store = store

    async def meeting_of_thread(self, channel: str, thread_ts: str | None) -> int | None:
        """The meeting whose card starts this thread; None: not a thread the bot started."""
        return await self.access.card_at(channel, thread_ts)

    async def first_time(self, channel: str, ts: str) -> bool:
        """At most one answer per message, across retries, edits and instances."""
        return await first_sighting(self.db, f"msg:{channel}:{ts}"[:64])

    async def ask_in_thread(self, question: str, asker: str, channel: str, thread_ts: str) -> Answer:
        """From the card's meeting only, citing what both the asker and every reader of the channel
        may see (services.qa resolves the thread to its meeting and the scope)."""
        return await self.qa.answer(question, asker, channel=channel, thread_ts=thread_ts)

    async def ask_by_dm(self, question: str, asker: str, channel: str) -> Answer:
        """Across every meeting the asker may see; the DM is read by the asker alone."""
        return await self.qa.answer(question, asker, channel=channel)

    async def add_action(
        self, meeting_id: int, body: str, actor: str, *, author: str | None = None
    ) -> ActionItem:
        """`actor` makes the item (and must be allowed to); its owner is the first person `body`
        mentions, else the message's `author` (the actor when they wrote it)."""
        owner, text = owner_and_text(body, author or actor)
        return await self.action_items.create(meeting_id, text, actor=actor, owner_slack_id=owner)

    async def propose_correction(
        self, meeting_id: int, text: str, author: str, *, channel: str, ts: str
    ) -> list[OSProposal]:
        """A correction goes into the meeting note (and the client's log when there is a client),
        through a proposal an approver reviews: nobody's Slack message edits the OS directly."""
        meeting = await self.store.get(meeting_id)
        fathom = meeting.fathom()
        day = (meeting.started_at or utcnow()).date()
        note = note_path(fathom, day)
        line = f"- {_quoted(text)} — <@{author}>, {utcnow().date().isoformat()} (Slack thread)"
        updates = [
            await self._append(note, "Corrections from Slack", line, "a correction in the meeting's thread")
        ]
        slug = meeting.client_slug or client_slug(fathom)
        if slug:
            path = f"clients/{slug}/log.md"
            entry = f"- {day.isoformat()} correction ({meeting.title}): {_quoted(text)} — <@{author}>"
            updates.append(await self._append(path, None, entry, "a correction about this client"))
        _current, added = await self.proposals.propose(
            meeting_id, updates, f"slack:{author}", origin=origin_for(channel, ts)
        )
        return added

    async def summarise_thread(
        self, meeting_id: int, replies: Sequence[ThreadMessage], actor: str, *, channel: str, ts: str
    ) -> list[OSProposal]:
        """The thread's substance (questions, commands, corrections and statements; not chit-chat)
        appended to the meeting note through a proposal."""
        meeting = await self.store.get(meeting_id)
        lines = [f"- <@{r.user}>: {_quoted(r.text)}" for r in replies if _substance(r.text)]
        if not lines:
            raise NotFound("There is nothing in this thread to add to the meeting note yet.")
        if len(lines) > MAX_SUMMARY_LINES:
            lines = [*lines[:MAX_SUMMARY_LINES], f"- … and {len(lines) - MAX_SUMMARY_LINES} more replies"]
        day = (meeting.started_at or utcnow()).date()
        heading = f"Discussion in Slack ({utcnow().date().isoformat()})"
        update = await self._append(
            note_path(meeting.fathom(), day), heading, "\n".join(lines), "the meeting thread's discussion"
        )
        _current, added = await self.proposals.propose(
            meeting_id, [update], f"slack:{actor}", origin=origin_for(channel, ts)
        )
        return added

    async def _append(self, path: str, heading: str | None, body: str, reason: str) -> OSUpdate:
        current, _blob = await self.proposals.repo.read(path)
        content = f"\n## {heading}\n\n{body}\n" if heading else body
        if current is None:
            title = path.rsplit("/", 1)[-1].removesuffix(".md").replace("-", " ")
            return OSUpdate(path=path, action="create", content=f"# {title}\n{content}", reason=reason)
        return OSUpdate(path=path, action="append", content=content, reason=reason)


def _quoted(text: str, limit: int = 500) -> str:
    line = MENTION.sub(lambda m: f"<@{m.group(1)}>", " ".join(text.split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _substance(text: str) -> bool:
    found = classify(text)
    if found.intent is Intent.SUMMARISE:
        return False
    return found.intent is not Intent.CHITCHAT or len(text.split()) >= 6


__all__ = [
    "Classified",
    "ConversationService",
    "Intent",
    "ThreadMessage",
    "classify",
    "is_help",
    "origin_for",
    "owner_and_text",
]
