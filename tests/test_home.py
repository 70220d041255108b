"""Home tab: a new user's welcome, a busy user's collapsed lists, an approver's queue, limits."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from blocks.home import HomeAction, MoreRef, home_view, more_modal
from blocks.limits import check_view
from blocks.values import encode
from services.clock import utcnow
from services.db import Database
from services.models import ActionItem, OSProposal
from tests.harness import running_bot
from tests.support.home import MAYA, home_service
from tests.support.ingest import ingest_fixtures


async def add_items(db: Database, meeting_id: int, count: int, owner: str = MAYA) -> None:
    today = utcnow().date()
    async with db.session() as s:
        for n in range(count):
            s.add(
                ActionItem(
                    meeting_id=meeting_id,
                    position=100 + n,
                    dedupe_key=f"bulk-{owner}-{n}",
                    source="manual",
                    text=f"Bulk task number {n} " + "with a long description " * 20,
                    owner_slack_id=owner,
                    due_date=today + timedelta(days=(n % 20) - 5),
                    priority="important",
                )
            )


def texts(view: dict) -> str:
    return json.dumps(view["blocks"])


async def test_new_user_sees_welcome_and_how_to_connect_fathom(any_db: Database) -> None:
    db = any_db
    data = await home_service(db).load("U09NEW", email=None, is_approver=False, now=utcnow())
    view = home_view(data)
    assert data.is_new
    assert "Connect Fathom" in texts(view) and "FATHOM_WEBHOOK_SECRET" in texts(view)
    assert "more" not in [b.get("block_id", "").rsplit(":", 1)[-1] for b in view["blocks"]]
    assert check_view(view) == []


async def test_busy_user_sees_overdue_first_and_the_rest_behind_n_more(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    await add_items(db, ids["ai_audit_discovery"], 500)
    now = utcnow()
    data = await home_service(db).load(MAYA, email="maya@agency.example", is_approver=False, now=now)
    assert data.open_total >= 500 and not data.is_new
    assert all(i.due_date and i.due_date < now.date() for i in data.open_items), "overdue first"
    view = home_view(data)
    assert check_view(view) == []
    more = next(b for b in view["blocks"] if b.get("block_id") == "home:items:more")
    button = more["elements"][0]
    assert button["action_id"] == HomeAction.SHOW_MORE
    assert button["text"]["text"] == f"{data.open_total - len(data.open_items)} more"
    assert any(b.get("block_id") == f"action_item:{data.open_items[0].id}:actions" for b in view["blocks"])
    assert "Remote Control Project" in texts(view), "recent meetings the user attended"
    big = await home_service(db).load(
        MAYA, email="maya@agency.example", is_approver=False, now=now, limit=300
    )
    modal = more_modal("items", big)
    assert check_view(modal) == []
    assert "Showing 300 of" in texts(modal)


async def test_approver_sees_pending_proposals_and_others_do_not(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    async with db.session() as s:
        for n in range(8):
            s.add(
                OSProposal(
                    meeting_id=ids["ai_audit_discovery"],
                    path=f"clients/brightline/notes-{n}.md",
                    action="append",
                    content="New pricing notes",
                    reason="Pricing was agreed",
                )
            )
    service = home_service(db)
    approver = home_view(await service.load(MAYA, email=None, is_approver=True, now=utcnow()))
    other = home_view(await service.load("U02JONAS", email=None, is_approver=False, now=utcnow()))
    assert "awaiting your approval (8)" in texts(approver)
    assert "clients/brightline/notes-0.md" in texts(approver)
    assert any(b.get("block_id") == "home:proposals:more" for b in approver["blocks"])
    assert "clients/brightline" not in texts(other)
    assert check_view(approver) == [] and check_view(other) == []


async def test_team_panel_counts_meetings_hours_overdue_and_claude_cost(any_db: Database) -> None:
    db = any_db
    ids = await ingest_fixtures(db)
    await add_items(db, ids["partner_sync"], 20)
    team = await home_service(db).team_panel(utcnow())
    view_text = texts(
        home_view(await home_service(db).load(MAYA, email=None, is_approver=False, now=utcnow()))
    )
    assert "Completion" in view_text and "Claude cost this month" in view_text
    assert team.claude_cost_month == 0  # heuristic analysis costs nothing
    assert team.completion_30d is not None
    assert team.overdue_by_person[MAYA] == 5  # due dates run from 5 days ago
    assert "Overdue by person" in view_text and "<@U01MAYA> 5" in view_text


async def test_home_tab_and_more_modal_through_local_slack(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await ingest_fixtures(bot.runtime.db)
        await add_items(bot.runtime.db, 1, 60)
        await bot.slack.open_home(MAYA)
        await bot.wait_for(lambda: bot.slack.home_view(MAYA) is not None)
        view = bot.slack.home_view(MAYA)
        assert view is not None and "Your open action items" in texts(view)
        await bot.slack.click_button(
            MAYA, None, None, HomeAction.SHOW_MORE, encode(MoreRef(section="items")), view_id=view["id"]
        )
        await bot.wait_for(lambda: bool(bot.slack.modal_stack(MAYA)))
        assert "Bulk task number" in json.dumps(bot.slack.modal_stack(MAYA)[-1]["blocks"])


async def test_home_tab_refreshes_once_after_a_burst_of_changes(tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from blocks.ids import ActionItemAction
    from blocks.values import ItemRef, encode
    from tests.harness import MEETINGS_CHANNEL, running_bot
    from tests.helpers import load_fixture

    FIXTURE = "ai_audit_discovery"  # noqa: N806
    async with running_bot(tmp_path) as bot:
        publisher = bot.runtime.slack.home
        publisher.delay = 60.0  # nothing fires by itself: drain() below publishes what is pending
        await bot.send(FIXTURE)
        await bot.slack.open_home("U01MAYA")
        await bot.wait_for(lambda: bot.slack.home_view("U01MAYA") is not None and len(bot.parents()) == 1)
        parent = bot.parents()[0]["ts"]

        def item_cards() -> list[tuple[str, int]]:
            out = []
            for reply in bot.slack.thread(MEETINGS_CHANNEL, parent)[1:]:
                blocks = reply.get("blocks") or []
                if "action_item.done" in str(blocks):
                    out.append((reply["ts"], int(blocks[0]["block_id"].split(":")[1])))
            return out

        async def every_item_carded() -> bool:
            meeting = await bot.runtime.pipeline.store.by_recording(load_fixture(FIXTURE)["recording_id"])
            if meeting is None or meeting.status != "analysed":
                return False
            async with bot.runtime.db.session() as s:
                count = await s.scalar(select(func.count()).select_from(ActionItem))
            return bool(count and count >= 2 and len(item_cards()) == count)

        await bot.wait_for(every_item_carded)
        refreshes: list[list[str | None]] = []
        refresh_soon = publisher.refresh_soon

        def counted(user_ids: Iterable[str | None]) -> None:
            refreshes.append(list(user_ids))
            refresh_soon(refreshes[-1])

        publisher.refresh_soon = counted  # type: ignore[method-assign]
        before = len(bot.slack.calls_to("views.publish"))
        cards = item_cards()
        for ts, item_id in cards:  # Maya, an attendee, completes every item
            await bot.slack.click_button(
                "U01MAYA", MEETINGS_CHANNEL, ts, ActionItemAction.DONE, encode(ItemRef(item_id=item_id))
            )
        await bot.wait_for(lambda: len(refreshes) == len(cards))  # every click has asked for its refresh
        await publisher.drain()
        maya_publishes = [
            c for c in bot.slack.calls_to("views.publish")[before:] if c.params.get("user_id") == "U01MAYA"
        ]
        assert len(maya_publishes) == 1  # debounced: one refresh for the whole burst
