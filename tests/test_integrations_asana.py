"""Asana through the outbox: the official asana client against the local stand-in; two-way sync."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from blocks.ids import OutboxAction, OutboxField
from blocks.values import OutboxRef, encode
from bot.sandbox.asana_api import AsanaStandIn
from services.audit_log import history
from services.db import Database
from services.integrations.asana import AsanaConnector
from services.integrations.base import TargetError
from services.models import ActionItem
from services.os_config import ConnectorSettings
from services.outbox import OutboxService
from tests.harness import MEETINGS_CHANNEL, running_bot
from tests.support.os_repo import init_os
from tests.support.outbox import (
    APPROVER,
    STRANGER,
    applied,
    done_both_ways,
    meeting_with_item,
    outbox,
    sent,
    serving,
    settled,
    stand_in_fixture,
    worker,
)

TOKEN = "2/asana-test"
PROJECT = "1200000000000001"
MAYA, SAM = "1100000000000001", "1100000000000002"
CONFIG = f"""
team:
  - {{name: Maya Chen, email: maya@agency.example, slack_user_id: U01MAYA}}
approvers: [maya@agency.example]
integrations:
  asana: {{project_id: "{PROJECT}", owners: {{U01MAYA: "{MAYA}", sam@agency.example: "{SAM}"}}}}
"""


asana_api = stand_in_fixture(AsanaStandIn, token=TOKEN, projects=(PROJECT,))


def connector(stand_in: AsanaStandIn, token: str = TOKEN, project: str = PROJECT) -> AsanaConnector:
    return AsanaConnector(token, stand_in.url, settings=ConnectorSettings(project_id=project))


def service_for(db: Database, stand_in: AsanaStandIn, **kwargs: str) -> tuple[OutboxService, object]:
    return outbox(db, {"asana": connector(stand_in, **kwargs)}, CONFIG)


async def test_send_to_asana_creates_the_task_with_owner_due_date_and_link(
    db: Database, asana_api: AsanaStandIn
) -> None:
    _, item_id = await meeting_with_item(db)
    async with db.session() as s:
        (await s.get_one(ActionItem, item_id)).due_date = date(2026, 1, 20)
    service, _ = service_for(db, asana_api)
    gid = await applied(service, item_id, "asana")
    task = asana_api.tasks[gid]
    assert task["name"] == "Send the SOW to Acme" and "Acme kickoff" in task["notes"]
    assert task["assignee"]["gid"] == MAYA and task["due_on"] == "2026-01-20"
    [entry] = await service.for_item(item_id)
    assert entry.external_url == f"https://app.asana.com/0/{PROJECT}/{gid}"


async def test_sent_twice_makes_one_task_and_a_stranger_only_proposes(
    db: Database, asana_api: AsanaStandIn
) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    proposed = await service.send_item(item_id, "asana", STRANGER)
    assert proposed.status == "proposed" and asana_api.calls == 0
    async with worker(service):
        first = await service.send_item(item_id, "asana", APPROVER)
        again = await service.send_item(item_id, "asana", APPROVER)
        assert first.id == again.id == proposed.id
        await settled(service, first.id)
    assert len(asana_api.tasks) == 1


async def test_a_4xx_shows_asanas_message_on_the_card(db: Database, asana_api: AsanaStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, cards = service_for(db, asana_api, project="999")
    done = await sent(service, item_id, "asana")
    assert done.status == "failed" and done.error == "400: projects: Not a recognized ID: 999"
    assert cards.cards[-1] == (done.id, "failed", None, done.error)  # type: ignore[attr-defined]


async def test_a_429_is_honoured_and_retried(db: Database, asana_api: AsanaStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    asana_api.force(429, {}, count=2, retry_after=0.05)
    await applied(service, item_id, "asana")
    assert asana_api.throttled == 2 and len(asana_api.tasks) == 1


async def test_undo_deletes_the_task(db: Database, asana_api: AsanaStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    gid = await applied(service, item_id, "asana")
    [entry] = await service.for_item(item_id)
    assert (await service.undo(entry.id, APPROVER)).status == "undone"
    assert gid in asana_api.deleted and asana_api.tasks == {}


async def test_completed_in_asana_marks_the_item_done_here_and_done_here_closes_it(
    db: Database, asana_api: AsanaStandIn
) -> None:
    service, _ = service_for(db, asana_api)
    closed = await done_both_ways(db, service, "asana", asana_api.complete)
    assert asana_api.tasks[closed]["completed"] is True


async def test_owner_and_due_date_edited_in_asana_flow_here(
    any_db: Database, asana_api: AsanaStandIn
) -> None:
    db = any_db  # storage: SQLite and PostgreSQL
    _, item_id = await meeting_with_item(db)
    service, cards = service_for(db, asana_api)
    gid = await applied(service, item_id, "asana")
    asana_api.edit(gid, assignee=SAM, due_on="2026-02-03")
    report = await service.sync()
    assert report.edited == 1
    async with db.session() as s:
        item = await s.get_one(ActionItem, item_id)
    assert item.owner_email == "sam@agency.example" and item.owner_slack_id is None
    assert item.due_date == date(2026, 2, 3)
    [entry] = await history(db, f"action_item:{item_id}")
    assert entry.actor == "sync:asana" and entry.action == "action_item.edited"
    assert entry.before == {"owner_slack_id": "U01MAYA", "owner_email": None, "due_date": None}
    assert cards.items == [item_id]  # type: ignore[attr-defined]
    assert (await service.sync()).edited == 0  # once


async def test_owner_and_due_date_edited_here_flow_to_asana(
    any_db: Database, asana_api: AsanaStandIn
) -> None:
    db = any_db  # storage: SQLite and PostgreSQL
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    gid = await applied(service, item_id, "asana")
    async with db.session() as s:
        item = await s.get_one(ActionItem, item_id)
        item.owner_slack_id, item.owner_email, item.due_date = None, "sam@agency.example", date(2026, 3, 1)
    assert (await service.sync()).edited == 1
    assert asana_api.tasks[gid]["assignee"]["gid"] == SAM and asana_api.tasks[gid]["due_on"] == "2026-03-01"
    [entry] = await history(db, f"outbox:{(await service.for_item(item_id))[0].id}", limit=1)
    assert entry.action == "outbox.edited_there" and entry.after == {
        "assignee": SAM,
        "due_date": "2026-03-01",
    }
    assert (await service.sync()).edited == 0


@pytest.mark.parametrize("asana_later", [True, False])
async def test_edited_on_both_sides_the_later_writer_wins(
    db: Database, asana_api: AsanaStandIn, asana_later: bool
) -> None:
    from datetime import timedelta

    from services.clock import utcnow
    from services.models import AuditLog

    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    gid = await applied(service, item_id, "asana")
    here_at = utcnow()
    async with db.session() as s:  # edited here, recorded in the audit log at here_at
        item = await s.get_one(ActionItem, item_id)
        item.due_date = date(2026, 4, 1)
        s.add(
            AuditLog(at=here_at, actor=APPROVER, action="action_item.edited", entity=f"action_item:{item_id}")
        )
    there_at = here_at + timedelta(minutes=1 if asana_later else -1)
    asana_api.edit(gid, assignee=MAYA, due_on="2026-05-01", at=there_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    assert (await service.sync()).edited == 1
    winner = "2026-05-01" if asana_later else "2026-04-01"
    async with db.session() as s:
        assert (await s.get_one(ActionItem, item_id)).due_date == date.fromisoformat(winner)
    assert asana_api.tasks[gid]["due_on"] == winner


async def test_check_names_the_token_owner_and_refuses_a_bad_token(asana_api: AsanaStandIn) -> None:
    assert "Maya Chen" in await connector(asana_api).check()
    with pytest.raises(TargetError, match="Not Authorized"):
        await connector(asana_api, token="2/wrong").check()


# -- Edit on the outbox card, in Slack ----------------------------------------------------------


def _card(bot: Any, meeting_id: int) -> dict[str, Any] | None:
    parents = bot.parents()
    if not parents:
        return None
    return next(
        (
            m
            for m in bot.slack.thread(MEETINGS_CHANNEL, parents[0]["ts"])
            if any(b.get("block_id") == f"outbox:{meeting_id}:header" for b in m.get("blocks") or [])
        ),
        None,
    )


async def test_edit_on_the_card_changes_the_write_before_it_is_approved(tmp_path: Path) -> None:
    os_path = tmp_path / "os"
    await init_os(os_path)
    with (os_path / "fathom-os.yml").open("a") as f:
        f.write(f'\nintegrations:\n  asana: {{project_id: "{PROJECT}"}}\n')
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@agency.example"]
    subprocess.run([*git, "commit", "-qam", "asana"], cwd=os_path, check=True)
    async with (
        serving(AsanaStandIn, token=TOKEN, projects=(PROJECT,)) as stand_in,
        running_bot(tmp_path, ASANA_TOKEN=TOKEN, ASANA_API_URL=stand_in.url) as bot,
    ):
        status, _ = await bot.send("ai_audit_discovery")
        assert status == 202
        outbox_service = bot.runtime.domain.outbox
        await bot.wait_for(lambda: bool(bot.parents()))
        db = outbox_service.db
        async with db.read_session() as s:
            item = await s.scalar(select(ActionItem).order_by(ActionItem.id))
        assert item is not None
        entry = await outbox_service.send_item(item.id, "asana", STRANGER)  # waits for an approver
        await bot.wait_for(lambda: _card(bot, item.meeting_id) is not None)
        card = _card(bot, item.meeting_id) or {}
        ref = encode(OutboxRef(entry_id=entry.id))
        await bot.slack.click_button("U01MAYA", MEETINGS_CHANNEL, card["ts"], OutboxAction.EDIT.value, ref)
        await bot.wait_for(lambda: bool(bot.slack.modal_stack("U01MAYA")))
        modal = bot.slack.modal_stack("U01MAYA")[0]
        title, due, text = OutboxField.TITLE.value, OutboxField.DUE.value, OutboxField.BODY.value
        [body_input] = [b for b in modal["blocks"] if b.get("block_id") == text]
        unchanged = {text: {text: body_input["element"]["initial_value"]}}  # Slack sends it back
        refused = await bot.slack.submit_view(
            "U01MAYA", modal["id"], {title: {title: "   "}, due: {due: "2026-02-01"}, **unchanged}
        )
        assert refused["response_action"] == "errors" and title in refused["errors"]
        await bot.slack.submit_view(
            "U01MAYA",
            modal["id"],
            {title: {title: "Send the signed SOW"}, due: {due: "2026-02-01"}, **unchanged},
        )
        await bot.wait_for(
            lambda: "Send the signed SOW" in str((_card(bot, item.meeting_id) or {}).get("blocks"))
        )
        [audit] = await history(db, f"outbox:{entry.id}", limit=1)
        assert audit.action == "outbox.edited" and audit.actor == "U01MAYA"
        assert audit.after == {"title": "Send the signed SOW", "due_date": "2026-02-01"}
        await bot.slack.click_button("U01MAYA", MEETINGS_CHANNEL, card["ts"], OutboxAction.APPROVE.value, ref)
        await bot.wait_for(lambda: len(stand_in.tasks) == 1)
        [task] = stand_in.tasks.values()
        assert task["name"] == "Send the signed SOW" and task["due_on"] == "2026-02-01"


async def test_edit_is_for_approvers_and_unwritten_writes_only(db: Database, asana_api: AsanaStandIn) -> None:
    from services.errors import NotAllowed, StaleState
    from services.outbox import InvalidEdit

    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, asana_api)
    entry = await service.send_item(item_id, "asana", STRANGER)
    with pytest.raises(NotAllowed):
        await service.for_editing(entry.id, STRANGER)
    form = await service.for_editing(entry.id, APPROVER)
    assert (form.title_key, form.body_key, form.due_key) == ("title", "description", "due_date")
    with pytest.raises(InvalidEdit, match="YYYY-MM-DD") as bad:
        await service.edit(entry.id, {"due": "next friday"}, APPROVER)
    assert bad.value.field == "due"
    with pytest.raises(InvalidEdit, match="At most 255"):
        await service.edit(entry.id, {"title": "x" * 300}, APPROVER)
    edited = await service.edit(entry.id, {"title": "Send the SOW today", "body": "Before 5pm"}, APPROVER)
    assert edited.summary == "Task: Send the SOW today" and edited.payload["description"] == "Before 5pm"
    async with worker(service):
        await service.approve(entry.id, APPROVER)
        done = await settled(service, entry.id)
    assert asana_api.tasks[done.external_id or ""]["notes"] == "Before 5pm"
    with pytest.raises(StaleState):
        await service.edit(entry.id, {"title": "too late"}, APPROVER)


def test_the_edit_modal_offers_title_text_and_due_date_and_reads_them_back() -> None:
    from blocks.outbox import edited_fields, outbox_card, outbox_edit_modal
    from services.views import OutboxEdit, OutboxLine

    card = outbox_card(7, "Acme", [OutboxLine(1, "asana", "issue", "Task: SOW", "proposed")])
    [actions] = [b for b in card.blocks if b["block_id"] == "outbox_entry:1:actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["outbox.approve", "outbox.edit", "outbox.reject"]
    form = OutboxEdit(1, "gamma", "Deck: Acme", "title", "Acme", "input_text", "x" * 5000, None, None)
    modal = outbox_edit_modal(form)
    ids = [b.get("block_id") for b in modal["blocks"]]
    assert OutboxField.TITLE.value in ids and OutboxField.BODY.value not in ids and "outbox_edit_long" in ids
    state = {
        "values": {
            OutboxField.TITLE.value: {OutboxField.TITLE.value: {"type": "plain_text_input", "value": "New"}}
        }
    }
    assert edited_fields({"state": state}) == {"title": "New"}
