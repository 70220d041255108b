"""Languages (#19 part 3): the transcript's language detected offline, the analysis language chosen
per client or channel in fathom-os.yml, asked of Claude, and the offline analyzer keeping to
Fathom's own items for languages its rules do not read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from sqlalchemy import select

from bot.config import Settings
from services.analysis.base import build_analyzer
from services.analysis.claude import ClaudeAnalyzer
from services.analysis.heuristic import HeuristicAnalyzer
from services.fathom import FathomMeeting, parse_meeting
from services.languages import output_language, spoken_language
from services.models import ActionItem, Decision
from services.os_config import OSConfig, parse_os_config
from tests.harness import running_bot
from tests.helpers import load_fixture
from tests.support.fake_anthropic import FakeAnthropic

GERMAN, SPANISH = "mueller_logistik_kickoff_de", "clinica_sol_propuesta_es"


def meeting(name: str, **changes: Any) -> FathomMeeting:
    data = load_fixture(name)
    data.update(changes)
    return parse_meeting(data)


CONFIG = """
clients:
  - name: Müller Logistik
    domains: [mueller-logistik.example]
    language: en
  - name: Clínica Sol
    domains: [clinicasol.example]
routing:
  rules:
    - domain: clinicasol.example
      channel: "#clientes"
channel_languages:
  "#clientes": pt
"""


@pytest.mark.parametrize(("name", "code"), [(GERMAN, "de"), (SPANISH, "es"), ("ai_audit_discovery", "en")])
def test_the_transcript_language_is_detected_offline(name: str, code: str) -> None:
    # Fathom's field says English (a workspace default): the detector reads the words
    assert spoken_language(meeting(name, transcript_language="en")) == code


def test_analysis_language_per_client_then_channel_then_the_meeting() -> None:
    config = parse_os_config(CONFIG)
    assert output_language(config, meeting(GERMAN)) == "en", "the client's language wins"
    assert output_language(config, meeting(SPANISH)) == "pt", "then the card channel's language"
    assert output_language(OSConfig(), meeting(SPANISH)) == "es", "default: the transcript language"
    assert output_language(OSConfig(), meeting(GERMAN, transcript_language="de-DE")) == "de"
    with pytest.raises(ValueError, match="langauge"):  # a typo is refused, not ignored
        parse_os_config("clients:\n  - name: X\n    langauge: de\n")


@pytest.fixture
async def claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as fake:
        yield fake
        for client in fake.clients:
            await client.close()


def claude_analyzer(server: FakeAnthropic, config: OSConfig) -> ClaudeAnalyzer:
    client = AsyncAnthropic(api_key="sk-ant-test", base_url=server.url, max_retries=1)
    server.clients.append(client)
    settings = Settings(ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL=server.url)
    built = build_analyzer(settings, client=client, os_config=lambda: config)
    assert isinstance(built, ClaudeAnalyzer)
    return built


async def test_claude_is_asked_for_the_chosen_language_and_to_re_express_fathoms_english(
    claude: FakeAnthropic,
) -> None:
    clients = parse_os_config(CONFIG)
    await claude_analyzer(claude, OSConfig()).analyze(meeting(SPANISH))
    asked = claude.requests[-1].user_text
    assert "Output language: Spanish (es)" in asked and "re-express Fathom's English summary" in asked
    assert "Keep names, amounts, dates" in asked

    await claude_analyzer(claude, clients).analyze(meeting(GERMAN))
    assert "Output language: English." in claude.requests[-1].user_text, "Müller's language: en"


def test_offline_non_english_meeting_keeps_fathoms_items_and_invents_nothing() -> None:
    for name in (GERMAN, SPANISH):
        found = meeting(name)
        analysis = HeuristicAnalyzer().analyze_sync(found)
        assert [a.text for a in analysis.action_items] == [i.description for i in found.action_items or []]
        assert not (analysis.decisions or analysis.risks or analysis.budget or analysis.timeline)
        assert analysis.sentiment is None, "VADER reads English only"
        assert "needs Claude" in analysis.summary and found.summary_markdown.strip() in analysis.summary
    english = HeuristicAnalyzer().analyze_sync(meeting("ai_audit_discovery"))
    assert english.decisions and "needs Claude" not in english.summary, "English keeps its rules"


async def test_german_meeting_card_says_deeper_analysis_needs_claude(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send(GERMAN)
        await bot.wait_for(lambda: "needs Claude" in json.dumps(bot.parents()[:1]))
        card = json.dumps(bot.parents()[0]["blocks"], ensure_ascii=False)
        assert "held in German" in card and "Müller Logistik" in card
        assert "View in Fathom" in card, "labels stay English"
        async with bot.runtime.db.read_session() as s:
            items = (await s.scalars(select(ActionItem))).all()
            decisions = (await s.scalars(select(Decision))).all()
        assert sorted(i.text for i in items) == sorted(
            i["description"] for i in load_fixture(GERMAN)["action_items"]
        )
        assert not decisions
