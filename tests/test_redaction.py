"""Redaction before the model: detectors on realistic text, stable placeholders and the way back,
strict mode, `privacy:` in fathom-os.yml, and the requests the local Messages API actually sees
(analysis through the pipeline, Q&A, audit extraction) carrying no original value."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from sqlalchemy import select

from bot.config import Settings
from services.access import EVERYTHING
from services.analysis.base import analyze_with_fallback, build_analyzer
from services.analysis.heuristic import HeuristicAnalyzer
from services.analysis.schema import MeetingAnalysis
from services.audit.extract import extract_with_claude
from services.db import Database
from services.fathom import FathomMeeting, parse_meeting
from services.jobs import JobQueue
from services.models import ActionItem, Meeting
from services.os_config import OSConfig, OSConfigError, parse_os_config
from services.pipeline import MeetingPipeline
from services.privacy import PrivateAnalysis, meeting_policy, redaction_counts
from services.qa import QAService
from services.redaction import Policy, Redactor, de_tax_id_ok, iban_ok, luhn_ok, redact_meeting
from services.search import SearchIndex
from tests.helpers import load_fixture
from tests.support.fake_anthropic import FakeAnthropic, message_reply

# A realistic call excerpt: every kind the standard mode knows, written the way people say it.
CALL = """\
Rosa: For the invoice, write to accounts@brightline-dental.example, not my personal rosa.alvarez@gmail.com.
Rosa: If it bounces, call the front desk on (415) 555-2671 or my mobile +44 7911 123456.
Tom: The card on file is 4111 1111 1111 1111, expiry next March; the old one 4111 1111 1111 1112 is gone.
Tom: Refunds go to IBAN GB82 WEST 1234 5698 7654 32, the German clinic uses DE89 3704 0044 0532 0130 00.
Rosa: Payroll asked for my SSN, it is 078-05-1120, and Tom's NI number is AB 12 34 56 C.
Tom: The Berlin contractor's Steuer-ID: 86095742719, invoices to Hauptstraße 5.
Rosa: Our main office is 1200 Harbour View Drive, second floor.
Tom: Again, accounts@brightline-dental.example for everything, and (415) 555-2671 for the desk.
Maya: Noted. We start on 2026-12-01 at 10:30, budget $40,000, about 60 checks per day, 11% no-shows.
"""
ORIGINALS = [
    "accounts@brightline-dental.example",
    "rosa.alvarez@gmail.com",
    "(415) 555-2671",
    "+44 7911 123456",
    "4111 1111 1111 1111",
    "GB82 WEST 1234 5698 7654 32",
    "DE89 3704 0044 0532 0130 00",
    "078-05-1120",
    "AB 12 34 56 C",
    "86095742719",
    "Hauptstraße 5",
    "1200 Harbour View Drive",
]


def test_every_kind_is_found_and_the_rest_of_the_sentence_survives() -> None:
    r = Redactor(Policy())
    out = r.redact(CALL)
    for value in ORIGINALS:
        assert value not in out, value
    assert r.summary() == {
        "ADDRESS": 2,
        "CARD": 1,
        "EMAIL": 3,
        "IBAN": 2,
        "NI_NUMBER": 1,
        "PHONE": 3,
        "SSN": 1,
        "TAX_ID": 1,
    }
    # numbers that are not personal data stay: a card failing Luhn, dates, times, money, counts
    for kept in ("4111 1111 1111 1112", "2026-12-01", "10:30", "$40,000", "60 checks", "11%"):
        assert kept in out, kept
    # the same value gets the same placeholder, so the model can tell "the same address again"
    assert out.count("[EMAIL_1]") == 2 and out.count("[PHONE_1]") == 2
    assert "[EMAIL_2]" in out and "[EMAIL_3]" not in out
    assert r.restore(out) == CALL


def test_checksums_reject_lookalikes() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")
    assert not iban_ok("GB82WEST1234569876543")  # wrong length for GB
    assert de_tax_id_ok("86095742719") and not de_tax_id_ok("86095742710")
    r = Redactor(Policy())
    text = "Order 1234567890123 shipped; tax id 86095742710; ref GB00 TEST 0000 0000 0000 00."
    assert r.redact(text) == text and r.summary() == {}


def test_configured_patterns_and_terms_and_off() -> None:
    policy = Policy(patterns=[("PROJECT", r"FALCON-\d+")], terms=["Project Falcon", "Mrs Patel"])
    r = Redactor(policy)
    out = r.redact("Project Falcon (FALCON-17): mrs patel's crowns, then FALCON-18.")
    assert out == "[TERM_1] ([PROJECT_1]): [TERM_2]'s crowns, then [PROJECT_2]."
    assert r.restore(out) == "Project Falcon (FALCON-17): mrs patel's crowns, then FALCON-18."
    off = Redactor(Policy(mode="off"))
    assert off.redact(CALL) == CALL and off.summary() == {}


def test_strict_mode_replaces_other_peoples_names_but_not_attendees() -> None:
    r = Redactor(Policy(mode="strict", known_people=["Priya"]))
    r.keep_names(["Rosa Alvarez", "Tom Becker", "Maya Chen"])
    out = r.redact(
        "Rosa Alvarez said Dr Sarah Okafor treats Jonathan Mills; Tom and Maya Chen agree. Ask Priya."
    )
    assert "Sarah Okafor" not in out and "Jonathan Mills" not in out and "Priya" not in out
    assert out.startswith("Rosa Alvarez said Dr [PERSON_") and "Tom and Maya Chen agree" in out
    standard = Redactor(Policy())
    assert "Sarah Okafor" in standard.redact("Dr Sarah Okafor")


def test_meeting_copy_redacts_text_and_attendee_emails_and_restores_owners() -> None:
    meeting = with_pii(parse_meeting(load_fixture("ai_audit_discovery")))
    redacted, r = redact_meeting(meeting, Policy())
    dumped = redacted.model_dump_json()
    for value in [*ORIGINALS[:4], *(i.email for i in meeting.calendar_invitees if i.email)]:
        assert value not in dumped, value
    assert redacted.url == meeting.url and redacted.recording_id == meeting.recording_id
    assert [i.email_domain for i in redacted.calendar_invitees] == [
        i.email_domain for i in meeting.calendar_invitees
    ]
    # an owner the model names by placeholder is mapped back to the attendee
    placeholder = redacted.calendar_invitees[0].email
    assert placeholder and placeholder.startswith("[EMAIL_")
    analysis = MeetingAnalysis.model_validate(
        {
            "types": [{"type": "client", "confidence": 0.9}],
            "summary_one_line": f"Call {placeholder}",
            "summary": "x",
            "action_items": [{"text": "Send it", "owner_email": placeholder}],
        }
    )
    restored = r.restore_model(analysis)
    assert restored.action_items[0].owner_email == meeting.calendar_invitees[0].email
    assert restored.summary_one_line == f"Call {meeting.calendar_invitees[0].email}"


def test_privacy_config_per_client_and_type() -> None:
    config = parse_os_config(
        """
clients: [{name: Brightline Dental, domains: [brightline-dental.example]}]
privacy:
  mode: standard
  clients: {brightline-dental: strict}
  meeting_types: {internal_partner: off}
  patterns: [{kind: project, pattern: "FALCON-\\\\d+"}]
  terms: [Falcon]
"""
    )
    meeting = parse_meeting(load_fixture("ai_audit_discovery"))
    assert meeting_policy(config, meeting).mode == "strict"
    assert meeting_policy(config, parse_meeting(load_fixture("partner_sync"))).mode == "off"
    assert meeting_policy(OSConfig(), meeting).mode == "standard"
    assert config.privacy.patterns[0].kind == "PROJECT"
    with pytest.raises(OSConfigError, match="privacy.mode"):
        parse_os_config("privacy:\n  mode: loose\n")
    with pytest.raises(OSConfigError, match="regular expression"):
        parse_os_config("privacy:\n  patterns: [{kind: x, pattern: '('}]\n")


# --- what the Messages API sees -------------------------------------------------------------------


def with_pii(meeting: FathomMeeting) -> FathomMeeting:
    """The fixture with the realistic call appended (first and last turns quoted by the fake)."""
    data = meeting.model_dump(mode="json")
    speaker = data["transcript"][0]["speaker"]
    lines = [
        {"speaker": speaker, "text": line.split(": ", 1)[1], "timestamp": "00:00:01"}
        for line in CALL.splitlines()
    ]
    data["transcript"] = lines[:1] + data["transcript"] + lines[1:]
    for n, line in enumerate(data["transcript"]):
        line["timestamp"] = f"00:{n // 60:02d}:{n % 60:02d}"
    return FathomMeeting.model_validate(data)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as server:
        yield server
        for client in server.clients:
            await client.close()


def claude(fake: FakeAnthropic) -> AsyncAnthropic:
    client = AsyncAnthropic(api_key="sk-ant-test", base_url=fake.url, max_retries=0)
    fake.clients.append(client)
    return client


def sent_values(fake: FakeAnthropic) -> str:
    return "\n".join(json.dumps(r.body, ensure_ascii=False) for r in fake.requests)


def assert_nothing_original(sent: str, meeting: FathomMeeting) -> None:
    emails = [i.email for i in meeting.calendar_invitees if i.email]
    for value in [*ORIGINALS, *emails]:
        assert value not in sent, value
        assert json.dumps(value)[1:-1] not in sent, value


async def test_analysis_request_carries_no_original_value_and_the_card_gets_them_back(
    any_db: Database, fake: FakeAnthropic
) -> None:
    db = any_db
    settings = Settings(ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL=fake.url)
    analyzer = build_analyzer(settings, claude(fake))
    analyze = PrivateAnalysis(partial(analyze_with_fallback, analyzer, HeuristicAnalyzer()), db, OSConfig)
    pipeline = MeetingPipeline(db, JobQueue(db), analyze)
    meeting = with_pii(parse_meeting(load_fixture("ai_audit_discovery")))
    meeting_id = (await pipeline.store.ingest(meeting)).meeting_id
    outcome = await pipeline.run_analysis(meeting_id)
    assert outcome.analyzer == "claude" and not outcome.degraded
    assert fake.requests, "Claude was not called"
    sent = sent_values(fake)
    assert "[EMAIL_1]" in sent and "[CARD_1]" in sent and "[IBAN_1]" in sent
    assert_nothing_original(sent, meeting)
    # what people see has the originals: the fake quoted the first turn (an e-mail) as an item
    async with db.session() as s:
        stored = await s.get_one(Meeting, meeting_id)
        items = list((await s.scalars(select(ActionItem).where(ActionItem.meeting_id == meeting_id))).all())
    shown = json.dumps(stored.analysis) + " ".join(i.text for i in items)
    assert "accounts@brightline-dental.example" in shown and "[EMAIL_" not in shown
    counts = await redaction_counts(db, meeting_id)
    assert counts["analysis"]["mode"] == "standard"
    assert counts["analysis"]["counts"]["CARD"] == 1 and counts["analysis"]["counts"]["EMAIL"] >= 3
    assert "4111" not in json.dumps(counts)  # counts by kind, never values


async def test_strict_mode_request_has_no_non_attendee_names(any_db: Database, fake: FakeAnthropic) -> None:
    db = any_db
    settings = Settings(ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL=fake.url)
    analyzer = build_analyzer(settings, claude(fake))
    config = parse_os_config("privacy:\n  mode: strict\n")
    analyze = PrivateAnalysis(
        partial(analyze_with_fallback, analyzer, HeuristicAnalyzer()), db, lambda: config
    )
    data = load_fixture("ai_audit_discovery")
    data["transcript"][1]["text"] += " Our patient Jonathan Mills complained about Dr Sarah Okafor."
    meeting = parse_meeting(data)
    await analyze(meeting)
    sent = sent_values(fake)
    assert "Jonathan Mills" not in sent and "Sarah Okafor" not in sent and "[PERSON_" in sent
    speaker = meeting.transcript[0].speaker.display_name if meeting.transcript else ""
    assert speaker and speaker in sent  # attendees stay readable


async def test_qa_request_is_redacted_and_the_answer_restored(any_db: Database, fake: FakeAnthropic) -> None:
    db = any_db
    index = SearchIndex(db)
    meeting = with_pii(parse_meeting(load_fixture("ai_audit_discovery")))
    from services.meetings import MeetingStore

    store = MeetingStore(db)
    meeting_id = (await store.ingest(meeting)).meeting_id
    await store.store_analysis(meeting_id, await HeuristicAnalyzer().analyze(meeting))
    await index.index_meeting(meeting_id)

    def answer_with_placeholder(body: dict[str, Any]) -> Any:
        content = body["messages"][0]["content"]
        prompt = content if isinstance(content, str) else " ".join(b["text"] for b in content)
        email = next(p for p in ("[EMAIL_1]", "[EMAIL_2]") if p in prompt)
        return message_reply(f"Write to {email} [1].")

    fake.responder = answer_with_placeholder
    answer = await QAService(db, index, claude(fake)).answer(
        "where does the invoice go, which email?", EVERYTHING
    )
    sent = sent_values(fake)
    assert_nothing_original(sent, meeting)
    assert answer.text and "@" in answer.text and "[EMAIL_" not in answer.text


async def test_audit_extraction_request_is_redacted(fake: FakeAnthropic) -> None:
    from services.audit.schema import AuditExtraction, ClientProfile

    canned = AuditExtraction(client=ClientProfile(name="Brightline"), summary="Write to [EMAIL_1].")
    fake.enqueue(message_reply(canned.model_dump_json()))
    meeting = with_pii(parse_meeting(load_fixture("ai_audit_discovery")))
    extraction, _ = await extract_with_claude(
        claude(fake), meeting, model="claude-sonnet-4-6", fallback_model="claude-haiku-4-5"
    )
    assert_nothing_original(sent_values(fake), meeting)
    assert "[EMAIL_1]" not in extraction.summary and "@" in extraction.summary


BRIGHTLINE_OFF = """
clients: [{name: Brightline Dental, domains: [brightline-dental.example]}]
privacy:
  mode: standard
  clients: {brightline-dental: "off"}
"""


@pytest.mark.parametrize(
    "config_text, mode", [(BRIGHTLINE_OFF, "off"), ("privacy: {mode: standard}", "standard")]
)
async def test_audit_extraction_follows_the_clients_mode_and_writes_a_record(
    db: Database, fake: FakeAnthropic, config_text: str, mode: str
) -> None:
    """/os-audit uses the meeting's privacy mode (here: off for the client) and records what it
    redacted under purpose "audit", like the analysis does."""
    from services.audit.schema import AuditExtraction, ClientProfile
    from services.audit.service import AuditService
    from services.meetings import MeetingStore
    from services.privacy import AuditPrivacy
    from services.views import AuditOptions

    config = parse_os_config(config_text)
    canned = AuditExtraction(client=ClientProfile(name="Brightline"), summary="ok")
    fake.enqueue(message_reply(canned.model_dump_json()))
    meeting = with_pii(parse_meeting(load_fixture("ai_audit_discovery")))
    store = MeetingStore(db)
    meeting_id = (await store.ingest(meeting)).meeting_id
    service = AuditService(
        db,
        store,
        None,
        client=claude(fake),
        privacy=AuditPrivacy(db, lambda: config),  # type: ignore[arg-type]
    )
    _, source = await service._extract(meeting_id, meeting, AuditOptions(meeting_id=meeting_id))
    assert source == "claude"
    sent = sent_values(fake)
    record = (await redaction_counts(db, meeting_id))["audit"]
    assert record["mode"] == mode
    if mode == "off":
        assert "accounts@brightline-dental.example" in sent and record["counts"] == {}
    else:
        assert_nothing_original(sent, meeting)
        assert record["counts"]["EMAIL"] >= 3 and "@" not in json.dumps(record)


def test_os_context_gets_the_configured_terms_and_patterns_only() -> None:
    """The OS is the agency's own data: standard detectors leave it alone (the cacheable prefix
    stays the same for every meeting), but a configured client code name does not reach the model."""
    r = Redactor(Policy(mode="off", terms=["Falcon"], patterns=[("PROJECT", r"FC-\d+")]))
    os_text = "Clients: Falcon (ticket FC-12), contact ops@agency.example, +1 415 555 2671."
    out = r.redact_configured(os_text)
    assert out == "Clients: [TERM_1] (ticket [PROJECT_1]), contact ops@agency.example, +1 415 555 2671."
    assert r.restore(out) == os_text
    assert Redactor(Policy()).redact_configured(os_text) == os_text  # nothing configured: unchanged


async def test_analysis_os_context_is_redacted_stably_and_shares_placeholders_with_the_meeting(
    db: Database,
) -> None:
    config = parse_os_config("privacy:\n  terms: [Falcon]\n")
    seen: list[tuple[FathomMeeting, str]] = []

    async def analyze(meeting: FathomMeeting, *, os_context: str = "") -> Any:
        seen.append((meeting, os_context))
        return await HeuristicAnalyzer().analyze(meeting, os_context=os_context)

    private = PrivateAnalysis(analyze, db, lambda: config)
    os_context = "## Clients\nFalcon is the code name of Brightline; write to ops@agency.example."
    data = load_fixture("ai_audit_discovery")
    data["transcript"][1]["text"] += " Keep Falcon out of the invoice."
    first, second = parse_meeting(data), parse_meeting(load_fixture("partner_sync"))
    await private(first, os_context=os_context)
    await private(second, os_context=os_context)
    (m1, ctx1), (_, ctx2) = seen
    assert ctx1 == ctx2 == "## Clients\n[TERM_1] is the code name of Brightline; write to ops@agency.example."
    assert m1.transcript and "[TERM_1]" in m1.transcript[1].text and "Falcon" not in m1.transcript[1].text
