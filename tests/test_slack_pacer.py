"""The pacer sends at Slack's rate (no 429 at all) and serves interactive calls before bulk ones.

Against the local Slack server with Slack's limits on (5x faster, same shape: bursts and per-channel
buckets), over real HTTP with the real slack_sdk client and no retry handler, so any 429 would raise.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import LocalSlack
from services.db import Database
from services.jobs import PRIORITY_FIRST_CARD, PRIORITY_NORMAL, JobQueue, Worker
from services.models import Job
from services.slack.pacer import INTERACTIVE, Pacer, pacing_priority
from services.slack.rate_limits import limit_for, scaled

SCALE = 5.0


@pytest.fixture
async def local() -> AsyncIterator[LocalSlack]:
    slack = await LocalSlack.start(rate_limits=True, rate_scale=SCALE)
    yield slack
    await slack.stop()


@pytest.fixture
def client(local: LocalSlack) -> AsyncWebClient:
    return AsyncWebClient(token=local.bot_token, base_url=local.api_url, retry_handlers=[])


async def test_a_paced_100_message_run_gets_no_429(local: LocalSlack, client: AsyncWebClient) -> None:
    pacer = Pacer(scaled(limit_for, SCALE))
    channels = [local.add_channel(f"meetings-{i}").id for i in range(4)]

    async def post(n: int) -> None:
        channel = channels[n % len(channels)]
        await pacer.acquire("chat.postMessage", channel, PRIORITY_NORMAL)
        await client.chat_postMessage(channel=channel, text=f"card {n}")

    await asyncio.gather(*[post(n) for n in range(100)])
    assert local.rates is not None and local.rates.limited == 0
    assert sum(len(local.messages(c)) for c in channels) == 100
    assert pacer.waited > 0  # the run was beyond the burst: the pacer did the waiting

    # the same burst without the pacer is throttled: the check above can fail
    unpaced = local.add_channel("unpaced").id
    results = await asyncio.gather(
        *[client.chat_postMessage(channel=unpaced, text=f"x{n}") for n in range(10)], return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, SlackApiError)]
    assert refused and all(r.response.status_code == 429 for r in refused)


async def test_an_interactive_update_overtakes_queued_bulk_updates(
    local: LocalSlack, client: AsyncWebClient
) -> None:
    pacer = Pacer(scaled(limit_for, SCALE))
    channel = local.add_channel("meetings").id
    card = await client.chat_postMessage(channel=channel, text="card")
    granted: list[str] = []

    async def update(name: str, priority: int) -> None:
        await pacer.acquire("chat.update", channel, priority)
        granted.append(name)
        await client.chat_update(channel=channel, ts=card["ts"], text=name)

    bulk = [asyncio.create_task(update(f"bulk-{n}", PRIORITY_NORMAL)) for n in range(60)]
    # Tier 3 holds 50 a minute; the pacer grants 49 at once and queues the rest behind its refill
    while len(granted) < 49:
        await asyncio.sleep(0.01)
    assert len(granted) == 49
    await update("click", INTERACTIVE)  # returns when its token is granted and the update is sent
    assert granted.index("click") == 49  # the first token after the burst went to the click
    await asyncio.gather(*bulk)
    assert granted[50:] == [f"bulk-{n}" for n in range(49, 60)]  # the queued bulk came after it
    assert local.rates is not None and local.rates.limited == 0


async def test_first_card_beats_bulk_in_the_same_channel(local: LocalSlack, client: AsyncWebClient) -> None:
    pacer = Pacer(scaled(limit_for, SCALE))
    channel = local.add_channel("meetings").id
    order: list[str] = []

    async def post(name: str, priority: int) -> None:
        await pacer.acquire("chat.postMessage", channel, priority)
        order.append(name)
        await client.chat_postMessage(channel=channel, text=name)

    bulk = [asyncio.create_task(post(f"reply-{n}", PRIORITY_NORMAL)) for n in range(6)]
    while len(order) < 2:  # the burst (2 below Slack's 3) is spent
        await asyncio.sleep(0.01)
    await post("first-card", PRIORITY_FIRST_CARD)
    await asyncio.gather(*bulk)
    assert order.index("first-card") == 2
    assert local.rates is not None and local.rates.limited == 0


async def test_calls_outside_a_job_are_interactive_and_jobs_carry_their_priority(db: Database) -> None:
    assert pacing_priority() == INTERACTIVE
    queue = JobQueue(db)
    seen: dict[str, int] = {}
    done = asyncio.Event()

    async def handler(job: Job) -> None:
        seen[job.kind] = pacing_priority()
        if len(seen) == 2:
            done.set()

    worker = Worker(queue, {"card": handler, "bulk": handler}, poll_interval=0.05)
    worker.start()
    try:
        await queue.submit("card", {}, priority=PRIORITY_FIRST_CARD)
        await queue.submit("bulk", {})
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await worker.stop()
    assert seen == {"card": PRIORITY_FIRST_CARD, "bulk": PRIORITY_NORMAL}
    assert pacing_priority() == INTERACTIVE


async def test_the_gateway_paces_a_meeting_burst_into_one_channel(local: LocalSlack, db: Database) -> None:
    from blocks.common import Message
    from services.slack.gateway import RateGate, SlackGateway

    gate = RateGate(max_wait=30)
    client = AsyncWebClient(token=local.bot_token, base_url=local.api_url, retry_handlers=[])
    gateway = SlackGateway(client, db, gate, Pacer(scaled(limit_for, SCALE)))
    channel = local.add_channel("meetings").id
    parent = await gateway.post(channel, Message(text="card"))
    await asyncio.gather(
        *[gateway.post(channel, Message(text=f"item {n}"), thread_ts=parent.ts) for n in range(12)]
    )
    assert local.rates is not None and local.rates.limited == 0
    assert len(local.thread(channel, parent.ts)) == 13


def test_pacing_is_on_for_slack_and_for_a_local_server_that_models_the_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.clients import build_pacer

    monkeypatch.delenv("LOCAL_SLACK_RATE_LIMITS", raising=False)
    assert isinstance(build_pacer("https://slack.com/api/"), Pacer)
    assert build_pacer("http://127.0.0.1:3000/api/") is None
    monkeypatch.setenv("LOCAL_SLACK_RATE_LIMITS", "1")
    assert isinstance(build_pacer("http://127.0.0.1:3000/api/"), Pacer)
