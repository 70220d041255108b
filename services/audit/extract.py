"""Audit extraction entry points: Claude structured output, with the offline heuristic re-exported.

The system prompt is the stable, cacheable prefix (marked with cache_control); everything about
the meeting goes in the user turn. On an API error or an unparseable answer the fallback model
gets one try; if that fails too, `AuditExtractionError` lets the caller use `extract_heuristic`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anthropic
from pydantic import ValidationError

from services.analysis.schema import UsageRecord
from services.audit.heuristic import extract_heuristic, meeting_date
from services.audit.schema import AuditExtraction
from services.fathom import FathomMeeting
from services.redaction import Policy, Redactor, redact_meeting

__all__ = ["AuditExtractionError", "extract_heuristic", "extract_with_claude", "build_user_prompt"]

log = logging.getLogger(__name__)

PURPOSE = "audit_extraction"
MAX_TOKENS = 8_000
# ~15k tokens of transcript keeps a one-hour meeting under the 20k input-token budget.
MAX_TRANSCRIPT_CHARS = 60_000

# USD per million tokens: (input, output). Cache writes cost 1.25x input, cache reads 0.1x.
_PRICES: tuple[tuple[str, float, float], ...] = (
    ("haiku", 1.0, 5.0),
    ("sonnet", 3.0, 15.0),
    ("opus-4-5", 5.0, 25.0),
    ("opus-4-6", 5.0, 25.0),
    ("opus", 15.0, 75.0),
)

SYSTEM_PROMPT = """\
You are the lead solutions architect of an AI automation agency. You read the transcript of an
"AI audit" discovery meeting with a prospective client and extract, as structured data, everything
the agency needs to build the client's "Claude Code OS": a repository of directives (what to do),
orchestration (agents that decide) and execution scripts (deterministic code that does the work).

Rules:
- Extract only what the meeting supports. Never invent figures, budgets, dates, names or tools.
  If something was not said, leave the field empty (null or an empty list).
- client.name is the client organisation, not the agency. client.industry is a short slug:
  "healthcare" for dental, medical, therapy or other clinics; "professional_services" for law,
  accounting, consulting and similar firms; otherwise a short lowercase word such as "retail".
- client.tools lists software the client already uses, with official capitalisation
  (Dentrix, Open Dental, HubSpot, Salesforce, QuickBooks, Google Sheets, Excel, Slack, Zapier...).
- workflows describe how work is done TODAY, step by step, in the client's own terms.
- pain_points carry every stated number as a figure with its unit: "%", "USD", "USD/month",
  "per day", "minutes", "hours/week". figure.text is a short human form such as "11%",
  "$18,000/month" or "60/day". monthly_cost_usd and hours_per_week only when stated or directly
  computable from stated numbers (e.g. 60 checks/day x 10 minutes x 5 days = 50 hours/week).
- opportunities are automations the agency could build. value and effort are "low", "medium" or
  "high". phase is 1 for what the client wants first (or what pays back fastest), 2+ for later.
  For each, give proposed automated steps, inputs, outputs and edge cases. needs_human_approval
  is true whenever output reaches customers, patients or systems of record.
- requirements include constraints; kind "compliance" for HIPAA, BAA, GDPR, SOC 2, audit logs and
  review obligations. compliance lists the frameworks by short name ("HIPAA", "BAA", "GDPR").
- budget.amount_usd is a number in US dollars ("forty thousand" -> 40000; "$40k" -> 40000).
- timeline.deadline is an ISO date strictly after the meeting date: "by the end of March" in a
  November meeting means March 31 of the following year. Keep the phrase in timeline.text.
- stakeholders: everyone named, with side "client" or "agency", their role, and the follow-ups
  they took on as responsibilities.
- risks: stated risks with the mitigation discussed, plus obvious delivery risks of the stated
  constraints (e.g. a compliance review that could delay go-live).
- open_questions: what the agency still needs to learn before building.
- next_steps: agreed follow-ups with owner and due date when a date can be resolved.
- kpis: one per measurable pain, baseline from the meeting figure, target as agreed or a
  conservative proposal (say so in target_text), plus an automation reliability KPI.
- summary: two or three plain sentences a partner can read in ten seconds.
Write in concise, professional English. Quote numbers exactly as the client stated them.
"""


class AuditExtractionError(RuntimeError):
    """Both models failed; the message is safe to log (no transcript, no key)."""


def build_user_prompt(meeting: FathomMeeting, *, client_name: str | None, industry: str | None) -> str:
    attendees = "\n".join(
        f"- {i.name or 'Unknown'} <{i.email or 'no email'}> ({'client side' if i.is_external else 'agency'})"
        for i in meeting.calendar_invitees
    )
    transcript = meeting.transcript_text()
    if len(transcript) > MAX_TRANSCRIPT_CHARS:
        transcript = transcript[:MAX_TRANSCRIPT_CHARS] + "\n[transcript truncated]"
    hints = []
    if client_name:
        hints.append(f"The client organisation is {client_name}.")
    if industry:
        hints.append(f"The client industry is {industry}.")
    return "\n\n".join(
        part
        for part in (
            f"Meeting: {meeting.meeting_title or meeting.title}\nMeeting date: {meeting_date(meeting).isoformat()}",
            f"Attendees:\n{attendees or '- none listed'}",
            " ".join(hints),
            f"Fathom summary:\n{meeting.summary_markdown or '(none)'}",
            "Follow-ups Fathom detected:\n"
            + ("\n".join(f"- {a.description}" for a in meeting.action_items or []) or "(none)"),
            f"Transcript:\n{transcript or '(no transcript)'}",
        )
        if part
    )


async def extract_with_claude(
    client: anthropic.AsyncAnthropic,
    meeting: FathomMeeting,
    *,
    model: str,
    fallback_model: str,
    client_name: str | None = None,
    industry: str | None = None,
    policy: Policy | None = None,
    on_redacted: Callable[[Redactor], Awaitable[None]] | None = None,
) -> tuple[AuditExtraction, list[UsageRecord]]:
    """Structured extraction with `messages.parse`; usage of every attempt is returned for cost tracking.
    The model sees the meeting redacted (`policy`, standard by default); the extraction it returns
    has the originals put back; `on_redacted` writes the meeting's redaction record on success."""
    redacted, redactor = redact_meeting(meeting, policy or Policy())
    prompt = build_user_prompt(redacted, client_name=client_name, industry=industry)
    usage: list[UsageRecord] = []
    last_error: Exception | None = None
    for attempt_model in dict.fromkeys([model, fallback_model]):
        try:
            response = await client.messages.parse(
                model=attempt_model,
                max_tokens=MAX_TOKENS,
                system=[{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": prompt}],
                output_format=AuditExtraction,
            )
        except (anthropic.APIError, ValidationError, ValueError) as exc:
            log.warning("audit extraction with %s failed: %s", attempt_model, type(exc).__name__)
            last_error = exc
            continue
        usage.append(_usage(attempt_model, response.usage))
        parsed = response.parsed_output
        if parsed is None:
            log.warning("audit extraction with %s returned no structured output", attempt_model)
            last_error = AuditExtractionError(f"{attempt_model} returned no structured output")
            continue
        restored = redactor.restore_model(parsed)
        if on_redacted is not None:
            await on_redacted(redactor)
        return _finalise(restored, client_name=client_name, industry=industry), usage
    raise AuditExtractionError(f"audit extraction failed: {type(last_error).__name__}") from last_error


def _finalise(
    extraction: AuditExtraction, *, client_name: str | None, industry: str | None
) -> AuditExtraction:
    """What the user typed in the modal beats what the model heard."""
    if client_name and client_name.strip():
        extraction.client.name = client_name.strip()
    if industry and industry.strip():
        extraction.client.industry = industry.strip()
    extraction.client.tools = list(dict.fromkeys(t.strip() for t in extraction.client.tools if t.strip()))
    return extraction


def _usage(model: str, usage: object) -> UsageRecord:
    tokens_in = int(getattr(usage, "input_tokens", 0) or 0)
    tokens_out = int(getattr(usage, "output_tokens", 0) or 0)
    cache_write = int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
    cache_read = int(getattr(usage, "cache_read_input_tokens", 0) or 0)
    price_in, price_out = next(((i, o) for key, i, o in _PRICES if key in model), (3.0, 15.0))
    cost = (
        tokens_in * price_in
        + cache_write * price_in * 1.25
        + cache_read * price_in * 0.1
        + tokens_out * price_out
    ) / 1e6
    return UsageRecord(
        purpose=PURPOSE,
        model=model,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cache_creation_tokens=cache_write,
        cache_read_tokens=cache_read,
        cost_usd=round(cost, 6),
    )
