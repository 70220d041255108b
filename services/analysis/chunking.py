"""Transcript rendering, token budgeting and the merge rules shared by every analyzer.

A transcript is rendered compactly (filler-only turns dropped, consecutive turns of one speaker
joined) because input tokens are the main cost of a meeting; long ones are split on line
boundaries with a small overlap so a commitment spoken across the cut is seen whole by one chunk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from services.analysis.schema import (
    ActionItemOut,
    DecisionOut,
    MeetingAnalysis,
    MeetingType,
    Mention,
    OSUpdate,
    Stakeholder,
    TypeScore,
)
from services.fathom import FathomMeeting, timestamp_seconds

T = TypeVar("T")
CHARS_PER_TOKEN = 4
OVERLAP_LINES = 3

# Turns that carry nothing: disfluencies and back-channel noises.
_NOISE = re.compile(
    r"^(?:(?:uh|um|mm|hmm|mm-hmm|uh-huh|so|and|but|oh|ah|well|yo|hm|mhm|huh)[\s,.!?…-]*)+$", re.I
)
# Short answers: dropped when they answer nothing, kept after a question or a proposal, because
# "Okay." after "Shall we drop speech recognition?" is the decision.
_SHORT_ANSWER = re.compile(
    r"^(?:(?:uh|um|mm|yeah|yes|yep|yup|no|nope|okay|ok|'kay|right|alright|sure|cool|great|good|agreed|"
    r"exactly|fine|true|indeed|absolutely|definitely|perfect|correct|of course|sounds good|"
    r"mm-hmm|uh-huh|let's do it|let's do that)[\s,.!?…-]*)+$",
    re.IGNORECASE,
)
_PROPOSAL = re.compile(
    r"\?\s*$|\b(?:let's|let us|shall we|should we|we could|we should|how about|what about|why don't we|"
    r"i suggest|i propose|go (?:with|for)|agree(?:d)?\b|is that ok|okay\?|right\?)",
    re.IGNORECASE,
)
_DISFLUENCY = re.compile(r"\b(?:uh|um|mm)\b[,]?\s*", re.IGNORECASE)
_SPACES = re.compile(r"\s{2,}")
_KEYS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def estimate_tokens(text: str) -> int:
    """Cheap, dependency-free estimate (chars/4); good enough for budgeting, not for billing."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def short_time(value: str) -> str:
    """'00:04:28' -> '4:28', '01:20:07' -> '1:20:07': fewer tokens, same instant."""
    seconds = timestamp_seconds(value or "")
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def long_time(value: str | None, limit: int | None = None) -> str | None:
    """Any 'H:MM:SS' / 'M:SS' back to 'HH:MM:SS', clamped to `limit` seconds; junk -> None."""
    if not value or not re.fullmatch(r"\s*\d{1,3}(?::\d{1,2}){1,2}\s*", value):
        return None
    seconds = timestamp_seconds(value.strip())
    if limit is not None:
        seconds = max(0, min(seconds, limit))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def speaker_keys(meeting: FathomMeeting) -> dict[str, str]:
    """Speaker name -> short key (A, B, … then S27, …) in order of first turn."""
    keys: dict[str, str] = {}
    for turn in meeting.transcript or []:
        name = turn.speaker.display_name
        if name not in keys:
            n = len(keys)
            keys[name] = _KEYS[n] if n < len(_KEYS) else f"S{n + 1}"
    return keys


def speaker_legend(meeting: FathomMeeting) -> str:
    """'A = Maya Chen <maya@agency.example>; B = …' so the model maps keys back to people."""
    emails = {}
    for person in meeting.calendar_invitees:
        if person.name and person.email:
            emails[person.name.lower()] = person.email
    parts = []
    for name, key in speaker_keys(meeting).items():
        email = emails.get(name.lower())
        parts.append(f"{key} = {name}" + (f" <{email}>" if email else ""))
    return "; ".join(parts)


def render_transcript(meeting: FathomMeeting) -> list[str]:
    """One compact line per speaker turn: `[4:28] B: text` (keys from `speaker_legend`).

    Disfluencies and noise turns go; short answers stay when they follow another speaker's question
    or proposal; consecutive turns of one speaker are joined under one label and one timestamp.
    """
    keys = speaker_keys(meeting)
    lines: list[str] = []
    last_speaker: str | None = None
    asked_by: str | None = None  # who put the open question or proposal, if the last statement was one
    for turn in meeting.transcript or []:
        raw = _SPACES.sub(" ", turn.text).strip()
        speaker = turn.speaker.display_name
        if not raw or raw == "..." or _NOISE.match(raw):
            continue
        if _SHORT_ANSWER.match(raw):
            if asked_by is None or speaker == asked_by:  # a back-channel, not an answer
                continue
            text = raw
        else:
            text = _SPACES.sub(" ", _DISFLUENCY.sub("", raw)).strip()
            if not text:
                continue
            asked_by = speaker if _PROPOSAL.search(text) else None
        if speaker == last_speaker and lines and len(lines[-1]) < 1200:
            lines[-1] = f"{lines[-1]} {text}"
        else:
            lines.append(f"[{short_time(turn.timestamp)}] {keys[speaker]}: {text}")
        last_speaker = speaker
    return lines


def split_lines(lines: Sequence[str], max_tokens: int, overlap: int = OVERLAP_LINES) -> list[list[str]]:
    """Balanced chunks of at most ~`max_tokens` on line boundaries; each repeats a few prior lines.

    Balanced (total / n per chunk) rather than greedy, so a meeting just over the limit becomes
    two halves instead of a full chunk plus a tiny tail analysed without context.
    """
    if not lines:
        return [[]]
    budget = max_tokens * CHARS_PER_TOKEN
    sizes = [len(line) + 1 for line in lines]
    total = sum(sizes)
    if total <= budget:
        return [list(lines)]
    slack = overlap * total // len(lines) + max(sizes)
    n = -(-total // max(budget - slack, budget // 3))
    per_chunk = total / n
    groups: list[list[str]] = [[] for _ in range(n)]
    offset = 0
    for line, size in zip(lines, sizes, strict=True):
        groups[min(n - 1, int(offset / per_chunk))].append(line)
        offset += size
    chunks = [groups[0]]
    for prev, group in zip(groups, groups[1:], strict=False):
        if group:
            chunks.append((prev[-overlap:] if overlap else []) + group)
    return chunks


# --- merging -----------------------------------------------------------------------------------

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "for",
        "with",
        "on",
        "in",
        "at",
        "by",
        "from",
        "we",
        "i",
        "you",
        "our",
        "your",
        "it",
        "is",
        "be",
        "will",
        "can",
        "would",
        "should",
        "this",
        "that",
        "these",
        "those",
        "their",
        "them",
        "they",
        "he",
        "she",
        "his",
        "her",
        "my",
        "me",
        "us",
    ]
)


def normalise(text: str) -> str:
    """Lowercase content words only, so 'Send the SOW.' and 'send SOW' compare equal."""
    return " ".join(w for w in re.findall(r"[a-z0-9$]+", text.lower()) if w not in _STOP)


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of content words (0..1)."""
    wa, wb = set(normalise(a).split()), set(normalise(b).split())
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def _same_person(a: ActionItemOut, b: ActionItemOut) -> bool:
    if a.owner_email and b.owner_email:
        return a.owner_email.lower() == b.owner_email.lower()
    if a.owner_name and b.owner_name:
        return a.owner_name.split()[0].lower() == b.owner_name.split()[0].lower()
    return False


def _owner_compatible(a: ActionItemOut, b: ActionItemOut) -> bool:
    """Same person, or at least one side does not say who."""
    if not (a.owner_email or a.owner_name) or not (b.owner_email or b.owner_name):
        return True
    return _same_person(a, b)


def _close_in_time(a: str | None, b: str | None, seconds: int = 60) -> bool:
    return bool(a and b) and abs(timestamp_seconds(a or "") - timestamp_seconds(b or "")) <= seconds


def same_evidence(a: str | None, b: str | None) -> bool:
    """Two quotes of one utterance: equal, or one contained in the other, after normalising."""
    na, nb = normalise(a or ""), normalise(b or "")
    if len(na) < 8 or len(nb) < 8:
        return False
    return na == nb or na in nb or nb in na


def same_commitment(a: ActionItemOut, b: ActionItemOut) -> bool:
    """One commitment worded twice: near-identical text, or the same evidence for a related task.

    Never "same owner, same minute": a wrap-up turn often holds several tasks of one person, so the
    same quote alone does not merge two clearly different texts (the text overlap guard).
    """
    text = similarity(a.text, b.text)
    if text >= 0.6:
        return _owner_compatible(a, b)
    return text >= 0.25 and _owner_compatible(a, b) and same_evidence(a.evidence, b.evidence)


def match_score(a: ActionItemOut, b: ActionItemOut) -> float:
    """> 0 when `b` may be a rewording of Fathom's item `a`; higher is a closer match.

    Scores of 1 and more are text matches (or the same evidence). Below 1 the match rests on the
    same owner at the same moment, which Fathom's short restatements need; `merge_fathom_items`
    lets each Fathom item absorb at most one such loose match, so distinct tasks are never folded.
    """
    score = similarity(a.text, b.text)
    if score >= 0.6:
        return 1.0 + score
    if same_commitment(a, b):
        return 1.0 + score
    if not _same_person(a, b):
        return 0.0
    close = _close_in_time(a.source_timestamp, b.source_timestamp)
    if score < 0.3 and not close:
        return 0.0
    gap = abs(timestamp_seconds(a.source_timestamp or "") - timestamp_seconds(b.source_timestamp or ""))
    return score + (0.5 * (1 - gap / 60) if close else 0.0)


def same_action(a: ActionItemOut, b: ActionItemOut) -> bool:
    return same_commitment(a, b)


def _fill(into: ActionItemOut, other: ActionItemOut) -> ActionItemOut:
    """Keep `into` but take fields it lacks (due date, owner, timestamp) from a duplicate."""
    updates: dict[str, object] = {}
    for field in ("owner_name", "owner_email", "due_date", "source_timestamp", "evidence"):
        if getattr(into, field) is None and getattr(other, field) is not None:
            updates[field] = getattr(other, field)
    if other.priority == "urgent" and into.priority != "urgent":
        updates["priority"] = "urgent"
    return into.model_copy(update=updates) if updates else into


def dedupe_actions(items: Iterable[ActionItemOut]) -> list[ActionItemOut]:
    out: list[ActionItemOut] = []
    for item in items:
        for i, kept in enumerate(out):
            if same_action(kept, item):
                out[i] = _fill(kept, item)
                break
        else:
            out.append(item)
    return out


def fathom_action_items(meeting: FathomMeeting) -> list[ActionItemOut]:
    """Fathom's own items in our schema; they are never dropped by any analyzer."""
    out: list[ActionItemOut] = []
    for item in meeting.action_items or []:
        text = item.description.strip()
        if not text:
            continue
        assignee = item.assignee
        out.append(
            ActionItemOut(
                text=text[:2000],
                owner_name=assignee.name if assignee else None,
                owner_email=assignee.email if assignee else None,
                source_timestamp=item.recording_timestamp,
                source="fathom",
            )
        )
    return out


def merge_fathom_items(meeting: FathomMeeting, items: Sequence[ActionItemOut]) -> list[ActionItemOut]:
    """Fathom items first (their text and assignee win), enriched by matching extracted items."""
    fathom = fathom_action_items(meeting)
    rest: list[ActionItemOut] = []
    loose: set[int] = set()  # Fathom items that already absorbed an owner-and-time-only match
    for item in items:
        scores = [match_score(f, item) for f in fathom]
        for i in loose:
            if scores[i] < 1.0:
                scores[i] = 0.0
        best = max(range(len(fathom)), key=lambda i: scores[i], default=None)
        if best is not None and scores[best] > 0:
            if scores[best] < 1.0:
                loose.add(best)
            enriched = _fill(fathom[best], item)
            if item.priority != "important":
                enriched = enriched.model_copy(update={"priority": item.priority})
            fathom[best] = enriched
        else:
            rest.append(item.model_copy(update={"source": "analysis"}) if item.source == "fathom" else item)
    return fathom + dedupe_actions(rest)


def _dedupe_by(items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    seen: set[str] = set()
    out: list[T] = []
    for item in items:
        k = key(item)
        if k and k not in seen:
            seen.add(k)
            out.append(item)
    return out


def merge_analyses(parts: Sequence[MeetingAnalysis]) -> MeetingAnalysis:
    """Union of chunk results: items and decisions de-duplicated as one commitment (`same_commitment`),
    mentions by normalised text, types by max confidence, section changes by (path, section).

    Headline and summary here are the fallback (first one-liner, summaries joined); the Claude
    analyzer replaces them with its merge step's single headline and summary.
    """
    if len(parts) == 1:
        return parts[0]
    best: dict[MeetingType, float] = {}
    for part in parts:
        for score in part.types:
            best[score.type] = max(best.get(score.type, 0.0), score.confidence)
    types = [TypeScore(type=t, confidence=c) for t, c in sorted(best.items(), key=lambda kv: -kv[1])]
    summary = "\n\n".join(p.summary.strip() for p in parts if p.summary.strip())
    one_line = next((p.summary_one_line for p in parts if p.summary_one_line.strip()), "")

    def mentions(attr: str) -> list[Mention]:
        return _dedupe_by((m for p in parts for m in getattr(p, attr)), lambda m: normalise(m.text))

    decisions: list[DecisionOut] = []
    for d in (d for p in parts for d in p.decisions):
        for i, kept in enumerate(decisions):
            text = similarity(d.what, kept.what)
            if text >= 0.6 or (text >= 0.25 and same_evidence(d.evidence, kept.evidence)):
                if d.status == "made" and kept.status != "made":  # confirmed later in the meeting
                    decisions[i] = kept.model_copy(update={"status": "made"})
                break
        else:
            decisions.append(d)
    stakeholders: list[Stakeholder] = _dedupe_by(
        (s for p in parts for s in p.stakeholders), lambda s: (s.email or s.name).lower()
    )
    updates: dict[tuple[str, str, str | None], OSUpdate] = {}
    for u in (u for p in parts for u in p.os_updates):
        key = (u.path, u.action, u.section)
        if key in updates:
            if u.content.strip() not in updates[key].content:
                merged = f"{updates[key].content.rstrip()}\n\n{u.content.strip()}\n"
                updates[key] = updates[key].model_copy(update={"content": merged})
        else:
            updates[key] = u
    return MeetingAnalysis(
        types=types,
        summary_one_line=one_line,
        summary=summary,
        action_items=dedupe_actions(a for p in parts for a in p.action_items),
        decisions=decisions,
        risks=mentions("risks"),
        requirements=mentions("requirements"),
        budget=mentions("budget"),
        timeline=mentions("timeline"),
        stakeholders=stakeholders,
        roadmap_ideas=mentions("roadmap_ideas"),
        os_updates=list(updates.values()),
    )
