"""The local Slack server answers 429 + Retry-After beyond Slack's published limits, as Slack does.

The clock is a hand-moved one so that a loaded machine cannot refill a bucket between two calls;
the calls themselves go over real HTTP through the real slack_sdk client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import LocalSlack
from bot.sandbox.slack_rates import (
    METHOD_TIERS,
    POST_MESSAGE_BURST,
    RATES_ENV,
    TIER_PER_MINUTE,
    rates_enabled_from_env,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def local(clock: Clock) -> AsyncIterator[LocalSlack]:
    slack = await LocalSlack.start(rate_limits=True, rate_clock=clock)
    yield slack
    await slack.stop()


@pytest.fixture
def client(local: LocalSlack) -> AsyncWebClient:
    # no retry handlers: the test sees each 429 itself
    return AsyncWebClient(token=local.bot_token, base_url=local.api_url, retry_handlers=[])


async def test_post_message_beyond_the_burst_gets_429_with_retry_after(
    local: LocalSlack, client: AsyncWebClient, clock: Clock
) -> None:
    channel = local.add_channel("meetings").id
    for i in range(POST_MESSAGE_BURST):
        await client.chat_postMessage(channel=channel, text=f"card {i}")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=channel, text="one too many")
    response = caught.value.response
    assert response.status_code == 429
    assert response.data == {"ok": False, "error": "ratelimited"}
    assert response.headers["Retry-After"] == "1"
    assert len(local.messages(channel)) == POST_MESSAGE_BURST  # the refused post is not stored
    clock.now += 1.0  # one message per second per channel
    await client.chat_postMessage(channel=channel, text="after the wait")
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel=channel, text="again too soon")
    assert local.rates is not None and local.rates.limited == 2


async def test_post_message_is_limited_per_channel(local: LocalSlack, client: AsyncWebClient) -> None:
    first, second = local.add_channel("first").id, local.add_channel("second").id
    for i in range(POST_MESSAGE_BURST):
        await client.chat_postMessage(channel=first, text=f"card {i}")
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel=first, text="full")
    # another channel has its own bucket, also when named instead of by id
    for i in range(POST_MESSAGE_BURST):
        await client.chat_postMessage(channel="#second" if i else second, text=f"card {i}")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="second", text="full too")
    assert caught.value.response.status_code == 429


async def test_chat_update_is_tier_3_per_method(
    local: LocalSlack, client: AsyncWebClient, clock: Clock
) -> None:
    channels = [local.add_channel(f"c{i}").id for i in range(2)]
    posted = [await client.chat_postMessage(channel=c, text="card") for c in channels]
    per_minute = TIER_PER_MINUTE[METHOD_TIERS["chat.update"]]
    assert per_minute == 50
    for i in range(per_minute):  # across channels: the tier counts the method, not the channel
        ref = posted[i % 2]
        await client.chat_update(channel=ref["channel"], ts=ref["ts"], text=f"v{i}")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel=posted[0]["channel"], ts=posted[0]["ts"], text="over")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "2"  # 50/min: one call per 1.2 s
    clock.now += 1.2
    await client.chat_update(channel=posted[0]["channel"], ts=posted[0]["ts"], text="paced")


async def test_tier_1_connections_open_and_tier_4_views_publish(
    local: LocalSlack, client: AsyncWebClient, clock: Clock
) -> None:
    user = local.add_user("Ann Lee", "ann@example.com")
    view = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    for _ in range(100):
        await client.views_publish(user_id=user.id, view=view)
    with pytest.raises(SlackApiError) as caught:
        await client.views_publish(user_id=user.id, view=view)
    assert caught.value.response.headers["Retry-After"] == "1"  # 100/min: one per 0.6 s
    app_client = AsyncWebClient(base_url=local.api_url, retry_handlers=[])
    await app_client.apps_connections_open(app_token=local.app_token)
    with pytest.raises(SlackApiError) as caught:
        await app_client.apps_connections_open(app_token=local.app_token)
    assert caught.value.response.headers["Retry-After"] == "60"  # Tier 1: 1+ per minute


async def test_unlimited_methods_and_rejected_auth_are_not_counted(local: LocalSlack) -> None:
    channel = local.add_channel("meetings").id
    bad = AsyncWebClient(token="xoxb-wrong", base_url=local.api_url, retry_handlers=[])  # noqa: S106
    for _ in range(POST_MESSAGE_BURST + 2):
        with pytest.raises(SlackApiError) as caught:
            await bad.chat_postMessage(channel=channel, text="x")
        assert caught.value.response.data["error"] == "invalid_auth"
    good = AsyncWebClient(token=local.bot_token, base_url=local.api_url, retry_handlers=[])
    for _ in range(30):
        await good.auth_test()  # "special" tier without a published figure: not limited
    for i in range(POST_MESSAGE_BURST):
        await good.chat_postMessage(channel=channel, text=f"card {i}")


async def test_off_by_default_and_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RATES_ENV, raising=False)
    slack = await LocalSlack.start()
    try:
        assert slack.rates is None
        channel = slack.add_channel("meetings").id
        async with aiohttp.ClientSession() as session:
            for _ in range(POST_MESSAGE_BURST + 3):
                async with session.post(
                    f"{slack.api_url}chat.postMessage",
                    json={"channel": channel, "text": "x"},
                    headers={"Authorization": f"Bearer {slack.bot_token}"},
                ) as response:
                    assert response.status == 200
    finally:
        await slack.stop()
    monkeypatch.setenv(RATES_ENV, "1")
    assert LocalSlack().rates is not None
    monkeypatch.setenv(RATES_ENV, "maybe")
    with pytest.raises(ValueError, match=RATES_ENV):
        rates_enabled_from_env()
