"""Offline answers from one meeting's transcript: what was said, by whom, in 40-120 words.

No model: the question's words (stemmed, weighted by how rare they are in the meeting) pick the
passage of the meeting that talks most about them; inside it the sentences that carry the most
question words are kept in the order said, cleaned of filler and false starts, and attributed
("Maya said the budget is about $40k"). "Summarise the meeting" uses the stored summary and the
meeting's most central sentences; "summarise the discussion about X" the turns about X.
Pure functions, so the bench and the tests run them without a database.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MIN_WORDS, TARGET_WORDS, MAX_WORDS = 40, 65, 120
TOPIC_WORDS = 75  # "summarise the discussion about X"
SUMMARY_WORDS = 105  # the whole meeting says more, still under MAX_WORDS
CONTEXT_WEIGHT = 0.35  # words of a "when discussing X" clause: where to look, not what to say
_CONTEXT = re.compile(
    r"\b(?:when|while|during|in|after|before)\s+(?:the\s+)?(?:discuss(?:ing|ion)?|talk(?:ing)?|present(?:ing|ation)?|"
    r"(?:group\s+|team\s+)?discussion)\b",
    re.I,
)
TOPIC_PHRASES = 4  # "The meeting was mainly about ..."
_NUMBER_WORDS = set(
    """one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty
    hundred thousand million percent first second third""".split()  # noqa: SIM905
)
PHASES = (  # how meetings run: opening and reports, discussion, conclusions
    ("It opened with", "presented"),
    ("Then the group discussed", "said"),
    ("Finally, they talked about", "concluded"),
)
DECIDE_BOOST = 2.0  # the conclusions phase: sentences that decide or agree
_DECIDE = re.compile(
    r"\b(?:decid|agree|go with|going with|we'll|we will|let's|settle|final|conclu|we should|we need)", re.I
)
_NOT_TOPIC = _NUMBER_WORDS | set(  # conversation, not subject: never part of a topic phrase
    """about much many pretty quite sure enough fair good great nice fine cool bad last next time times
    minute minutes hour second talk talking talked said say make made makes lot lots little bit idea ideas
    guess feel want wanna need look looks looking way stuff sounds sound whole start started let's guys
    how why what who where which okay alright fun funny easy hard anything something everything nothing
    other others same different first last another each every able actually already always probably""".split()  # noqa: SIM905
)
PASSAGE_PHRASES = 2  # "The group talked about A and B." before a topic's summary
SPEAKER_BOOST = 1.5  # turns of the person the question names
WINDOW = 14  # turns in one passage: a topic in a meeting runs about a minute or two

# words that ask rather than tell: they never pick a passage
_QUESTION = set(
    """a about after all also an and any are as at be been but by can could did do does doing for from
    had has have how i if in into is it its me my of on or our so than that the their them then there
    these they this those to us was we were what when where which who whom whose why will with would
    you your said say says saying think thought discuss discussed discussing discussion talk talked
    mention mentioned tell told summarize summarise summary summarized whole meeting group team
    opinion idea ideas view views propose proposed suggest suggested decide decided decision
    conclusion conclude concluded agree agreed happen happened anything something main mainly
    give gave why reason explain explained describe described point points towards toward""".split()  # noqa: SIM905
)
_STOP = set(
    """a an and are as at be been but by can could did do does for from had has have he her his i if in
    into is it its just like me my no not now of on or our out so some than that the their them then there
    these they this those to too up us very was we well were what when where which who will with would
    yeah yes you your okay ok um uh mm hmm gonna wanna going get got also one really think know mean
    right sort kind thing things maybe um""".split()  # noqa: SIM905
)
_FILLER = re.compile(
    r"\b(?:u+m+|u+h+m*|h?m+-?h?m+|e+r+m*|a+h+|o+h+|hmm+|uh-huh|y know|you know|i mean|sort of|kind of"
    r"|like i said|i guess|i think|i suppose|i don't know|i dunno|basically|actually|literally|just|really"
    r"|obviously|probably|anyway|you see|or something|or whatever|a bit|a little bit)\b,?\s*",
    re.I,
)
_BACKCHANNEL = re.compile(  # "yeah," "okay." "mm-hmm" and a tag ", right?" inside a turn
    r"(?:^|(?<=[\s,.?!]))(?:yeah|yep|yes|okay|ok|alright|all right|mm-hmm|uh-huh|cool|sure)[,.!]\s+(?=\w)"
    r"|,\s*(?:right|yeah|okay|you know)\s*(?=[.?!,]|$)",
    re.I,
)
_LEAD = re.compile(
    r"^(?:(?:so|well|okay|ok|right|yeah|yes|yep|alright|all right|and|but|anyway|um|uh|oh|now|then|mm)"
    r"\b[\s,.]*)+",
    re.I,
)
_REPEAT = re.compile(r"\b(\w+)(?:\s+\1\b)+", re.I)  # "the the", "I I"
_FRAGMENT = re.compile(
    r"(?<!['\u2019])\b(?!a\b|i\b)[b-hj-z]\b(?!['\u2019])\s*", re.I
)  # cut-off words ("s", "th") left by the transcript
_SUMMARY_Q = re.compile(
    r"^\s*(?:please\s+)?(?:summari[sz]e|sum up|give (?:me )?(?:a |an )?(?:summary|overview|recap)|"
    r"(?:what is|what's|what was) (?:the )?(?:summary|gist|recap)|recap|overview)\b(.*)$",
    re.I,
)
_WHOLE = re.compile(
    r"^\W*(?:of\s+)?(?:the\s+)?(?:whole\s+|entire\s+|full\s+)?(?:meeting|call|session|discussion)?\W*$", re.I
)
_ROLE_WORD = re.compile(
    r"\b(?:manager|designer|expert|marketing|engineer|lead|director|analyst|officer|chair|head|owner)\b"
)
_SPACE_PUNCT = re.compile(r"\s+([,.?!;:'])")
_SENTENCE = re.compile(r"(?<=[.?!])\s+")


@dataclass(frozen=True)
class Turn:
    index: int
    speaker: str
    text: str
    ts: str | None = None


@dataclass(frozen=True)
class Said:
    """One cleaned sentence and the turn it came from (the citation)."""

    turn: Turn
    text: str


@dataclass(frozen=True)
class OfflineAnswer:
    text: str
    cited: list[Turn] = field(default_factory=list)
    summary_question: bool = False


def stem(word: str) -> str:
    """A light suffix stripper: enough for "buttons"/"button", "designed"/"design"."""
    w = word.lower()
    for suffix in (
        "ational",
        "ization",
        "ations",
        "ation",
        "ings",
        "ing",
        "ness",
        "ment",
        "ies",
        "ied",
        "ers",
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    for suffix in ("ed", "es", "er", "ly", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)]
    return w


def tokens(text: str, stop: set[str] = _STOP) -> list[str]:
    return [stem(w) for w in re.findall(r"[a-z][a-z0-9']*", text.lower()) if w not in stop and len(w) > 1]


_REAL_SHORT = _STOP | _QUESTION | set("he she him own off end too two ten new old use any all can".split())  # noqa: SIM905


def _false_starts(text: str) -> str:
    """A cut-off word restarted in full goes: "comp complex" -> "complex", "wha what" -> "what",
    "it th they're" -> "it they're"; a real word that starts the next ("to today") stays."""
    words = text.split(" ")
    out: list[str] = []
    for k, w in enumerate(words):
        nxt = words[k + 1].lower() if k + 1 < len(words) else ""
        low = w.lower()
        if (
            low.isalpha()
            and low not in _REAL_SHORT
            and len(low) <= 4
            and len(nxt) > len(low)
            and nxt.startswith(low)
        ):
            continue
        out.append(w)
    return " ".join(out)


def clean(text: str) -> str:
    """Filler, repeated words, cut-off words and leading discourse markers out; punctuation tidied."""
    out = _REPEAT.sub(r"\1", text)
    out = _FILLER.sub("", out)
    out = _BACKCHANNEL.sub(" ", out)
    out = _REPEAT.sub(r"\1", out)
    out = _false_starts(out)
    out = _REPEAT.sub(r"\1", out)
    out = _FRAGMENT.sub("", out)
    out = _SPACE_PUNCT.sub(r"\1", " ".join(out.split()))
    out = re.sub(r"[,;:]\s*([.?!])", r"\1", out)
    out = re.sub(r"([,.?!;:])(?:\s*[,.;:])+", r"\1", out)
    out = _LEAD.sub("", out).strip(" ,;:-")
    out = re.sub(r"^[,.?!;:\s]+", "", out)
    return out


def sentences(text: str) -> list[str]:
    return [s for s in (clean(p) for p in _SENTENCE.split(_SPACE_PUNCT.sub(r"\1", text))) if s]


def substantive(sentence: str) -> bool:
    """A sentence that says something: at least four words, three of them content words."""
    return len(sentence.split()) >= 4 and len(tokens(sentence)) >= 3


def summary_topic(question: str) -> str | None:
    """`Summarise the discussion about pricing` -> "the discussion about pricing"; "" for the whole
    meeting; None when the question is not a request for a summary."""
    m = _SUMMARY_Q.match(question.strip())
    if not m:
        return None
    rest = m.group(1).strip(" ?.!")
    return "" if _WHOLE.match(rest) else rest


_SWAPS = {
    # the speakers: "we" and "I" are reported as "they"
    "we": "they",
    "our": "their",
    "ours": "theirs",
    "us": "them",
    "we're": "they're",
    "we've": "they've",
    "we'll": "they'll",
    "we'd": "they'd",
    "let's": "they should",
    "i": "they",
    "my": "their",
    "me": "them",
    "myself": "themselves",
    "i am": "they are",
    "i was": "they were",
    "i'm": "they're",
    "i've": "they've",
    "i'll": "they'll",
    "i'd": "they'd",
    # the people addressed: in a meeting "you" is the rest of the group
    "you are": "the group is",
    "you were": "the group was",
    "you have": "the group has",
    "you're": "the group is",
    "you've": "the group has",
    "you'll": "the group will",
    "you'd": "the group would",
    "your": "the group's",
    "yours": "the group's",
    "yourself": "the group",
    "yourselves": "the group",
    "you": "the group",
}
_SWAP_RX = re.compile(
    r"\b(?:" + "|".join(re.escape(k) for k in sorted(_SWAPS, key=len, reverse=True)) + r")\b", re.I
)


def _third_person(sentence: str) -> str:
    """Reported speech: "we" and "I" become "they", "you" the group, so "Maya said they should ..."
    reads as a report of the meeting rather than a quote."""
    return _REPEAT.sub(r"\1", _SWAP_RX.sub(lambda m: _SWAPS[m.group(0).lower()], sentence))


_CONTRACTIONS = (  # a report is written out: "they'll" -> "they will", "it's" -> "it is"
    (re.compile(r"\b(can)['\u2019]t\b", re.I), r"\1not"),
    (re.compile(r"\bwon['\u2019]t\b", re.I), "will not"),
    (re.compile(r"\b(\w+)n['\u2019]t\b", re.I), r"\1 not"),
    (re.compile(r"\b(it|that|there|what|here|he|she|who|where|this)['\u2019]s\b", re.I), r"\1 is"),
    (re.compile(r"['\u2019]re\b", re.I), " are"),
    (re.compile(r"['\u2019]ll\b", re.I), " will"),
    (re.compile(r"['\u2019]ve\b", re.I), " have"),
    (re.compile(r"\b(they|we|you|i|he|she|it|that)['\u2019]d\b", re.I), r"\1 would"),
    (re.compile(r"['\u2019]cause\b", re.I), "because"),
    (re.compile(r"\bgonna\b", re.I), "going to"),
    (re.compile(r"\bwanna\b", re.I), "want to"),
    (re.compile(r"\bgotta\b", re.I), "have to"),
)


def written_out(sentence: str) -> str:
    """Contractions and spoken forms expanded, as a written report has them."""
    for rx, repl in _CONTRACTIONS:
        sentence = rx.sub(repl, sentence)
    return sentence


_VERBS = (
    (re.compile(r"\bsuggest", re.I), "suggested"),
    (re.compile(r"\bpropos", re.I), "proposed"),
    (re.compile(r"\brecommend", re.I), "recommended"),
    (re.compile(r"\b(?:think|thought|opinion|feel|view)", re.I), "thought"),
    (re.compile(r"\bagree", re.I), "agreed"),
    (re.compile(r"\b(?:present|report)", re.I), "presented"),
    (re.compile(r"\bexplain", re.I), "explained"),
)


def reporting_verb(question: str) -> str:
    """Answer in the question's terms: "what did Omar suggest" -> "Omar suggested ..."."""
    return next((verb for rx, verb in _VERBS if rx.search(question)), "said")


def attribute(
    said: Sequence[Said],
    first_names: bool = True,
    verb: str = "said",
    roles: Mapping[str, str] | None = None,
) -> str:
    """Consecutive sentences of one speaker become one "Name said ..." sentence; a speaker whose
    role the meeting names is introduced with it once ("Omar (Industrial Designer) said ...")."""
    parts: list[str] = []
    speaker: str | None = None
    run: list[str] = []
    introduced: set[str] = set()

    def flush() -> None:
        if run and speaker is not None:
            name = speaker.split()[0] if first_names else speaker
            role = (roles or {}).get(speaker)
            if role:
                name = f"The {role}" if speaker in introduced or not first_names else f"{name}, the {role},"
                introduced.add(speaker)
            body = "; ".join(s.rstrip(".?!") for s in run)
            body = body[0].lower() + body[1:] if body[:2] != "I " and not body[:2].isupper() else body
            parts.append(f"{name} {verb if not parts else 'said'} {body}.")

    for s in said:
        if s.turn.speaker != speaker:
            flush()
            speaker, run = s.turn.speaker, []
        run.append(written_out(_third_person(s.text)))
    flush()
    return " ".join(parts)


def is_role(alias: str) -> bool:
    """ "industrial designer", "marketing expert": a role, not a person's name."""
    return bool(_ROLE_WORD.search(alias.lower()))


def carried_roles(own: Mapping[str, str], others: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Roles people were given in other meetings of the same group (nearest first), for speakers
    whose role this meeting never names: "Omar, the Industrial Designer" in the third meeting of a
    series where he introduced himself in the first. A role claimed here, or a person who has a role
    here, is never overridden; the nearest meeting that names a role decides it."""
    out = {k: v for k, v in own.items()}
    has_role = {v for k, v in own.items() if is_role(k)}
    for aliases in others:
        for key, who in aliases.items():
            if is_role(key) and key not in out and who not in has_role:
                out[key] = who
                has_role.add(who)
    return out


class MeetingText:
    """One meeting's turns prepared for questions: cleaned sentences, stems and their rarity."""

    def __init__(self, turns: Iterable[Turn], aliases: Mapping[str, str] | None = None) -> None:
        """`aliases`: names and roles the meeting itself uses ("industrial designer", "cat") -> the
        speaker they belong to (services.analysis.extract.speaker_aliases)."""
        self.turns = [t for t in turns if t.text.strip()]
        speakers = {t.speaker for t in self.turns}
        self.aliases: dict[str, str] = {
            k.lower(): v for k, v in (aliases or {}).items() if v in speakers and len(k) > 2
        }
        for who in speakers:  # "what did Maya say": the speaker's own names
            for part in (who.lower(), who.split()[0].lower()):
                if len(part) > 2 and part not in _QUESTION | _STOP:
                    self.aliases.setdefault(part, who)
        for key, who in list(self.aliases.items()):  # "Marketing" for "marketing expert"
            short = re.sub(r"\s+(?:expert|designer|specialist)$", "", key)
            if short != key and short not in _QUESTION | _STOP:
                self.aliases.setdefault(short, who)
        self.roles: dict[str, str] = {}
        for key, who in sorted(self.aliases.items(), key=lambda kv: -len(kv[0])):
            if _ROLE_WORD.search(key) and who not in self.roles:
                self.roles[who] = key.title()
        self.position = {t.index: k for k, t in enumerate(self.turns)}
        self.said: list[list[Said]] = [[Said(t, s) for s in sentences(t.text)] for t in self.turns]
        self.stems: list[Counter[str]] = [Counter(tokens(t.text)) for t in self.turns]
        df: Counter[str] = Counter()
        for c in self.stems:
            df.update(c.keys())
        n = max(len(self.turns), 1)
        self.idf = {w: math.log(1 + (n - d + 0.5) / (d + 0.5)) for w, d in df.items()}
        self.n = n

    def query_weights(self, question: str) -> dict[str, float]:
        """Rarer words weigh more; words of a trailing "when discussing X" clause weigh less than
        the question proper (they say where, not what)."""
        m = _CONTEXT.search(question)
        focus, context = (
            (question[: m.start()], question[m.end() :]) if m and m.start() > 0 else (question, "")
        )
        weights = {
            w: CONTEXT_WEIGHT * self.idf[w] for w in tokens(context, _QUESTION | _STOP) if w in self.idf
        }
        for w in tokens(focus, _QUESTION | _STOP):
            if w in self.idf:
                weights[w] = self.idf[w]
        return weights

    def turn_scores(self, weights: dict[str, float]) -> list[float]:
        """BM25 per turn, so long monologues do not win by length alone."""
        lengths = [sum(c.values()) for c in self.stems]
        avg = (sum(lengths) / len(lengths)) if lengths else 1.0
        out = []
        for c, length in zip(self.stems, lengths, strict=True):
            s = 0.0
            for w, idf in weights.items():
                tf = c.get(w, 0)
                if tf:
                    s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / (avg or 1.0)))
            out.append(s)
        return out

    def phrases(
        self, lo: int = 0, hi: int | None = None, n: int = TOPIC_PHRASES, skip: Iterable[str] = ()
    ) -> list[str]:
        """The most repeated content phrases of turns lo..hi ("remote control", "voice recognition"):
        one phrase per stem pair ("remote controls" counts as "remote control"), no number words
        or stammers ("twenty five", "it's it's"), none of `skip`."""
        pairs: Counter[tuple[str, str]] = Counter()
        shown: dict[tuple[str, str], Counter[str]] = {}
        skipped = {tuple(stem(w) for w in p.split()) for p in skip}
        for said in self.said[lo:hi]:
            for s in said:
                ws = re.findall(r"[a-z][a-z']+", s.text.lower())
                for a, b in zip(ws, ws[1:], strict=False):
                    if a in _STOP or b in _STOP or len(a) <= 2 or len(b) <= 2 or a == b:
                        continue
                    if a in _NOT_TOPIC or b in _NOT_TOPIC or "'" in a + b:
                        continue
                    key = (stem(a), stem(b))
                    if key in skipped:
                        continue
                    pairs[key] += 1
                    shown.setdefault(key, Counter())[f"{a} {b}"] += 1
        least = 3 if hi is None and not lo else 2
        return [shown[k].most_common(1)[0][0] for k, c in pairs.most_common(n) if c >= least]

    def topics(self, n: int = TOPIC_PHRASES) -> str:
        """The meeting's most repeated content phrases, as a list in words."""
        return and_list(self.phrases(n=n))

    def best_window(self, scores: list[float], taken: set[int]) -> tuple[int, int] | None:
        """The run of WINDOW turns with the highest total score, not overlapping earlier picks."""
        if not scores:
            return None
        size = min(WINDOW, len(scores))
        best: tuple[float, int] | None = None
        total = sum(scores[:size])
        for start in range(len(scores) - size + 1):
            if start:
                total += scores[start + size - 1] - scores[start - 1]
            if (
                total > 0
                and not taken & set(range(start, start + size))
                and (best is None or total > best[0])
            ):
                best = (total, start)
        return None if best is None else (best[1], best[1] + size)

    def answer(self, question: str) -> OfflineAnswer:
        topic = summary_topic(question)
        target = TARGET_WORDS if topic is None else TOPIC_WORDS
        weights = self.query_weights(question if topic is None else topic)
        if topic == "" or not weights:
            return self.overview(target=SUMMARY_WORDS, summary_question=topic is not None)
        scores = self.turn_scores(weights)
        asked = self.asked(question)
        if asked:  # "what did the Industrial Designer think of X": that speaker's turns about X
            scores = [
                sc * SPEAKER_BOOST if t.speaker in asked else sc
                for sc, t in zip(scores, self.turns, strict=True)
            ]
        picked = self._pick(scores, weights, target, spread=topic is not None, asked=asked)
        if not picked:
            return self.overview(target=target, summary_question=topic is not None)
        body = attribute(picked, verb=reporting_verb(question), roles=self.roles)
        if topic:  # "summarise the discussion about X": what the passage was about, in its words
            lo, hi = self.position[picked[0].turn.index], self.position[picked[-1].turn.index] + 1
            local = self.phrases(lo, hi, n=PASSAGE_PHRASES, skip=[" ".join(tokens(topic))])
            if local:
                body = f"The group talked about {and_list(local)}. {body}"
        text = f"{lead(question, topic)} {body}"
        return OfflineAnswer(_fit(text, target), _cited(picked), topic is not None)

    def asked(self, question: str) -> set[str]:
        """Speakers the question names by name or by the role the meeting gave them."""
        m = _CONTEXT.search(question)
        focus = (question[: m.start()] if m and m.start() > 0 else question).lower()
        return {who for key, who in self.aliases.items() if re.search(rf"\b{re.escape(key)}\b", focus)}

    def _pick(
        self,
        scores: list[float],
        weights: dict[str, float],
        target: int,
        *,
        spread: bool,
        asked: set[str] | frozenset[str] = frozenset(),
    ) -> list[Said]:
        """Sentences from the best passages, best-scoring first until the budget is met, then put
        back in the order said. A summary of a topic also takes central sentences of its passage."""
        taken: set[int] = set()
        chosen: list[tuple[float, int, int, Said]] = []
        words = 0
        for _ in range(3):
            window = self.best_window(scores, taken)
            if window is None:
                break
            taken |= set(range(*window))
            local: Counter[str] = Counter()
            for i in range(*window):
                local.update(self.stems[i].keys())
            candidates = []
            for i in range(*window):
                for k, s in enumerate(self.said[i]):
                    if not substantive(s.text):
                        continue
                    stems = set(tokens(s.text))
                    hit = sum(weights.get(w, 0.0) for w in stems)
                    central = sum(min(local[w], 4) for w in stems) / (len(stems) ** 0.5 or 1)
                    value = hit + (0.6 if spread else 0.3) * central
                    if s.turn.speaker in asked:
                        value *= SPEAKER_BOOST
                    candidates.append((value, i, k, s))
            for cand in sorted(candidates, key=lambda c: -c[0]):
                if words >= target:
                    break
                chosen.append(cand)
                words += len(cand[3].text.split())
            if words >= target:
                break
        chosen.sort(key=lambda c: (c[1], c[2]))
        return [c[3] for c in chosen]

    def overview(self, *, target: int, summary_question: bool, summary: str | None = None) -> OfflineAnswer:
        """The meeting in the shape meetings have: what it was about, then its phases in order
        (opening and presentations, discussion, conclusions), each with its own topic phrases and
        its most central sentence, attributed."""
        df: Counter[str] = Counter()
        for c in self.stems:
            df.update(c.keys())
        main = self.phrases()
        phases = PHASES if len(self.turns) >= 60 else PHASES[1:2]
        text_parts: list[str] = []
        cited: list[Said] = []
        per_phase = max(1, round(target / (len(phases) * 30)))
        for k, (opening, verb) in enumerate(phases):
            lo, hi = k * len(self.turns) // len(phases), (k + 1) * len(self.turns) // len(phases)
            cands = []
            for i in range(lo, hi):
                for j, s in enumerate(self.said[i]):
                    if not substantive(s.text) or s.text.endswith("?"):
                        continue
                    stems = set(tokens(s.text))
                    value = sum(min(df[w], 30) for w in stems) / (len(s.text.split()) ** 0.5)
                    if verb == "concluded" and _DECIDE.search(s.text):
                        value *= DECIDE_BOOST
                    cands.append((value, i, j, s))
            best = [
                c[3] for c in sorted(sorted(cands, key=lambda c: -c[0])[:per_phase], key=lambda c: c[1:3])
            ]
            local = self.phrases(lo, hi, n=2, skip=main)
            head = f"{opening} {and_list(local)}." if local else ""
            body = attribute(best, verb=verb, roles=self.roles)
            text_parts.append(" ".join(p for p in (head, body) if p))
            cited.extend(best)
        text = " ".join(text_parts)
        if summary:
            text = f"{summary.strip()} {text}"
        if main:
            text = f"The meeting was mainly about {and_list(main)}. {text}"
        return OfflineAnswer(_fit(text, target), _cited(cited), summary_question)


_ASKING = re.compile(
    r"^\s*(?:(?:what|why|how|who|when|where|which)(?:'s| is| are| was| were| did| does| do| has| have| had)?"
    r"|did|does|do|was|were|is|are|can|could|has|have)\s+(?:the\s+)?",
    re.I,
)


def lead(question: str, topic: str | None) -> str:
    """The answer says what it answers: "On <the question's subject>:"."""
    subject = topic if topic else _ASKING.sub("", question.strip()).rstrip(" ?.!")
    subject = " ".join(subject.split()[:18])
    if not subject or re.match(r"(?:we|you|i|they|he|she|it)\b", subject, re.I):
        return ""  # "what did we hear ..." has no subject phrase worth repeating
    return f"On {subject[0].lower() + subject[1:]}:"


def and_list(items: Sequence[str]) -> str:
    """["a", "b", "c"] -> "a, b and c"."""
    items = list(items)
    return ", ".join(items[:-1]) + (f" and {items[-1]}" if len(items) > 1 else "".join(items))


def _cited(said: Sequence[Said]) -> list[Turn]:
    seen: dict[int, Turn] = {}
    for s in said:
        seen.setdefault(s.turn.index, s.turn)
    return list(seen.values())


def _fit(text: str, target: int) -> str:
    """At most MAX_WORDS (and about `target`): cut at the last sentence end before the limit."""
    words = text.split()
    limit = min(MAX_WORDS, max(target + target // 3, MIN_WORDS))
    if len(words) <= limit:
        return text
    cut = " ".join(words[: limit - 1])  # room for the ellipsis
    end = max(cut.rfind(". "), cut.rfind("; "))
    if end > len(cut) * 0.6:
        return cut[: end + 1].rstrip(";") + ("" if cut[end] == "." else ".")
    return cut.rstrip(",;:") + " …"
