"""Text rules for the offline audit extractor: numbers said as words, figures, deadlines, tools.

People say "eleven percent" and "forty thousand" on calls while Fathom's summary writes "11%" and
"~$40k"; both must land on the same figure, so words are turned into digits before any matching.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, *_SCALES])
_NUMBER_PHRASE = re.compile(
    rf"\b(?:{_NUMBER_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_NUMBER_WORD}))*\b", re.IGNORECASE
)

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})


def _phrase_value(phrase: str) -> int | None:
    total, current = 0, 0
    for word in re.split(r"[\s-]+", phrase.lower()):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _SCALES:
            total += max(current, 1) * _SCALES[word]
            current = 0
        else:
            return None
    return total + current


def words_to_digits(text: str) -> str:
    """'eleven percent of eighteen thousand' -> '11 percent of 18000'."""

    def repl(match: re.Match[str]) -> str:
        value = _phrase_value(match.group(0))
        return match.group(0) if value is None else str(value)

    return _NUMBER_PHRASE.sub(repl, text)


def split_sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip(" -*#\t") for p in parts if p.strip(" -*#\t")]


@dataclass(frozen=True)
class RawFigure:
    value: float
    unit: str
    text: str
    start: int


_SCALE_SUFFIX = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}
_PERIOD = {"month": "month", "mo": "month", "year": "year", "yr": "year", "week": "week", "day": "day"}
_MONEY = re.compile(
    r"\$\s?(?P<num>\d[\d,]*(?:\.\d+)?)\s?(?P<scale>k|m|thousand|million)?\b"
    r"(?:\s*(?:/|per|a|each)\s*(?P<period>month|mo|year|yr|week|day)\b)?",
    re.IGNORECASE,
)
_DOLLARS = re.compile(
    r"(?P<num>\d[\d,]*(?:\.\d+)?)\s?(?P<scale>k|thousand|million)?\s+(?:dollars|usd)\b"
    r"(?:\s*(?:/|per|a|each)\s*(?P<period>month|year|week|day)\b)?",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"(?P<num>\d+(?:\.\d+)?)\s?(?:%|percent\b)", re.IGNORECASE)
_RATE = re.compile(
    r"(?P<num>\d[\d,]*)\s?(?:(?P<noun>[a-z][a-z-]*)\s?)?(?:/|\ba\b|\bper\b|\beach\b)\s?"
    r"(?P<period>day|week|month)\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"(?P<num>\d+(?:\.\d+)?)(?:\s*(?:to|-)\s*(?P<hi>\d+(?:\.\d+)?))?\s*(?P<unit>minutes|mins|hours|hrs)\b",
    re.IGNORECASE,
)


def _number(raw: str, scale: str | None) -> float:
    value = float(raw.replace(",", ""))
    return value * _SCALE_SUFFIX.get((scale or "").lower(), 1)


def find_figures(sentence: str) -> list[RawFigure]:
    """Money, percentages, rates and durations in one sentence, each span used once."""
    text = words_to_digits(sentence)
    found: list[RawFigure] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match[str]) -> bool:
        return all(m.end() <= a or m.start() >= b for a, b in taken)

    for pattern in (_MONEY, _DOLLARS):
        for m in pattern.finditer(text):
            if not free(m):
                continue
            period = _PERIOD.get((m.group("period") or "").lower())
            found.append(
                RawFigure(
                    _number(m["num"], m["scale"]), f"USD/{period}" if period else "USD", m[0], m.start()
                )
            )
            taken.append(m.span())
    for m in _PERCENT.finditer(text):
        if free(m):
            found.append(RawFigure(float(m["num"]), "%", m[0], m.start()))
            taken.append(m.span())
    for m in _DURATION.finditer(text):
        if free(m):
            low = float(m["num"])
            value = (low + float(m["hi"])) / 2 if m["hi"] else low
            unit = "minutes" if m["unit"].lower().startswith("min") else "hours"
            found.append(RawFigure(value, unit, m[0], m.start()))
            taken.append(m.span())
    for m in _RATE.finditer(text):
        if free(m):
            noun = (m["noun"] or "").lower()
            unit = f"{noun}/{m['period'].lower()}" if noun and noun not in {"times"} else f"per {m['period']}"
            found.append(RawFigure(float(m["num"].replace(",", "")), unit, m[0], m.start()))
            taken.append(m.span())
    return sorted(found, key=lambda f: f.start)


def bare_amounts(sentence: str) -> list[float]:
    """Numbers of 1,000 or more without a currency ('set aside forty thousand'): budget context only."""
    text = words_to_digits(sentence)
    values = []
    for m in re.finditer(r"(?<![\d$.])(\d[\d,]*(?:\.\d+)?)\s?(k|thousand)?\b", text, re.IGNORECASE):
        value = _number(m[1], m[2])
        if value >= 1_000:
            values.append(value)
    return values


def _end_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _next_occurrence(month: int, day: int | None, after: date) -> date:
    year = after.year
    candidate = date(year, month, day) if day else _end_of_month(year, month)
    if candidate <= after:
        year += 1
        candidate = date(year, month, min(day, 28)) if day else _end_of_month(year, month)
    return candidate


_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_END_OF_MONTH = re.compile(rf"\b(?:end|close) of (?:the )?({_MONTH_NAMES})\b", re.IGNORECASE)
_BY_MONTH = re.compile(
    rf"\b(?:by|before|until|in|for) (?:early |mid |mid-|late )?({_MONTH_NAMES})\b(?:\s+(\d{{1,2}})(?:st|nd|rd|th)?)?",
    re.IGNORECASE,
)
_QUARTER = re.compile(r"\b(?:end of |by )?q([1-4])\b", re.IGNORECASE)
_WITHIN = re.compile(r"\b(?:in|within|next) (\d+) (weeks|months)\b", re.IGNORECASE)


def find_deadline(sentence: str, meeting_date: date) -> date | None:
    """A project deadline in the sentence, always after the meeting ('end of March' -> next March 31)."""
    text = words_to_digits(sentence)
    if m := _END_OF_MONTH.search(text):
        return _next_occurrence(MONTHS[m[1].lower()], None, meeting_date)
    if m := _QUARTER.search(text):
        month = int(m[1]) * 3
        return _next_occurrence(month, None, meeting_date)
    if m := _BY_MONTH.search(text):
        if m[1].lower() == "may" and not m[2]:
            return None  # "by may" is too often the verb
        return _next_occurrence(MONTHS[m[1].lower()], int(m[2]) if m[2] else None, meeting_date)
    if m := _WITHIN.search(text):
        count = int(m[1])
        return meeting_date + timedelta(weeks=count if m[2].lower() == "weeks" else round(count * 4.35))
    return None


# Canonical tool name -> spoken variants (lowercase regex fragments).
KNOWN_TOOLS: dict[str, tuple[str, ...]] = {
    "Dentrix": ("dentrix",),
    "Open Dental": ("open dental",),
    "Eaglesoft": ("eaglesoft",),
    "Curve Dental": ("curve dental",),
    "Weave": ("weave",),
    "Epic": (r"epic (?:ehr|emr|systems)",),
    "athenahealth": ("athenahealth", "athena health"),
    "Insurance payer portals": ("payer portals?",),
    "HubSpot": ("hubspot", "hub spot"),
    "Salesforce": ("salesforce",),
    "Pipedrive": ("pipedrive",),
    "QuickBooks": ("quickbooks", "quick books"),
    "Xero": ("xero",),
    "Google Sheets": ("google sheets",),
    "Google Workspace": ("google workspace", "g suite", "gsuite"),
    "Gmail": ("gmail",),
    "Excel": ("excel",),
    "Microsoft 365": ("microsoft 365", "office 365", "o365"),
    "Outlook": ("outlook",),
    "Microsoft Teams": ("microsoft teams", "ms teams"),
    "Slack": ("slack",),
    "Zapier": ("zapier",),
    "Make": (r"make\.com",),
    "n8n": ("n8n",),
    "Airtable": ("airtable",),
    "Notion": ("notion",),
    "Asana": ("asana",),
    "Trello": ("trello",),
    "Jira": ("jira",),
    "ClickUp": ("clickup",),
    "monday.com": (r"monday\.com",),
    "Zendesk": ("zendesk",),
    "Intercom": ("intercom",),
    "RingCentral": ("ringcentral", "ring central"),
    "Twilio": ("twilio",),
    "Calendly": ("calendly",),
    "DocuSign": ("docusign",),
    "Clio": ("clio",),
    "PracticePanther": ("practicepanther", "practice panther"),
    "MyCase": ("mycase",),
    "Karbon": ("karbon",),
    "Canopy": ("canopy",),
    "Shopify": ("shopify",),
    "Stripe": ("stripe",),
    "Mailchimp": ("mailchimp",),
    "Dropbox": ("dropbox",),
    "SharePoint": ("sharepoint",),
    "Zoom": ("zoom",),
}
_TOOL_PATTERNS = {
    name: re.compile(r"\b(?:" + "|".join(variants) + r")\b", re.IGNORECASE)
    for name, variants in KNOWN_TOOLS.items()
}


def find_tools(text: str) -> list[str]:
    """Known tools in order of first mention."""
    hits = [(m.start(), name) for name, p in _TOOL_PATTERNS.items() if (m := p.search(text))]
    return [name for _, name in sorted(hits)]


def short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
