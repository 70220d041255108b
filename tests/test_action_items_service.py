"""ActionItemService on a real SQLite file: authorisation, transitions, versions, audit, snooze times."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.action_items import ActionItemService, SnoozeKind, ValidationFailed, snooze_until
from services.audit_log import history
from services.db import Database
from services.errors import NotAllowed, StaleState
from services.models import ActionItem, Meeting, Person
from services.os_config import OSConfig

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
