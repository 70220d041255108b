"""Turn an AI-audit meeting into an `AuditExtraction`: rules offline, Claude when a key is set.

The heuristic never fails and never invents numbers: every figure it reports was said on the call
or written in Fathom's summary. What it cannot know (steps of a proposed automation, sensible KPI
targets) comes from the catalogue of common patterns, labelled as proposals in the generated pack.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from services.audit import _catalogue as catalogue
from services.audit._text import (
    bare_amounts,
    find_deadline,
    find_figures,
    find_tools,
    short,
    split_sentences,
    words_to_digits,
)
from services.audit.schema import (
    KPI,
    AuditExtraction,
    AuditStakeholder,
    Budget,
    ClientProfile,
    Figure,
    NextStep,
    Opportunity,
    PainPoint,
    Requirement,
    Risk,
    Timeline,
    Workflow,
)
from services.fathom import FathomMeeting


@dataclass(frozen=True)
class _Sentence:
    text: str
    speaker: str | None
    external: bool
    timestamp: str | None
    utterance: int  # index of the transcript line (or summary) it belongs to


_GENERIC_MAIL = {"gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "aol.com"}
_TITLE_NOISE = re.compile(r"\(.*?\)|\b(?:ai audit|audit|discovery|call|meeting|kick-?off|intro)\b", re.I)
_PAIN = re.compile(
    r"\bmanual\w*|by hand|drowning|overload\w*|errors?\b|\blos[et]\b|takes? \w+|no two-way|paper|rebuild|"
    r"slow|frustrat\w*|waste\w*|behind|backlog|mistakes?|chas\w+",
    re.I,
)
_RISK = re.compile(
    r"\brisks?\b|concern\w*|worr(?:y|ied)|adoption|drags?\b|slip\w*|blocker|blocked|push ?back", re.I
)
_MITIGATION = re.compile(r"\bwe(?:'ll| will)\b|\bplan\b|mitigat\w*|\bnoted\b", re.I)
_NOT_A_STEP = re.compile(r"\b(?:I|we)(?: will|'ll| can)\b|^(?:if|so|and)\b", re.I)
_BUDGET = re.compile(r"\bbudget\w*|set aside|allocated|\binvest\w*|\bspend\b", re.I)
_DEADLINE_CONTEXT = re.compile(
    r"\blive\b|launch\w*|go-live|deadline|timeline|ready|roll ?out|deliver\w*", re.I
)
_PHASE = re.compile(r"phase (?:one|1|two|2|three|3)|first phase|second phase|(?:in )?later phases?", re.I)
_COMPLIANCE: tuple[tuple[str, str, str], ...] = (
    (r"\bhipaa\b", "HIPAA", "HIPAA-compliant handling of protected health information (PHI)"),
    (
        r"\bbaas?\b|business associate",
        "BAA",
        "A signed Business Associate Agreement (BAA) with every vendor touching PHI",
    ),
    (
        r"audit logs?|audit trail",
        "Audit logging",
        "Audit logs of every access to and change of sensitive records",
    ),
    (r"\bgdpr\b", "GDPR", "GDPR-compliant processing of personal data (DPA with every processor)"),
    (r"soc ?2", "SOC 2", "Vendors and hosting aligned with SOC 2 controls"),
    (r"\bpci\b", "PCI DSS", "No storage of card data outside PCI-compliant processors"),
    (
        r"privilege|confidential\w*",
        "Confidentiality",
        "Client confidentiality and privilege preserved in every tool",
    ),
)
_REVIEW = re.compile(
    r"(?:compliance|legal|security)\W+(?:\w+\W+){0,4}?review|review\w*\W+(?:\w+\W+){0,6}?(?:patient|client) (?:records|data)",
    re.I,
)
_NAMED_ROLE = re.compile(
    r"\bour ((?:[a-z]+ )?(?:officer|manager|director|administrator|partner|accountant|attorney|lead|owner|ceo|cfo|coo|cto)),? ([A-Z][a-z]+)\b"
)
_INDUSTRIES: dict[str, tuple[str, ...]] = {
    "healthcare": (
        r"dental", r"dentists?", r"clinics?", r"patients?", r"\bhipaa\b", r"\bphi\b", r"medical",
        r"hygienists?", r"\behr\b", r"\bemr\b", r"practice management", r"physicians?", r"payer",
    ),
    "professional_services": (
        r"law firm", r"attorneys?", r"lawyers?", r"\blegal\b", r"paralegals?", r"accounting", r"accountants?",
        r"\bcpa\b", r"bookkeep\w*", r"\btax\b", r"consulting firm", r"billable", r"engagement letters?", r"\bmatters?\b",
    ),
}  # fmt: skip
_SIZE_UNITS = re.compile(
    r"(\d+)\s+(?:[a-z]+\s+)?(clinics|locations|offices|practices|sites|branches|stores)\b", re.I
)
_SIZE_PEOPLE = re.compile(
    r"(\d+)\s+(staff|employees|attorneys|lawyers|accountants|consultants|providers|dentists|partners)\b", re.I
)


def meeting_date(meeting: FathomMeeting) -> date:
    started = meeting.started_at
    return started.date() if started else date(1970, 1, 1)


def extract_heuristic(
    meeting: FathomMeeting, *, client_name: str | None = None, industry: str | None = None
) -> AuditExtraction:
    """Rule-based extraction over transcript, Fathom summary and invitees; always returns a full model."""
    sentences = _sentences(meeting)
    on_date = meeting_date(meeting)
    corpus = "\n".join([meeting.meeting_title or meeting.title, *(s.text for s in sentences)])
    name = (client_name or "").strip() or _client_name(meeting)
    detected, detail = _industry(corpus)
    tools = find_tools(corpus)
    requirements, compliance = _requirements(sentences)
    workflows, pains, opportunities = _topics(sentences)
    budget = _budget(sentences)
    timeline = _timeline(sentences, on_date)
    stakeholders = _stakeholders(meeting, sentences, name)
    kpis = _kpis(pains)
    extraction = AuditExtraction(
        client=ClientProfile(
            name=name,
            industry=(industry or detected).strip() or "general",
            industry_detail=detail,
            size=_size(corpus),
            tools=tools,
        ),
        summary="",
        workflows=workflows,
        pain_points=pains,
        opportunities=opportunities,
        requirements=requirements,
        compliance=compliance,
        budget=budget,
        timeline=timeline,
        stakeholders=stakeholders,
        risks=_risks(sentences, compliance),
        next_steps=[
            NextStep(text=item.description, owner=item.assignee.name if item.assignee else None)
            for item in meeting.action_items or []
        ],
        kpis=kpis,
    )
    extraction.open_questions = _open_questions(extraction, sentences)
    extraction.summary = _summary(extraction)
    return extraction


def _sentences(meeting: FathomMeeting) -> list[_Sentence]:
    external = {(i.matched_speaker_display_name or i.name or "").lower() for i in meeting.external_invitees}
    out: list[_Sentence] = []
    for index, line in enumerate(meeting.transcript or []):
        speaker = line.speaker.display_name
        for text in split_sentences(line.text):
            out.append(_Sentence(text, speaker, speaker.lower() in external, line.timestamp, index))
    offset = len(meeting.transcript or [])
    for index, text in enumerate(split_sentences(meeting.summary_markdown)):
        if not text.lower().startswith(("meeting purpose", "key takeaways", "summary", "next steps")):
            out.append(_Sentence(text, None, False, None, offset + index))
    return out


def _client_name(meeting: FathomMeeting) -> str:
    title = meeting.meeting_title or meeting.title
    parts = [p for p in re.split(r"\s+[-–—|:]\s+|:\s+", title) if p.strip()]
    if len(parts) > 1:
        for part in parts:
            cleaned = " ".join(_TITLE_NOISE.sub(" ", part).split())
            if cleaned and cleaned.lower() not in {"ai", "client", "weekly"}:
                return cleaned
    for domain in meeting.external_domains:
        if domain not in _GENERIC_MAIL:
            return " ".join(w.capitalize() for w in re.split(r"[-_]", domain.split(".")[0]) if w)
    return " ".join(_TITLE_NOISE.sub(" ", title).split()) or "Client"


def _industry(corpus: str) -> tuple[str, str | None]:
    scores = {
        key: sum(len(re.findall(p, corpus, re.I)) for p in patterns) for key, patterns in _INDUSTRIES.items()
    }
    best = max(sorted(scores), key=lambda k: scores[k])
    if scores[best] < 2:
        return "general", None
    lowered = corpus.lower()
    details = {
        "healthcare": [("dental", "dental clinics"), ("clinic", "clinics"), ("", "healthcare practice")],
        "professional_services": [
            ("law", "law firm"), ("attorney", "law firm"), ("accounting", "accounting firm"),
            ("cpa", "accounting firm"), ("consulting", "consulting firm"), ("", "professional services firm"),
        ],
    }  # fmt: skip
    return best, next(detail for word, detail in details[best] if word in lowered)


def _size(corpus: str) -> str | None:
    text = words_to_digits(corpus)
    parts = [f"{m[1]} {m[2].lower()}" for m in (_SIZE_UNITS.search(text), _SIZE_PEOPLE.search(text)) if m]
    return ", ".join(parts) or None


def _requirements(sentences: list[_Sentence]) -> tuple[list[Requirement], list[str]]:
    requirements: list[Requirement] = []
    compliance: list[str] = []
    for pattern, label, text in _COMPLIANCE:
        hit = next((s for s in sentences if re.search(pattern, s.text, re.I)), None)
        if hit:
            compliance.append(label)
            requirements.append(Requirement(text=text, kind="compliance", source_timestamp=hit.timestamp))
    for s in sentences:
        if _REVIEW.search(s.text):
            text = f'Compliance sign-off before any automation touches live records ("{short(s.text, 120)}")'
            requirements.append(Requirement(text=text, kind="compliance", source_timestamp=s.timestamp))
            break
    return requirements, compliance


def _topics(sentences: list[_Sentence]) -> tuple[list[Workflow], list[PainPoint], list[Opportunity]]:
    keys_of = _topic_keys(sentences)
    evidence: dict[str, list[_Sentence]] = defaultdict(list)
    for s, keys in zip(sentences, keys_of, strict=True):
        for key in keys:
            evidence[key].append(s)
    phases = _phases(sentences)
    workflows: list[Workflow] = []
    pains: list[PainPoint] = []
    opportunities: list[Opportunity] = []
    for pattern in catalogue.PATTERNS:
        said = evidence.get(pattern.key)
        if not said:
            continue
        # The client's own statements describe the workflow; our questions and recaps do not.
        told = [s for s in said if s.speaker and not s.text.endswith("?") and not _NOT_A_STEP.search(s.text)]
        told = [s for s in told if len(s.text.split()) >= 4]
        told = [s for s in told if s.external] or told or said
        tools = list(
            dict.fromkeys(
                tool
                for s, keys in zip(sentences, keys_of, strict=True)
                if any(s.utterance == e.utterance for e in said) and (not keys or pattern.key in keys)
                for tool in find_tools(s.text)
            )
        )
        figures = _figures(pattern, said)
        pain = [s for s in said if _PAIN.search(s.text) or find_figures(s.text)]
        pain = [s for s in pain if not s.text.endswith("?")] or pain
        workflows.append(
            Workflow(
                name=pattern.workflow,
                description=short(told[0].text),
                steps=list(dict.fromkeys(short(s.text) for s in told))[:6],
                tools=tools,
                owner_role=pattern.owner_role,
                source_timestamp=told[0].timestamp,
            )
        )
        monthly, weekly = _costs(figures)
        if pain or figures:
            pains.append(
                PainPoint(
                    title=pattern.workflow,
                    description=short((pain or said)[0].text, 240),
                    workflow=pattern.workflow,
                    figures=figures,
                    monthly_cost_usd=monthly,
                    hours_per_week=weekly,
                    source_timestamp=(pain or said)[0].timestamp,
                )
            )
        quantified = monthly is not None or (weekly or 0) >= 10
        value = "high" if quantified else pattern.value if pain else "low"
        opportunities.append(
            Opportunity(
                title=pattern.title,
                description=pattern.description,
                workflow=pattern.workflow,
                value=value,
                effort=pattern.effort,
                phase=phases.get(pattern.key, 0),
                tools=tools,
                steps=list(pattern.steps),
                inputs=list(pattern.inputs),
                outputs=list(pattern.outputs),
                edge_cases=list(pattern.edge_cases),
                estimated_monthly_value_usd=round(monthly / 2, 2) if monthly else None,
            )
        )
    if not opportunities:
        p = catalogue.DEFAULT_PATTERN
        opportunities.append(
            Opportunity(
                title=p.title, description=p.description, workflow=None, value=p.value, effort=p.effort,
                steps=list(p.steps), inputs=list(p.inputs), outputs=list(p.outputs), edge_cases=list(p.edge_cases),
            )
        )  # fmt: skip
    _assign_default_phases(opportunities, explicit=bool(phases))
    return workflows, pains, opportunities


def _topic_keys(sentences: list[_Sentence]) -> list[list[str]]:
    """Catalogue patterns each sentence talks about; a bare follow-up sentence inherits the last ones."""
    out: list[list[str]] = []
    previous: tuple[int, list[str]] = (-1, [])
    for s in sentences:
        if _BUDGET.search(s.text) or _PHASE.search(s.text):
            out.append([])
            continue
        keys = [p.key for p in catalogue.PATTERNS if p.regex.search(s.text)]
        if len(keys) > 1 and "data-entry" in keys:
            keys.remove("data-entry")
        if not keys and previous[0] == s.utterance:
            keys = previous[1]  # "Each check takes ten minutes" continues the sentence before
        out.append(keys)
        previous = (s.utterance, keys)
    return out


def _nearest_pattern(text: str, position: int) -> str | None:
    """Which pattern a figure belongs to when a sentence names several: the closest mention before it."""
    best: tuple[int, str] | None = None
    for pattern in catalogue.PATTERNS:
        for m in pattern.regex.finditer(text):
            distance = position - m.end() if m.end() <= position else 10_000 + m.start() - position
            if best is None or distance < best[0]:
                best = (distance, pattern.key)
    return best[1] if best else None


def _phases(sentences: list[_Sentence]) -> dict[str, int]:
    """'phase one focuses on reminders; intake comes in phase two' -> {reminders: 1, intake: 2}."""
    phases: dict[str, int] = {}
    for s in sentences:
        for clause in re.split(r"[;,.]\s+|\band\b(?= \w+ (?:come|go))", s.text):
            m = _PHASE.search(clause)
            if not m:
                continue
            said = m[0].lower()
            number = 1 if any(w in said for w in ("one", "1", "first")) else 2 if "three" not in said else 3
            for pattern in catalogue.PATTERNS:
                if pattern.regex.search(clause):
                    phases.setdefault(pattern.key, number)
    return phases


def _assign_default_phases(opportunities: list[Opportunity], *, explicit: bool) -> None:
    ranked = sorted(opportunities, key=lambda o: (-o.score, o.title))
    for position, opp in enumerate(ranked):
        if opp.phase == 0:
            opp.phase = 2 if explicit or position >= 2 else 1
    if all(o.phase > 1 for o in opportunities):
        ranked[0].phase = 1


def _figures(pattern: catalogue.Pattern, said: list[_Sentence]) -> list[Figure]:
    out: dict[tuple[float, str], Figure] = {}
    for s in said:
        noshow = bool(re.search(r"no[- ]show", s.text, re.I))
        digits = words_to_digits(s.text)
        for raw in find_figures(s.text):
            owner = _nearest_pattern(digits, raw.start)
            if owner is not None and owner != pattern.key:
                continue
            period = raw.unit.split("/")[-1] if "/" in raw.unit else raw.unit.removeprefix("per ")
            unit = raw.unit if raw.unit.startswith(("USD", "%", "minutes", "hours")) else f"per {period}"
            if unit == "%":
                label = "No-show rate" if noshow else f"{pattern.workflow} rate"
            elif unit.startswith("USD"):
                label = "Revenue lost to no-shows" if noshow else f"Cost of {pattern.workflow.lower()}"
            elif unit in {"minutes", "hours"}:
                label = f"Time per {pattern.workflow.lower()} task"
            else:
                label = f"{pattern.workflow} volume"
            key = (raw.value, unit)
            if key not in out:
                out[key] = Figure(
                    label=label, value=raw.value, unit=unit, text=format_value(raw.value, unit),
                    source_timestamp=s.timestamp,
                )  # fmt: skip
    return list(out.values())


def format_value(value: float, unit: str) -> str:
    number = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
    if unit == "%":
        return f"{number}%"
    if unit.startswith("USD"):
        return f"${number}" + (f"/{unit.split('/')[1]}" if "/" in unit else "")
    if unit.startswith("per "):
        return f"{number}/{unit.removeprefix('per ')}"
    return f"{number} {unit}"


def _costs(figures: list[Figure]) -> tuple[float | None, float | None]:
    per_period = {"USD/month": 1.0, "USD/year": 1 / 12, "USD/week": 52 / 12, "USD/day": 21.0}
    monthly = next((f.value * per_period[f.unit] for f in figures if f.unit in per_period), None)
    minutes = next(
        (f.value * (60 if f.unit == "hours" else 1) for f in figures if f.unit in {"minutes", "hours"}), None
    )
    daily = next((f.value for f in figures if f.unit == "per day"), None)
    weekly = round(daily * minutes * 5 / 60, 1) if daily and minutes else None
    return (round(monthly, 2) if monthly else None), weekly


def _budget(sentences: list[_Sentence]) -> Budget:
    for s in sorted(sentences, key=lambda s: s.speaker is None):  # what was said beats the summary
        if not _BUDGET.search(s.text):
            continue
        amounts = [f.value for f in find_figures(s.text) if f.unit == "USD"] or bare_amounts(s.text)
        if amounts:
            scope = "Phase one" if re.search(r"phase (?:one|1)|first phase", s.text, re.I) else None
            return Budget(amount_usd=max(amounts), text=short(s.text), scope=scope)
    return Budget()


def _timeline(sentences: list[_Sentence], on_date: date) -> Timeline:
    for s in sorted(sentences, key=lambda s: s.speaker is None):
        if _DEADLINE_CONTEXT.search(s.text) and (deadline := find_deadline(s.text, on_date)):
            return Timeline(deadline=deadline, text=short(s.text))
    return Timeline()


def _stakeholders(meeting: FathomMeeting, sentences: list[_Sentence], client: str) -> list[AuditStakeholder]:
    said: dict[str, str] = defaultdict(str)
    for s in sentences:
        if s.speaker:
            said[s.speaker.lower()] += " " + s.text
    duties: dict[str, list[str]] = defaultdict(list)
    for item in meeting.action_items or []:
        if item.assignee:
            duties[(item.assignee.email or item.assignee.name or "").lower()].append(item.description)
    lead = (meeting.recorded_by.email or "").lower() if meeting.recorded_by else ""
    people: list[AuditStakeholder] = []
    first_client = True
    for invitee in meeting.calendar_invitees:
        name = invitee.name or invitee.email or "Unknown"
        words = said.get((invitee.matched_speaker_display_name or name).lower(), "")
        if invitee.is_external:
            if _BUDGET.search(words) or re.search(r"sign off|approv|I would like", words, re.I):
                role = "Decision maker (budget and scope)"
            else:
                role = "Primary contact" if first_client else "Operations contact"
            first_client = False
        else:
            role = "Engagement lead" if (invitee.email or "").lower() == lead else "Automation consultant"
        people.append(
            AuditStakeholder(
                name=name,
                email=invitee.email,
                organisation=client if invitee.is_external else "Agency",
                side="client" if invitee.is_external else "agency",
                role=role,
                responsibilities=duties.get((invitee.email or "").lower()) or duties.get(name.lower(), []),
            )
        )
    known = {p.name.lower() for p in people}
    for s in sentences:
        for m in _NAMED_ROLE.finditer(s.text):
            if m[2].lower() not in known:
                known.add(m[2].lower())
                people.append(AuditStakeholder(name=m[2], organisation=client, role=m[1].capitalize()))
    return people


def _risks(sentences: list[_Sentence], compliance: list[str]) -> list[Risk]:
    risks: list[Risk] = []
    spoken = [s for s in sentences if s.speaker]
    for i, s in enumerate(spoken):
        if _RISK.search(s.text) and not s.text.endswith("?"):
            follow = next((n for n in spoken[i + 1 : i + 3] if n.utterance != s.utterance), None)
            mitigation = short(follow.text) if follow and _MITIGATION.search(follow.text) else None
            risks.append(Risk(text=short(s.text), mitigation=mitigation, source_timestamp=s.timestamp))
    if compliance and not any(re.search(r"complian|baa|review", r.text, re.I) for r in risks):
        risks.append(
            Risk(
                text=f"{'/'.join(compliance[:2])} review could delay the go-live",
                mitigation="Start the compliance review in week one; build and test on synthetic data until sign-off.",
            )
        )
    return risks


def _open_questions(extraction: AuditExtraction, sentences: list[_Sentence]) -> list[str]:
    questions = [short(s.text) for s in sentences if s.external and s.text.endswith("?")]
    if extraction.budget.amount_usd is None:
        questions.append("What budget is available for the first phase?")
    if extraction.timeline.deadline is None:
        questions.append("By when does the first phase need to be live?")
    if not extraction.client.tools:
        questions.append("Which systems hold the data these workflows use, and who administers them?")
    figures = {p.workflow for p in extraction.pain_points if p.figures}
    for opp in extraction.ranked_opportunities()[:3]:
        if opp.workflow and opp.workflow not in figures:
            questions.append(f"How much volume and staff time does {opp.workflow.lower()} take today?")
    for tool in dict.fromkeys(t for o in extraction.ranked_opportunities()[:3] for t in o.tools):
        questions.append(
            f"Is API access available for {tool} on the current plan, or do we work from exports?"
        )
    if "BAA" in extraction.compliance or "HIPAA" in extraction.compliance:
        questions.append("Who reviews and signs BAAs, and how long does that review usually take?")
    return list(dict.fromkeys(questions))


def _kpis(pains: list[PainPoint]) -> list[KPI]:
    kpis: list[KPI] = []
    for pain in pains:
        for f in pain.figures:
            if f.unit == "per day":
                name, target, note = f"Manual {pain.title.lower()} per day", f.value * 0.2, "80% automated"
            elif f.unit in {"minutes", "hours"}:
                name, target, note = f.label, f.value * 0.25, "75% faster"
            else:
                name, target, note = f.label, f.value * 0.5, "halved"
            kpis.append(
                KPI(
                    name=name, unit=f.unit, baseline=f.value, baseline_text=f.text, target=round(target, 2),
                    target_text=f"{format_value(round(target, 2), f.unit)} ({note})",
                    source=f"stated in the audit meeting{f' at {f.source_timestamp}' if f.source_timestamp else ''}",
                )
            )  # fmt: skip
        if pain.hours_per_week:
            kpis.append(
                KPI(
                    name=f"Staff hours on {pain.title.lower()} per week", unit="hours/week",
                    baseline=pain.hours_per_week, baseline_text=f"{pain.hours_per_week:g} hours/week",
                    target=round(pain.hours_per_week * 0.2, 1),
                    target_text=f"{pain.hours_per_week * 0.2:g} hours/week (80% saved)",
                    source="computed from stated volume and time per task",
                )
            )  # fmt: skip
    kpis.append(
        KPI(
            name="Automation runs without errors", unit="%", target=99,
            target_text="99% of runs", source="measured from go-live",
        )
    )  # fmt: skip
    return kpis


def _summary(x: AuditExtraction) -> str:
    who = x.client.name + (
        f" ({', '.join(filter(None, [x.client.industry_detail, x.client.size]))})"
        if x.client.industry_detail or x.client.size
        else ""
    )
    parts = [f"{who} held an AI audit discovery call."]
    if x.pain_points:
        parts.append("Main pain points: " + ", ".join(p.title.lower() for p in x.pain_points[:4]) + ".")
    if x.client.tools:
        parts.append("Tools in use: " + ", ".join(x.client.tools) + ".")
    return " ".join(parts)
