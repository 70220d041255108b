"""Rule-based extraction from a transcript: commitments with due dates, decisions and mentions.

Every finding is scored and the lists are capped, because real conversations say "I'll…" and
"we need…" hundreds of times; the card should show the handful that are actual commitments.
"""

from __future__ import annotations

import calendar
import functools
import itertools
import operator
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.analysis.chunking import similarity
from services.analysis.decision_model import turn_logits
from services.analysis.schema import ActionItemOut, DecisionOut, DecisionStatus, Mention
from services.fathom import FathomMeeting, Invitee

MAX_ACTIONS = 12
MAX_DECISIONS = 10
MIN_CONSENSUS_SCORE = 5.0
MAX_MENTIONS = 6
MIN_COMMITMENT_SCORE = 4.0
MIN_MENTION_SCORE = 2.0

# possessive runs: a repeated word must be whole (a space follows it), so giving back letters
# only slows the search down (#14: clean() runs on every turn and sentence)
_STUTTER = re.compile(r"\b(\w++(?: \w++)?)(?: \1\b)+", re.IGNORECASE)
_FIRST_GROUP = operator.methodcaller("group", 1)  # a "\1" template costs a lookup per sub() call
_FILLER = re.compile(r"\b(?:uh|um|mm|hmm)\b[,]?\s*", re.IGNORECASE)
_FILLER_CUES = ("uh", "um", "mm")  # literals _FILLER needs (one of them)
_SPACES = re.compile(r"\s{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,.!?;:])")
_SPACE_PUNCT = (" ,", " .", " !", " ?", " ;", " :")  # what _SPACE_BEFORE_PUNCT needs in plain text
_META = re.compile(r"\b(?:this meeting|the agenda|presentation|minutes|slides?|whiteboard)\b", re.I)


def clean(text: str) -> str:
    """Spoken text made readable: no 'uh/um', no 'we we', no stray spaces before punctuation."""
    if not text.isascii() or any(map(text.lower().__contains__, _FILLER_CUES)):
        text = _FILLER.sub("", text)  # after cleaning a turn, its sentences seldom hold a filler
    # printable text has no whitespace but " " (str.isprintable), so literal tests are exact there
    plain = text.isprintable()
    text = _STUTTER.sub(_FIRST_GROUP, text)
    if not plain or "  " in text:
        text = _SPACES.sub(" ", text)
    if not plain or any(map(text.__contains__, _SPACE_PUNCT)):
        text = _SPACE_BEFORE_PUNCT.sub("", text)
    return text.strip(" ,")


WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
ORDINALS = {
    w: i + 1
    for i, w in enumerate(
        [
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
            "thirteenth",
            "fourteenth",
            "fifteenth",
            "sixteenth",
            "seventeenth",
            "eighteenth",
            "nineteenth",
            "twentieth",
        ]
    )
}
ORDINALS.update({"twenty-first": 21, "twenty-second": 22, "twenty-third": 23, "thirtieth": 30})
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "a": 1, "a couple of": 2}

_MONTH_RX = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_RX = "|".join(WEEKDAYS)
_ORD_RX = "|".join(sorted(ORDINALS, key=len, reverse=True))
_DATE_RX = re.compile(
    rf"\b(?P<today>today|tonight|this afternoon|end of (?:the )?day|eod)\b"
    rf"|\b(?P<tomorrow>tomorrow)\b"
    rf"|\b(?P<next>next )?(?P<weekday>{_DAY_RX})\b"
    rf"|\b(?P<eow>(?:end of |later )?this week|end of (?:the )?week)\b"
    rf"|\b(?P<nextweek>next week)\b"
    rf"|\bin (?P<n>\d+|{'|'.join(NUMBERS)}) (?P<unit>days?|weeks?)\b"
    rf"|\b(?:end of |the end of )?(?P<month>{_MONTH_RX})\.? ?(?P<mday>\d{{1,2}})?(?:st|nd|rd|th)?\b"
    # a spoken ordinal is a date only after "on/by/until/before the" and not before a noun:
    # "the first one", "the second thing", "for the first time" are not days of the month
    rf"|\b(?:on|by|until|before) the (?P<ord>\d{{1,2}}(?:st|nd|rd|th)|{_ORD_RX})\b(?!\s+[a-z])",
    re.IGNORECASE,
)

_COMMIT_RX = re.compile(
    r"\b(?:I will|I'll|I can|I'm going to|I am going to|I'm gonna|I am gonna|I'll have|let me|we will|we'll"
    r"|we're going to)\b",
    re.IGNORECASE,
)
_ASK_RX = re.compile(r"\b(?:can you|could you|would you|will you|please)\b", re.IGNORECASE)
# "you will have to…", "you're going to look at…", "if you can check…", "I'd like you to…"
_YOU_RX = re.compile(
    r"\byou(?:'ll| will| are| 're|'re)? (?:have to|need to|going to|gonna|be (?:looking|working|focus(?:s)?ing))\b"
    r"|\byou(?:'ll| will) (?:work|look|focus|check|find|think|investigate|send|prepare|do|make|try)\b"
    r"|\bif you (?:can|could)\b|\bI(?:'d| would) like you(?: guys)? to\b|\bI need you(?: guys)? to\b"
    r"|\b(?:it's|it is) your (?:task|job)\b|\byour (?:task|job|assignment) (?:is|will be)\b"
    r"|\byou (?:might|may) want to\b|\byou can (?:look|check|ask|investigate|find|work)\b",
    re.IGNORECASE,
)
# in the wrap-up, "you're looking at the technical functions design" hands out the next task
_WRAP_UP_YOU_RX = re.compile(
    r"\byou(?:'re| are| will be|'ll be) (?:looking at|working on|doing|focus(?:s)?ing on)\b|\bfor you it's\b",
    re.IGNORECASE,
)
# "the Industrial Designer is gonna work on…", "Mark will be focused on…" (a role or a name, not "I"/"we")
_THIRD_RX = re.compile(
    r"\b(?:the |our )?(?:[A-Z][a-z]+|(?i:(?:user )?(?:industrial|interface|ui) designer|U_I_D_"
    r"|market(?:ing)? (?:expert|manager)|project manager|designers))(?: over here| [A-Z][a-z]+)?"
    r" (?:is going to|is gonna|'s gonna|will|are going to|are gonna)(?: be)?"
    r" (?:work|focus|look|design|prepare|do|build|make|check|investigate|research)",
)
_TEAM_RX = re.compile(
    r"\bwe(?:'ll| will)? (?:have to|need to|should|must)\b|\bwe(?:'ve| have) got to\b|\beveryone (?:should|needs to)\b",
    re.IGNORECASE,
)
# work for after the meeting
_LATER_RX = re.compile(
    r"\bnext (?:meeting|time|session|week|round)\b|\bafter (?:the|this) meeting\b|\bin the meantime\b"
    r"|\bgo (?:away|back)\b|\bwhen we (?:go|get) back\b|\bbefore (?:the )?next\b|\bby (?:the )?next\b"
    r"|\b(?:project|shared) (?:documents|folder)\b|\bindividual(?:ly)? (?:work|action)?\b|\bhomework\b"
    r"|\bmeet again\b|\bbefore we meet\b|\bfollow[- ]up\b|\blook into\b|\bfind out\b|\binvestigate\b|\bcheck (?:whether|if|with|on)\b"
    r"|\bwork (?:on|together)\b|\bfocus(?:ed)? on\b|\bsend (?:it|them|you|me|an? e-?mail)\b|\be-?mail (?:you|me|it)\b",
    re.IGNORECASE,
)
# steps inside the meeting, agenda lines and introductions: not action items
_IN_MEETING_RX = re.compile(
    r"\b(?:present(?:ing)?|presentation|show you|talk (?:to )?(?:you )?(?:about|through)|tell you|go through|explain"
    r"|introduc(?:e|ing) (?:myself|ourselves|yourselves|each other|everyone|everybody)|introductions?|my name|I'm the|I am the|agenda|draw|on the (?:white)?board|first of all"
    r"|(?:first|now)(?: of all)?,? I(?:'ll| will| am going to|'m going to)|take (?:the )?minutes as"
    r"|right now|at the moment|this meeting we|in this meeting|today we|now we|let's start|go back"
    r"|for a (?:second|moment|minute)|wrap (?:it|this|that|things) up|(?:any|final) (?:questions|thoughts)|next slide|(?:this|the) slide|scroll|pass (?:me|it) (?:over|round)"
    r"|(?:open|close|switch|plug) (?:it|the|this)|the (?:mouse|laptop|projector|screen)|write (?:it )?down here)\b",
    re.IGNORECASE,
)
_JOKE_RX = re.compile(r"\b(?:joke|kidding|just kidding|funny|laugh|haha)\b", re.IGNORECASE)
_FILLERS = frozenset(["uh", "um", "just", "also", "maybe", "probably", "really", "then", "basically", "have"])
_OWNS_RX = re.compile(r"\b([A-Z][a-z]+) (?:owns|will own|is on|takes|will take|will handle)\b")
_ACTION_VERBS = frozenset(
    [
        "send",
        "email",
        "write",
        "draft",
        "prepare",
        "map",
        "export",
        "introduce",
        "chase",
        "follow",
        "review",
        "schedule",
        "share",
        "run",
        "take",
        "book",
        "call",
        "check",
        "build",
        "fix",
        "update",
        "create",
        "plan",
        "deliver",
        "finish",
        "complete",
        "organise",
        "organize",
        "investigate",
        "research",
        "ask",
        "circulate",
        "document",
        "test",
        "sort",
        "contact",
        "reach",
        "confirm",
        "design",
        "present",
        "model",
        "summarise",
        "summarize",
        "compile",
        "log",
        "look",
        "work",
        "put",
        "save",
        "mail",
        "e-mail",
        "find",
        "focus",
        "pass",
        "flag",
        "bring",
        "think",
        "come",
    ]
)
_WEAK_VERBS = frozenset(
    [
        "show",
        "start",
        "talk",
        "tell",
        "say",
        "explain",
        "go",
        "just",
        "try",
        "see",
        "be",
        "have",
        "do",
        "mean",
        "guess",
        "presume",
        "assume",
        "suppose",
        "bet",
    ]
)
_REFERENTIAL_RX = re.compile(
    r"^(?:agreed|that's decided|that is decided|we all agree on that|everyone agrees)\W*$", re.IGNORECASE
)
_DECISION_RX = re.compile(
    r"\b(?:we(?:'ve| have)? decided\b|decided (?:to|not|that|on)\b|decision(?: for now)?:|agreed[,:]|we agree\b"
    r"|let'?s go with\b|let us go with\b|we(?:'ll| will) go with\b|we go for\b|the decision is\b"
    r"|as we agreed\b|everyone agrees\b|that's decided\b|we all agree on that\b)",
    re.IGNORECASE,
)
_DECISION_CUES = ("decided", "decision", "agree", "go with", "go for")  # for `_cued`
_RULES: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    "risks": (
        re.compile(
            r"\b(?:risks?|at risk|concerns?|concerned|worried|worry|blockers?|blocking|HIPAA|compliance)\b",
            re.I,
        ),
        re.compile(r"\b(?:HIPAA|compliance|blocker|blocking|at risk|risk)\b", re.I),
    ),
    "requirements": (
        re.compile(r"\b(?:need to|needs|must|has to|have to|requirements?|required|requires)\b", re.I),
        re.compile(r"\b(?:HIPAA|BAA|requirement|required|must)\b", re.I),
    ),
    "budget": (
        re.compile(
            r"\$\s?\d|\b(?:budget|\d+k per|cost(?:s|ing)?|thousand|dollars|euros?|price|pricing)\b", re.I
        ),
        re.compile(r"\$\s?\d|\bbudget\b|\bthousand\b", re.I),
    ),
    "timeline": (
        re.compile(
            rf"\bby (?:the end of )?(?:{_MONTH_RX})\b|\bdeadline\b|\blive by\b|\bgo-?live\b|\bweeks\b|\blaunch\b",
            re.I,
        ),
        re.compile(r"\blive by\b|\bdeadline\b|\bgo-?live\b|\bend of\b", re.I),
    ),
    "roadmap": (
        re.compile(r"\broadmap\b|\bfeature idea\b|\bnice to have\b|\bin the future\b|\bP[0-3]\b", re.I),
        re.compile(r"\broadmap\b", re.I),
    ),
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Findings:
    actions: list[ActionItemOut] = field(default_factory=list)
    decisions: list[DecisionOut] = field(default_factory=list)
    risks: list[Mention] = field(default_factory=list)
    requirements: list[Mention] = field(default_factory=list)
    budget: list[Mention] = field(default_factory=list)
    timeline: list[Mention] = field(default_factory=list)
    roadmap: list[Mention] = field(default_factory=list)


def resolve_date(text: str, day: date) -> tuple[date | None, int]:
    """The first date expression in `text` resolved against the meeting day; (date, match start).

    "Friday" is the next Friday strictly after the meeting; "next Friday" is the Friday of the
    following week when the plain one still falls in the meeting's week. "By March" means its end.
    """
    for m in _DATE_RX.finditer(text):
        g = m.groupdict()
        if g["today"]:
            return day, m.start()
        if g["tomorrow"]:
            return day + timedelta(days=1), m.start()
        if g["weekday"]:
            target = WEEKDAYS[g["weekday"].lower()]
            ahead = (target - day.weekday()) % 7 or 7
            due = day + timedelta(days=ahead)
            if g["next"] and due.isocalendar()[1] == day.isocalendar()[1]:
                due += timedelta(days=7)
            return due, m.start()
        if g["eow"]:
            return max(day, day + timedelta(days=4 - day.weekday())), m.start()
        if g["nextweek"]:
            return day + timedelta(days=11 - day.weekday()), m.start()
        if g["n"]:
            count = int(g["n"]) if g["n"].isdigit() else NUMBERS[g["n"].lower()]
            return day + timedelta(days=count * (7 if g["unit"].lower().startswith("week") else 1)), m.start()
        if g["month"]:
            if g["month"].lower() == "may" and not g["mday"]:
                continue  # "may" is far more often a verb
            if len(g["month"]) <= 4 and g["month"].lower() not in ("june", "july") and not g["mday"]:
                continue  # "dec", "mar", "sat"... are words or stutters unless a day follows
            month = MONTHS[g["month"].lower()]
            year = day.year + (1 if month < day.month else 0)
            mday = int(g["mday"]) if g["mday"] else calendar.monthrange(year, month)[1]
            mday = min(mday, calendar.monthrange(year, month)[1])
            return date(year, month, mday), m.start()
        if g["ord"]:
            raw = g["ord"].lower()
            mday = int(raw[:-2]) if raw[:-2].isdigit() else ORDINALS.get(raw, 0)
            if 1 <= mday <= 31:
                year, month = day.year, day.month
                if mday <= day.day:
                    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
                return date(year, month, min(mday, calendar.monthrange(year, month)[1])), m.start()
    return None, -1


def _sentences(text: str) -> list[str]:
    return list(_split(text))


@functools.lru_cache(maxsize=16384)
def _split(text: str) -> tuple[str, ...]:
    """Cached: every extractor walks the same turns (an hour-long meeting is ~1,000 of them)."""
    return tuple(s for s in (clean(p) for p in _SENTENCE.split(clean(text))) if s)


Turn = tuple[int, str, str | None, str, str]  # (index, speaker, speaker email, timestamp, text)


def _turns(meeting: FathomMeeting) -> Iterator[Turn]:
    """(index, speaker, speaker email, timestamp, text) for every non-empty turn."""
    for i, t in enumerate(meeting.transcript or []):
        if text := t.text.strip():
            speaker = t.speaker
            yield i, speaker.display_name, speaker.matched_calendar_invitee_email, t.timestamp, text


def _first_name(name: str) -> str:
    parts = [p for p in name.replace(".", " ").split() if p.lower() not in {"dr", "mr", "ms", "mrs", "prof"}]
    return parts[0] if parts else name


def _person(
    meeting: FathomMeeting, first: str, aliases: dict[str, tuple[str, str | None]] | None = None
) -> tuple[str, str | None] | None:
    """An invitee by first name, else a role or name the transcript ties to one speaker."""
    for inv in meeting.calendar_invitees:
        if inv.name and _first_name(inv.name).lower() == first.lower():
            return inv.name, inv.email
    return (aliases or {}).get(_alias_key(first))


_ROLE = (
    r"(?:(?:user )?interface designer|u_?i_?d_?|ui designer|industrial designer|(?:project|program) manager"
    r"|marketing (?:expert|manager)|market(?:ing)? expert|(?:[a-z]+ )?(?:manager|director|officer|engineer|lead))"
)
_SELF_INTRO_RX = re.compile(
    rf"\b(?:I'm|I am|my name is|my name's)\s+(?:(?:the|your|a|an|also)\s+)?(?P<role>{_ROLE})\b"
    r"|\b(?:I'm|I am) (?:the )?(?:expert|responsible|in charge) (?:in|for|of) (?:the )?"
    r"(?P<field>marketing|user interface|industrial design|project management)\b"
    r"|\b(?:I'm|my name is|my name's)\s+(?P<name>(?-i:[A-Z][a-z]{2,}))\b"
    r"(?=\s*(?:[,.;]|and\b|the\b|$|(?-i:[A-Z][a-z]+)))",
    re.IGNORECASE,
)
_ADDRESS_RX = re.compile(
    rf"(?:^|[,.?] )(?:the |our |uh |um |first |next |so )*(?:(?P<role>{_ROLE})\s*(?:[,?]|\.?$)"
    r"|(?P<alias>(?-i:[A-Z][a-z]{2,}))\s*[,?])",
    re.I,
)
_FIELD_ROLE = {
    "marketing": "marketing expert",
    "user interface": "user interface designer",
    "industrial design": "industrial designer",
    "project management": "project manager",
}
_NOT_NAMES = frozenset(
    [
        "okay",
        "yeah",
        "yes",
        "well",
        "right",
        "sure",
        "sorry",
        "thanks",
        "thank",
        "alright",
        "good",
        "great",
        "fine",
        "and",
        "but",
        "so",
        "then",
        "now",
        "just",
        "sure",
        "not",
        "here",
        "there",
        "going",
        "gonna",
        "afraid",
        "glad",
        "happy",
        "done",
        "back",
    ]
)


def _alias_key(alias: str) -> str:
    key = re.sub(r"[^a-z ]", "", alias.lower().replace("_", "")).strip()
    key = re.sub(r"^uid$", "user interface designer", key)
    key = re.sub(r"^(?:ui|interface) designer$", "user interface designer", key)
    return re.sub(r"^market expert$|^marketing (?:expert|manager)$", "marketing expert", key)


_LOWER_WORD_RX = re.compile(r"\b[a-z]{3,}\b")


def _may_contain(text: str, *needles: str) -> bool:
    """False only when a case-insensitive regex that needs one of these words cannot match (a cheap
    guard before a slow search); non-ASCII text can fold differently ('ı' matches 'i'): True."""
    if not text.isascii():
        return True
    low = text.lower()
    return any(n in low for n in needles)


def _folded(text: str) -> str | None:
    """`text` lowered for `_cued`; None when it is not ASCII (a case-insensitive regex can then
    match letters a lowered needle misses: 'ſ' matches 's', 'K' matches 'k')."""
    return text.lower() if text.isascii() else None


def _cued(low: str | None, needles: tuple[str, ...]) -> bool:
    """False only when a regex that needs one of these lowered literals cannot match the text
    `low` was folded from (#14: most clauses carry no cue, and a substring test is far cheaper
    than a search); tests/test_analysis_heuristic.py checks each guard against its regex."""
    return low is None or any(map(low.__contains__, needles))


# the literals each cue regex needs (one of them, lowered), for `_cued`
_COMMIT_CUES = ("i will", "i'll", "i can", "i'm go", "i am go", "let me", "we will", "we'll", "we're go")
_YOU_CUES = ("you",)
_ASK_CUES = ("you", "please")
_LIKE_X_TO_CUES = ("i'd like ", "i would like ", "i need ")
_OWNS_CUES = (" owns", " will ", " is on", " takes")
_THIRD_CUES = (" going to ", " gonna ", " will ")
_TEAM_CUES = ("we ", "we'", "everyone ")
_CLAUSE_CUES = (",", ";", "and")
_COMMITMENT_CUES = tuple(
    dict.fromkeys(_COMMIT_CUES + _ASK_CUES + _LIKE_X_TO_CUES + _OWNS_CUES + _THIRD_CUES + _TEAM_CUES)
)  # _ASK_CUES covers _YOU_CUES


def speaker_aliases(meeting: FathomMeeting) -> dict[str, tuple[str, str | None]]:
    """Roles and first names as the transcript itself uses them -> the speaker they belong to.

    "I'm the Project Manager" / "I'm Mike, User Interface Designer" name the speaker (three votes);
    "Industrial Designer, would you…" addresses whoever answers next (one vote). A name or role
    maps to the person with most votes, at least two and a clear majority; names of invitees are
    resolved from the calendar and never overridden.
    """
    turns = list(_turns(meeting))
    votes: dict[str, dict[tuple[str, str | None], int]] = {}

    def vote(alias: str, who: tuple[str, str | None], weight: int) -> None:
        key = _alias_key(alias)
        if key and key.split()[0] not in _NOT_NAMES:
            votes.setdefault(key, {}).setdefault(who, 0)
            votes[key][who] += weight

    lower_words = {w for *_, text in turns for w in _LOWER_WORD_RX.findall(text)}
    for pos, (_, speaker, email, _, text) in enumerate(turns):
        intros = _SELF_INTRO_RX.finditer(text) if _may_contain(text, "i'm", "i am", "my name") else ()
        for m in intros:
            alias = m.group("role") or m.group("name") or _FIELD_ROLE[m.group("field").lower()]
            vote(alias, (speaker, email), 3)
        for m in _ADDRESS_RX.finditer(text):
            nxt = next((t for t in turns[pos + 1 : pos + 3] if t[1] != speaker), None)
            alias = m.group("role") or m.group("alias")
            if m.group("alias") and alias.lower() in lower_words:
                continue  # "Cool," "True," "See?": a word the transcript also writes in lower case
            if nxt is not None:
                vote(alias, (nxt[1], nxt[2]), 1)
    out: dict[str, tuple[str, str | None]] = {}
    for key, by in votes.items():
        who, top = max(by.items(), key=lambda kv: (kv[1], kv[0][0]))
        if top >= 2 and top * 2 > sum(by.values()):
            out[key] = who
    _unintroduced(meeting, turns, out, lower_words)
    return out


def _unintroduced(
    meeting: FathomMeeting,
    turns: list[tuple[int, str, str | None, str, str]],
    out: dict[str, tuple[str, str | None]],
    lower_words: set[str],
) -> None:
    """Roles and names that tasks are handed to but that nobody introduced in this meeting (later
    meetings of a series rarely repeat the introductions): "the Industrial Designer over here is
    gonna work on…" is answered by that person ("Mm-hmm"), so the first other speaker who answers
    briefly and holds no other role is it; when one such role is left and one speaker, they match."""
    invitees = {_first_name(i.name).lower() for i in meeting.calendar_invitees if i.name}
    taken = set(out.values())
    pending: dict[str, str] = {}  # key -> the speaker who named it
    for pos, (_, speaker, _, _, text) in enumerate(turns):
        third = _THIRD_RX.finditer(text) if "will" in text or "gonna" in text or "going to" in text else ()
        like = _LIKE_X_TO_RX.finditer(text) if _may_contain(text, "like", "need") else ()
        for hit in [*third, *like]:  # guarded: both searches run on every turn
            named = _NAMED_RX.search(hit.group(0))
            if named is None:
                continue
            word = named.group(0)
            key = _alias_key(word)
            if (
                not key
                or key in out
                or key.split()[0] in _NOT_NAMES | {"you", "the", "we", "our"}
                or (" " not in word and (word.lower() in lower_words or key in invitees))
            ):
                continue
            pending.setdefault(key, speaker)
            for later in turns[pos + 1 : pos + 4]:
                who = (later[1], later[2])
                if later[1] != speaker and who not in taken and len(later[4].split()) <= 8:
                    out[key] = who
                    taken.add(who)
                    break
    left = [k for k in pending if k not in out]
    speakers = {(t[1], t[2]) for t in turns}
    rest = [w for w in speakers - taken if w[0] not in {pending[k] for k in left}]
    if len(left) == 1 and len(rest) == 1:
        out[left[0]] = rest[0]


_CHAIRING_RX = re.compile(r"\b(?:meeting|agenda|minutes|next|wrap|finish|move on|point)\b", re.I)


def chair(turns: list[tuple[int, str, str | None, str, str]]) -> str | None:
    """The speaker who runs the meeting: many turns, above all in the opening and closing tenths
    (the chair opens, wraps up and hands out the next tasks), and most of the talk about the
    meeting itself ("next meeting", "the agenda", "let's move on")."""
    n = len(turns)
    if not n:
        return None
    edge = max(5, n // 10)
    edges = [*turns[:edge], *turns[-edge:]] if n > 2 * edge else list(turns)
    chairing = {t[1]: 0 for t in turns}
    for t in turns:
        chairing[t[1]] += len(_CHAIRING_RX.findall(t[4]))
    total = sum(chairing.values()) or 1

    def weight(who: str) -> float:
        share = sum(1 for t in turns if t[1] == who) / n
        return share + sum(1 for t in edges if t[1] == who) / len(edges) + chairing[who] / total

    return max(chairing, key=lambda who: (weight(who), who))


def _verb_score(sentence: str, end: int) -> float:
    said = re.findall(r"[a-z']+", sentence[:end].lower())
    words = re.findall(r"[a-z']+", sentence[end:].lower())[:5]
    if said and said[-1] in _ACTION_VERBS:  # the cue holds the verb: "you can look", "you'll check"
        vague = bool(words) and words[words[0] in {"at", "for", "into"} :][:1] in (["it"], ["that"], ["this"])
        return 1.0 if vague else 2.0
    words = [w for w in words if w not in _FILLERS]
    if words and words[0] in _WEAK_VERBS and not _LATER_RX.search(sentence[end:]):
        return -1.5
    for i, w in enumerate(words[:3]):
        if w in _ACTION_VERBS:
            vague = i + 1 < len(words) and words[i + 1] in {"it", "that", "this", "them", "note"}
            return 1.0 if vague else 2.0
    return 0.0


def _score_commitment(sentence: str, end: int, has_date: bool, *, late: float = 0.0) -> float:
    """How much a sentence reads like work for after the meeting (threshold MIN_COMMITMENT_SCORE)."""
    words = len(sentence.split())
    score = 1.0 + _verb_score(sentence, end) + (2.5 if has_date else 0.0)
    score += 0.5 if 6 <= words <= 40 else -1.0
    if sentence.rstrip().endswith("?") and not _ASK_RX.search(sentence):
        score -= 2.0
    if re.search(r"\bwhat we(?:'ll| will)\b|\bif (?:I|we)\b", sentence, re.I):
        score -= 2.0
    if _LATER_RX.search(sentence):
        score += 1.5
    score += late  # assignments cluster in the wrap-up, when people say what they will do next
    if _IN_MEETING_RX.search(sentence):
        score -= 3.0  # "first I will present…", "I'll show you", reading the agenda, introductions
    if _JOKE_RX.search(sentence):
        score -= 2.0
    return score


def _priority(text: str, due: date | None, day: date) -> str:
    if re.search(r"\burgent|asap|blocking|blocker|critical\b", text, re.I) or (due and (due - day).days <= 1):
        return "urgent"
    if re.search(r"\broadmap|strateg|long[- ]term|phase two\b", text, re.I):
        return "strategic"
    return "important"


Aliases = dict[str, tuple[str, str | None]]
_NAMED_RX = re.compile(rf"\b(?:{_ROLE})\b|\b(?-i:[A-Z][a-z]{{2,}})\b", re.IGNORECASE)


def _named(meeting: FathomMeeting, sentence: str, aliases: Aliases) -> tuple[str, str | None] | None:
    """The first attendee the sentence names, by first name or by a role the transcript maps."""
    for m in _NAMED_RX.finditer(sentence):
        word = m.group(0)
        if word[0].isupper() and word.lower() in _NOT_NAMES | {"you", "the", "we", "our"}:
            continue
        if (word[0].isupper() or " " in word) and (person := _person(meeting, word, aliases)):
            return person
    return None


def _addressee(
    meeting: FathomMeeting,
    sentence: str,
    turns: list[tuple[int, str, str | None, str, str]],
    pos: int,
    aliases: Aliases,
) -> tuple[str, str | None] | None:
    """Who "you" is: an attendee named in the sentence (by name or role), else the next other
    speaker (who answers)."""
    if person := _named(meeting, sentence, aliases):
        return person
    speaker = turns[pos][1]
    for later in turns[pos + 1 : pos + 4]:
        if later[1] != speaker:
            return later[1], later[2]
    return None


# "…the working design, you're looking at the technical functions design, and for you it's…":
# a wrap-up sentence often hands out several tasks; each clause with its own subject is one item
_CLAUSE_RX = re.compile(
    r"(?:,|;|\band\b)\s+(?=(?:(?:and|then|so|uh|um|also)\s+)*(?:you(?:'re|'ll| will| are| can)?\b|for you\b"
    rf"|(?:the |our )?(?:{_ROLE})s?\b|[A-Z][a-z]+ (?:will|is going|is gonna|'s gonna|can)\b|I(?:'ll| will)\b))",
    re.IGNORECASE,
)
MAX_PER_TURN = 3
# the impersonal "you" of how a thing is used, or a condition; not an assignment by itself
_GENERIC_YOU_RX = re.compile(
    r"\byou (?:have to|need to|have got to|must)\b|(?:^|\b(?:like|cause|because|so|and|but|then)\s+)if you\b(?! (?:can|could))"
    r"|^if you\b(?! (?:can|could))|\b(?:every|each) (?:time|now and then)\b",
    re.IGNORECASE,
)
_LIKE_X_TO_RX = re.compile(
    rf"\bI(?:'d| would) like (?:the |our )?((?:{_ROLE})|(?-i:[A-Z][a-z]+)) to\b|\bI need (?:the |our )?((?:{_ROLE})|(?-i:[A-Z][a-z]+)) to\b",
    re.IGNORECASE,
)


_JOINT_RX = re.compile(
    r"\b(?:work(?:ing)? together|together with|you two|both of you|the two (?:of you|designers))\b", re.I
)


def _pair(
    meeting: FathomMeeting,
    text: str,
    turns: list[tuple[int, str, str | None, str, str]],
    pos: int,
    aliases: Aliases,
) -> list[tuple[str, str | None]]:
    """The two people a joint task is handed to: two attendees the turn names, else the first two
    other speakers who answer it."""
    speaker = turns[pos][1]
    named: list[tuple[str, str | None]] = []
    for m in _NAMED_RX.finditer(text):
        person = _named(meeting, m.group(0), aliases)
        if person and person[0] != speaker and person not in named:
            named.append(person)
    if len(named) < 2:
        named = []
        for later in turns[pos + 1 : pos + 5]:
            if later[1] != speaker and (later[1], later[2]) not in named:
                named.append((later[1], later[2]))
    return named[:2] if len(named) >= 2 else []


def _hand_out(
    found: list[tuple[float, str, str | None, str | None]],
    to_you: list[int],
    turns: list[tuple[int, str, str | None, str, str]],
    pos: int,
    handed_out: dict[tuple[str, str | None], int],
) -> None:
    """The chair handing out the next tasks turn by turn ("you're looking at the technical functions
    design, and for you it's the user requirements specification"): each "you" is someone else.
    The person who answers the turn takes its last task; the earlier ones go, in order, to the
    others who have no task from this round yet, nearest answer first."""
    chair_name = turns[pos][1]
    fresh = {who for who, at in handed_out.items() if pos - at <= 8}
    later = [(t[1], t[2]) for t in turns[pos + 1 :] if t[1] != chair_name]
    order = list(dict.fromkeys([*later, *((t[1], t[2]) for t in turns if t[1] != chair_name)]))
    last = to_you[-1]
    given: set[tuple[str | None, str | None]] = {(found[last][2], found[last][3])}
    for i in to_you[:-1]:
        who = next((w for w in order if w not in given and w not in fresh), None)
        if who is None:
            break
        score, sentence, _, _ = found[i]
        found[i] = (score, sentence, who[0], who[1])
        given.add(who)
    for name, mail in given:
        if name is not None:
            handed_out[(name, mail)] = pos


def _clauses(sentence: str) -> list[str]:
    if not _cued(_folded(sentence), _CLAUSE_CUES):
        return [sentence]
    parts = [p.strip(" ,;") for p in _CLAUSE_RX.split(sentence)]
    parts = [p for p in parts if len(p.split()) >= 3]
    return parts if len(parts) > 1 else [sentence]


def _commitments(meeting: FathomMeeting, day: date) -> list[ActionItemOut]:
    """Self-commitments ("I'll send…"), assignments ("you will have to…", "can you…",
    "the Industrial Designer is gonna work on…") and team tasks.

    A turn gives up to MAX_PER_TURN items, one per clause that has its own subject; in-meeting
    steps, agenda lines, introductions and jokes score below the threshold. A sentence that says
    "you" is owned by its addressee: an attendee named in it (by name, or by a role the transcript
    ties to a speaker), else the next speaker, who in real meetings answers the assignment.
    """
    turns = list(_turns(meeting))
    aliases = speaker_aliases(meeting)
    n = len(turns)
    head = chair(turns)
    scored: list[tuple[float, int, ActionItemOut]] = []
    # wrap-up: who the chair gave a "you" task, at which turn
    handed_out: dict[tuple[str, str | None], int] = {}
    for pos, (idx, speaker, email, ts, text) in enumerate(turns):
        found: list[tuple[float, str, str | None, str | None]] = []
        to_you: list[int] = []  # positions in `found` of tasks the chair hands to an unnamed "you"
        late = (1.5 if pos >= 0.9 * n else 0.5 if pos >= 0.75 * n else 0.0) if n >= 40 else 0.0
        for sentence in (c for s in _sentences(text) for c in _clauses(s)):
            low = _folded(sentence)
            if not _cued(low, _COMMITMENT_CUES):
                continue  # no cue of any rule below (three clauses in four in a long meeting)
            owner: str | None = speaker
            owner_email = email
            assigned = False
            m = _COMMIT_RX.search(sentence) if _cued(low, _COMMIT_CUES) else None
            you: re.Match[str] | None = None
            ask: re.Match[str] | None = None
            if _cued(low, _YOU_CUES):
                you = _YOU_RX.search(sentence) or (_WRAP_UP_YOU_RX.search(sentence) if late > 1 else None)
            if _cued(low, _ASK_CUES):
                ask = _ASK_RX.search(sentence)
            if (you or ask) and not (m and m.start() < (you or ask).start()):  # type: ignore[union-attr]
                hit = you or ask
                named = _named(meeting, sentence, aliases)
                handing_out = late > 1 and speaker == head  # the chair's wrap-up hands out the tasks
                if _GENERIC_YOU_RX.search(sentence) and not (
                    handing_out or named or _LATER_RX.search(sentence)
                ):
                    continue  # "you have to push harder", "if you have an LCD": anyone, not a task
                addressee = named or _addressee(meeting, sentence, turns, pos, aliases)
                assigned = bool(named or (late and speaker == head))
                if re.search(r"\byou (?:all|guys|three|two|both)\b|\beveryone\b", sentence, re.I):
                    owner, owner_email = None, None
                elif addressee:
                    owner, owner_email = addressee
                else:
                    continue
                m = hit
            elif (
                _cued(low, _LIKE_X_TO_CUES)
                and (like := _LIKE_X_TO_RX.search(sentence))
                and (person := _named(meeting, like.group(0), aliases))
            ):
                owner, owner_email, assigned = person[0], person[1], True
                m = like
            elif (
                _cued(low, _OWNS_CUES)
                and (owns := _OWNS_RX.search(sentence))
                and (person := _person(meeting, owns.group(1), aliases))
            ):
                owner, owner_email, assigned = person[0], person[1], True
                m = owns
            elif (
                _cued(low, _THIRD_CUES)
                and (third := _THIRD_RX.search(sentence))
                and not re.match(r"(?:I|We|You|It|That|This|There|They)\b", third.group(0))
            ):
                person = _named(meeting, third.group(0), aliases)
                if person is None and not late:
                    continue  # "the designer will…" about nobody here, mid-meeting: a remark
                owner, owner_email = person if person else (None, None)
                assigned = person is not None
                m = third
            elif not m and _cued(low, _TEAM_CUES) and (team := _TEAM_RX.search(sentence)):
                owner, owner_email, m = None, None, team
            if not m:
                continue
            due, _ = resolve_date(sentence, day)
            score = _score_commitment(sentence, m.end(), due is not None, late=late)
            if m.re is _COMMIT_RX:  # "I'll make notes and then I'll put it in the project folder"
                for again in _COMMIT_RX.finditer(sentence, m.end()):
                    score = max(score, _score_commitment(sentence, again.end(), due is not None, late=late))
            if assigned and owner is not None and owner != speaker:
                score += 1.0  # handed to a named person, or to someone in the wrap-up: an assignment
            if re.search(r"^(?:\w+ )?I (?:guess|suppose|dunno) I\b|\bin case\b", sentence, re.I):
                score -= 1.5  # "I guess I'll find out": a shrug, not a commitment
            if owner is None:
                score -= 0.5  # team tasks need a clearer after-the-meeting cue
            if re.search(r"\b(?:into|at|with|about|on) (?:that|this|it)\W*(?:later\W*)?$", sentence, re.I):
                score -= 2.0  # "we'll have to look into that", "we'll look into that later": no task named
            if (you or ask) and late and speaker == head and owner and m is (you or ask) and not named:
                to_you.append(len(found))
            found.append((score, sentence, owner, owner_email))
            if _JOINT_RX.search(sentence) and (pair := _pair(meeting, text, turns, pos, aliases)):
                # "you two are going to work together on the prototype": one item for each of them
                found.pop()
                found += [(score, sentence, who, mail) for who, mail in pair]
        if to_you:
            _hand_out(found, to_you, turns, pos, handed_out)
        found.sort(key=lambda f: -f[0])
        for score, sentence, owner, owner_email in found[: MAX_PER_TURN + 1]:
            if score < MIN_COMMITMENT_SCORE:
                continue
            due, _ = resolve_date(sentence, day)
            if due is None:  # "I can export it. I will have it to you by Monday."
                due, _ = resolve_date(text, day)
            item = ActionItemOut(
                text=sentence[:300],
                owner_name=owner,
                owner_email=owner_email,
                due_date=due,
                priority=_priority(text, due, day),  # type: ignore[arg-type]
                source_timestamp=ts,
            )
            scored.append((score, idx, item))
    unique: list[tuple[float, int, ActionItemOut]] = []
    for cand in sorted(scored, key=lambda s: (-s[0], s[1])):
        if not any(
            abs(cand[1] - kept[1]) <= 3
            and similarity(cand[2].text, kept[2].text) >= 0.5
            and not (
                cand[1] == kept[1]
                and cand[2].text == kept[2].text
                and cand[2].owner_name != kept[2].owner_name
            )
            for kept in unique
        ):
            unique.append(cand)
    top = unique[:MAX_ACTIONS]
    return [item for _, _, item in sorted(top, key=lambda s: s[1])]


def _decisions(meeting: FathomMeeting) -> list[DecisionOut]:
    scored: list[tuple[float, int, DecisionOut]] = []
    turns = list(_turns(meeting))
    words = [_words(t[4]) for t in turns]  # shared by the turn rules below
    sources: list[tuple[int, str | None, str | None, str]] = [(i, sp, ts, tx) for i, sp, _, ts, tx in turns]
    summary_lines = [s for s in _sentences(meeting.summary_markdown.replace("\n", " ")) if s]
    sources += [(100_000 + i, None, None, s) for i, s in enumerate(summary_lines)]
    previous = ""
    for idx, speaker, ts, text in sources:
        for sentence in _sentences(text):
            m = _DECISION_RX.search(sentence) if _cued(_folded(sentence), _DECISION_CUES) else None
            if not m:
                continue
            if _REFERENTIAL_RX.match(sentence) and len(previous.split()) >= 5:
                sentence, m = previous, None  # "Alright, that's decided." confirms the previous turn
            if m is None:
                what = sentence
            else:
                rest = sentence[m.end() :]
                while (again := _DECISION_RX.match(rest.strip(" ,:;-"))) is not None:
                    rest = rest.strip(" ,:;-")[again.end() :]
                what = rest.strip(" ,:;-")
                if (
                    m.group(0)
                    .lower()
                    .startswith(("decided", "we decided", "we've decided", "we have decided"))
                ):
                    what = sentence
            what = re.sub(r"^(?:yeah|yes|okay|ok|so|well|alright)\b[ ,]*", "", what, flags=re.I)
            hedged = re.match(r"I (?:guess|think|dunno)\b", what, re.I) or _UNDECIDED_RX.search(sentence)
            if len(what.split()) < 5 or what.endswith("?") or "'cause" in what or hedged:
                continue
            why = None
            if " because " in what:
                what, why = (p.strip(" .") for p in what.split(" because ", 1))
            owns = _OWNS_RX.search(text)
            person = _person(meeting, owns.group(1)) if owns else None
            score = 3.0 + min(len(what.split()), 25) / 5 + (2 if speaker is None else 0)  # said outright
            decision = DecisionOut(
                what=what[:300].rstrip("."),
                why=why,
                owner=person[0] if person else speaker,
                source_timestamp=ts,
            )
            if _RECAP_RX.search(sentence):  # "from our last meeting we decided…" restates an old decision
                decision = decision.model_copy(update={"status": "recap"})
            scored.append((score, idx, decision))
        sentences = _sentences(text)
        if sentences and speaker is not None and len(sentences[-1].split()) >= 5:
            previous = sentences[-1]
    topical = _topical(words)  # shared by the consensus and confirmation rules
    scored += _consensus(turns, topical)  # sentence-level: a proposal answered "yeah", "Okay, no LCD."
    scored += _confirmations(turns, words, topical)  # "So we're going for X?" answered "X, yes."
    scored += _episode_decisions(meeting, turns, words)  # structural: one convergence point per topic episode
    scored += _rejections(turns, words)  # "Kick it out.", "Nah, it's too expensive." answered "yeah"
    scored = _learned(turns, scored)
    scored = [
        (sc, i, d.model_copy(update={"what": _after_question(d.what)})) if "?" in d.what else (sc, i, d)
        for sc, i, d in scored
    ]
    scored = [item for item in scored if not not_a_decision(item[2].what)]
    opening = OPENING * len(meeting.transcript or [])
    recalled = _recalled(turns, opening)
    scored = [
        (sc, i, d.model_copy(update={"status": "recap"}))
        if i < opening and (_PAST_DECIDED_RX.search(d.what) or i in recalled) and d.status != "recap"
        else (sc, i, d)
        for sc, i, d in scored
    ]
    cap = max(3, min(MAX_DECISIONS, round(len(turns) / 70)))
    unique: list[tuple[float, int, DecisionOut]] = []
    for item in sorted(scored, key=lambda s: (-s[0], s[1])):
        if not any(
            abs(item[1] - kept[1]) <= 3 or similarity(item[2].what, kept[2].what) >= 0.5 for kept in unique
        ):
            unique.append(item)
    top = _restatements_dropped(
        [
            item
            for item in unique[:cap]
            if (item[2].status == "recap" and _RECAP_SAYS_RX.search(item[2].what))
            or not not_settled(item[2].what)
        ]
    )
    return [d for _, _, d in sorted(top, key=lambda s: s[1])]


REJECT_BASE = 6.0
REJECT_NAMED = 2  # content words that make the rejecting sentence a decision of its own
_REJECT_RX = re.compile(
    r"\b(?:(?:it's|it is|that's|that is) not (?:possible|good|necessary|needed|worth)|(?<!not )(?<!n't be )(?:too|very) expensive"
    r"|kick (?:it|that|them) out|get rid of (?:it|that|them)|(?:will|has to|have to) go\b(?! (?:to|through|out|back|there|with|for|in))"
    r"|we (?:don't|do not) (?:need|want)|out of (?:the )?(?:range|question)|(?:is|it's|that's) (?:definitely )?out\b"
    r"|no need|forget (?:it|that|about it))",
    re.I,
)
_NO_RX = re.compile(r"^(?:no|nah|nope)\b", re.I)
# the rejection's own words: a sentence made of them alone names nothing it rejects
_REJECT_WORDS = frozenset(
    [
        "it's",
        "that's",
        "expensive",
        "possible",
        "good",
        "necessary",
        "needed",
        "worth",
        "kick",
        "need",
        "want",
        "forget",
        "about",
        "already",
        "definitely",
        "think",
        "guess",
        "just",
        "really",
        "okay",
        "alright",
        "yeah",
    ]
)
# the literals _REJECT_RX needs (one of them, lowered), for `_cued`
_REJECT_CUES = ("not ", "expensive", "kick", "rid of", " go", "don't", "do not", "out", "no need", "forget")


def _rejections(turns: list[Turn], words: list[list[str]]) -> list[tuple[float, int, DecisionOut]]:
    """A decision reached by rejecting an option: a short turn that turns down what another speaker
    just said ("Kick it out.", "Nah, it's too expensive.") supported within three turns by another
    speaker agreeing or rejecting too; the option is the previous speaker's sentence."""
    n = len(turns)
    out: list[tuple[float, int, DecisionOut]] = []
    for pos, (idx, speaker, _, ts, text) in enumerate(turns):
        if text.endswith("?") or not _cued(_folded(text), _REJECT_CUES) or len(text.split()) > 25:
            continue
        if not _REJECT_RX.search(text):
            continue
        support = {
            turns[j][1]
            for j in range(pos + 1, min(n, pos + 4))
            if len(turns[j][4].split()) <= 12
            and (_AGREE_RX.match(turns[j][4]) or _REJECT_RX.search(turns[j][4]) or _NO_RX.match(turns[j][4]))
        } - {speaker}
        if not support:
            continue
        option = None
        for j in range(pos - 1, max(-1, pos - 6), -1):
            if turns[j][1] != speaker and len(words[j]) >= 2 and not _REJECT_RX.search(turns[j][4]):
                option = max(_sentences(turns[j][4]) or [turns[j][4]], key=_content_words)
                break
        if option is None or _JOKE_RX.search(option):
            continue
        said = next((x for x in _sentences(clean(text)) if _REJECT_RX.search(x)), None)
        if said is None:  # "won't be uh very expensive": a negation the filler hid
            continue
        said, why = _LEAD_RX.sub("", said).strip(" .,"), None
        for cue in (" because ", " 'cause ", ", 'cause "):
            if cue in said:
                said, why = (part.strip(" ,.") for part in said.split(cue, 1))
                break
        # "the sample sensor will have to go" names what it drops; "It's too expensive." needs the option
        named = sum(1 for w in set(_words(said)) if w not in _REJECT_WORDS) >= REJECT_NAMED
        what = said if named else f"Not {_LEAD_RX.sub('', option).rstrip('.?, ')}: {said}"
        decision = DecisionOut(what=what[:300], why=why or None, owner=speaker, source_timestamp=ts)
        out.append((REJECT_BASE + 1.5 * min(len(support), 2), idx, decision))
    return out


LEARNED_TURNS = 5  # the learned model's best turns, offered as candidates of their own
LEARNED_BASE = 5.0  # their score before the model's log-odds (a cue sentence scores 3-8, a consensus 5-12)


def _learned(
    turns: list[Turn], scored: list[tuple[float, int, DecisionOut]]
) -> list[tuple[float, int, DecisionOut]]:
    """The learned turn signal (services/analysis/decision_model.py): each candidate's rule score gains
    the model's log-odds for its turn (a turn the model doubts ranks lower, one it believes in
    higher), and the model's LEARNED_TURNS best turns join the candidates, each as its sentence with
    the most content words. Chosen by split halves of the dev set together with the settled-nothing
    filters after the cap (`not_settled`): promoting only (positive log-odds, 3 turns at base 3)
    scored F1 0.38 / 0.42 on the halves, this 0.43 / 0.42."""
    z = turn_logits([(t[1], t[4]) for t in turns])
    at = {t[0]: k for k, t in enumerate(turns)}
    # a line of Fathom's summary is on no turn: its score stays
    out = [(sc + z[at[i]], i, d) if i in at else (sc, i, d) for sc, i, d in scored]
    for k in sorted(range(len(turns)), key=lambda k: (-z[k], k))[:LEARNED_TURNS]:
        idx, speaker, _, ts, text = turns[k]
        what = max(_sentences(text) or [text], key=_content_words)
        out.append(
            (LEARNED_BASE + z[k], idx, DecisionOut(what=what[:300], owner=speaker, source_timestamp=ts))
        )
    return out


# Kinds of selected candidates that settle nothing; they are dropped AFTER the cap (their slot stays
# empty: the candidates ranked just below them are as noisy). The running of the meeting ("my role is
# to keep things going", "here we have our detailed design meeting", "That were my findings"); an
# option named, not taken ("It's still an option if we need it"); a narrative of the past ("we used to
# have...", "I saw a new player...", "we didn't have to use as many..."); the speaker's own talk ("I was
# just defending...", "I was gonna mention...", "I'm just..."); a description of other people or of what
# "you can" do with no "we" in it ("For some reason they click the off button...", "you could take it
# to lectures"); a negative condition ("If it won't work then we'll get something else"). A recap too, unless
# it says what was decided ("in the last meeting we decided..."): a remark of the opening marked recap
# by its place can be the running of the meeting ("It's the detail design meeting, so we're going
# last meeting", "here we have our detailed design meeting").
_RUNNING_RX = re.compile(
    r"\b(?:meeting|kick-off|my role|findings|I(?:'ll| will)? (?:tell|show) you|(?:as )?you(?:'ll| will)? see"
    r"|we're talking|write (?:it |them |this )?down|questions?)\b",
    re.I,
)
_OPTION_RX = re.compile(
    r"\b(?:an option|options?|alternative|possibilit(?:y|ies)|could also|or something)\b", re.I
)
_NARRATIVE_RX = re.compile(
    r"\b(?:used to|I saw|I found|they found|we found|we had (?!to decide|decided|agreed|said)|we didn't"
    r"|didn't have to|we were|I(?:'m| am| was) just|I was (?:gonna|going to))\b",
    re.I,
)
_RECAP_SAYS_RX = re.compile(r"\b(?:decided|agreed|chose|settled on|conclusion)\b", re.I)
_OTHERS_RX = re.compile(r"\b(?:they|they're|people|users?|someone|somebody|you (?:can|could))\b", re.I)
_WE_RX = re.compile(r"\b(?:we|we're|we'll|we'd|let's|us|our)\b", re.I)  # the group speaking of itself
_IF_NOT_RX = re.compile(
    r"^(?:(?:and|but|so|well|or|then|yeah|okay)\W+)*if\b[^,]*\b(?:not|don't|won't|can't|doesn't|didn't|isn't)\b",
    re.I,
)


def not_settled(what: str) -> bool:
    """A selected remark that settles nothing (see the patterns above)."""
    return bool(
        _RUNNING_RX.search(what)
        or _OPTION_RX.search(what)
        or _NARRATIVE_RX.search(what)
        or _IF_NOT_RX.search(what)
        or (_OTHERS_RX.search(what) and not _WE_RX.search(what))
    )


def _restatements_dropped(top: list[tuple[float, int, DecisionOut]]) -> list[tuple[float, int, DecisionOut]]:
    """`top` best first: a decision sharing two or more content words, and at least half of the shorter
    one's, with a better-ranked one anywhere in the meeting restates it ("we use a normal battery" /
    "Then for the components, we use a normal battery...")."""
    kept: list[tuple[float, int, DecisionOut, set[str]]] = []
    for sc, i, d in top:
        ws = set(_words(d.what))
        if any(len(ws & kw) >= 2 and len(ws & kw) >= 0.5 * min(len(ws), len(kw)) for *_, kw in kept):
            continue
        kept.append((sc, i, d, ws))
    return [(sc, i, d) for sc, i, d, _ in kept]


RECALL_TURNS = 12  # a speaker's turns after naming an earlier meeting that still report on it


def _recalled(turns: list[Turn], opening: float) -> set[int]:
    """Turns in the opening said by a speaker who named an earlier meeting at most RECALL_TURNS
    turns before ("during the last meeting… we'll begin with the basic colours"): what they
    present there restates that meeting's outcome, a recap."""
    cue_at: dict[str, int] = {}
    out: set[int] = set()
    for k, (idx, speaker, _, _, text) in enumerate(turns):
        if idx >= opening:
            break
        if _RECAP_RX.search(text):
            cue_at[speaker] = k
        if speaker in cue_at and k - cue_at[speaker] <= RECALL_TURNS:
            out.add(idx)
    return out


# how the meeting runs, not what it settles: "we need to unplug my laptop", "let's not focus on
# the front", "we'll get back on that later", "it has to be ready in the next meeting"
_PROCESS_RX = re.compile(
    r"\b(?:discuss(?:ion)?|talk about|(?:next|this) meeting|later|laptop|agenda|minutes|presentation"
    r"|let's see|have a (?:look|think)|focus on|(?:we|I)(?:'ll| will| can)? close|the closing|wait (?:a|for))\b",
    re.I,
)
# a reason or a concession given for something else: "because we can't integrate it with…",
# "Although we could have made…", "Rather than having to interrupt…"
_REASON_RX = re.compile(
    r"^(?:(?:and|but|so|well)\W+)*(?:because|'cause|cause|although|though|even though|rather than|since|as long as)\b",
    re.I,
)
_FRAGMENT_END = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "with",
        "so",
        "but",
        "and",
        "or",
        "like",
        "if",
        "that",
        "be",
        "we",
        "our",
        "just",
        "is",
        "are",
        "in",
        "on",
        "for",
        "as",
        "it's",
        "very",
    ]
)


def not_a_decision(what: str) -> bool:
    """A remark others agreed to that settles nothing: a question ("Do we take titanium…?"), the
    running of the meeting ("we need to unplug my laptop", "we'll get back on that later") or a
    broken-off fragment ("we can make really simp", "inside the remote control we use a couple of")."""
    words = re.findall(r"[a-z][a-z']*", what.lower())
    if _REASON_RX.match(what):
        return True
    while len(words) > 1 and words[-1] in ("so", "but", "and", "or"):
        words.pop()  # "...fronts around the world so": a connective left hanging ends a whole clause
    return not words or words[-1] in _FRAGMENT_END or "?" in what or bool(_PROCESS_RX.search(what))


def _after_question(what: str) -> str:
    """A candidate whose question is answered inside it ("the flat case is out, right? It has to be
    curved from one side"): what follows the last question, when it is a clause of its own."""
    if "?" not in what:
        return what
    tail = what.rsplit("?", 1)[1].strip(" ,.")
    return tail if len(tail.split()) >= 5 else what


def _episode_decisions(
    meeting: FathomMeeting, turns: list[Turn] | None = None, words: list[list[str]] | None = None
) -> list[tuple[float, int, DecisionOut]]:
    """One decision per topic episode, at its convergence point (services/analysis/episodes.py)."""
    from services.analysis.episodes import convergences

    turns = list(_turns(meeting)) if turns is None else turns
    out: list[tuple[float, int, DecisionOut]] = []
    for c in convergences(turns, words):
        idx, speaker, _, ts, _ = turns[c.pos]
        recap = bool(_RECAP_RX.search(c.sentence))
        status: DecisionStatus = "recap" if recap else "tentative" if c.hedged else "made"
        what = _LEAD_RX.sub("", c.sentence)
        decision = DecisionOut(
            what=what[:300].rstrip(".") or c.sentence[:300], owner=speaker, source_timestamp=ts, status=status
        )
        out.append((5.0 + c.score - (3.0 if recap else 0.0), idx, decision))
    return out


_AGREE_RX = re.compile(
    r"^(?:yeah|yes|yep|yup|okay|ok|right|sure|agreed|I agree|fine|good|great|sounds good|makes sense|exactly"
    r"|definitely|absolutely|alright|cool|true|that's (?:fine|good|right|a must|a good idea|it)|good idea"
    r"|I(?: would| 'd|'d)?(?: have to)? (?:side with|go with|agree|like (?:it|that|the idea))|me too|same here"
    r"|I'm (?:fine|happy|okay) with|no problem|of course|let's do (?:it|that)|perfect|why not)\b",
    re.IGNORECASE,
)
# a proposal phrased as a choice: "we go with", "let's", "so no LCD", "it should be", "we keep"
_CHOICE_RX = re.compile(
    r"\b(?:we(?:'ll| will| should| could| can)? (?:go (?:with|for)|use|keep|take|stick (?:with|to)|include|drop"
    r"|add|get rid of|need both)|we(?:'ll| will| should|'re gonna| are going to) (?:have|make|put|do)|let'?s (?:go|have|use|make|do|keep|take|say|stick)|(?:should|must|has to|have to) be"
    r"|so no\b|no more\b|it(?:'s| is) (?:gonna|going to) be|we agree|do we agree|decided|that's a must"
    r"|instead of|rather than)\b",
    re.IGNORECASE,
)
_CHOICE_CUES = ("we", "let", "be", "so no", "no more", "decided", "must", "instead of", "rather than")
_CONCLUDE_RX = re.compile(
    r"^(?:okay|ok|alright|right|so)\b[ ,]+(?:so )?(?:no \w+|we (?:take|go|keep|use|have|'ll))", re.I
)
_RECAP_RX = re.compile(
    r"\b(?:last|previous|earlier|first|second|third) meeting\b|\blast time\b|\bwe (?:had )?(?:decided|agreed)"
    r" (?:before|earlier|last)\b|\bfrom (?:our|the) last\b|\bwe(?:'ve| have) (?:already )?(?:decided|agreed)\b"
    r"|\bwere to be\b|\bas we (?:said|decided|agreed)\b|\bas agreed\b",
    re.IGNORECASE,
)
# "we decided to include voice recognition", "we came to the conclusion that…": said in the opening
# of a meeting, the past tense restates what an earlier meeting settled
_PAST_DECIDED_RX = re.compile(
    r"\bcame to the conclusion\b|\bwe(?:'ve| have)? (?:more or less |basically |already )?(?:decided|chose|agreed)"
    r" (?:to|that|on|the)\b",
    re.IGNORECASE,
)
OPENING = 1 / 3  # share of the meeting in which past-tense decisions are recaps


_TENTATIVE_RX = re.compile(
    r"\b(?:maybe|perhaps|possibly|might|could|consider|probably|option(?:al)?|I think|I guess|if (?:it|we))\b",
    re.I,
)


_SHOULD_RX = re.compile(
    r"\b(?:we|it|they|that|this)(?: really)? (?:should|shouldn't|must|need to|needs to)\b", re.I
)
_SHOULD_CUES = ("should", "must", "need")
_HYPOTHETICAL_RX = re.compile(
    r"\b(?:you could|we could (?:also )?(?:maybe|perhaps)|would be (?:nice|cool|good|great)|I wonder|imagine"
    r"|for example|for instance|in (?:one|some) remote)\b",
    re.I,
)


_UNDECIDED_RX = re.compile(
    r"\b(?:have to|need to|got to|gonna|going to|will|'ll|must|should|can|let's) (?:dec decide|decide|discuss|talk about"
    r"|think about|consider|make (?:a|the) decision)\b|\bdecide (?:about|on|which|what|whether|how)\b"
    r"|\bwhat we(?:'re| are) (?:gonna|going to) do\b|\bwe(?:'ll| will) see\b",
    re.I,
)


# the words of more than three letters ("[a-z][a-z']+" filtered by length, found in one pass)
_LONG_WORD_RX = re.compile(r"[a-z][a-z']{3,}")


def _words(text: str) -> list[str]:
    return [w for w in _LONG_WORD_RX.findall(text.lower()) if w not in _STOPWORDS]


def _content_words(text: str) -> int:
    return sum(1 for w in _LONG_WORD_RX.findall(text.lower()) if w not in _STOPWORDS)


def _topical(words: list[list[str]]) -> frozenset[str]:
    """The topics the meeting keeps returning to ("LCD", "titanium", "the budget"): words said in
    many turns (`words`: each turn's content words)."""
    said = Counter(itertools.chain.from_iterable(set(turn_words) for turn_words in words))
    floor = max(4, len(words) // 80)
    return frozenset(w for w, turns in said.items() if turns >= floor)


def _consensus(turns: list[Turn], topical: frozenset[str]) -> list[tuple[float, int, DecisionOut]]:
    """Decisions reached by agreement: a concrete proposal the other speakers answer with "yeah" /
    "okay", or a short conclusion ("Okay, no speech recognition."). Recaps of earlier meetings are
    marked `recap`, hedged proposals `tentative`."""
    n = len(turns)
    # a short "yeah" / "okay" turn, worked out once: each turn is read as the answer to three
    agrees = [bool(_AGREE_RX.match(text)) and len(text.split()) <= 12 for *_, text in turns]
    out: list[tuple[float, int, DecisionOut]] = []
    for pos, (idx, speaker, _, ts, text) in enumerate(turns):
        sentences = _sentences(text)
        if not sentences:
            continue
        agreeing = {turns[j][1] for j in range(pos + 1, min(n, pos + 4)) if agrees[j]} - {speaker}
        for k, sentence in enumerate(sentences[-2:]):
            if not agreeing and not (
                _CONCLUDE_RX.match(sentence) or (k == 1 and _CONCLUDE_RX.match(sentences[-2]))
            ):
                continue  # unanswered, and no "Okay, so no LCD." conclusion: nothing agreed (fast path)
            content = _content_words(sentence)
            if content < 1:
                continue
            said = sentence
            if content < 4 and k == 1:  # "We should go with that concept." names it the sentence before
                sentence = f"{sentences[-2]} {sentence}"
                content = _content_words(sentence)
            if content < 2:
                continue
            conclude = bool(_CONCLUDE_RX.match(sentence))
            low = _folded(sentence)
            choice = _cued(low, _CHOICE_CUES) and bool(_CHOICE_RX.search(sentence))
            should = _cued(low, _SHOULD_CUES) and bool(_SHOULD_RX.search(sentence))
            if not (conclude or ((choice or should) and agreeing)):
                continue
            if _IN_MEETING_RX.search(said) or _JOKE_RX.search(said):  # after the cheaper tests
                continue
            if sentence.endswith("?") and not agreeing:
                continue
            # what is being agreed is a topic the meeting keeps returning to ("LCD", "titanium",
            # "the budget"), not a passing remark: count the sentence's words that recur in many turns
            topic = sum(1 for w in set(_words(sentence)) if w in topical)
            score = 2.0 + 1.5 * min(len(agreeing), 2) + (2.0 if conclude else 0.0) + (1.0 if choice else 0.0)
            score += (1.0 if should else 0.0) + 0.75 * min(topic, 4) - (1.0 if content > 14 else 0.0)
            if re.search(r"^if\b|\bif (?:we|you|someone|they)\b|\bwhether\b", sentence, re.I):
                score -= 2.0  # a condition, not a choice
            if _UNDECIDED_RX.search(sentence):
                continue  # "then we'll have to decide about the concepts": a decision still to make
            if _HYPOTHETICAL_RX.search(sentence):
                score -= 2.0  # "you could just say…", "would be nice": an option described, not chosen
            if score < MIN_CONSENSUS_SCORE:
                continue
            recap = bool(_RECAP_RX.search(sentence)) or (pos < 0.1 * n and "decided" in sentence.lower())
            status = "recap" if recap else "tentative" if _TENTATIVE_RX.search(sentence) else "made"
            what = re.sub(
                r"^(?:yeah|yes|okay|ok|so|well|alright|right|and|but)\b[ ,]*", "", sentence, flags=re.I
            )
            what = re.sub(r"^(?:yeah|yes|okay|ok|so|well|alright|right)\b[ ,]*", "", what, flags=re.I)
            decision = DecisionOut(
                what=what[:300].rstrip(".") or sentence[:300], owner=speaker, source_timestamp=ts
            )
            if "status" in DecisionOut.model_fields:
                decision = decision.model_copy(update={"status": status})
            out.append((score - (3.0 if recap else 0.0), idx, decision))
    return out


_Q_LEAD = r"^(?:(?:and|but|so|well|okay|ok|yeah|yes|right|alright|then|now)\W+)*"
# an open question asks for information and proposes nothing: "What else do we need?", "Any questions?"
_OPEN_Q_RX = re.compile(
    _Q_LEAD
    + r"(?:what|who|whom|whose|how|why|where|when|any|anything|anyone|anybody|is there|are there)\b(?! about\b)",
    re.I,
)
# about a person, not what the group settles: "Do you have any idea…?", "Shall I start?", "my slides?"
_PERSONAL_Q_RX = re.compile(
    r"\b(?:(?:do|did|does|have|has|can|could|would|will|are|were|should|shall|may) (?:you|I)\b"
    r"|you (?:guys )?(?:think|mean|know|want|wanna|said|say)\b|\b(?:I|you) (?:wanna|want to|need to)\b|\bmy\b|\byour\b)",
    re.I,
)
_YOU_Q_RX = re.compile(r"\byou\b", re.I)
# the shapes of an option put up for confirmation: "we're going for…?", "shall we…?", "So X?", "X, no?", "X or Y?"
_CONFIRM_Q_RX = re.compile(
    r"\bwe(?:'re| are)? (?:going (?:for|with|to)|gonna|go(?:ing)? (?:for|with)|use|using|take|keep|have|give|put"
    r"|want|need|agree|agreeing|all agree|stick|make|do|decide|say)\b"
    r"|\b(?:shall|should|do|will|can|could|would) we\b|\blet'?s\b|^(?:so|then|and|okay|ok|alright)\b"
    r"|,? (?:no|right|yes|yeah|okay|then|isn't it|is it|don't we|aren't we|or not)\?$|\bor\b",
    re.I,
)
_CHOICE_Q_RX = re.compile(r"\w \bor\b \w", re.I)
_NO_ANSWER_RX = re.compile(r"^(?:no|nah|not|nope|never|too)\b", re.I)
_Q_TAGS = (
    " no",
    " right",
    " yes",
    " yeah",
    " okay",
    " isn't it",
    " is it",
    " don't we",
    " aren't we",
    " or not",
)
MIN_CONFIRM_SCORE = 3.0
_LEAD_RX = re.compile(r"^(?:(?:yeah|yes|okay|ok|so|well|alright|right|and|but|then|um|uh)\b[ ,]*)+", re.I)


def _confirmations(
    turns: list[Turn], words: list[list[str]], topical: frozenset[str]
) -> list[tuple[float, int, DecisionOut]]:
    """A question that puts an option up for confirmation ("So, we're going for a titanium back and a
    plastic front?", "Round buttons or square ones?") answered within three turns by another speaker
    who repeats its words ("Round I think.", "No, not very strange."): the choice is settled."""
    n = len(turns)
    out: list[tuple[float, int, DecisionOut]] = []
    for pos in range(n):
        idx, speaker, _, ts, text = turns[pos]
        if not text.endswith("?"):
            continue  # fast path: the question must close the turn
        sentences = _sentences(text)
        if not sentences or not (q := sentences[-1]).endswith("?"):
            continue
        key = set(_words(q))
        if not key or len(q.split()) < 2:
            continue
        if _OPEN_Q_RX.match(q) or _OPEN_Q_RX.match(re.split(r"[,;.] ", q)[-1]) or _PERSONAL_Q_RX.search(q):
            continue
        if _META.search(q) or (_YOU_Q_RX.search(q) and not _WE_RX.search(q)):
            continue
        short = len(q.split()) <= 5
        choice = bool(_CHOICE_Q_RX.search(q))
        confirm = bool(_CONFIRM_Q_RX.search(q))
        if not (short or choice or confirm):
            continue
        agree: set[str] = set()
        echo: set[str] = set()
        refuse: set[str] = set()
        answer = ""  # the first reply that repeats the question's words: which option was taken
        for j in range(pos + 1, min(n, pos + 4)):
            other, reply = turns[j][1], turns[j][4]
            size = len(reply.split())
            if other == speaker:
                if reply.endswith("?") or size > 12:
                    break  # the asker moved on
                continue
            if size > 12 or reply.endswith("?"):
                if _NO_ANSWER_RX.match(reply) and size <= 12:
                    refuse.add(other)
                continue
            if set(words[j]) & key:
                echo.add(other)
                answer = answer or reply
            elif _AGREE_RX.match(reply):
                agree.add(other)
            elif _NO_ANSWER_RX.match(reply):
                refuse.add(other)
        if not echo:
            continue  # "Yeah." alone answers too many questions that settle nothing
        if _IN_MEETING_RX.search(q) or _JOKE_RX.search(q) or _PROCESS_RX.search(q):
            continue
        topic = sum(1 for w in key if w in topical)
        score = 2.0 + 0.5 * min(len(agree | echo), 2) + 1.0 * choice + 0.5 * confirm + 0.75 * min(topic, 2)
        score -= 1.0 * short + 1.0 * bool(refuse - echo)
        if score < MIN_CONFIRM_SCORE:
            continue
        what = _LEAD_RX.sub("", q).rstrip("?").rstrip(" ,")
        for tag in _Q_TAGS:
            if what.lower().endswith(tag):
                what = what[: -len(tag)].rstrip(" ,")
        # the answer says which option, or that it is declined: "Round buttons or square ones: Round I
        # think", "are we going for a strange form: No, not very strange"
        what = f"{what}: {_LEAD_RX.sub('', clean(answer)).rstrip(' .')}"
        status: DecisionStatus = "tentative" if _TENTATIVE_RX.search(q) else "made"
        decision = DecisionOut(what=(what or q)[:300], owner=speaker, source_timestamp=ts, status=status)
        out.append((5.0 + score, idx, decision))  # on the consensus scale: ranks above a bare "yeah"
    return out


_STOPWORDS = frozenset(
    [
        "this",
        "that",
        "there",
        "then",
        "they",
        "them",
        "these",
        "those",
        "what",
        "when",
        "where",
        "which",
        "with",
        "would",
        "will",
        "your",
        "have",
        "been",
        "from",
        "just",
        "like",
        "really",
        "think",
        "know",
        "mean",
        "right",
        "kind",
        "sort",
        "thing",
        "things",
        "maybe",
        "yeah",
        "okay",
        "well",
        "also",
        "some",
        "very",
        "much",
        "more",
        "about",
        "into",
        "could",
        "should",
        "going",
        "gonna",
        "want",
        "here",
        "because",
        "something",
    ]
)


# the literals each mention rule needs (one of them, lowered), for `_cued`
_RULE_CUES: dict[str, tuple[str, ...]] = {
    "risks": ("risk", "concern", "worr", "block", "hipaa", "compliance"),
    "requirements": ("need", "must", "has to", "have to", "requir"),
    "budget": ("$", "budget", "k per", "cost", "thousand", "dollar", "euro", "pric"),
    "timeline": ("by ", "deadline", "live", "weeks", "launch"),
    "roadmap": ("roadmap", "feature idea", "nice to have", "in the future", "p0", "p1", "p2", "p3"),
}
# (index, timestamp, sentences, each sentence folded; "" for one of fewer than five words)
_Said = list[tuple[int, str | None, tuple[str, ...], list[str | None]]]


def _said(meeting: FathomMeeting) -> _Said:
    """The summary lines and turns as sentences, split and folded once for the five mention rules."""
    summary = [
        (100_000 + i, None, line.strip().lstrip("-*• "))
        for i, line in enumerate(meeting.summary_markdown.splitlines())
        if line.strip() and not line.lstrip().startswith("#")
    ]
    sources = summary + [(i, ts, tx) for i, _, _, ts, tx in _turns(meeting)]
    out: _Said = []
    for idx, ts, text in sources:
        sentences = _split(text)
        out.append((idx, ts, sentences, [_folded(s) if len(s.split()) >= 5 else "" for s in sentences]))
    return out


def _mentions(meeting: FathomMeeting, kind: str, said: _Said | None = None) -> list[Mention]:
    rx, strong = _RULES[kind]
    cues = _RULE_CUES[kind]
    scored: list[tuple[float, int, Mention]] = []
    for idx, ts, sentences, folded in said if said is not None else _said(meeting):
        for pos, sentence in enumerate(sentences):
            low = folded[pos]
            if low == "" or not _cued(low, cues) or not rx.search(sentence):
                continue  # "": fewer than five words
            if kind == "roadmap" and pos and re.search(r"\b(?:that|this|it)\b", sentence, re.I):
                sentence = f"{sentences[pos - 1]} {sentence}"  # "add that to the roadmap" names no idea
            score = 1.0 + 2.0 * bool(strong and strong.search(sentence)) + min(len(sentence.split()), 30) / 15
            score -= 1.5 if sentence.endswith("?") else 0.0
            score -= 2.0 if _META.search(sentence) else 0.0
            if score < MIN_MENTION_SCORE:
                continue
            scored.append((score, idx, Mention(text=sentence[:300], source_timestamp=ts)))
    seen: set[str] = set()
    top: list[tuple[float, int, Mention]] = []
    for item in sorted(scored, key=lambda s: (-s[0], s[1])):
        key = item[2].text.lower()
        if key not in seen:
            seen.add(key)
            top.append(item)
        if len(top) >= MAX_MENTIONS:
            break
    return [m for _, _, m in sorted(top, key=lambda s: s[1])]


def extractive_summary(meeting: FathomMeeting, limit: int = 5) -> list[str]:
    """The transcript's most central sentences, in the order said, one from each part of the meeting.

    Centrality is the summed frequency of a sentence's content words across the whole transcript
    (words repeated by many turns are the topic), normalised by length; agenda and in-meeting
    chatter are skipped.
    """
    turns = list(_turns(meeting))
    freq: dict[str, int] = {}
    for *_, text in turns:
        for w in set(_LONG_WORD_RX.findall(text.lower())) - _STOPWORDS:
            freq[w] = freq.get(w, 0) + 1
    if not turns:
        return []
    parts = max(1, min(limit, len(turns) // 10 or 1))
    out: list[str] = []
    for part in range(parts):
        chunk = turns[part * len(turns) // parts : (part + 1) * len(turns) // parts]
        best: tuple[float, str] | None = None
        for *_, text in chunk:
            for sentence in _split(text):
                if not 8 <= len(sentence.split()) <= 40 or sentence.endswith("?"):
                    continue  # the cheap tests first
                words = _LONG_WORD_RX.findall(sentence.lower())
                content = [w for w in words if w not in _STOPWORDS]
                if len(content) < 4:
                    continue
                if _IN_MEETING_RX.search(sentence) or _JOKE_RX.search(sentence):
                    continue
                score = sum(min(freq.get(w, 0), 30) for w in set(content)) / (len(words) ** 0.5)
                if best is None or score > best[0]:
                    best = (score, sentence)
        if best:
            out.append(best[1][:280])
    return out


def spoken_roles(meeting: FathomMeeting) -> dict[str, str]:
    """'I'm the office manager' -> {speaker: 'office manager'} (first self-description wins)."""
    roles: dict[str, str] = {}
    rx = re.compile(
        r"\bI(?:'m| am) (?:the|a|an) ((?:[a-z]+ ){0,2}(?:manager|director|officer|owner|engineer|designer|"
        r"founder|ceo|cto|coo|cfo|lead|head|partner|consultant|coach|marketing expert))\b",
        re.I,
    )
    for _, speaker, _, _, text in _turns(meeting):
        m = rx.search(text)
        if m and speaker not in roles:
            roles[speaker] = m.group(1)
    return roles


def same_owner(item: ActionItemOut, invitee: Invitee) -> bool:
    if item.owner_email and invitee.email:
        return item.owner_email.lower() == invitee.email.lower()
    return bool(item.owner_name and invitee.name and item.owner_name.lower() == invitee.name.lower())


def extract_all(meeting: FathomMeeting, day: date) -> Findings:
    said = _said(meeting)  # one split per call: the bench analyses each meeting cold
    return Findings(
        actions=_commitments(meeting, day),
        decisions=_decisions(meeting),
        risks=_mentions(meeting, "risks", said),
        requirements=_mentions(meeting, "requirements", said),
        budget=_mentions(meeting, "budget", said),
        timeline=_mentions(meeting, "timeline", said),
        roadmap=_mentions(meeting, "roadmap", said),
    )
