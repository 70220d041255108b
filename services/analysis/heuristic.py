"""Offline analyzer: rules over Fathom's own output and the transcript, no network, deterministic.

It is the answer when no API key is set and the safety net when Claude fails, so it must never
crash and must prefer a few well-ranked findings over hundreds of weak ones (long, chatty
transcripts otherwise drown the card in false "commitments").
"""

from __future__ import annotations

import re
from datetime import date

from services.analysis import extract
from services.analysis.chunking import merge_fathom_items
from services.analysis.os_updates import client_slug, standard_updates
from services.analysis.schema import (
    AnalysisOutcome,
    MeetingAnalysis,
    Stakeholder,
    TypeScore,
)
from services.clock import utcnow
from services.cpu import run_cpu
from services.fathom import FathomMeeting
from services.languages import RULE_LANGUAGES, name_of, spoken_language
from services.sentiment import meeting_tone

CLIENT_TYPES = ("client", "ai_audit", "discovery", "sales")

# (type, pattern, weight, literals); title hits count triple, Fathom's summary double, transcript
# once. The pattern needs one of the literals, so a transcript without them is not searched (#14).
_TYPE_RULES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("ai_audit", r"\bai audit\b", 3.0, ("ai audit",)),
    ("ai_audit", r"\baudit\b", 1.5, ("audit",)),
    ("ai_audit", r"\bautomation\b", 0.5, ("automation",)),
    ("discovery", r"\bdiscovery\b", 2.5, ("discovery",)),
    ("discovery", r"\bpain points?\b|\bwalk me through\b", 1.0, ("pain point", "walk me through")),
    (
        "sales",
        r"\bproposal\b|\bpricing\b|\bquote\b|\bstatement of work\b|\bsow\b",
        1.0,
        ("proposal", "pricing", "quote", "statement of work", "sow"),
    ),
    ("sales", r"\bdemo\b|\bdeal\b|\bcontract\b", 0.7, ("demo", "deal", "contract")),
    (
        "coaching",
        r"\bcoach(?:ing)?\b|\bmentor(?:ing|ship)?\b|\b1:1\b|\bone[- ]on[- ]one\b",
        2.5,
        ("coach", "mentor", "1:1", "on-one", "on one"),
    ),
    (
        "internal_partner",
        r"\bpartner sync\b|\bpartners? meeting\b|\bweekly sync\b|\bstand-?up\b",
        3.0,
        ("partner", "weekly sync", "standup", "stand-up"),
    ),
    (
        "internal_partner",
        r"\bpipeline\b|\bhiring\b|\bretro\b|\bplanning\b",
        0.8,
        ("pipeline", "hiring", "retro", "planning"),
    ),
    (
        "networking",
        r"\bintro(?:duction)? call\b|\bnetworking\b|\bcoffee chat\b|\bmeet and greet\b",
        2.5,
        ("intro", "networking", "coffee chat", "meet and greet"),
    ),
    ("networking", r"\bintro\b", 1.0, ("intro",)),
    (
        "client",
        r"\bkick-?off\b|\bcheck-?in\b|\bstatus update\b|\bdelivery\b|\bproject\b",
        0.6,
        ("kickoff", "kick-off", "checkin", "check-in", "status update", "delivery", "project"),
    ),
)
NAMING_WEIGHT = 3.0  # a rule this strong names the meeting ("ai audit", "partner sync"): once is enough
_TYPE_CHECKS = tuple((kind, re.compile(p), weight, cues) for kind, p, weight, cues in _TYPE_RULES)


def _meeting_day(meeting: FathomMeeting) -> date:
    started = meeting.started_at
    return started.date() if started else utcnow().date()


def classify(meeting: FathomMeeting) -> list[TypeScore]:
    """Keyword evidence plus the invitee mix; confidences are capped so rules never sound certain."""
    title = f"{meeting.title} {meeting.meeting_title or ''}".lower()
    summary = meeting.summary_markdown.lower()
    body = " ".join(t.text for t in (meeting.transcript or [])[:400]).lower()
    scores: dict[str, float] = {}
    partner_sync = False  # said in so many words, or in the title or Fathom's summary
    for kind, rx, weight, cues in _TYPE_CHECKS:
        named = 3 * bool(rx.search(title)) + 2 * bool(rx.search(summary))
        said = 0
        if any(map(body.__contains__, cues)):  # case-sensitive patterns: a substring test is exact
            said = min(len(rx.findall(body)), 3)
        # one passing word in an hour of talk types nothing (AMI's "your personal coach", a
        # parliament's "planning", a research group's "pipeline"); a phrase naming the meeting does
        hits = named + (said if said >= 2 or weight >= NAMING_WEIGHT else 0)
        if hits:
            scores[kind] = scores.get(kind, 0.0) + weight * hits
            partner_sync |= kind == "internal_partner" and (bool(named) or weight >= NAMING_WEIGHT)
    external = bool(meeting.external_invitees) or meeting.calendar_invitees_domains_type == (
        "one_or_more_external"
    )
    if external:
        scores["client"] = scores.get("client", 0.0) + 3.0
        scores.pop("internal_partner", None)
    else:
        for kind in CLIENT_TYPES:
            scores[kind] = scores.get(kind, 0.0) * 0.3
        # only with evidence of a partner sync: a research group or a parliament is "other", and
        # the business words (pipeline, hiring, planning) support a partner sync but never make one
        weak = 1.5 if partner_sync else 0.3
        scores["internal_partner"] = scores.get("internal_partner", 0.0) * weak + (
            3.0 if partner_sync else 0.5
        )
    out = [
        TypeScore(type=kind, confidence=round(min(0.9, score / (score + 4.0)), 2))  # type: ignore[arg-type]
        for kind, score in scores.items()
        if score / (score + 4.0) >= 0.25
    ]
    out.sort(key=lambda s: (-s.confidence, s.type))
    return out or [TypeScore(type="other", confidence=0.3)]


def _one_line(meeting: FathomMeeting, types: list[TypeScore], names: list[str]) -> str:
    for raw in meeting.summary_markdown.splitlines():
        line = raw.strip().lstrip("-*• ").strip()
        if not line or line.startswith("#") or len(line) < 12:
            continue
        first = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
        return first[:200]
    kind = types[0].type.replace("_", " ") if types else "meeting"
    who = ", ".join(names[:4]) or "no listed attendees"
    return f"{meeting.title} ({kind}) with {who}"[:200]


def _full_summary(meeting: FathomMeeting, one_line: str, analysis_counts: str) -> str:
    if meeting.summary_markdown.strip():
        return meeting.summary_markdown.strip()
    if meeting.transcript:
        lines = extract.extractive_summary(meeting)
        if lines:
            bullets = "\n".join(f"- {line}" for line in lines)
            return f"{bullets}\n\n_Extracted from the transcript (Fathom sent no summary)._ {analysis_counts}"
        return f"{one_line}.\n\nFathom sent no summary; the transcript is short. {analysis_counts}".strip()
    return f"{one_line}.\n\nNo summary or transcript was included by Fathom. {analysis_counts}".strip()


def _stakeholders(meeting: FathomMeeting) -> list[Stakeholder]:
    roles = extract.spoken_roles(meeting)
    out: list[Stakeholder] = []
    for inv in meeting.calendar_invitees:
        name = inv.name or (inv.email or "").partition("@")[0] or "Unknown"
        domain = inv.email_domain or (inv.email or "").partition("@")[2]
        org = domain.split(".")[0].replace("-", " ").title() if domain else None
        out.append(Stakeholder(name=name, email=inv.email, organisation=org, role=roles.get(name)))
    return out


def needs_claude_note(language: str) -> str:
    return (
        f"_This meeting was held in {name_of(language)}: the offline analyzer's rules read English,"
        " so this card shows Fathom's own summary and action items. Deeper analysis (decisions,"
        " risks, items in the meeting's language) needs Claude (`ANTHROPIC_API_KEY`)._"
    )


def _fathom_only(meeting: FathomMeeting, types: list[TypeScore], day: date, language: str) -> MeetingAnalysis:
    """A meeting in a language the rules do not cover: Fathom's items and summary, nothing invented."""
    names = [i.name or i.email or "" for i in meeting.calendar_invitees]
    one_line = _one_line(meeting, types, [n for n in names if n])
    fathom_summary = meeting.summary_markdown.strip() or f"{one_line}."
    analysis = MeetingAnalysis(
        types=types,
        summary_one_line=one_line,
        summary=f"{needs_claude_note(language)}\n\n{fathom_summary}",  # first: never cut off
        action_items=merge_fathom_items(meeting, []),
        stakeholders=_stakeholders(meeting),
        sentiment=None,  # VADER scores English words only
    )
    return analysis.model_copy(update={"os_updates": standard_updates(meeting, analysis, day)})


class HeuristicAnalyzer:
    """Rule-based analysis; never raises on a valid `FathomMeeting`."""

    name = "heuristic"

    async def analyze(self, meeting: FathomMeeting, *, os_context: str = "") -> AnalysisOutcome:
        # CPU-bound on long transcripts: off the event loop so webhook acks and Slack acks stay fast
        analysis = await run_cpu(self.analyze_sync, meeting)
        return AnalysisOutcome(analysis=analysis, analyzer="heuristic")

    def analyze_sync(self, meeting: FathomMeeting) -> MeetingAnalysis:
        day = _meeting_day(meeting)
        types = classify(meeting)
        language = spoken_language(meeting)
        if language not in RULE_LANGUAGES:  # rules over English words would extract noise
            return _fathom_only(meeting, types, day, language)
        found = extract.extract_all(meeting, day)
        actions = merge_fathom_items(meeting, found.actions)
        names = [i.name or i.email or "" for i in meeting.calendar_invitees]
        one_line = _one_line(meeting, types, [n for n in names if n])
        counts = f"{len(actions)} action items, {len(found.decisions)} decisions found."
        analysis = MeetingAnalysis(
            types=types,
            summary_one_line=one_line,
            summary=_full_summary(meeting, one_line, counts),
            action_items=actions,
            decisions=list(found.decisions),
            risks=list(found.risks),
            requirements=list(found.requirements),
            budget=list(found.budget),
            timeline=list(found.timeline),
            stakeholders=_stakeholders(meeting),
            roadmap_ideas=list(found.roadmap),
            sentiment=meeting_tone(meeting).score,  # VADER, offline (services/sentiment.py)
        )
        return analysis.model_copy(update={"os_updates": standard_updates(meeting, analysis, day)})


__all__ = ["HeuristicAnalyzer", "classify", "client_slug"]
