"""Action item cards through the local Slack server: every button, strangers, stale cards, modals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from blocks.ids import ActionItemAction, ItemField, SnoozeOption
from blocks.values import ItemRef, SnoozeChoice, encode
from services.audit_log import history
from tests.harness import MEETINGS_CHANNEL, Bot, running_bot


async def _card(bot: Bot, owner: str) -> tuple[str, int]:
    """(ts, item id) of the thread card owned by `owner`."""
    await bot.wait_for(lambda: len(bot.parents()) == 1)
    parent = bot.parents()[0]["ts"]

    def find() -> tuple[str, int] | None:
        for reply in bot.slack.thread(MEETINGS_CHANNEL, parent)[1:]:
            text = json.dumps(reply.get("blocks"))
            if f"<@{owner}>" in text and "action_item." in text:
                section = reply["blocks"][0]["block_id"]
                return reply["ts"], int(section.split(":")[1])
        return None

    await bot.wait_for(lambda: find() is not None)
    found = find()
    assert found
    return found


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks"))


async def test_done_then_reopen_updates_the_card_in_place_and_audits(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _card(bot, "U01MAYA")
        ref = encode(ItemRef(item_id=item_id))
        await bot.slack.click_button("U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.DONE, ref)
        await bot.wait_for(lambda: "Reopen" in _text(bot.slack.message(MEETINGS_CHANNEL, ts)))
        assert "Done by <@U01MAYA>" in _text(bot.slack.message(MEETINGS_CHANNEL, ts))
        await bot.slack.click_button("U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.REOPEN, ref)
        await bot.wait_for(lambda: "Reopen" not in _text(bot.slack.message(MEETINGS_CHANNEL, ts)))
        entries = await history(bot.runtime.db, f"action_item:{item_id}")
        assert [e.action for e in entries] == ["action_item.reopen", "action_item.done"]
        assert entries[1].before["status"] == "open" and entries[1].after["status"] == "done"


async def test_done_click_by_stranger_changes_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _card(bot, "U01MAYA")
        before = bot.slack.message(MEETINGS_CHANNEL, ts)
        await bot.slack.click_button(
            "U09STRANGER", MEETINGS_CHANNEL, ts, ActionItemAction.DONE, encode(ItemRef(item_id=item_id))
        )
        await bot.wait_for(lambda: any("Only the item" in e["text"] for e in bot.slack.ephemerals))
        assert bot.slack.message(MEETINGS_CHANNEL, ts)["blocks"] == before["blocks"]
        assert await history(bot.runtime.db, f"action_item:{item_id}") == []


async def test_attendee_may_complete_a_colleagues_item(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _card(bot, "U01MAYA")
        ref = encode(ItemRef(item_id=item_id))
        await bot.slack.click_button("U02JONAS", MEETINGS_CHANNEL, ts, ActionItemAction.DONE, ref)
        await bot.wait_for(lambda: "Done by <@U02JONAS>" in _text(bot.slack.message(MEETINGS_CHANNEL, ts)))


async def test_stale_done_click_says_who_and_redraws_the_card(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _card(bot, "U01MAYA")
        ref = encode(ItemRef(item_id=item_id))
        stale_blocks = bot.slack.message(MEETINGS_CHANNEL, ts)["blocks"]
        await bot.runtime.domain.action_items.complete(item_id, "U02JONAS")  # elsewhere, e.g. a DM
        # the user still sees the old card with its Done button and clicks it
        bot.slack.workspace.find_message(bot.slack.channel_id(MEETINGS_CHANNEL), ts)["blocks"] = stale_blocks
        await bot.slack.click_button("U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.DONE, ref)
        await bot.wait_for(
            lambda: any("already marked done by Jonas" in e["text"] for e in bot.slack.ephemerals)
        )
        await bot.wait_for(lambda: "Reopen" in _text(bot.slack.message(MEETINGS_CHANNEL, ts)))
        item = await bot.runtime.domain.action_items.get(item_id)
        assert item.completed_by == "U02JONAS" and item.version == 2


async def test_snooze_and_reassign_tell_the_new_owner(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _card(bot, "U01MAYA")
        choice = encode(SnoozeChoice(item_id=item_id, choice=SnoozeOption.TOMORROW))
        await bot.slack.select_option("U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.SNOOZE, choice)
        await bot.wait_for(lambda: "snoozed until" in _text(bot.slack.message(MEETINGS_CHANNEL, ts)))
        item = await bot.runtime.domain.action_items.get(item_id)
        assert item.snoozed_until is not None
        await bot.slack.select_user("U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.REASSIGN, "U04OMAR")
        await bot.wait_for(lambda: "<@U04OMAR>" in _text(bot.slack.message(MEETINGS_CHANNEL, ts)))
        await bot.wait_for(
            lambda: any("gave you an action item" in _text(m) for m in bot.slack.dms("U04OMAR"))
        )


async def test_edit_modal_shows_validation_errors_then_saves(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _card(bot, "U01MAYA")
        await bot.slack.click_button(
            "U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.EDIT, encode(ItemRef(item_id=item_id))
        )
        await bot.wait_for(lambda: bool(bot.slack.modal_stack("U01MAYA")))
        view_id = bot.slack.modal_stack("U01MAYA")[0]["id"]
        blank = {ItemField.TEXT: {ItemField.TEXT: "   "}, ItemField.PRIORITY: {ItemField.PRIORITY: "urgent"}}
        ack = await bot.slack.submit_view("U01MAYA", view_id, blank)
        assert ack["response_action"] == "errors" and ItemField.TEXT in ack["errors"]
        ack = await bot.slack.submit_view(
            "U01MAYA",
            view_id,
            {
                ItemField.TEXT: {ItemField.TEXT: "Send the SOW"},
                ItemField.DUE_DATE: {ItemField.DUE_DATE: "2099-01-05"},
                ItemField.PRIORITY: {ItemField.PRIORITY: "urgent"},
            },
        )
        assert ack.get("response_action") != "errors"
        await bot.wait_for(lambda: "Send the SOW" in _text(bot.slack.message(MEETINGS_CHANNEL, ts)))
        assert "05 Jan 2099" in _text(bot.slack.message(MEETINGS_CHANNEL, ts))


async def test_edit_form_opened_before_a_change_is_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _card(bot, "U01MAYA")
        await bot.slack.click_button(
            "U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.EDIT, encode(ItemRef(item_id=item_id))
        )
        await bot.wait_for(lambda: bool(bot.slack.modal_stack("U01MAYA")))
        view_id = bot.slack.modal_stack("U01MAYA")[0]["id"]
        await bot.runtime.domain.action_items.complete(item_id, "U02JONAS")
        values = {
            ItemField.TEXT: {ItemField.TEXT: "Overwrite"},
            ItemField.PRIORITY: {ItemField.PRIORITY: "urgent"},
        }
        ack = await bot.slack.submit_view("U01MAYA", view_id, values)
        assert ack["response_action"] == "errors" and "changed" in ack["errors"][ItemField.TEXT]
        assert (await bot.runtime.domain.action_items.get(item_id)).text != "Overwrite"


async def test_os_actions_lists_open_items_and_its_buttons_work(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        _, item_id = await _card(bot, "U02JONAS")
        await bot.slack.send_command("U01MAYA", "C01GENERAL", "/os-actions", "<@U02JONAS|jonas>")
        await bot.wait_for(lambda: any("Jonas Reed's open" in _text(e) for e in bot.slack.ephemerals))
        listing = next(e for e in bot.slack.ephemerals if "Jonas Reed's open" in _text(e))
        assert f"action_item:{item_id}" in _text(listing)
        await bot.slack.click_button(
            "U02JONAS", "C01GENERAL", listing["ts"], ActionItemAction.DONE, encode(ItemRef(item_id=item_id))
        )
        await bot.wait_for(lambda: _done(bot, item_id))


async def _done(bot: Bot, item_id: int) -> bool:
    return (await bot.runtime.domain.action_items.get(item_id)).status == "done"


async def test_os_actions_paging_keeps_whose_list_it_is(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        await _card(bot, "U02JONAS")
        from services.models import ActionItem

        async with bot.runtime.db.session() as s:  # give Jonas a long list
            for n in range(25):
                s.add(
                    ActionItem(
                        meeting_id=1,
                        position=100 + n,
                        dedupe_key=f"k{n}",
                        source="manual",
                        text=f"Extra task {n}",
                        owner_slack_id="U02JONAS",
                        owner_email="jonas@agency.example",
                    )
                )
        await bot.slack.send_command("U01MAYA", "C01GENERAL", "/os-actions", "<@U02JONAS|jonas>")
        await bot.wait_for(lambda: any("page 1 of" in _text(e) for e in bot.slack.ephemerals))
        listing = next(e for e in bot.slack.ephemerals if "page 1 of" in _text(e))
        nav = next(b for b in listing["blocks"] if b.get("block_id") == "action_items:nav")
        value = nav["elements"][-1]["value"]
        await bot.slack.click_button(
            "U01MAYA", "C01GENERAL", listing["ts"], ActionItemAction.NEXT_PAGE, value
        )
        await bot.wait_for(
            lambda: any("page 2 of" in str(c.params) for c in bot.slack.calls_to("response_url"))
        )
        page_two = next(
            str(c.params) for c in bot.slack.calls_to("response_url") if "page 2 of" in str(c.params)
        )
        assert "Jonas Reed's open action items" in page_two and "Extra task" in page_two


async def test_reassign_to_a_forged_user_id_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _card(bot, "U01MAYA")
        before = bot.slack.message(MEETINGS_CHANNEL, ts)
        for forged in ("W<!here>", "U99NOBODY"):
            await bot.slack.select_user("U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.REASSIGN, forged)
        await bot.wait_for(lambda: sum("could not be found" in e["text"] for e in bot.slack.ephemerals) == 1)
        await bot.wait_for(lambda: any("not a Slack user" in e["text"] for e in bot.slack.ephemerals))
        assert bot.slack.message(MEETINGS_CHANNEL, ts)["blocks"] == before["blocks"]
        item = await bot.runtime.domain.action_items.get(item_id)
        assert item.owner_slack_id == "U01MAYA" and item.version == 1
        assert await history(bot.runtime.db, f"action_item:{item_id}") == []


async def test_uncached_attendee_click_is_answered_without_a_database_lock(tmp_path: Path) -> None:
    from sqlalchemy import delete

    from services.models import Person

    async with running_bot(tmp_path) as bot:
        await bot.send("ai_audit_discovery")
        ts, item_id = await _card(bot, "U01MAYA")
        async with bot.runtime.db.session() as s:
            await s.execute(delete(Person).where(Person.email == "jonas@agency.example"))
        lookups = len(bot.slack.calls_to("users.lookupByEmail"))
        ref = encode(ItemRef(item_id=item_id))
        await bot.slack.click_button("U02JONAS", MEETINGS_CHANNEL, ts, ActionItemAction.DONE, ref)
        await bot.wait_for(
            lambda: "Done by <@U02JONAS>" in _text(bot.slack.message(MEETINGS_CHANNEL, ts)), timeout=10
        )
        assert len(bot.slack.calls_to("users.lookupByEmail")) > lookups  # Jonas was looked up in Slack
