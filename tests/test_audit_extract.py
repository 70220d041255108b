"""Audit extraction: the offline rules on real fixtures, and Claude through a local Messages API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import anthropic
import pytest
from aiohttp import web

from services.audit import AuditExtractionError, extract_heuristic, extract_with_claude
from services.audit.schema import AuditExtraction, ClientProfile
from services.fathom import FathomMeeting, parse_meeting

FIXTURES = Path(__file__).resolve().parents[1] / "examples" / "fathom"


def load(name: str) -> FathomMeeting:
    return parse_meeting(json.loads((FIXTURES / f"{name}.json").read_text()))


@pytest.fixture(scope="module")
def brightline() -> AuditExtraction:
    return extract_heuristic(load("ai_audit_discovery"))


def test_client_profile_comes_from_title_transcript_and_invitees(brightline: AuditExtraction) -> None:
    assert brightline.client.name == "Brightline Dental"
    assert brightline.client.industry == "healthcare"
    assert brightline.client.size == "3 clinics, 40 staff"
    assert {"Dentrix", "Open Dental", "Slack", "RingCentral", "Google Workspace"} <= set(
        brightline.client.tools
    )


def test_spoken_figures_become_numbers_with_units(brightline: AuditExtraction) -> None:
    figures = {(f.label, f.text) for p in brightline.pain_points for f in p.figures}
    assert ("No-show rate", "11%") in figures
    assert ("Revenue lost to no-shows", "$18,000/month") in figures
    insurance = next(p for p in brightline.pain_points if p.title == "Insurance verification")
    assert insurance.hours_per_week == 50  # 60 checks/day x 10 minutes x 5 days


def test_budget_deadline_and_compliance_are_resolved(brightline: AuditExtraction) -> None:
    assert brightline.budget.amount_usd == 40_000
    assert brightline.timeline.deadline == date(2027, 3, 31)  # "end of March" after a November meeting
    assert {"HIPAA", "BAA"} <= set(brightline.compliance)
    assert any("Business Associate Agreement" in r.text for r in brightline.requirements)


def test_opportunities_follow_the_phase_decision_of_the_meeting(brightline: AuditExtraction) -> None:
    ranked = brightline.ranked_opportunities()
    phase_one = {o.title for o in ranked if o.phase == 1}
    assert phase_one == {"Two-way appointment reminders", "Automated insurance eligibility checks"}
    assert ranked[0].title == "Two-way appointment reminders"
    assert {o.title for o in ranked if o.phase == 2} >= {"Digital intake forms with validation"}


def test_people_roles_and_risks_are_captured(brightline: AuditExtraction) -> None:
    people = {p.name: p for p in brightline.stakeholders}
    assert people["Dr. Rosa Alvarez"].side == "client"
    assert people["Grace"].role == "Compliance officer"
    assert "Map the insurance verification workflow with Tom" in people["Jonas Reed"].responsibilities
    adoption = next(r for r in brightline.risks if "adoption" in r.text)
    assert adoption.mitigation and "champion" in adoption.mitigation


def test_explicit_client_name_and_industry_win() -> None:
    extraction = extract_heuristic(load("ai_audit_discovery"), client_name="Acme Smiles", industry="retail")
    assert (extraction.client.name, extraction.client.industry) == ("Acme Smiles", "retail")


@pytest.mark.parametrize("fixture", ["partner_sync", "minimal_no_content", "ami_ES2006a_kickoff"])
def test_meetings_without_audit_content_still_yield_a_usable_extraction(fixture: str) -> None:
    extraction = extract_heuristic(load(fixture))
    assert extraction.client.name
    assert extraction.opportunities and extraction.opportunities[0].steps
    assert any(o.phase == 1 for o in extraction.opportunities)
    assert extraction.budget.amount_usd is None or extraction.budget.amount_usd > 0
    if extraction.budget.amount_usd is None:
        assert "What budget is available for the first phase?" in extraction.open_questions


# --- Claude through a local Messages API ---------------------------------------------------------


def _canned() -> AuditExtraction:
    return AuditExtraction(
        client=ClientProfile(name="Heard Name", industry="healthcare", tools=["Dentrix", "Dentrix ", ""]),
        summary="A dental group.",
    )


@pytest.fixture
async def messages_api() -> AsyncIterator[tuple[str, list[dict[str, Any]], dict[str, int]]]:
    """A Messages API that overloads for 'primary' models and answers for the rest."""
    seen: list[dict[str, Any]] = []
    status = {"primary": 529}

    async def messages(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        if body["model"] == "primary-model" and status["primary"] != 200:
            return web.json_response(
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                status=status["primary"],
            )
        return web.json_response(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": _canned().model_dump_json()}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 1200,
                    "output_tokens": 800,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 1500,
                },
            }
        )

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen, status
    await runner.cleanup()


async def test_claude_overload_falls_back_and_reports_usage(
    messages_api: tuple[str, list[dict[str, Any]], dict[str, int]],
) -> None:
    url, seen, _ = messages_api
    client = anthropic.AsyncAnthropic(api_key="test-key", base_url=url, max_retries=0)
    extraction, usage = await extract_with_claude(
        client, load("ai_audit_discovery"), model="primary-model", fallback_model="claude-haiku-4-5",
        client_name="Brightline Dental",
    )  # fmt: skip
    assert extraction.client.name == "Brightline Dental"  # the modal's name beats what the model heard
    assert extraction.client.tools == ["Dentrix"]
    assert [u.model for u in usage] == ["claude-haiku-4-5"]
    assert usage[0].cache_read_tokens == 1500 and usage[0].cost_usd > 0
    request = seen[-1]
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request["output_config"]["format"]["type"] == "json_schema"
    assert "Dr. Rosa Alvarez" in request["messages"][0]["content"]


async def test_claude_failure_on_both_models_raises_a_domain_error(
    messages_api: tuple[str, list[dict[str, Any]], dict[str, int]],
) -> None:
    url, _, _ = messages_api
    client = anthropic.AsyncAnthropic(api_key="test-key", base_url=url, max_retries=0)
    with pytest.raises(AuditExtractionError):
        await extract_with_claude(
            client, load("minimal_no_content"), model="primary-model", fallback_model="primary-model"
        )
