"""The Slack gateway against the local Slack-compatible server: rate limits shared across callers,
bounded waits, refs recorded once, and the people cache (hits and misses, with expiry)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update

from blocks.common import notice
from bot.clients import build_slack_client
from bot.sandbox import LocalSlack
from services.clock import utcnow
from services.db import Database
from services.models import Person, SlackMessageRef
from services.slack.gateway import RateGate, SlackGateway


@pytest.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    local = await LocalSlack.start()
    yield local
    await local.stop()


def gateway_for(slack: LocalSlack, db: Database, max_wait: float = 30) -> SlackGateway:
    gate = RateGate(max_wait=max_wait)
    return SlackGateway(build_slack_client(slack.bot_token, slack.api_url, gate), db, gate)


async def test_a_429_pauses_every_caller_of_that_method_for_retry_after(
    slack: LocalSlack, db: Database
) -> None:
    gateway = gateway_for(slack, db)
    slack.fail_next("chat.postMessage", status=429, retry_after=1, count=1)
    start = time.monotonic()
    results = await asyncio.gather(*[gateway.post("C02MEETINGS", notice(f"n{i}")) for i in range(5)])
    assert len({r.ts for r in results}) == 5  # all delivered, once each
    posted = [c for c in slack.calls_to("chat.postMessage") if c.status == 200]
    assert len(posted) == 5 and time.monotonic() - start >= 1.0


async def test_the_total_wait_for_rate_limits_is_bounded(slack: LocalSlack, db: Database) -> None:
    gateway = gateway_for(slack, db, max_wait=1.5)
    slack.fail_next("chat.postMessage", status=429, retry_after=1, count=10)
    start = time.monotonic()
    with pytest.raises(SlackApiError) as err:
        await gateway.post("C02MEETINGS", notice("x"))
    assert err.value.response.status_code == 429 and time.monotonic() - start < 5


async def test_post_or_update_posts_once_then_updates_in_place(slack: LocalSlack, db: Database) -> None:
    gateway = gateway_for(slack, db)
    first = await gateway.post_or_update("meeting:1", "C02MEETINGS", notice("first"))
    again = await gateway.post_or_update("meeting:1", "C02MEETINGS", notice("first"))  # unchanged: no call
    assert again == first and not slack.calls_to("chat.update")
    await gateway_for(slack, db).post_or_update(
        "meeting:1", "C02MEETINGS", notice("second")
    )  # another process
    assert len(slack.messages("C02MEETINGS")) == 1
    assert slack.message("C02MEETINGS", first.ts)["text"] == "second"
    async with db.session() as s:
        assert len((await s.scalars(select(SlackMessageRef))).all()) == 1


async def test_a_deleted_message_is_posted_again_not_lost(slack: LocalSlack, db: Database) -> None:
    gateway = gateway_for(slack, db)
    first = await gateway.post_or_update("meeting:2", "C02MEETINGS", notice("one"))
    await gateway.client.chat_delete(channel=first.channel, ts=first.ts)
    again = await gateway_for(slack, db).post_or_update("meeting:2", "C02MEETINGS", notice("two"))
    assert again.ts != first.ts and slack.message("C02MEETINGS", again.ts)["text"] == "two"


async def test_people_lookups_are_cached_hits_and_misses_with_expiry(slack: LocalSlack, db: Database) -> None:
    gateway = gateway_for(slack, db)
    maya = await gateway.user_for_email("Maya@Agency.example")
    assert maya and maya.id == "U01MAYA" and maya.tz
    assert await gateway.user_for_email("nobody@agency.example") is None
    mentions = await gateway.mentions_for(["maya@agency.example", "nobody@agency.example", None])
    assert mentions == {"maya@agency.example": "U01MAYA"}
    assert len(slack.calls_to("users.lookupByEmail")) == 2  # the repeat lookups came from the cache
    async with db.session() as s:  # an hour later the miss is asked again (the person may have joined)
        await s.execute(update(Person).values(looked_up_at=utcnow() - timedelta(hours=2)))
    await gateway.mentions_for(["maya@agency.example", "nobody@agency.example"])
    assert len(slack.calls_to("users.lookupByEmail")) == 3
