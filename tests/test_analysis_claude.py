"""Claude analysis through the real `AsyncAnthropic` client against a local Messages API server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from anthropic import AsyncAnthropic

from bot.config import Settings
from services.analysis.base import AnalysisFailed, analyze_with_fallback, build_analyzer
from services.analysis.chunking import estimate_tokens
from services.analysis.claude import ClaudeAnalyzer
from services.analysis.heuristic import HeuristicAnalyzer
from services.analysis.prompts import system_blocks, user_message
from services.fathom import FathomMeeting, parse_meeting
from tests.helpers import load_fixture
from tests.support.fake_anthropic import (
    FakeAnthropic,
    Reply,
    analysis_reply,
    default_analysis,
    error_reply,
    invalid_schema_reply,
    malformed_json_reply,
    overloaded,
    rate_limited,
    server_error,
    usage,
)

PRIMARY, FALLBACK = "claude-sonnet-4-6", "claude-haiku-4-5"
OS_CONTEXT = "## Clients\n- brightline-dental: dental group, AI audit in progress\n"


@pytest.fixture
async def server() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as fake:
        yield fake
        for client in fake.clients:
            await client.close()


def settings(server: FakeAnthropic, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.url}
    values.update(overrides)
    return Settings(**values)


def analyzer(server: FakeAnthropic, **overrides: Any) -> ClaudeAnalyzer:
    client = AsyncAnthropic(api_key="sk-ant-test", base_url=server.url, max_retries=1)
    server.clients.append(client)
    built = build_analyzer(settings(server, **overrides), client=client)
    assert isinstance(built, ClaudeAnalyzer)
    return built


def meeting(name: str = "ai_audit_discovery") -> FathomMeeting:
    return parse_meeting(load_fixture(name))


def brightline_analysis() -> dict[str, Any]:
    data = default_analysis({"messages": [{"content": "# Meeting: Brightline"}]})
    data["types"] = [{"type": "ai_audit", "confidence": 0.92}, {"type": "discovery", "confidence": 0.7}]
    data["budget"] = [{"text": "~$40k set aside for phase one", "source_timestamp": "00:02:46"}]
    data["action_items"] = [
        {
            "text": "Send written audit summary and phased SOW proposal to Brightline",
            "owner_name": "Maya Chen",
            "due_date": "2026-11-27",
            "source_timestamp": "00:03:28",
            "source": "fathom",
        }
    ]
    return data


async def test_structured_output_is_parsed_with_cacheable_prefix_and_costed_usage(
    server: FakeAnthropic,
) -> None:
    server.enqueue(
        analysis_reply(brightline_analysis(), use=usage(1000, 500, cache_creation=2000, cache_read=0))
    )
    outcome = await analyzer(server).analyze(meeting(), os_context=OS_CONTEXT)

    assert outcome.analyzer == "claude" and outcome.model == PRIMARY and not outcome.degraded
    assert outcome.analysis.primary_type == "ai_audit"
    assert outcome.analysis.budget[0].text == "~$40k set aside for phase one"
    sent = server.requests[0]
    assert sent.model == PRIMARY and sent.api_key == "sk-ant-test"
    assert [b["cache_control"] for b in sent.system] == [{"type": "ephemeral"}] * 2
    assert "brightline-dental: dental group" in sent.system[1]["text"]
    assert "[00:04:28] Dr. Rosa Alvarez: Agreed." in sent.user_text
    assert sent.body["output_config"]["format"]["type"] == "json_schema"
    [record] = outcome.usage
    assert (record.input_tokens, record.output_tokens, record.cache_creation_tokens) == (1000, 500, 2000)
    assert record.cost_usd == pytest.approx((1000 * 3 + 500 * 15 + 2000 * 3.75) / 1e6)


async def test_fathom_items_claude_left_out_are_merged_back_with_assignees(server: FakeAnthropic) -> None:
    server.enqueue(analysis_reply(brightline_analysis()))
    outcome = await analyzer(server).analyze(meeting())
    items = outcome.analysis.action_items
    fathom = [i for i in items if i.source == "fathom"]
    assert len(fathom) == 4
    assert fathom[0].due_date is not None and fathom[0].due_date.isoformat() == "2026-11-27"
    assert {i.owner_email for i in fathom} >= {
        "tom@brightline-dental.example",
        "rosa@brightline-dental.example",
    }
    assert sum("audit summary" in i.text for i in items) == 1


async def test_overloaded_primary_falls_back_to_the_fallback_model(server: FakeAnthropic) -> None:
    server.enqueue(overloaded(), overloaded())  # the first call and the SDK's single retry
    outcome = await analyzer(server).analyze(meeting())
    assert [r.model for r in server.requests] == [PRIMARY, PRIMARY, FALLBACK]
    assert outcome.model == FALLBACK and outcome.usage[0].model == FALLBACK
    assert outcome.usage[0].cost_usd == pytest.approx((1200 * 1 + 300 * 5) / 1e6)


@pytest.mark.parametrize("failure", [rate_limited, server_error])
async def test_rate_limits_and_server_errors_also_use_the_fallback(
    server: FakeAnthropic, failure: Any
) -> None:
    server.responder = lambda body: (
        failure() if body["model"] == PRIMARY else analysis_reply(default_analysis(body))
    )
    outcome = await analyzer(server).analyze(meeting())
    assert outcome.model == FALLBACK and server.requests[-1].model == FALLBACK


async def test_both_models_down_degrades_to_the_heuristic_without_leaking_secrets(
    server: FakeAnthropic,
) -> None:
    server.responder = lambda body: overloaded()
    outcome = await analyze_with_fallback(analyzer(server), HeuristicAnalyzer(), meeting(), OS_CONTEXT)
    assert outcome.degraded and outcome.analyzer == "heuristic"
    assert outcome.error and "529" in outcome.error and "sk-ant" not in outcome.error
    assert outcome.analysis.primary_type == "ai_audit"  # the heuristic still classifies it


async def test_malformed_output_is_retried_once_then_degrades(server: FakeAnthropic) -> None:
    server.enqueue(malformed_json_reply(), invalid_schema_reply())
    with pytest.raises(AnalysisFailed, match="invalid output twice"):
        await analyzer(server).analyze(meeting())
    assert [r.model for r in server.requests] == [PRIMARY, PRIMARY]

    server.enqueue(malformed_json_reply(), malformed_json_reply())
    outcome = await analyze_with_fallback(analyzer(server), HeuristicAnalyzer(), meeting())
    assert outcome.degraded and outcome.analyzer == "heuristic" and "invalid output" in (outcome.error or "")
    assert len(outcome.analysis.action_items) == 4


async def test_one_malformed_answer_is_repaired_by_the_retry(server: FakeAnthropic) -> None:
    server.enqueue(malformed_json_reply())
    outcome = await analyzer(server).analyze(meeting())
    assert len(server.requests) == 2 and outcome.analysis.summary_one_line.startswith("Fake analysis")


async def test_rejected_request_fails_fast_without_trying_the_fallback(server: FakeAnthropic) -> None:
    server.enqueue(error_reply(400, "invalid_request_error", "prompt is too long"))
    with pytest.raises(AnalysisFailed, match="HTTP 400"):
        await analyzer(server).analyze(meeting())
    assert len(server.requests) == 1


async def test_long_meeting_is_chunked_analysed_concurrently_and_merged(server: FakeAnthropic) -> None:
    def slow_default(body: dict[str, Any]) -> Reply:
        reply = analysis_reply(default_analysis(body), use=usage(1500, 400, cache_read=900))
        reply.delay = 0.1
        return reply

    server.responder = slow_default
    outcome = await analyzer(server, CLAUDE_CHUNK_TOKENS=2000, CLAUDE_MAX_CONCURRENCY=3).analyze(
        meeting("ami_TS3009c_long"), os_context=OS_CONTEXT
    )
    parts = len(server.requests)
    assert parts >= 5
    assert 1 < server.max_in_flight <= 3
    assert all(f"of {parts})" in r.user_text for r in server.requests)
    texts = [i.text for i in outcome.analysis.action_items]
    assert texts.count("Send the follow-up notes to everyone") == 1
    assert sum(t.startswith("Follow up on:") for t in texts) == parts
    assert len(outcome.analysis.decisions) == 1 and len(outcome.analysis.stakeholders) == 1
    assert "part 1" in outcome.analysis.summary_one_line and "part 2" in outcome.analysis.summary
    assert len(outcome.usage) == parts and sum(u.cache_read_tokens for u in outcome.usage) == 900 * parts


def test_a_one_hour_meeting_fits_the_input_token_budget_in_one_request() -> None:
    long = meeting("ami_TS3009c_long")
    prefix = sum(estimate_tokens(b["text"]) for b in system_blocks(""))
    from services.analysis.chunking import render_transcript, split_lines

    chunks = split_lines(render_transcript(long), Settings().claude_chunk_tokens)
    assert len(chunks) == 1
    total = prefix + estimate_tokens(user_message(long, chunks[0], 1, 1))
    assert total < 15_000  # leaves ~5k tokens of OS context under the 20k target


def test_without_a_key_the_factory_builds_the_heuristic() -> None:
    assert isinstance(build_analyzer(Settings(ANTHROPIC_API_KEY=None)), HeuristicAnalyzer)


async def test_factory_client_talks_to_the_configured_base_url(server: FakeAnthropic) -> None:
    from bot.clients import build_claude_client

    configured = settings(server)
    built = build_analyzer(configured, build_claude_client(configured))
    assert isinstance(built, ClaudeAnalyzer)
    server.clients.append(built.client)
    outcome = await built.analyze(meeting("partner_sync"))
    assert outcome.analyzer == "claude" and server.requests[0].headers["anthropic-version"]
    assert json.loads(json.dumps(server.requests[0].body))["max_tokens"] > 0
