"""ActionItemService on a real SQLite file: authorisation, transitions, versions, audit, snooze times."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from bot.clients import build_slack_client
from bot.sandbox import LocalSlack
from bot.sandbox.slack_state import BOT_USER_ID
from services.action_items import ActionItemService, SnoozeKind, ValidationFailed, snooze_until
from services.audit_log import history
from services.db import Database
from services.errors import NotAllowed, StaleState
from services.models import ActionItem, Meeting, Person
from services.os_config import OSConfig
from services.slack.gateway import RateGate, SlackGateway

PAYLOAD = {
    "title": "Sync",
    "recording_id": 1,
    "calendar_invitees": [
        {"name": "Jonas Reed", "email": "jonas@agency.example", "is_external": False},
        {"name": "Rosa", "email": "rosa@client.example", "is_external": True},
    ],
}
NOW = datetime(2026, 1, 14, 15, 0, tzinfo=UTC)


async def setup(db: Database) -> tuple[ActionItemService, int]:
    async with db.session() as s:
        meeting = Meeting(recording_id=1, title="Sync", payload=PAYLOAD)
        s.add(meeting)
        s.add(Person(email="jonas@agency.example", name="Jonas Reed", slack_user_id="U02JONAS"))
        s.add(Person(email="boss@agency.example", name="Boss", slack_user_id="U07BOSS"))
        await s.flush()
        item = ActionItem(
            meeting_id=meeting.id, dedupe_key="k", source="fathom", text="Send SOW", owner_slack_id="U01MAYA"
        )
        s.add(item)
        await s.flush()
        item_id = item.id
    config = OSConfig(admins=["boss@agency.example"])
    return ActionItemService(db, lambda: config, clock=lambda: NOW), item_id


async def test_stranger_is_refused_and_nothing_changes(db: Database) -> None:
    service, item_id = await setup(db)
    with pytest.raises(NotAllowed):
        await service.complete(item_id, "U09STRANGER")
    item = await service.get(item_id)
    assert item.status == "open" and item.version == 1
    assert await history(db, f"action_item:{item_id}") == []


@pytest.mark.parametrize("actor", ["U01MAYA", "U02JONAS", "U07BOSS"])
async def test_owner_internal_attendee_and_admin_may_complete(db: Database, actor: str) -> None:
    service, item_id = await setup(db)
    item = await service.complete(item_id, actor)
    assert item.status == "done" and item.completed_by == actor and item.version == 2
    [entry] = await history(db, f"action_item:{item_id}")
    assert entry.actor == actor and entry.before["status"] == "open" and entry.after["version"] == 2


async def test_done_twice_names_who_did_it(db: Database) -> None:
    service, item_id = await setup(db)
    await service.complete(item_id, "U02JONAS")
    with pytest.raises(StaleState, match="by Jonas Reed"):
        await service.complete(item_id, "U01MAYA")
    assert (await service.get(item_id)).version == 2


async def test_edit_reports_every_bad_field_and_refuses_an_old_version(db: Database) -> None:
    service, item_id = await setup(db)
    with pytest.raises(ValidationFailed) as bad:
        await service.edit(
            item_id, "U01MAYA", version=1, text=" ", owner_slack_id=None, due_date="x", priority="?"
        )
    assert set(bad.value.errors) == {"text", "due_date", "priority"}
    await service.edit(
        item_id, "U01MAYA", version=1, text="New", owner_slack_id=None, due_date=None, priority="urgent"
    )
    with pytest.raises(StaleState):
        await service.edit(
            item_id, "U01MAYA", version=1, text="Old", owner_slack_id=None, due_date=None, priority="urgent"
        )
    assert (await service.get(item_id)).text == "New"


async def test_reassign_names_the_new_owner_to_tell(db: Database) -> None:
    service, item_id = await setup(db)
    change = await service.reassign(item_id, "U02JONAS", "U01MAYA")
    assert change.notify == "U02JONAS" and change.item.owner_name == "Jonas Reed"
    assert [i.id for i in await service.open_items_for("U02JONAS")] == [item_id]


@pytest.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    local = await LocalSlack.start()
    yield local
    await local.stop()


async def with_slack(db: Database, slack: LocalSlack) -> tuple[ActionItemService, int]:
    """The service with the real gateway (and its people cache) over the local Slack server."""
    _, item_id = await setup(db)
    gate = RateGate(max_wait=5)
    gateway = SlackGateway(build_slack_client(slack.bot_token, slack.api_url, gate), db, gate)
    config = OSConfig(admins=["boss@agency.example"])
    return ActionItemService(db, lambda: config, directory=gateway, clock=lambda: NOW), item_id


async def test_uncached_internal_attendee_may_complete_without_waiting_on_the_db_lock(
    db: Database, slack: LocalSlack
) -> None:
    """Jonas is in the meeting but not yet in the people cache: his right to act is looked up in
    Slack before the unit of work (inside it, the cache write waited 30 s for "database is locked")."""
    service, item_id = await with_slack(db, slack)
    async with db.session() as s:
        await s.execute(delete(Person).where(Person.email == "jonas@agency.example"))
    item = await asyncio.wait_for(service.complete(item_id, "U02JONAS"), timeout=10)
    assert item.status == "done" and item.completed_by == "U02JONAS"
    assert [c.params.get("email") for c in slack.calls_to("users.lookupByEmail")] == ["jonas@agency.example"]
    [entry] = await history(db, f"action_item:{item_id}")
    assert entry.actor == "U02JONAS"


@pytest.mark.parametrize(
    ("new_owner", "asks_slack"),
    [("W<!here>", False), ("u02jonas", False), ("U", False), ("U99NOBODY", True), (BOT_USER_ID, True)],
)
async def test_reassign_to_no_real_person_is_refused_before_anything_changes(
    db: Database, slack: LocalSlack, new_owner: str, asks_slack: bool
) -> None:
    service, item_id = await with_slack(db, slack)
    with pytest.raises(ValidationFailed) as refused:
        await service.reassign(item_id, new_owner, "U01MAYA")
    assert set(refused.value.errors) == {"owner"}
    with pytest.raises(ValidationFailed):
        await service.edit(
            item_id,
            "U01MAYA",
            version=1,
            text="Send SOW",
            owner_slack_id=new_owner,
            due_date=None,
            priority="urgent",
        )
    item = await service.get(item_id)
    assert item.owner_slack_id == "U01MAYA" and item.version == 1
    assert await history(db, f"action_item:{item_id}") == []
    assert bool(slack.calls_to("users.info")) is asks_slack


async def test_reassign_to_an_uncached_workspace_member_stores_their_name(
    db: Database, slack: LocalSlack
) -> None:
    service, item_id = await with_slack(db, slack)
    change = await service.reassign(item_id, "U04OMAR", "U01MAYA")
    assert change.item.owner_slack_id == "U04OMAR" and change.item.owner_name
    assert [c.params.get("user") for c in slack.calls_to("users.info")] == ["U04OMAR"]


def test_snooze_choices_land_at_nine_in_the_owners_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert snooze_until(SnoozeKind.ONE_HOUR, NOW, berlin) == datetime(2026, 1, 14, 16, 0, tzinfo=UTC)
    assert snooze_until(SnoozeKind.TOMORROW, NOW, berlin) == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert snooze_until(SnoozeKind.NEXT_MONDAY, NOW, berlin) == datetime(2026, 1, 19, 8, 0, tzinfo=UTC)
    ny = ZoneInfo("America/New_York")
    assert snooze_until(SnoozeKind.PICK_DATE, NOW, ny, date(2026, 3, 9)) == datetime(
        2026, 3, 9, 13, 0, tzinfo=UTC
    )
    with pytest.raises(ValidationFailed):
        snooze_until(SnoozeKind.PICK_DATE, NOW, ny, date(2026, 1, 1))
