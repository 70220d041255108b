"""The outbox mechanism: approvers, auto-apply rules, retries, the card, `fathom-os check`, and the
whole loop in Slack ("Send to Linear" on an item card, completed in Linear -> done here)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from blocks.ids import ActionItemAction, OutboxAction
from blocks.outbox import item_outside, outbox_card
from blocks.values import OutboxRef, SendRef, encode
from bot.config import load_settings
from bot.integrations import connector_checks
from bot.sandbox.hubspot_api import HubSpotStandIn
from bot.sandbox.linear_api import LinearStandIn
from services.db import Database
from services.errors import NotAllowed, StaleState, UserFacingError
from services.integrations.hubspot import HubSpotConnector
from services.os_config import parse_os_config
from services.outbox import OutboxLine, Proposed
from services.slack.gateway import SlackUser
from tests.harness import MEETINGS_CHANNEL, Bot, running_bot
from tests.support.os_repo import init_os
from tests.support.outbox import APPROVER, CONFIG, STRANGER, outbox, settled, stand_in_fixture, worker

TOKEN = "pat-na1-test"


hubspot = stand_in_fixture(HubSpotStandIn, token=TOKEN)


def task(key: str = "hubspot:task:1", subject: str = "Send the SOW") -> Proposed:
    return Proposed("hubspot", "task", {"subject": subject}, key, f"Task: {subject}")


def crm(stand_in: HubSpotStandIn) -> dict[str, Any]:
    return {"hubspot": HubSpotConnector(TOKEN, stand_in.base_url)}


async def test_the_auto_apply_rule_applies_that_operation_without_an_approval(
    db: Database, hubspot: HubSpotStandIn
) -> None:
    rules = CONFIG.replace("  hubspot: {}", "  hubspot: {auto_apply: [task]}")
    service, _ = outbox(db, crm(hubspot), rules)
    async with worker(service):
        entry = await service.propose(task(), "analysis")
        assert entry.status == "approved" and entry.approved_by == "auto-apply"
        assert (await settled(service, entry.id)).status == "applied"
        note = await service.propose(
            Proposed("hubspot", "note", {"body": "Budget 40k"}, "hubspot:note:1", "Note"), "analysis"
        )
    assert note.status == "proposed"  # notes are not in the rule: they wait for a person
    assert len(hubspot.live("tasks")) == 1 and hubspot.live("notes") == []


async def test_only_approvers_decide_and_an_approver_may_be_named_by_email(
    db: Database, hubspot: HubSpotStandIn
) -> None:
    class Directory:
        async def user_info(self, user_id: str) -> SlackUser:
            return SlackUser(user_id, "Maya Chen", "maya@agency.example", None)

    by_email = CONFIG.replace(
        "  - {name: Maya Chen, email: maya@agency.example, slack_user_id: U01MAYA}\n", ""
    )
    service, _ = outbox(db, crm(hubspot), by_email)
    entry = await service.propose(task(), STRANGER)  # anyone may propose
    for decide in (service.approve, service.reject, service.undo):
        with pytest.raises(NotAllowed, match="approvers listed in fathom-os.yml"):
            await decide(entry.id, STRANGER)
    assert (await service.get(entry.id)).status == "proposed"
    service.people = Directory()  # U01MAYA is not in the team list; users.info gives her e-mail
    assert (await service.approve(entry.id, "U01MAYA")).status == "approved"


async def test_a_rejected_write_cannot_be_approved_and_approve_all_takes_each_once(
    db: Database, hubspot: HubSpotStandIn
) -> None:
    meeting_id = await _meeting(db)
    service, _ = outbox(db, crm(hubspot))
    first, second, third = [
        await service.propose(
            Proposed("hubspot", "task", {"subject": s}, f"k:{s}", s, meeting_id=meeting_id), APPROVER
        )
        for s in ("one", "two", "three")
    ]
    await service.reject(third.id, APPROVER)
    with pytest.raises(StaleState, match="already rejected"):
        await service.approve(third.id, APPROVER)
    async with worker(service):
        approved = await service.approve_all(meeting_id, APPROVER)
        assert sorted(e.id for e in approved) == [first.id, second.id]
        assert await service.approve_all(meeting_id, APPROVER) == []
        for e in approved:
            await settled(service, e.id)
    assert sorted(t["properties"]["hs_task_subject"] for t in hubspot.live("tasks")) == ["one", "two"]


async def test_5xx_is_retried_with_backoff_and_a_target_that_stays_down_ends_failed(
    db: Database, hubspot: HubSpotStandIn
) -> None:
    service, cards = outbox(db, crm(hubspot))
    hubspot.force(503, {"message": "upstream"}, count=2)
    async with worker(service):
        ok = await service.propose(task("k:ok"), APPROVER)
        await service.approve(ok.id, APPROVER)
        assert (await settled(service, ok.id)).status == "applied"
        hubspot.force(503, {"message": "upstream"}, count=10)
        down = await service.propose(task("k:down", "Never"), APPROVER)
        await service.approve(down.id, APPROVER)
        failed = await settled(service, down.id)
    assert failed.status == "failed" and "gave up after 4 tries" in (failed.error or "")
    assert any(p and p.startswith("retrying") for _, _, p, _ in cards.cards)
    assert [t["properties"]["hs_task_subject"] for t in hubspot.live("tasks")] == ["Send the SOW"]


async def test_unknown_and_unconfigured_targets_are_clear_errors(db: Database) -> None:
    service, _ = outbox(db, {})
    with pytest.raises(UserFacingError, match="not a known target"):
        await service.propose(Proposed("trello", "card", {}, "k", "x"), APPROVER)
    with pytest.raises(UserFacingError, match="HUBSPOT|hubspot is not configured"):
        await service.propose(task(), APPROVER)


def test_integrations_config_rejects_typos_and_bad_meeting_types() -> None:
    with pytest.raises(ValueError, match="integrations.hubspot.auto_aply"):
        parse_os_config("integrations:\n  hubspot: {auto_aply: [task]}\n")
    with pytest.raises(ValueError, match="'standup' is not a meeting type"):
        parse_os_config("integrations:\n  hubspot: {meeting_types: [standup]}\n")
    config = parse_os_config("integrations:\n  linear: {team_id: T1, owners: {maya@agency.example: u1}}\n")
    assert config.integrations.settings_for("linear").owner_for(None, "maya@agency.example") == "u1"
    assert not config.integrations.auto_applies("linear", "issue")


def _line(status: str, **kw: Any) -> OutboxLine:
    return OutboxLine(
        id=kw.pop("id", 1), target="hubspot", operation="task", summary="Task: SOW", status=status, **kw
    )


def _actions(message: Any, entry_id: int) -> list[str]:
    for block in message.blocks:
        if block["block_id"] == f"outbox_entry:{entry_id}:actions":
            return [e["action_id"] for e in block["elements"]]
    return []


def _text(message: Any, entry_id: int) -> str:
    return str(next(b["text"]["text"] for b in message.blocks if b["block_id"] == f"outbox_entry:{entry_id}"))


def test_the_card_draws_each_state_with_its_buttons_and_the_targets_message() -> None:
    lines = [
        _line("proposed", id=1),
        _line("proposed", id=2),
        _line("approved", id=3, progress="Gamma is generating the deck… (check 2)"),
        _line("failed", id=4, error="400: One or more associations are invalid"),
        _line("applied", id=5, external_url="https://app.hubspot.com/x", approved_by="U01MAYA"),
    ]
    card = outbox_card(7, "Acme discovery", lines)
    assert _actions(card, 1) == [OutboxAction.APPROVE, OutboxAction.EDIT, OutboxAction.REJECT]
    assert _actions(card, 3) == []
    assert "check 2" in _text(card, 3)
    assert (
        "One or more associations are invalid" in _text(card, 4)
        and _actions(card, 4)[0] == OutboxAction.APPROVE
    )
    assert _actions(card, 5) == [OutboxAction.OPEN, OutboxAction.UNDO] and "<@U01MAYA>" in _text(card, 5)
    assert any(b["block_id"] == "outbox:7:approve_all" for b in card.blocks)
    many = outbox_card(7, "x" * 500, [_line("proposed", id=i) for i in range(1, 101)])
    assert len(many.blocks) <= 50


def test_an_item_card_offers_send_to_then_shows_the_tasks_link() -> None:
    [send] = item_outside(9, ["linear"], [])
    assert send.elements[0].action_id == OutboxAction.SEND
    assert send.elements[0].value == encode(SendRef(item_id=9, target="linear"))
    applied = OutboxLine(
        9, "linear", "issue", "Task", "applied", external_url="https://linear.app/a/issue/eng-1"
    )
    [context] = item_outside(9, ["linear"], [applied])
    assert "https://linear.app/a/issue/eng-1" in context.elements[0].text


async def test_check_reads_each_configured_connector_and_names_the_fix(
    tmp_path: Path, hubspot: HubSpotStandIn
) -> None:
    settings = load_settings(
        HUBSPOT_TOKEN=TOKEN, HUBSPOT_API_URL=hubspot.base_url, OS_REPO_PATH=str(tmp_path)
    )
    [ok] = await connector_checks(settings, parse_os_config(""))
    assert ok.level == "ok" and "token accepted" in ok.message
    bad = load_settings(
        HUBSPOT_TOKEN="pat-wrong", HUBSPOT_API_URL=hubspot.base_url, OS_REPO_PATH=str(tmp_path)
    )
    [fail] = await connector_checks(bad, parse_os_config(""))
    assert fail.level == "fail" and "401" in fail.message and "Private apps" in (fail.fix or "")
    assert await connector_checks(load_settings(OS_REPO_PATH=str(tmp_path)), parse_os_config("")) == []


async def _meeting(db: Database) -> int:
    from services.models import Meeting

    async with db.session() as s:
        meeting = Meeting(recording_id=4242, title="Acme discovery", payload={})
        s.add(meeting)
        await s.flush()
        return meeting.id


# -- the whole loop in Slack ------------------------------------------------------------------


def _item_cards(bot: Bot) -> list[dict[str, Any]]:
    parents = bot.parents()
    if not parents:
        return []
    return [
        r
        for r in bot.slack.thread(MEETINGS_CHANNEL, parents[0]["ts"])
        if any(str(b.get("block_id", "")).startswith("action_item:") for b in r.get("blocks") or [])
    ]


def _block(message: dict[str, Any], suffix: str) -> dict[str, Any] | None:
    return next((b for b in message.get("blocks") or [] if str(b.get("block_id", "")).endswith(suffix)), None)


async def test_send_to_linear_from_an_item_card_and_completed_there_is_done_here(tmp_path: Path) -> None:
    os_path = tmp_path / "os"
    await init_os(os_path)
    with (os_path / "fathom-os.yml").open("a") as f:
        f.write("\nintegrations:\n  linear: {team_id: team-eng}\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@agency.example"]
    subprocess.run([*git, "commit", "-qam", "linear"], cwd=os_path, check=True)
    linear = await LinearStandIn.start(api_key="lin_api_test")
    try:
        async with running_bot(tmp_path, LINEAR_API_KEY="lin_api_test", LINEAR_API_URL=linear.url) as bot:
            status, _ = await bot.send("ai_audit_discovery")
            assert status == 202
            await bot.wait_for(lambda: any(_block(m, ":send") for m in _item_cards(bot)))
            message = next(m for m in _item_cards(bot) if _block(m, ":send"))
            button = (_block(message, ":send") or {})["elements"][0]
            assert button["text"]["text"] == "Send to Linear"
            await bot.slack.click_button(
                "U01MAYA", MEETINGS_CHANNEL, message["ts"], OutboxAction.SEND.value, button["value"]
            )
            await bot.wait_for(lambda: len(linear.issues) == 1)
            [issue] = linear.issues.values()

            def linked() -> dict[str, Any] | None:
                return next((m for m in _item_cards(bot) if issue["url"] in str(_block(m, ":outside"))), None)

            await bot.wait_for(lambda: linked() is not None)  # the item card shows the task's link
            assert _block(linked() or {}, ":send") is None  # and no second "Send to"
            linear.complete(issue["id"])
            report = await bot.runtime.domain.outbox.sync()
            assert report.done_here == 1

            def reopen_shown() -> bool:
                actions = _block(linked() or {}, ":actions") or {}
                return ActionItemAction.REOPEN.value in [
                    e.get("action_id") for e in actions.get("elements", [])
                ]

            await bot.wait_for(reopen_shown)  # the item card redrawn as done
            assert encode(OutboxRef(entry_id=1))  # ids only on the wire
    finally:
        await linear.stop()


async def test_dedupe_and_the_apply_job_hold_on_both_databases(
    any_db: Database, hubspot: HubSpotStandIn
) -> None:
    """The unique dedupe key (insert, conflict, read back) and the job on SQLite and PostgreSQL."""
    service, _ = outbox(any_db, crm(hubspot))
    first = await service.propose(task("k:pg"), APPROVER)
    assert (await service.propose(task("k:pg"), APPROVER)).id == first.id
    async with worker(service):
        await service.approve(first.id, APPROVER)
        await service.approve(first.id, APPROVER)
        done = await settled(service, first.id)
    assert done.status == "applied" and len(hubspot.live("tasks")) == 1
