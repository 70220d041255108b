"""Redaction before the model: personal data becomes stable placeholders, mapped back afterwards.

Pattern-based and offline (no model is downloaded): e-mail addresses; payment card numbers
(Luhn-checked); IBANs (length per country and the mod-97 check); US social security numbers, UK
national insurance numbers and German tax ids (check digit, only next to a "tax"/"Steuer" word);
street addresses of the common "12 Harbour Street" / "Hauptstraße 5" shapes; phone numbers
(candidates found by a pattern, then validated by `phonenumbers`, Google's libphonenumber
metadata); and the `privacy.patterns` and `privacy.terms` of `fathom-os.yml`. Strict mode also
replaces names of people other than the attendees: known names (the team in `fathom-os.yml`, CRM
contacts, configured terms) and a heuristic, runs of two or three capitalised words that are not
attendee names and not common capitalised words. The heuristic misses lone first names and can
take a product name ("Open Dental") for a person; both are stated in the README.

One `Redactor` per meeting: the same value always gets the same placeholder (`[EMAIL_1]`), so the
model can refer to it, and `restore` puts the original back in what is shown to people who may
see the meeting. Only counts by kind are kept for the record, never the values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import phonenumbers
from pydantic import BaseModel

from services.fathom import FathomMeeting

MODES = ("off", "standard", "strict")
_ANY_DIGIT = re.compile(r"\d")
PLACEHOLDER = re.compile(r"\[([A-Z][A-Z0-9_]*?)_(\d+)\]")

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}")
US_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
UK_NI = re.compile(
    r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)
DE_TAX_ID = re.compile(r"(?i)(?:steuer[- ]?id\w*|steuer-?identifikationsnummer|idnr|tax id\w*|tin)\W{1,5}")
DE_TAX_BARE = re.compile(r"(?<![\d-])[1-9](?: ?\d){10}(?![\d-])")
_STREET_WORDS = (
    r"Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Dr\.?|Boulevard|Blvd\.?|Way|Court|Ct\.?"
    r"|Place|Pl\.?|Terrace|Close|Crescent|Square|Sq\.?"
)
STREET = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,? (?:[A-Z][a-z]+ ){{1,3}}(?:{_STREET_WORDS})(?![A-Za-z])"
    r"|\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|weg|gasse|platz|allee)\s\d{1,4}[a-z]?\b"
)
PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d ().-]{5,18}\d(?![\d])")
NAME_RUN = re.compile(r"\b[A-Z][a-z'’-]+(?: [A-Z][a-z'’-]+){1,2}\b")
_NOT_NAMES = frozenset(
    """\
    i a an the we our you your they he she it this that these those and but or so if then when
    what why how where who which yes no okay ok hi hello thanks thank good great sure well also just
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december q1 q2 q3 q4 mr mrs ms dr morning afternoon
    evening team everyone everybody all right let so now next last first""".split()  # noqa: SIM905
)

# IBAN lengths by country (ISO 13616 registry, the common ones)
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
}  # fmt: skip

# Keys of a Fathom payload that are never free text (links, times, flags, domains).
_SKIP_KEYS = frozenset(
    {
        "url", "share_url", "recording_playback_url", "timestamp", "created_at", "recording_id",
        "scheduled_start_time", "scheduled_end_time", "recording_start_time", "recording_end_time",
        "transcript_language", "calendar_invitees_domains_type", "email_domain", "is_external",
        "template_name", "team", "user_generated", "completed",
    }
)  # fmt: skip


def luhn_ok(digits: str) -> bool:
    total = 0
    for n, ch in enumerate(reversed(digits)):
        d = int(ch)
        if n % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(compact: str) -> bool:
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def de_tax_id_ok(digits: str) -> bool:
    """ISO 7064 MOD 11,10 check digit of the German Steuer-Identifikationsnummer."""
    if len(digits) != 11 or digits[0] == "0":
        return False
    product = 10
    for ch in digits[:10]:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    check = (11 - product) % 10
    return check == int(digits[10])


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    value: str
    key: str  # the normalised value: the same person's number written twice gets one placeholder


Finder = Callable[[str], Iterable[Span]]


def _pattern(kind: str, regex: re.Pattern[str], norm: Callable[[str], str] = str.lower) -> Finder:
    def find(text: str) -> Iterable[Span]:
        for m in regex.finditer(text):
            yield Span(m.start(), m.end(), kind, m.group(), norm(m.group()))

    return find


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _cards(text: str) -> Iterable[Span]:
    for m in CARD.finditer(text):
        digits = _digits(m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1:
            yield Span(m.start(), m.end(), "CARD", m.group(), digits)


def _ibans(text: str) -> Iterable[Span]:
    for m in IBAN_CANDIDATE.finditer(text):
        raw = m.group()
        length = IBAN_LENGTHS.get(raw[:2])
        if length is None:
            continue
        # walk the candidate until `length` alphanumerics: trailing words are not part of it
        count, end = 0, 0
        for ch in raw:
            end += 1
            count += ch != " "
            if count == length:
                break
        compact = raw[:end].replace(" ", "")
        if count == length and iban_ok(compact):
            yield Span(m.start(), m.start() + end, "IBAN", raw[:end], compact)


def _de_tax_shape(digits: str) -> bool:
    """In the first ten digits one digit occurs twice or three times, the others at most once."""
    counts = sorted(Counter(digits[:10]).values(), reverse=True)
    return counts[0] in (2, 3) and (len(counts) < 2 or counts[1] == 1)


def _de_tax_ids(text: str) -> Iterable[Span]:
    """After a tax word the check digit suffices; a bare 11-digit number (a passage cut before
    the word) needs the check digit and the id's digit structure too."""
    after_word = {m.end() for m in DE_TAX_ID.finditer(text)}
    for found in DE_TAX_BARE.finditer(text):
        digits = _digits(found.group())
        if de_tax_id_ok(digits) and (found.start() in after_word or _de_tax_shape(digits)):
            yield Span(found.start(), found.end(), "TAX_ID", found.group(), digits)


def _phones(region: str) -> Finder:
    def find(text: str) -> Iterable[Span]:
        for m in PHONE_CANDIDATE.finditer(text):
            raw = m.group().strip(" .-")
            digits = _digits(raw)
            if not 7 <= len(digits) <= 15 or re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                continue
            try:
                number = phonenumbers.parse(
                    raw.replace("00", "+", 1) if raw.startswith("00") else raw, region
                )
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                key = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                start = m.start() + m.group().index(raw)
                yield Span(start, start + len(raw), "PHONE", raw, key)

    return find


def _literal(kind: str, words: Iterable[str]) -> Finder | None:
    words = sorted({w.strip() for w in words if w and w.strip()}, key=len, reverse=True)
    if not words:
        return None
    regex = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.I)
    return _pattern(kind, regex)


def _names(keep: set[str], known: Finder | None) -> Finder:
    def find(text: str) -> Iterable[Span]:
        if known is not None:
            yield from (s for s in known(text) if s.key not in keep)
        for m in NAME_RUN.finditer(text):
            words = m.group().split()
            while words and words[0].lower() in _NOT_NAMES:  # "Thanks Priya Natarajan"
                words = words[1:]
            if len(words) < 2 or any(w.lower() in _NOT_NAMES for w in words):
                continue
            name = " ".join(words)
            if name.lower() in keep or any(w.lower() in keep for w in words):
                continue
            start = m.end() - len(name)
            yield Span(start, m.end(), "PERSON", name, name.lower())

    return find


@dataclass
class Policy:
    """What to redact; built from `fathom-os.yml` `privacy:` by `policy_from_config`."""

    mode: str = "standard"
    patterns: list[tuple[str, str]] = field(default_factory=list)  # (kind, regex)
    terms: list[str] = field(default_factory=list)
    phone_region: str = "US"
    known_people: list[str] = field(default_factory=list)  # strict mode: names always redacted
    attendees: list[str] = field(default_factory=list)  # strict mode: names never redacted


def policy_from_config(privacy: Any, mode: str | None = None, known_people: Iterable[str] = ()) -> Policy:
    """`privacy` is `services.os_config.Privacy`; `mode` overrides its default (per client/type)."""
    return Policy(
        mode=mode or privacy.mode,
        patterns=[(p.kind, p.pattern) for p in privacy.patterns],
        terms=list(privacy.terms),
        phone_region=privacy.phone_region,
        known_people=list(known_people),
    )


class Redactor:
    """Redacts text with one placeholder numbering per meeting, and restores it."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.mode = self.policy.mode
        if self.mode not in MODES:
            raise ValueError(f"unknown privacy mode {self.mode!r} (one of {', '.join(MODES)})")
        self.mapping: dict[str, str] = {}  # placeholder -> original (first spelling seen)
        self._by_key: dict[tuple[str, str], str] = {}
        self._numbers: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()  # occurrences replaced, by kind
        self._memo: dict[str, tuple[str, tuple[str, ...]]] = {}  # names and e-mails repeat per line
        self._finders = self._build_finders()
        # the configured terms and patterns alone, whatever the mode: for the OS context (#18)
        self._configured: list[tuple[Finder, str]] = [
            (f, "")
            for f in (
                _literal("TERM", self.policy.terms),
                *(_pattern(kind, re.compile(regex)) for kind, regex in self.policy.patterns),
            )
            if f is not None
        ]

    def _build_finders(self) -> list[tuple[Finder, str]]:
        """(finder, what the text must contain for it to be worth running: "" | "@" | "digit")."""
        if self.mode == "off":
            return []
        p = self.policy
        finders: list[tuple[Finder | None, str]] = [
            (_literal("TERM", p.terms), ""),
            *((_pattern(kind, re.compile(regex)), "") for kind, regex in p.patterns),
            (_pattern("EMAIL", EMAIL), "@"),
            (_ibans, "digit"),
            (_cards, "digit"),
            (_pattern("SSN", US_SSN, _digits), "digit"),
            (_pattern("NI_NUMBER", UK_NI, lambda v: v.replace(" ", "").upper()), "digit"),
            (_de_tax_ids, "digit"),
            (_pattern("ADDRESS", STREET), "digit"),
            (_phones(p.phone_region), "digit"),
        ]
        if self.mode == "strict":
            keep: set[str] = set()
            for name in p.attendees:
                keep.add(name.strip().lower())
                keep.update(w.lower() for w in name.split() if len(w) > 1)
            finders.append((_names(keep, _literal("PERSON", p.known_people)), ""))
        self._memo.clear()
        return [(f, needs) for f, needs in finders if f is not None]

    def keep_names(self, names: Iterable[str]) -> None:
        """Attendee names stay readable in strict mode (call before redacting)."""
        self.policy.attendees = [*self.policy.attendees, *(n for n in names if n)]
        self._finders = self._build_finders()

    def placeholder(self, kind: str, key: str, value: str) -> str:
        existing = self._by_key.get((kind, key))
        if existing is None:
            self._numbers[kind] += 1
            existing = f"[{kind}_{self._numbers[kind]}]"
            self._by_key[(kind, key)] = existing
            self.mapping[existing] = value
        return existing

    def redact(self, text: str) -> str:
        if not text or not self._finders:
            return text
        memo = self._memo.get(text)
        if memo is None:
            memo = self._memo[text] = self._redact(text)
        self.counts.update(memo[1])
        return memo[0]

    def redact_configured(self, text: str) -> str:
        """Only `privacy.terms` and `privacy.patterns`, in any mode (the OS context: the agency's
        own data, where a client's code name would otherwise reach the model). No standard
        detector runs, so the same OS always gives the same text and the cacheable prefix stays
        stable; redact it before the meeting so its placeholders number the same every time."""
        if not text or not self._configured:
            return text
        return self._redact(text, self._configured)[0]

    def _redact(
        self, text: str, finders: list[tuple[Finder, str]] | None = None
    ) -> tuple[str, tuple[str, ...]]:
        has = {"": True, "@": "@" in text, "digit": _ANY_DIGIT.search(text) is not None}
        taken: list[Span] = []
        # earlier finders win overlaps (an IBAN is no phone)
        for finder, needs in self._finders if finders is None else finders:
            if not has[needs]:
                continue
            for span in finder(text):
                overlaps = any(span.start < t.end and t.start < span.end for t in taken)
                if not overlaps and not PLACEHOLDER.fullmatch(span.value):
                    taken.append(span)
        if not taken:
            return text, ()
        out: list[str] = []
        at = 0
        for span in sorted(taken, key=lambda s: s.start):
            out.append(text[at : span.start])
            out.append(self.placeholder(span.kind, span.key, span.value))
            at = span.end
        out.append(text[at:])
        return "".join(out), tuple(s.kind for s in taken)

    def restore(self, text: str) -> str:
        if not text or not self.mapping or "[" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self.mapping.get(m.group(), m.group()), text)

    # -- structures ---------------------------------------------------------------------------

    def redact_data(self, data: Any, key: str | None = None) -> Any:
        if isinstance(data, str):
            return data if key in _SKIP_KEYS else self.redact(data)
        if isinstance(data, dict):
            return {k: self.redact_data(v, k) for k, v in data.items()}
        if isinstance(data, list):
            return [self.redact_data(v, key) for v in data]
        return data

    def redact_model(self, model: M) -> M:
        """A redacted copy of a pydantic model, unknown (extra) fields included; unchanged parts are
        shared, not copied, and nothing is re-validated (a one-hour meeting stays a few ms)."""
        changes: dict[str, Any] = {}
        values = {**model.__dict__, **(model.__pydantic_extra__ or {})}
        for key, value in values.items():
            new = self._redact_value(value, key)
            if new is not value:
                changes[key] = new
        return model.model_copy(update=changes) if changes else model

    def _redact_value(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            if key in _SKIP_KEYS:
                return value
            out = self.redact(value)
            return value if out == value else out
        if isinstance(value, BaseModel):
            return self.redact_model(value)
        if isinstance(value, list):
            items = [self._redact_value(v, key) for v in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if isinstance(value, dict):
            return self.redact_data(value, key)
        return value

    def restore_data(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.restore(data)
        if isinstance(data, dict):
            return {k: self.restore_data(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.restore_data(v) for v in data]
        return data

    def restore_model(self, model: M) -> M:
        if not self.mapping:
            return model
        return type(model).model_validate(self.restore_data(model.model_dump(mode="json")))

    def summary(self) -> dict[str, int]:
        """Counts by kind (never values): what the meeting's redaction record keeps."""
        return dict(sorted(self.counts.items()))


M = TypeVar("M", bound=BaseModel)


def attendee_names(meeting: FathomMeeting) -> list[str]:
    names = [i.name or "" for i in meeting.calendar_invitees]
    names += [i.matched_speaker_display_name or "" for i in meeting.calendar_invitees]
    names += [t.speaker.display_name for t in meeting.transcript or []]
    if meeting.recorded_by and meeting.recorded_by.name:
        names.append(meeting.recorded_by.name)
    return [n for n in dict.fromkeys(names) if n and n != "Unknown"]


def crm_contact_names(meeting: FathomMeeting) -> list[str]:
    contacts = meeting.crm_matches.contacts if meeting.crm_matches else []
    return [str(c.get("name")) for c in contacts if isinstance(c, dict) and c.get("name")]


def redact_meeting(
    meeting: FathomMeeting, policy: Policy, redactor: Redactor | None = None
) -> tuple[FathomMeeting, Redactor]:
    """A redacted copy of the meeting (transcript, summary, items, titles, attendee e-mails) and
    the redactor holding the mapping back. Attendee e-mails become placeholders too; owners the
    model names by placeholder are mapped back by `Redactor.restore_model` on the analysis.
    `redactor`: one that already redacted the OS context, so both share placeholders."""
    redactor = redactor or Redactor(policy)
    if redactor.mode == "off":
        return meeting, redactor
    if redactor.mode == "strict":
        redactor.policy.known_people = [*policy.known_people, *crm_contact_names(meeting)]
        redactor.keep_names(attendee_names(meeting))
    return redactor.redact_model(meeting), redactor


__all__ = [
    "MODES",
    "Policy",
    "Redactor",
    "attendee_names",
    "de_tax_id_ok",
    "iban_ok",
    "luhn_ok",
    "policy_from_config",
    "redact_meeting",
]
