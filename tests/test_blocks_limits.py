"""A pathological meeting through every builder: the output must stay inside Slack's limits.

Slack rejects an over-limit message outright (`invalid_blocks`, `msg_too_long`), so a card that
is fine for a normal meeting but breaks for a huge one means that meeting never shows up.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from blocks import (
    action_item_card,
    action_item_list,
    details_card,
    digest_dm,
    edit_item_modal,
    error_message,
    meeting_card,
    notice,
    proposal_card,
    proposal_edit_modal,
    reminder_dm,
    snooze_date_modal,
)
from blocks.common import Message
from blocks.limits import check_message, check_view
from blocks.text import bullet_lines, code_block, esc_trunc, fit_markdown, slack_len, truncate
from services.analysis.schema import DecisionOut, MeetingAnalysis, Mention, OSUpdate, Stakeholder, TypeScore
from services.models import ActionItem, Meeting, OSProposal
from services.views import ItemView, MeetingView, ProposalView

FIXTURE = Path(__file__).resolve().parents[1] / "examples" / "fathom" / "ai_audit_discovery.json"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
WEIRD = "🚀👩🏽‍💻 مرحبا بالعالم שלום <!channel> & <@U1> *bold* `code` ```fence``` "
BIG_ID = 9_223_372_036_854_775_807


def weird(n: int) -> str:
    return (WEIRD * (n // len(WEIRD) + 1))[:n]


def huge_meeting(status: str = "analysed") -> Meeting:
    payload: dict[str, Any] = json.loads(FIXTURE.read_text())
    payload["title"] = weird(300)
    payload["default_summary"]["markdown_formatted"] = (
        "## " + weird(200) + "\n" + "\n".join(f"- **{weird(60)}** {n}" for n in range(150))[:10_000]
    )
    payload["calendar_invitees"] = [
        {
            "name": weird(120),
            "email": f"p{n}@{'ext' if n % 2 else 'agency'}{n}.example",
            "is_external": bool(n % 2),
            "email_domain": f"{'ext' if n % 2 else 'agency'}{n}.example",
        }
        for n in range(400)
    ]
    payload["action_items"] = [
        {
            "description": weird(500),
            "recording_timestamp": "01:02:03",
            "recording_playback_url": "https://x.example/p",
        }
        for _ in range(200)
    ]
    analysis = MeetingAnalysis(
        types=[TypeScore(type="ai_audit", confidence=0.99)],
        summary_one_line=weird(2000),
        summary=weird(10_000),
        decisions=[
            DecisionOut(what=weird(1500), why=weird(1500), owner=weird(300), source_timestamp="00:01:02")
            for _ in range(80)
        ],
        risks=[Mention(text=weird(2000)) for _ in range(80)],
        requirements=[Mention(text=weird(50), source_timestamp="x" * 40) for _ in range(300)],
        budget=[Mention(text=weird(900)) for _ in range(30)],
        timeline=[Mention(text=weird(900)) for _ in range(30)],
        stakeholders=[Stakeholder(name=weird(200)) for _ in range(100)],
        os_updates=[OSUpdate(path="a.md", action="create", content=weird(100))],
    )
    return Meeting(
        id=BIG_ID,
        recording_id=1,
        title=payload["title"],
        url="https://fathom.video/calls/1?" + "q=1&" * 500,
        share_url="https://fathom.video/share/" + "s" * 2990,  # just under the URL cap
        started_at=datetime(2026, 11, 16, 15, 0, tzinfo=UTC),
        ended_at=datetime(2026, 11, 16, 20, 0, tzinfo=UTC),
        payload=payload,
        status=status,
        needs_reanalysis=True,
        primary_type="ai_audit",
        analysis=analysis.model_dump(mode="json"),
    )


def huge_items(n: int = 200) -> list[ItemView]:
    return [
        ItemView.of(
            ActionItem(
                id=BIG_ID - i,
                meeting_id=BIG_ID,
                text=weird(5000),
                owner_name=weird(255) if i % 3 else None,
                owner_email=f"p{i}@ext.example" if i % 3 else None,
                owner_slack_id="U" + "A" * 30 if i % 5 == 0 else None,
                owner_external=bool(i % 2),
                due_date=date(2026, 11, 1) + timedelta(days=i % 40),
                priority=("urgent", "important", "strategic", "weird")[i % 4],
                status="done" if i % 7 == 0 else "open",
                completed_at=NOW if i % 7 == 0 else None,
                completed_by="UDONE" if i % 7 == 0 else None,
                snoozed_until=NOW + timedelta(days=1) if i % 11 == 0 else None,
                source_timestamp="99:99:99",
                playback_url="https://fathom.video/calls/1?timestamp=" + "9" * 2900,
            )
        )
        for i in range(n)
    ]


def huge_proposals(n: int = 60) -> tuple[list[ProposalView], dict[int, str]]:
    statuses = ("proposed", "applied", "rejected", "conflicted", "invalid", "unknown")
    proposals = [
        ProposalView.of(
            OSProposal(
                id=i,
                meeting_id=BIG_ID,
                path="clients/" + weird(900) + ".md",
                action=("create", "append", "update_section")[i % 3],
                section=weird(255),
                content=weird(20_000),
                status=statuses[i % len(statuses)],
                reason=weird(5000),
                commit_sha="f" * 64,
            )
        )
        for i in range(1, n + 1)
    ]
    diffs = {p.id: "\n".join(f"+{weird(80)} {line}" for line in range(5000)) for p in proposals}
    return proposals, diffs


def assert_message_ok(message: Message) -> None:
    assert check_message(message.blocks, message.text) == []
    assert len(json.dumps(message.blocks)) < 200_000


def test_huge_meeting_card_in_every_state_fits() -> None:
    items = huge_items()
    mentions = {f"p{n}@agency{n}.example": f"U{n:08d}" for n in range(0, 400, 2)}
    for status in ("received", "analysing", "analysed", "failed"):
        view = MeetingView.of(huge_meeting(status), items, mentions=mentions)
        message = meeting_card(view, thread_count=200)
        assert_message_ok(message)
        assert message.blocks[0]["text"]["text"].endswith("…")


def test_every_huge_item_card_fits() -> None:
    for it in huge_items():
        message = action_item_card(
            it, owner_mention=it.owner_slack_id, meeting_url="https://x.example/" + "m" * 4000, now=NOW
        )
        assert_message_ok(message)


@pytest.mark.parametrize("page", [1, 2, 10, 999])
@pytest.mark.parametrize("page_size", [1, 25, 200])
def test_item_list_pages_fit_whatever_page_size(page: int, page_size: int) -> None:
    message = action_item_list(
        huge_items(), title=weird(400), page=page, page_size=page_size, mentions={}, now=NOW
    )
    assert_message_ok(message)


def test_reminder_and_digest_with_200_items_fit() -> None:
    items = huge_items()
    assert_message_ok(reminder_dm(weird(300), items, NOW))
    assert_message_ok(reminder_dm("", items[:1], NOW))
    assert_message_ok(digest_dm(items, items, items, NOW))
    assert_message_ok(digest_dm([], [], [], NOW))


def test_huge_details_fit() -> None:
    analysis = MeetingAnalysis.model_validate(huge_meeting().analysis)
    message = details_card(BIG_ID, analysis)
    assert_message_ok(message)
    assert "more" in message.blocks[0]["text"]["text"]


def test_sixty_proposals_with_5000_line_diffs_fit() -> None:
    proposals, diffs = huge_proposals()
    message = proposal_card(MeetingView.of(huge_meeting()), proposals, diffs)
    assert_message_ok(message)
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "more proposals" in text and "full diff attached" in text
    for block in message.blocks:
        if block["block_id"].startswith("proposal:") and block["type"] == "section":
            assert block["text"]["text"].count("```") == 2  # preview fenced, never cut open
    single = proposal_card(MeetingView.of(huge_meeting()), proposals[:1], diffs)
    assert_message_ok(single)
    assert single.blocks[2]["text"]["text"].count("```") == 2
    assert_message_ok(proposal_card(None, proposals, {}))
    assert_message_ok(proposal_card(MeetingView.of(huge_meeting()), [], {}))


def test_modals_for_huge_entities_fit() -> None:
    proposals, _ = huge_proposals(3)
    for view in (
        proposal_edit_modal(proposals[0]),
        proposal_edit_modal(
            ProposalView.of(
                OSProposal(id=1, path=weird(900), action="create", content=weird(3000), status="proposed")
            )
        ),
        edit_item_modal(huge_items(2)[1], owner_slack_id=None),
        edit_item_modal(huge_items(1)[0], owner_slack_id="UABC"),
        snooze_date_modal(huge_items(1)[0], today=NOW.date()),
        snooze_date_modal(huge_items(1)[0]),
    ):
        assert check_view(view) == []


def test_common_messages_fit() -> None:
    assert_message_ok(error_message(weird(10_000), correlation_id=weird(500)))
    assert_message_ok(notice(weird(10_000)))


def test_checkers_catch_violations() -> None:
    """The checkers are the safety net, so prove they bite."""
    too_many = [{"type": "divider"}] * 51
    assert any("51 blocks" in p for p in check_message(too_many, "x"))
    dup = [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]
    assert any("duplicate block_id" in p for p in check_message(dup, "x"))
    long_button = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "b" * 76},
                    "action_id": "a",
                    "value": "v" * 2001,
                }
            ],
        }
    ]
    problems = check_message(long_button, "t" * 3001)
    assert len(problems) == 3
    header = [{"type": "header", "text": {"type": "plain_text", "text": "🚀" * 76}}]  # 152 UTF-16 units
    assert check_message(header, "x") != []
    assert (
        check_view({"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": []}) != []
    )


def test_text_helpers_never_exceed_limits_or_split_escapes() -> None:
    for limit in (1, 2, 5, 75, 150, 3000):
        for source in (weird(5000), "&" * 5000, "🚀" * 5000):
            for out in (truncate(source, limit), esc_trunc(source, limit), fit_markdown(source, limit)):
                assert slack_len(out) <= limit
            assert not esc_trunc("&" * 100, limit).rstrip("…").endswith(("&am", "&a", "&"))
    assert slack_len(code_block(weird(10_000), 800)) <= 800
    assert slack_len(bullet_lines([weird(100)] * 500, 3000)) <= 3000
