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

_FILLER = re.compile(
    r"^(?:(?:uh|um|mm|hmm|mm-hmm|uh-huh|yeah|yes|yep|no|okay|ok|'kay|right|alright|sure|cool|great|"
    r"good|so|and|but|oh|ah|well|yo|hm|mhm|huh|true|exactly|fine|indeed)[\s,.!?…-]*)+$",
    re.IGNORECASE,
)
_DISFLUENCY = re.compile(r"\b(?:uh|um|mm)\b[,]?\s*", re.IGNORECASE)
_SPACES = re.compile(r"\s{2,}")


def estimate_tokens(text: str) -> int:
    """Cheap, dependency-free estimate (chars/4); good enough for budgeting, not for billing."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def render_transcript(meeting: FathomMeeting) -> list[str]:
    """One compact line per speaker turn: `[HH:MM:SS] Name: text`, fillers and 'uh/um' removed."""
    lines: list[str] = []
    last_speaker: str | None = None
    for turn in meeting.transcript or []:
        text = _SPACES.sub(" ", _DISFLUENCY.sub("", turn.text)).strip()
        if not text or text == "..." or _FILLER.match(text):
            continue
        speaker = turn.speaker.display_name
        if speaker == last_speaker and lines and len(lines[-1]) < 1200:
            lines[-1] = f"{lines[-1]} {text}"
        else:
            lines.append(f"[{turn.timestamp}] {speaker}: {text}")
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


def _close_in_time(a: str | None, b: str | None, seconds: int = 60) -> bool:
    return bool(a and b) and abs(timestamp_seconds(a or "") - timestamp_seconds(b or "")) <= seconds


def match_score(a: ActionItemOut, b: ActionItemOut) -> float:
    """> 0 when two wordings name one commitment: near-identical text, or same owner at the same moment.

    Higher is a better match, so an extracted item enriches the closest Fathom item, not the first.
    """
    score = similarity(a.text, b.text)
    if score >= 0.6:
        return 1.0 + score
    if not _same_person(a, b):
        return 0.0
    close = _close_in_time(a.source_timestamp, b.source_timestamp)
    if score < 0.3 and not close:
        return 0.0
    gap = abs(timestamp_seconds(a.source_timestamp or "") - timestamp_seconds(b.source_timestamp or ""))
    return score + (0.5 * (1 - gap / 60) if close else 0.0)


def same_action(a: ActionItemOut, b: ActionItemOut) -> bool:
    return match_score(a, b) > 0


def _fill(into: ActionItemOut, other: ActionItemOut) -> ActionItemOut:
    """Keep `into` but take fields it lacks (due date, owner, timestamp) from a duplicate."""
    updates: dict[str, object] = {}
    for field in ("owner_name", "owner_email", "due_date", "source_timestamp"):
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
    for item in items:
        scores = [match_score(f, item) for f in fathom]
        best = max(range(len(fathom)), key=lambda i: scores[i], default=None)
        if best is not None and scores[best] > 0:
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
    """Union of chunk results: items de-duplicated by normalised text, types by max confidence.

    Summaries are joined (no extra model call): the first part's one-liner, the parts' summaries in
    order. Cheaper and cannot fail; the cost is a longer summary for very long meetings.
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
        if not any(similarity(d.what, k.what) >= 0.6 for k in decisions):
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
