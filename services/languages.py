"""Which language a meeting's analysis is written in, and which language a transcript is in.

Output language, first match wins: the client's `language:` in `fathom-os.yml`, the card
channel's entry in `channel_languages:`, Fathom's `transcript_language`, the language detected in
the transcript, English. Card labels stay English (the UI); only content follows the meeting.

Detection is lingua (`lingua-language-detector`): its models ship inside the wheel, so nothing is
downloaded at run time; the detector is built once, for the languages agencies meet in, lazily.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import LanguageDetector

    from services.fathom import FathomMeeting
    from services.os_config import OSConfig

DEFAULT = "en"
RULE_LANGUAGES = frozenset({"en"})  # what the offline analyzer's rules understand
SAMPLE_CHARS = 4000  # enough text for a confident guess; detection stays ~ms
NAMES = {
    "en": "English",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
    "sv": "Swedish",
    "da": "Danish",
    "nb": "Norwegian",
    "fi": "Finnish",
    "cs": "Czech",
    "tr": "Turkish",
    "ja": "Japanese",
    "zh": "Chinese",
    "ko": "Korean",
    "ar": "Arabic",
    "hi": "Hindi",
    "ru": "Russian",
    "uk": "Ukrainian",
}
_lock = threading.Lock()


def normalise(code: str | None) -> str | None:
    """`de-DE`, `DE`, `de_de` -> `de`; anything else that is not two or three letters -> None."""
    if not code:
        return None
    base = code.strip().replace("_", "-").split("-")[0].lower()
    return base if base.isalpha() and 2 <= len(base) <= 3 else None


def name_of(code: str) -> str:
    return NAMES.get(code, code)


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    wanted = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in NAMES if c != "nb"]
    wanted.append(Language.BOKMAL)
    return LanguageDetectorBuilder.from_languages(*wanted).with_minimum_relative_distance(0.1).build()


def detect_text(text: str) -> str | None:
    """The ISO 639-1 code of `text`'s language, or None when it is too short or ambiguous."""
    sample = " ".join(text.split())[:SAMPLE_CHARS]
    if len(sample) < 20:
        return None
    with _lock:  # built once; the detector itself is thread-safe
        detector = _detector()
    found = detector.detect_language_of(sample)
    if found is None:
        return None
    return "nb" if found.name == "BOKMAL" else found.iso_code_639_1.name.lower()


def transcript_language(meeting: FathomMeeting) -> str | None:
    """What the people in the meeting spoke (Fathom's summary and items are always English, so
    only the transcript counts)."""
    lines = meeting.transcript or []
    text, size = [], 0
    for line in lines:
        text.append(line.text)
        size += len(line.text) + 1
        if size >= SAMPLE_CHARS:
            break
    return detect_text(" ".join(text))


def meeting_language(meeting: FathomMeeting) -> str:
    """The meeting's own language: Fathom's `transcript_language`, else detected, else English."""
    return normalise(meeting.transcript_language) or transcript_language(meeting) or DEFAULT


def spoken_language(meeting: FathomMeeting) -> str:
    """What the transcript is in, as the offline analyzer must know it: detected first (Fathom's
    field can be a workspace default), then Fathom's field, then English."""
    return transcript_language(meeting) or normalise(meeting.transcript_language) or DEFAULT


def output_language(config: OSConfig, meeting: FathomMeeting, channel: str | None = None) -> str:
    """The language the analysis is written in (see the module docstring for the order)."""
    for domain in meeting.external_domains:
        client = config.client_for_domain(domain)
        if client is not None and normalise(client.language):
            return normalise(client.language) or DEFAULT
    routed = channel or config.route([], meeting.external_domains)
    if routed:
        by_channel = {k.lstrip("#").lower(): v for k, v in config.channel_languages.items()}
        chosen = normalise(by_channel.get(routed.lstrip("#").lower()))
        if chosen:
            return chosen
    return meeting_language(meeting)


__all__ = [
    "DEFAULT",
    "NAMES",
    "RULE_LANGUAGES",
    "detect_text",
    "meeting_language",
    "name_of",
    "normalise",
    "output_language",
    "spoken_language",
    "transcript_language",
]
