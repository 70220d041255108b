"""The Slack gateway against the local Slack-compatible server: rate limits shared across callers,
bounded waits, refs recorded once (a crash between the post and its ref included), and the people
cache (hits and misses, with expiry)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from sqlalchemy import event, func, select, update

from blocks.common import notice
from bot.clients import build_slack_client
from bot.sandbox import LocalSlack
from services.clock import utcnow
from services.db import Database
from services.models import Person, SlackMessageRef, SlackPendingPost
from services.slack import gateway as gateway_module
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
    assert not slack.calls_to("conversations.history")  # the normal path never searches Slack
    assert slack.message("C02MEETINGS", first.ts)["metadata"] == {
        "event_type": "fathom_os_ref",
        "event_payload": {"key": "meeting:1"},
    }
    await gateway_for(slack, db).post_or_update(
        "meeting:1", "C02MEETINGS", notice("second")
    )  # another process
    assert len(slack.messages("C02MEETINGS")) == 1
    assert slack.message("C02MEETINGS", first.ts)["text"] == "second"
    async with db.session() as s:
        assert len((await s.scalars(select(SlackMessageRef))).all()) == 1
        assert await s.scalar(select(func.count()).select_from(SlackPendingPost)) == 0


class Died(Exception):
    """Stands for the process dying after Slack answered and before the ref was written."""


@contextmanager
def ref_write_fails_once(db: Database) -> Iterator[list[str]]:
    """The next INSERT into slack_message_refs raises (the real database, a real statement)."""
    failed: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not failed and statement.lstrip().upper().startswith("INSERT INTO SLACK_MESSAGE_REFS"):
            failed.append(statement)
            raise Died("killed between Slack's reply and the recorded ref")

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield failed
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)


async def _pending(db: Database) -> list[str]:
    async with db.session() as s:
        return list((await s.scalars(select(SlackPendingPost.entity))).all())


async def test_a_post_whose_ref_was_lost_is_found_and_updated_not_posted_again(
    slack: LocalSlack, any_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = any_db
    with ref_write_fails_once(db) as failed, pytest.raises(Died):
        await gateway_for(slack, db).post_or_update("meeting:7", "C02MEETINGS", notice("first"))
    assert failed and len(slack.messages("C02MEETINGS")) == 1  # Slack has it; the database does not
    assert await _pending(db) == ["meeting:7"]
    for n in range(5):  # newer messages push it past the first page of history
        slack.workspace.add_message("C02MEETINGS", {"user": "U01MAYA", "text": f"chatter {n}"})
    await gateway_for(slack, db).post_or_update("meeting:8", "C02MEETINGS", notice("another card"))
    monkeypatch.setattr(gateway_module, "LOOKUP_PAGE", 2)

    restarted = gateway_for(slack, db)  # a new process: empty caches, the same database
    ref = await restarted.post_or_update("meeting:7", "C02MEETINGS", notice("second"))

    cards = [m for m in slack.messages("C02MEETINGS") if m.get("bot_id")]
    assert [m["text"] for m in cards] == ["second", "another card"]  # one message each, updated in place
    assert ref.ts == cards[0]["ts"] and len(slack.calls_to("chat.postMessage")) == 2
    assert len(slack.calls_to("conversations.history")) >= 2  # paged with the cursor
    assert (await restarted.ref("meeting:7")) == ref and await _pending(db) == []
    searches = len(slack.calls_to("conversations.history"))
    await gateway_for(slack, db).post_or_update("meeting:7", "C02MEETINGS", notice("third"))
    assert len(slack.calls_to("conversations.history")) == searches  # recorded: no more searching
    assert slack.message("C02MEETINGS", ref.ts)["text"] == "third"


async def test_a_thread_reply_whose_ref_was_lost_is_found_with_conversations_replies(
    slack: LocalSlack, db: Database
) -> None:
    parent = await gateway_for(slack, db).post_or_update("meeting:3", "C02MEETINGS", notice("card"))
    with ref_write_fails_once(db), pytest.raises(Died):
        await gateway_for(slack, db).post_or_update(
            "action_item:9", parent.channel, notice("item v1"), thread_ts=parent.ts
        )
    ref = await gateway_for(slack, db).post_or_update(
        "action_item:9", parent.channel, notice("item v2"), thread_ts=parent.ts
    )
    replies = slack.thread("C02MEETINGS", parent.ts)[1:]
    assert [m["text"] for m in replies] == ["item v2"] and ref.ts == replies[0]["ts"]
    assert ref.thread_ts == parent.ts and len(slack.calls_to("conversations.replies")) == 1
    assert not slack.calls_to("conversations.history") and await _pending(db) == []


async def test_a_pending_post_that_never_reached_slack_is_posted_once(
    slack: LocalSlack, db: Database
) -> None:
    async with db.session() as s:  # what a kill just before chat.postMessage leaves behind
        s.add(SlackPendingPost(entity="meeting:4", channel="C02MEETINGS", thread_ts=None))
    await gateway_for(slack, db).post_or_update("meeting:4", "C02MEETINGS", notice("card"))
    assert [m["text"] for m in slack.messages("C02MEETINGS")] == ["card"]
    assert len(slack.calls_to("conversations.history")) == 1 and await _pending(db) == []


async def test_a_post_slack_refused_leaves_no_pending_marker(slack: LocalSlack, db: Database) -> None:
    slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    with pytest.raises(SlackApiError):
        await gateway_for(slack, db).post_or_update("meeting:5", "C02MEETINGS", notice("card"))
    assert await _pending(db) == []  # Slack said no: the retry needs no search
    await gateway_for(slack, db).post_or_update("meeting:5", "C02MEETINGS", notice("card"))
    assert len(slack.messages("C02MEETINGS")) == 1 and not slack.calls_to("conversations.history")


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


async def test_the_local_slack_returns_metadata_only_when_asked_as_slack_does(slack: LocalSlack) -> None:
    client = build_slack_client(slack.bot_token, slack.api_url, RateGate())
    meta = {"event_type": "fathom_os_ref", "event_payload": {"key": "meeting:1"}}
    parent = await client.chat_postMessage(channel="C02MEETINGS", text="card", metadata=meta)
    await client.chat_postMessage(channel="C02MEETINGS", text="reply", thread_ts=parent["ts"], metadata=meta)
    plain = await client.conversations_history(channel="C02MEETINGS")
    full = await client.conversations_history(channel="C02MEETINGS", include_all_metadata=True)
    assert "metadata" not in plain["messages"][0] and full["messages"][0]["metadata"] == meta
    replies = await client.conversations_replies(
        channel="C02MEETINGS", ts=parent["ts"], include_all_metadata=True
    )
    assert [m.get("metadata") for m in replies["messages"]] == [meta, meta]
    assert replies["response_metadata"] == {"next_cursor": ""} and not replies["has_more"]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C02MEETINGS", text="x", metadata={"event_type": "t"})
    assert err.value.response["error"] == "invalid_metadata_schema"
