"""Fathom External API client against the local stand-in (bot/sandbox/fathom_api.py) over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.sandbox.fathom_api import FathomStandIn
from services.fathom_api import ApiKey, FathomAPI, FathomAPIError, parse_keys, retry_after_seconds
from tests.helpers import load_fixture

T0 = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


def meeting(rid: int, minutes: int = 0, **changes: Any) -> dict[str, Any]:
    data = load_fixture("ami_ES2006a_kickoff")
    data.update(recording_id=rid, created_at=(T0 + timedelta(minutes=minutes)).isoformat(), **changes)
    return data


class FakeClock:
    """Shared by client and stand-in: time moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
async def stand_in() -> AsyncIterator[FathomStandIn]:
    server = await FathomStandIn.start(page_size=3)
    yield server
    await server.stop()


def client(server: FathomStandIn, keys: list[ApiKey] | None = None, **kwargs: Any) -> FathomAPI:
    return FathomAPI(server.api_url, keys or [ApiKey("maya", "fathom-test-key")], **kwargs)


async def test_stand_in_pages_validate_against_the_official_sdk_models(stand_in: FathomStandIn) -> None:
    models = pytest.importorskip("fathom_python.models")
    for rid in range(1, 8):
        stand_in.add(meeting(rid, rid))
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{stand_in.api_url}/meetings",
            params={"include_transcript": "true", "include_summary": "true", "include_action_items": "true"},
            headers={"X-Api-Key": "fathom-test-key"},
        )
    page = models.MeetingListResponse.model_validate(response.json())
    assert len(page.items) == 3 and page.next_cursor
    assert page.items[0].recording_id == 7  # newest first, as Fathom lists them
    assert page.items[0].transcript and page.items[0].default_summary and page.items[0].action_items


async def test_listing_follows_cursors_and_include_switches(stand_in: FathomStandIn) -> None:
    for rid in range(1, 9):
        stand_in.add(meeting(rid, rid))
    api = client(stand_in)
    try:
        items = [m async for m in api.meetings(created_after=T0 + timedelta(minutes=2))]
        assert sorted(m["recording_id"] for m in items) == [3, 4, 5, 6, 7, 8]
        assert api.calls == 2  # 6 meetings, pages of 3
        assert all(m["transcript"] and m["action_items"] for m in items)
        assert {q["include_transcript"] for q in stand_in.requests} == {"true"}
        bare = await api.list_meetings(
            api.keys[0], include_transcript=False, include_summary=False, include_action_items=False
        )
        assert "transcript" not in bare.items[0] and "default_summary" not in bare.items[0]
    finally:
        await api.close()


async def test_429_retry_after_is_honoured_then_the_page_arrives(stand_in: FathomStandIn) -> None:
    stand_in.add(meeting(1))
    stand_in.force_429(2, retry_after=7)
    clock = FakeClock()
    api = client(stand_in, clock=clock, sleep=clock.sleep)
    try:
        page = await api.list_meetings(api.keys[0])
    finally:
        await api.close()
    assert [m["recording_id"] for m in page.items] == [1]
    assert stand_in.throttled == 2 and api.rate_limited == 2
    assert clock.sleeps == [7.0, 7.0]  # each Retry-After waited out in full before the next call


async def test_pacing_stays_under_the_limit_so_no_429_comes() -> None:
    clock = FakeClock()
    server = await FathomStandIn.start(page_size=1, limit=5, window_seconds=60, clock=clock)
    for rid in range(1, 13):
        server.add(meeting(rid, rid))
    api = client(server, calls_per_minute=5, clock=clock, sleep=clock.sleep)
    try:
        items = [m async for m in api.meetings()]
    finally:
        await api.close()
        await server.stop()
    assert len(items) == 12 and server.throttled == 0
    assert clock.now - 1000.0 == pytest.approx(121.2)  # 12 calls at 5/min: two windows (+1% margin)


async def test_rate_limit_gives_up_after_the_bounded_wait(stand_in: FathomStandIn) -> None:
    stand_in.force_429(5, retry_after=200)
    clock = FakeClock()
    api = client(stand_in, clock=clock, sleep=clock.sleep, max_rate_wait=300)
    try:
        with pytest.raises(FathomAPIError, match="rate limit for maya"):
            await api.list_meetings(api.keys[0])
    finally:
        await api.close()


async def test_several_keys_are_merged_by_recording_id() -> None:
    server = await FathomStandIn.start(
        page_size=2, owners={"k-maya": "maya@agency.example", "k-jonas": "jonas@agency.example"}
    )
    server.add(meeting(1, 1, shared_with="no_teams", recorded_by={"email": "maya@agency.example"}))
    server.add(meeting(2, 2, shared_with="no_teams", recorded_by={"email": "jonas@agency.example"}))
    server.add(meeting(3, 3, shared_with="all_teams", recorded_by={"email": "jonas@agency.example"}))
    api = FathomAPI(server.api_url, [ApiKey("maya", "k-maya"), ApiKey("jonas", "k-jonas")])
    try:
        seen = [m["recording_id"] async for m in api.meetings()]
    finally:
        await api.close()
        await server.stop()
    assert sorted(seen) == [1, 2, 3]  # maya alone would miss 2, jonas alone would miss 1


async def test_a_refused_key_is_a_clear_error(stand_in: FathomStandIn) -> None:
    api = client(stand_in, [ApiKey("old-key-owner", "revoked")])
    try:
        with pytest.raises(FathomAPIError, match="old-key-owner was refused \\(401\\)"):
            await api.list_meetings(api.keys[0])
    finally:
        await api.close()


def test_keys_parse_owners_and_drop_duplicates() -> None:
    keys = parse_keys("k1", "maya@agency.example=k2, k1 ,k3")
    assert [(k.owner, k.key) for k in keys] == [
        ("default", "k1"),
        ("maya@agency.example", "k2"),
        ("key3", "k3"),
    ]
    assert "k2" not in repr(keys)
    with pytest.raises(ValueError, match="owner=key"):
        parse_keys(None, "maya=")


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds(None) == 60.0
    later = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 <= retry_after_seconds(later) <= 31
