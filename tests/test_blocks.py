"""What a user sees on each card, built from the real Fathom fixtures (no network, no DB)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
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
from blocks.ids import (
    ActionItemAction,
    ItemField,
    MeetingAction,
    ProposalAction,
    ViewCallback,
    all_action_ids,
    entity_id_from_block_id,
)
from blocks.limits import check_message, check_view
from blocks.text import escape, markdown_to_mrkdwn
from blocks.values import (
    ItemRef,
    ItemVersionRef,
    MeetingRef,
    PageRef,
    ProposalRef,
    SnoozeChoice,
    decode,
    encode,
)
from services.analysis.schema import DecisionOut, MeetingAnalysis, Mention, TypeScore
from services.fathom import FathomMeeting
from services.models import ActionItem, Meeting, OSProposal
from services.views import ItemView, MeetingView, ProposalView
from tests.helpers import FIXTURES  # noqa: E402
from tests.support.meetings import load, make_meeting

FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MENTIONS = {"maya@agency.example": "UMAYA01", "jonas@agency.example": "UJONAS1"}


def card(
    meeting: Meeting,
    items: list[ItemView],
    *,
    mentions: dict[str, str],
    related: list[tuple[str, str | None]] | None = None,
) -> Any:
    """The meeting card of a row, through the view the publisher builds once per publish."""
    return meeting_card(MeetingView.of(meeting, items, mentions=mentions, related=related or ()))


def make_items(
    payload: dict[str, Any], meeting_id: int = 7, mentions: dict[str, str] | None = None
) -> list[ItemView]:
    """What ingest would store from Fathom's own action items."""
    fathom = FathomMeeting.model_validate(payload)
    external = {(i.email or "").lower() for i in fathom.external_invitees}
    items = []
    for position, raw in enumerate(fathom.action_items or []):
        email = (raw.assignee.email or "").lower() if raw.assignee else ""
        items.append(
            ItemView.of(
                ActionItem(
                    id=100 + position,
                    meeting_id=meeting_id,
                    position=position,
                    dedupe_key=f"k{position}",
                    source="fathom",
                    text=raw.description,
                    owner_name=raw.assignee.name if raw.assignee else None,
                    owner_email=email or None,
                    owner_slack_id=(mentions or {}).get(email),
                    owner_external=email in external,
                    priority="important",
                    status="open",
                    source_timestamp=raw.recording_timestamp,
                    playback_url=raw.recording_playback_url,
                )
            )
        )
    return items


def item(**overrides: Any) -> ItemView:
    fields: dict[str, Any] = {
        "id": 5,
        "meeting_id": 7,
        "text": "Send the SOW",
        "owner_name": "Maya Chen",
        "owner_email": "maya@agency.example",
        "priority": "urgent",
        "status": "open",
        "playback_url": "https://fathom.video/calls/910001?timestamp=229",
        "source_timestamp": "00:03:49",
    }
    fields.update(overrides)
    return ItemView.of(ActionItem(**fields))


def analysis(**overrides: Any) -> MeetingAnalysis:
    fields: dict[str, Any] = {
        "types": [TypeScore(type="ai_audit", confidence=0.92), TypeScore(type="sales", confidence=0.4)],
        "summary_one_line": "Brightline wants phone automation",
        "summary": "## Context\n- **No-shows** cost $18k/month\n- Budget ~$40k",
        "decisions": [DecisionOut(what="Start with reminders", why="fastest ROI", owner="Maya")],
        "risks": [Mention(text="HIPAA BAA needed", source_timestamp="00:04:12")],
        "budget": [Mention(text="~$40k phase one")],
        "timeline": [Mention(text="Live by end of March")],
    }
    fields.update(overrides)
    return MeetingAnalysis(**fields)


def all_text(blocks: list[dict[str, Any]]) -> str:
    """Every string a user could read in the blocks."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    out.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


def elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        found += block.get("elements", []) if block["type"] == "actions" else []
        if "accessory" in block:
            found.append(block["accessory"])
    return found


def action_ids(blocks: list[dict[str, Any]]) -> set[str]:
    return {e["action_id"] for e in elements(blocks) if "action_id" in e}


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    return next(e for e in elements(blocks) if e.get("action_id") == action_id)


# --- meeting card -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_meeting_card_for_every_fixture_shows_title_and_link_within_limits(path: Path) -> None:
    payload = json.loads(path.read_text())
    meeting = make_meeting(payload)
    message = card(meeting, make_items(payload), mentions=MENTIONS)
    assert check_message(message.blocks, message.text) == []
    assert message.blocks[0]["type"] == "header"
    assert message.blocks[0]["text"]["text"] == payload["title"]
    assert message.blocks[0]["block_id"] == "meeting:7:header"
    assert button(message.blocks, MeetingAction.OPEN_FATHOM)["url"] == payload["share_url"]
    assert "analysing…" in all_text(message.blocks)


def test_meeting_card_splits_internal_and_external_attendees_and_mentions_known_people() -> None:
    message = card(make_meeting(load("ai_audit_discovery.json")), [], mentions=MENTIONS)
    attendees = next(b for b in message.blocks if b["block_id"] == "meeting:7:attendees")
    team, external = (f["text"] for f in attendees["fields"])
    assert "<@UMAYA01>" in team and "<@UJONAS1>" in team
    assert "Dr. Rosa Alvarez" in external and "Tom Becker" in external
    assert "brightline-dental.example" in external
    assert "Rosa" not in team


def test_first_card_shows_fathom_summary_then_analysis_summary_once_analysed() -> None:
    payload = load("ai_audit_discovery.json")
    first = card(make_meeting(payload), [], mentions={})
    assert "Front desk overloaded" in all_text(first.blocks)
    assert "*Key Takeaways*" in all_text(first.blocks)  # markdown heading drawn as bold
    done = make_meeting(
        payload, status="analysed", primary_type="ai_audit", analysis=analysis().model_dump(mode="json")
    )
    second = card(done, [], mentions={})
    text = all_text(second.blocks)
    assert "Brightline wants phone automation" in text and "*No-shows*" in text
    assert "AI audit (92%)" in text
    assert "analysing" not in text
    assert button(second.blocks, MeetingAction.GENERATE_OS)["value"] == encode(MeetingRef(meeting_id=7))


def test_generate_os_button_only_for_audit_or_discovery_meetings() -> None:
    payload = load("partner_sync.json")
    other = analysis(types=[TypeScore(type="internal_partner", confidence=0.8)])
    meeting = make_meeting(payload, status="analysed", analysis=other.model_dump(mode="json"))
    assert MeetingAction.GENERATE_OS not in action_ids(card(meeting, [], mentions={}).blocks)


def test_failed_analysis_shows_warning_and_retry_button() -> None:
    meeting = make_meeting(load("partner_sync.json"), status="failed", error="Traceback: secret stuff")
    message = card(meeting, [], mentions={})
    text = all_text(message.blocks)
    assert "Analysis failed" in text
    assert "Traceback" not in text
    assert decode(MeetingRef, button(message.blocks, MeetingAction.RETRY_ANALYSIS)["value"]).meeting_id == 7


def test_degraded_analysis_offers_retry_too() -> None:
    meeting = make_meeting(
        load("partner_sync.json"),
        status="analysed",
        needs_reanalysis=True,
        analysis=analysis().model_dump(mode="json"),
    )
    assert MeetingAction.RETRY_ANALYSIS in action_ids(card(meeting, [], mentions={}).blocks)


def test_long_summary_is_cut_with_a_link_to_fathom() -> None:
    payload = load("partner_sync.json")
    payload["default_summary"]["markdown_formatted"] = "word " * 3000
    message = card(make_meeting(payload), [], mentions={})
    summary = next(b for b in message.blocks if b["block_id"] == "meeting:7:summary")["text"]["text"]
    assert len(summary) <= 3000
    assert summary.endswith("(<https://fathom.video/share/de2b2share|full summary in Fathom>)")


def test_meeting_without_summary_or_invitees_still_renders() -> None:
    payload = load("minimal_no_content.json")
    payload["calendar_invitees"] = []
    message = card(make_meeting(payload), [], mentions={})
    ids = [b["block_id"] for b in message.blocks]
    assert "meeting:7:summary" not in ids and "meeting:7:attendees" not in ids
    assert check_message(message.blocks, message.text) == []


def test_meeting_card_counts_thread_items() -> None:
    payload = load("partner_sync.json")
    items = make_items(payload)
    items[0] = replace(items[0], status="done")
    message = card(make_meeting(payload), items, mentions={})
    assert f"{len(items)} action items (1 done) in the thread" in all_text(message.blocks)


# --- action item cards --------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_item_cards_for_every_fixture_mention_known_owners_and_name_others(path: Path) -> None:
    payload = json.loads(path.read_text())
    for it in make_items(payload, mentions=MENTIONS):
        message = action_item_card(it, owner_mention=it.owner_slack_id, meeting_url=payload["url"], now=NOW)
        assert check_message(message.blocks, message.text) == []
        text = all_text(message.blocks)
        assert it.text in text
        if it.owner_slack_id:
            assert f"<@{it.owner_slack_id}>" in text
            assert button(message.blocks, ActionItemAction.REASSIGN)["initial_user"] == it.owner_slack_id
        else:
            assert it.owner_name in text
        if it.owner_external:
            assert "(external)" in text
        assert message.blocks[0]["block_id"] == f"action_item:{it.id}"
        assert decode(ItemRef, button(message.blocks, ActionItemAction.DONE)["value"]).item_id == it.id


def test_item_card_has_done_snooze_reassign_edit_and_recording_link() -> None:
    message = action_item_card(item(), owner_mention="UMAYA01", meeting_url=None, now=NOW)
    assert [e["action_id"] for e in elements(message.blocks)] == [
        ActionItemAction.DONE,
        ActionItemAction.SNOOZE,
        ActionItemAction.REASSIGN,
        ActionItemAction.EDIT,
    ]
    assert "<https://fathom.video/calls/910001?timestamp=229|▶ 00:03:49>" in all_text(message.blocks)
    snooze = button(message.blocks, ActionItemAction.SNOOZE)
    labels = [o["text"]["text"] for o in snooze["options"]]
    assert labels == ["1 hour", "Tomorrow 9:00", "Next Monday 9:00", "Pick a date…"]
    choice = decode(SnoozeChoice, snooze["options"][1]["value"])
    assert (choice.item_id, choice.choice) == (5, "tomorrow_9")


def test_item_without_owner_offers_assign_select() -> None:
    message = action_item_card(
        item(owner_name=None, owner_email=None), owner_mention=None, meeting_url=None, now=NOW
    )
    ids = action_ids(message.blocks)
    assert ActionItemAction.ASSIGN in ids and ActionItemAction.REASSIGN not in ids
    assert "unassigned" in all_text(message.blocks)


def test_overdue_marker_relative_to_now() -> None:
    overdue = action_item_card(
        item(due_date=date(2026, 11, 19)), owner_mention=None, meeting_url=None, now=NOW
    )
    assert "*overdue*" in all_text(overdue.blocks)
    today = action_item_card(item(due_date=date(2026, 11, 20)), owner_mention=None, meeting_url=None, now=NOW)
    assert "due *today*" in all_text(today.blocks) and "overdue" not in all_text(today.blocks)
    later = action_item_card(item(due_date=date(2026, 12, 1)), owner_mention=None, meeting_url=None, now=NOW)
    assert "due Tue 01 Dec 2026" in all_text(later.blocks)


def test_done_item_shows_check_who_and_when_and_offers_reopen() -> None:
    done = item(status="done", completed_by="UJONAS1", completed_at=datetime(2026, 11, 19, 15, 0, tzinfo=UTC))
    message = action_item_card(done, owner_mention="UMAYA01", meeting_url=None, now=NOW)
    text = all_text(message.blocks)
    assert ":white_check_mark:" in text and "Done by <@UJONAS1>" in text and "19 Nov 2026" in text
    ids = action_ids(message.blocks)
    assert (
        ActionItemAction.REOPEN in ids
        and ActionItemAction.DONE not in ids
        and ActionItemAction.SNOOZE not in ids
    )


def test_done_item_is_never_overdue() -> None:
    done = item(status="done", due_date=date(2026, 1, 1))
    assert "overdue" not in all_text(
        action_item_card(done, owner_mention=None, meeting_url=None, now=NOW).blocks
    )


def test_user_text_cannot_ping_or_link() -> None:
    evil = item(
        text="<!channel> see <https://evil.example|bank> & <@U999>", owner_name="<!here>", owner_email=None
    )
    message = action_item_card(evil, owner_mention="not-an-id", meeting_url=None, now=NOW)
    text = all_text(message.blocks)
    assert "<!channel>" not in text and "<!here>" not in text and "<@U999>" not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    assert "<https://evil" not in text


def test_list_pages_with_next_button_and_same_item_buttons() -> None:
    items = [item(id=i, text=f"Task {i}") for i in range(1, 31)]
    first = action_item_list(items, title="Your open items", page=1, page_size=10, mentions={}, now=NOW)
    assert "Task 1" in all_text(first.blocks) and "Task 11" not in all_text(first.blocks)
    assert decode(PageRef, button(first.blocks, ActionItemAction.NEXT_PAGE)["value"]).page == 2
    assert ActionItemAction.PREV_PAGE not in action_ids(first.blocks)
    assert {ActionItemAction.DONE, ActionItemAction.SNOOZE, ActionItemAction.EDIT} <= action_ids(first.blocks)
    last = action_item_list(items, title="Your open items", page=3, page_size=10, mentions={}, now=NOW)
    assert ActionItemAction.NEXT_PAGE not in action_ids(last.blocks)
    assert "page 3 of 3" in all_text(last.blocks)


def test_list_uses_mentions_by_email() -> None:
    message = action_item_list([item()], title="Open", page=1, page_size=10, mentions=MENTIONS, now=NOW)
    assert "<@UMAYA01>" in all_text(message.blocks)


def test_empty_list_says_so() -> None:
    message = action_item_list([], title="Open", page=1, page_size=10, mentions={}, now=NOW)
    assert "Nothing here" in all_text(message.blocks)
    assert check_message(message.blocks, message.text) == []


def test_reminder_dm_lists_items_each_with_done_and_snooze() -> None:
    items = [item(id=1, text="First"), item(id=2, text="Second", due_date=date(2026, 11, 1))]
    message = reminder_dm("Maya Chen", items, NOW)
    text = all_text(message.blocks)
    assert "Hi Maya, 2 action items need you" in text and "*overdue*" in text
    for it in items:
        actions = next(b for b in message.blocks if b["block_id"] == f"action_item:{it.id}:actions")
        assert [e["action_id"] for e in actions["elements"]] == [
            ActionItemAction.DONE,
            ActionItemAction.SNOOZE,
        ]


def test_digest_groups_overdue_today_and_completed() -> None:
    message = digest_dm(
        [item(id=1, text="Today thing", due_date=NOW.date())],
        [item(id=2, text="Late thing", due_date=date(2026, 11, 2))],
        [item(id=3, text="Finished", status="done")],
        NOW,
    )
    ids = [b["block_id"] for b in message.blocks]
    assert ids == ["digest:header", "digest:overdue", "digest:due_today", "digest:completed"]
    assert "Late thing" in all_text(message.blocks[1:2])
    assert message.text == "Digest: 1 overdue, 1 due today, 1 completed"


def test_edit_modal_prefills_item_and_carries_item_and_version() -> None:
    view = edit_item_modal(item(due_date=date(2026, 12, 1), version=4), owner_slack_id="UMAYA01")
    assert check_view(view) == []
    assert view["callback_id"] == ViewCallback.ACTION_ITEM_EDIT
    assert decode(ItemVersionRef, view["private_metadata"]) == ItemVersionRef(item_id=5, version=4)
    by_id = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert by_id[ItemField.TEXT]["initial_value"] == "Send the SOW"
    assert by_id[ItemField.OWNER]["initial_user"] == "UMAYA01"
    assert by_id[ItemField.DUE_DATE]["initial_date"] == "2026-12-01"
    assert by_id[ItemField.PRIORITY]["initial_option"]["value"] == "urgent"


def test_snooze_date_modal_defaults_to_tomorrow() -> None:
    view = snooze_date_modal(item(), today=date(2026, 11, 20))
    assert check_view(view) == []
    assert view["callback_id"] == ViewCallback.SNOOZE_DATE
    assert view["blocks"][-1]["element"]["initial_date"] == "2026-11-21"


# --- details, proposals, common -----------------------------------------------------------------


def test_details_card_shows_each_topic() -> None:
    message = details_card(7, analysis())
    text = all_text(message.blocks)
    assert "*Start with reminders* — fastest ROI (Maya)" in text
    assert "HIPAA BAA needed `00:04:12`" in text
    assert "~$40k phase one" in text and "Live by end of March" in text
    assert [b["block_id"] for b in message.blocks] == [
        "details:7:decisions",
        "details:7:risks",
        "details:7:budget_timeline",
    ]


def test_details_card_with_nothing_recorded() -> None:
    empty = MeetingAnalysis(types=[], summary_one_line="x", summary="y")
    assert "No decisions" in all_text(details_card(7, empty).blocks)


def proposal(id: int, **overrides: Any) -> ProposalView:
    fields: dict[str, Any] = {
        "id": id,
        "meeting_id": 7,
        "path": f"clients/brightline/log-{id}.md",
        "action": "append",
        "content": "- new line\n",
        "status": "proposed",
    }
    fields.update(overrides)
    return ProposalView.of(OSProposal(**fields))


def test_proposal_card_shows_status_diff_and_buttons_per_state() -> None:
    meeting = make_meeting(load("ai_audit_discovery.json"))
    proposals = [
        proposal(1),
        proposal(2, status="applied", commit_sha="abcdef1234567890"),
        proposal(3, status="conflicted", reason="file changed since proposal"),
        proposal(4, status="rejected"),
        proposal(5),
    ]
    message = proposal_card(MeetingView.of(meeting), proposals, {1: "--- a\n+++ b\n+<added>"})
    text = all_text(message.blocks)
    assert "`clients/brightline/log-1.md`" in text and "```\n--- a\n+++ b\n+&lt;added&gt;\n```" in text
    assert "applied `abcdef1`" in text and "conflicted: file changed since proposal" in text

    def ids_for(pid: int) -> list[str]:
        block = next((b for b in message.blocks if b["block_id"] == f"proposal:{pid}:actions"), None)
        return [e["action_id"] for e in block["elements"]] if block else []

    assert ids_for(1) == [ProposalAction.APPROVE, ProposalAction.REJECT, ProposalAction.EDIT]
    assert ids_for(2) == [ProposalAction.REVERT]
    assert ids_for(3) == [ProposalAction.REJECT, ProposalAction.EDIT]
    assert ids_for(4) == []
    approve_all = button(message.blocks, ProposalAction.APPROVE_ALL)
    assert approve_all["text"]["text"] == "Approve all (2)"
    assert decode(ProposalRef, button(message.blocks, ProposalAction.APPROVE)["value"]).proposal_id == 1


def test_long_diff_preview_says_full_diff_attached() -> None:
    diff = "\n".join(f"+line {n}" for n in range(2000))
    message = proposal_card(None, [proposal(1)], {1: diff})
    assert "full diff attached" in all_text(message.blocks)
    assert check_message(message.blocks, message.text) == []


def test_proposal_edit_modal_prefills_content_or_explains_when_too_long() -> None:
    view = proposal_edit_modal(proposal(9, content="# Title\nbody"))
    assert check_view(view) == []
    assert view["callback_id"] == ViewCallback.PROPOSAL_EDIT
    assert decode(ProposalRef, view["private_metadata"]).proposal_id == 9
    assert view["blocks"][-1]["element"]["initial_value"] == "# Title\nbody"
    long_view = proposal_edit_modal(proposal(9, content="x" * 5000))
    assert check_view(long_view) == []
    assert "5,000 characters" in all_text(long_view["blocks"])
    assert "submit" not in long_view and all(b["type"] != "input" for b in long_view["blocks"])


def test_error_message_shows_reference_not_details() -> None:
    message = error_message("Could not save <that>", correlation_id="req-42")
    text = all_text(message.blocks)
    assert "Could not save &lt;that&gt;" in text and "`req-42`" in text
    assert notice("Saved.").blocks[0]["text"]["text"] == "Saved."


# --- ids, values, text --------------------------------------------------------------------------


def test_every_drawn_action_id_is_registered() -> None:
    payload = load("ai_audit_discovery.json")
    meeting = make_meeting(payload, status="failed", primary_type="ai_audit")
    items = make_items(payload)
    drawn = action_ids(card(meeting, items, mentions={}).blocks)
    drawn |= action_ids(action_item_card(items[0], owner_mention=None, meeting_url=None, now=NOW).blocks)
    drawn |= action_ids(
        action_item_card(
            item(owner_name=None, owner_email=None), owner_mention=None, meeting_url=None, now=NOW
        ).blocks
    )
    drawn |= action_ids(
        action_item_card(item(status="done"), owner_mention=None, meeting_url=None, now=NOW).blocks
    )
    drawn |= action_ids(
        action_item_list(
            [item(id=i) for i in range(40)], title="t", page=2, page_size=10, mentions={}, now=NOW
        ).blocks
    )
    drawn |= action_ids(
        proposal_card(
            MeetingView.of(meeting), [proposal(1), proposal(2), proposal(3, status="applied")], {}
        ).blocks
    )
    assert drawn <= all_action_ids()
    covered = {m.value for enum in (ActionItemAction, MeetingAction, ProposalAction) for m in enum}
    assert drawn == covered  # and no registered id is dead (home and audit ids: their own tests)


def test_values_round_trip_and_reject_garbage() -> None:
    assert decode(ItemRef, encode(ItemRef(item_id=3))) == ItemRef(item_id=3)
    with pytest.raises(ValueError, match="not a ItemRef"):
        decode(ItemRef, '{"meeting_id": 3}')
    with pytest.raises(ValueError, match="not a MeetingRef"):
        decode(MeetingRef, "not json")
    with pytest.raises(ValueError, match="empty value"):
        decode(ProposalRef, "")


def test_block_ids_name_their_entity() -> None:
    assert entity_id_from_block_id("action_item:12:actions", "action_item") == 12
    with pytest.raises(ValueError):
        entity_id_from_block_id("meeting:12", "action_item")


def test_markdown_becomes_mrkdwn_without_raw_markup() -> None:
    out = markdown_to_mrkdwn("## Plan\n- **bold** <b>\n* [docs](https://x.example/a) [bad](javascript:alert)")
    assert out == "*Plan*\n• *bold* &lt;b&gt;\n• <https://x.example/a|docs> [bad](javascript:alert)"
    assert escape("a & <b>") == "a &amp; &lt;b&gt;"


def test_fallback_text_cannot_ping_either() -> None:
    payload = load("partner_sync.json")
    meeting = make_meeting(payload, title="<!channel> standup & <@U999>")
    message = card(meeting, [], mentions={})
    assert "<!channel>" not in message.text and "&lt;!channel&gt; standup &amp;" in message.text
    assert (
        message.blocks[0]["text"]["text"] == "<!channel> standup & <@U999>"
    )  # plain_text shows it literally


def test_mentions_match_emails_case_insensitively() -> None:
    message = card(make_meeting(load("partner_sync.json")), [], mentions={"Maya@Agency.Example": "UMAYA01"})
    assert "<@UMAYA01>" in all_text(message.blocks)


def test_meeting_card_lists_related_meetings_with_links_escaped() -> None:
    payload = load("partner_sync.json")
    meeting = make_meeting(payload, status="analysed", primary_type="internal_partner")
    related = [("Brightline <b>", "https://agency.slack.com/archives/C1/p1"), ("Old sync", None)]
    drawn = card(meeting, [], mentions={}, related=related)
    block = next(b for b in drawn.blocks if b["block_id"].endswith(":related"))
    text = block["elements"][0]["text"]
    assert "<https://agency.slack.com/archives/C1/p1|Brightline &lt;b&gt;>" in text and "Old sync" in text
    assert check_message(drawn.blocks, drawn.text) == []
