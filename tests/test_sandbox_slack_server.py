"""The local Slack server speaks Slack well enough for the real slack_sdk and slack_bolt clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import AckTimeoutError, LocalSlack, SlackChannel, SlackUser


@pytest.fixture
async def local() -> AsyncIterator[LocalSlack]:
    slack = await LocalSlack.start()
    yield slack
    await slack.stop()


@pytest.fixture
def client(local: LocalSlack) -> AsyncWebClient:
    return AsyncWebClient(token=local.bot_token, base_url=local.api_url)


@pytest.fixture
async def bolt(local: LocalSlack) -> AsyncIterator[tuple[AsyncApp, AsyncSocketModeHandler]]:
    """A real Bolt app wired exactly as the bot wires it, over a real Socket Mode connection."""
    app = AsyncApp(client=AsyncWebClient(token=local.bot_token, base_url=local.api_url))
    handler = AsyncSocketModeHandler(app, local.app_token, ping_interval=0.2)
    await handler.connect_async()
    await local.wait_for_socket()
    yield app, handler
    await handler.close_async()


def button_blocks(action_id: str = "action_item.done", value: str = "42") -> list[dict[str, Any]]:
    return [
        {
            "type": "section",
            "block_id": "action_item:42",
            "text": {"type": "mrkdwn", "text": "Send the deck"},
        },
        {
            "type": "actions",
            "block_id": "action_item:42:actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "value": value,
                    "text": {"type": "plain_text", "text": "Done"},
                }
            ],
        },
    ]


def modal(callback_id: str = "proposal.edit") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": "Edit"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "owner",
                "label": {"type": "plain_text", "text": "Owner"},
                "element": {"type": "users_select", "action_id": "user"},
            },
        ],
    }


# Web API -----------------------------------------------------------------------------------------
async def test_post_update_and_thread_replies_round_trip(local: LocalSlack, client: AsyncWebClient) -> None:
    channel = local.channel_id("#meetings")
    posted = await client.chat_postMessage(channel=channel, text="Kickoff", blocks=button_blocks())
    reply = await client.chat_postMessage(channel=channel, thread_ts=posted["ts"], text="details")
    await client.chat_update(channel=channel, ts=posted["ts"], text="Kickoff (analysed)", blocks=[])

    assert local.message(channel, posted["ts"])["text"] == "Kickoff (analysed)"
    assert [m["text"] for m in local.messages("meetings")] == ["Kickoff (analysed)"]
    replies = await client.conversations_replies(channel=channel, ts=posted["ts"])
    assert [m["ts"] for m in replies["messages"]] == [posted["ts"], reply["ts"]]
    assert replies["messages"][0]["reply_count"] == 1
    history = await client.conversations_history(channel=channel)
    assert [m["ts"] for m in history["messages"]] == [posted["ts"]]
    link = await client.chat_getPermalink(channel=channel, message_ts=posted["ts"])
    assert link["permalink"].endswith(posted["ts"].replace(".", ""))
    await client.chat_delete(channel=channel, ts=reply["ts"])
    assert len(local.thread(channel, posted["ts"])) == 1


async def test_unknown_channel_and_message_get_slack_errors(
    local: LocalSlack, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as missing_channel:
        await client.chat_postMessage(channel="C404", text="hi")
    with pytest.raises(SlackApiError) as missing_message:
        await client.chat_update(channel=local.channel_id("general"), ts="1.000001", text="x")
    assert missing_channel.value.response["error"] == "channel_not_found"
    assert missing_message.value.response["error"] == "message_not_found"


async def test_posting_to_a_user_id_lands_in_one_stable_dm(local: LocalSlack, client: AsyncWebClient) -> None:
    maya = local.user_id("maya@agency.example")
    opened = await client.conversations_open(users=maya)
    await client.chat_postMessage(channel=maya, text="Your action items")
    await client.chat_postMessage(channel=opened["channel"]["id"], text="Reminder")

    assert opened["channel"]["id"].startswith("D")
    assert [m["text"] for m in local.dms(maya)] == ["Your action items", "Reminder"]
    info = await client.conversations_info(channel=opened["channel"]["id"])
    assert info["channel"]["is_im"] and info["channel"]["user"] == maya


async def test_users_lookup_by_email_finds_seeded_people_and_rejects_strangers(
    client: AsyncWebClient,
) -> None:
    found = await client.users_lookupByEmail(email="jonas@agency.example")
    with pytest.raises(SlackApiError) as miss:
        await client.users_lookupByEmail(email="nobody@agency.example")

    assert found["user"]["real_name"] == "Jonas Reed"
    assert found["user"]["tz"] == "Europe/Berlin"
    assert found["user"]["profile"]["email"] == "jonas@agency.example"
    assert miss.value.response["error"] == "users_not_found"


async def test_users_list_paginates_over_all_members(local: LocalSlack, client: AsyncWebClient) -> None:
    local.add_user("Lena Park", "lena@agency.example", tz="Asia/Seoul")
    members = [m async for page in await client.users_list(limit=2) for m in page["members"]]
    assert "lena@agency.example" in [m["profile"]["email"] for m in members]
    assert len(members) == len(local.users)


async def test_bad_or_missing_token_is_refused(local: LocalSlack) -> None:
    bad = AsyncWebClient(token="xoxb-wrong", base_url=local.api_url)
    with pytest.raises(SlackApiError) as refused:
        await bad.auth_test()
    async with aiohttp.ClientSession() as session, session.post(f"{local.api_url}auth.test") as resp:
        anonymous = await resp.json()
    assert refused.value.response["error"] == "invalid_auth"
    assert anonymous == {"ok": False, "error": "not_authed"}
    assert [c.error for c in local.calls_to("auth.test")] == ["invalid_auth", "not_authed"]


async def test_429_with_retry_after_is_honoured_by_the_sdk_retry_handler(
    local: LocalSlack, client: AsyncWebClient
) -> None:
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    local.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    posted = await client.chat_postMessage(channel=local.channel_id("general"), text="after the wait")
    waited = time.monotonic() - started

    assert posted["ok"] and waited >= 1.0
    assert [c.status for c in local.calls_to("chat.postMessage")] == [429, 200]


async def test_rate_limit_answers_429_with_retry_after_beyond_the_window_quota(
    local: LocalSlack, client: AsyncWebClient
) -> None:
    local.rate_limit("users.info", per_minute=2)
    for _ in range(2):
        await client.users_info(user="U01MAYA")
    with pytest.raises(SlackApiError) as limited:
        await client.users_info(user="U01MAYA")
    assert limited.value.response.status_code == 429
    assert 1 <= int(limited.value.response.headers["Retry-After"]) <= 60
    await client.auth_test()  # other methods have their own window


async def test_injected_server_error_fails_once(local: LocalSlack, client: AsyncWebClient) -> None:
    local.fail_next("views.publish", status=500)
    with pytest.raises(SlackApiError) as failed:
        await client.views_publish(user_id="U01MAYA", view={"type": "home", "blocks": []})
    await client.views_publish(user_id="U01MAYA", view={"type": "home", "blocks": []})
    assert failed.value.response.status_code == 500
    assert local.home_view("U01MAYA") is not None


async def test_slack_size_limits_are_enforced(local: LocalSlack, client: AsyncWebClient) -> None:
    channel = local.channel_id("general")
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    posted = await client.chat_postMessage(channel=channel, text="ok")
    attempts = {
        "51 blocks": client.chat_postMessage(channel=channel, text="t", blocks=[section] * 51),
        "40k text": client.chat_postMessage(channel=channel, text="x" * 40_001),
        "update 4k text": client.chat_update(channel=channel, ts=posted["ts"], text="x" * 4_001),
        "long section": client.chat_postMessage(
            channel=channel,
            text="t",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3_001}}],
        ),
        "101 view blocks": client.views_publish(
            user_id="U01MAYA", view={"type": "home", "blocks": [section] * 101}
        ),
        "300 KB view": client.views_publish(
            user_id="U01MAYA",
            view={"type": "home", "blocks": [section] * 99, "private_metadata": "x" * 300_000},
        ),
    }
    errors = {}
    for name, call in attempts.items():
        with pytest.raises(SlackApiError) as rejected:
            await call
        errors[name] = rejected.value.response["error"]

    assert errors == {
        "51 blocks": "invalid_blocks",
        "40k text": "msg_too_long",
        "update 4k text": "msg_too_long",
        "long section": "invalid_blocks",
        "101 view blocks": "invalid_arguments",
        "300 KB view": "view_too_large",
    }
    await client.chat_update(channel=channel, ts=posted["ts"], text="x" * 4_000)


async def test_files_upload_v2_stores_bytes_in_the_thread(local: LocalSlack, client: AsyncWebClient) -> None:
    channel = local.channel_id("clients")
    parent = await client.chat_postMessage(channel=channel, text="Audit ready")
    done = await client.files_upload_v2(
        channel=channel, thread_ts=parent["ts"], filename="audit.md", content="# AI audit\n", title="AI audit"
    )

    [stored] = local.files
    assert done["file"]["id"] == stored.id
    assert (stored.name, stored.title, stored.content) == ("audit.md", "AI audit", b"# AI audit\n")
    assert (stored.channel, stored.thread_ts) == (channel, parent["ts"])
    assert local.thread(channel, parent["ts"])[-1]["files"][0]["id"] == stored.id


async def test_views_open_accepts_only_issued_triggers(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as rejected:
        await client.views_open(trigger_id="123.456.nope", view=modal())
    assert rejected.value.response["error"] == "invalid_trigger_id"


# Socket Mode with a real Bolt app ----------------------------------------------------------------
async def test_bolt_action_listener_gets_a_real_block_actions_payload_and_acks_fast(
    local: LocalSlack, client: AsyncWebClient, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt
    seen: list[dict[str, Any]] = []

    @app.action("action_item.done")
    async def done(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.append(body)
        await respond(replace_original=True, text="Done by Maya")

    channel = local.channel_id("meetings")
    posted = await client.chat_postMessage(channel=channel, text="Send the deck", blocks=button_blocks())
    ack = await local.click_button("U01MAYA", channel, posted["ts"], "action_item.done", "42")
    for _ in range(100):
        if local.calls_to("response_url"):
            break
        await asyncio.sleep(0.02)

    body = seen[0]
    assert ack == {}
    assert body["actions"][0] | {"action_ts": None} == {
        "type": "button",
        "action_id": "action_item.done",
        "block_id": "action_item:42:actions",
        "value": "42",
        "text": {"type": "plain_text", "text": "Done"},
        "action_ts": None,
    }
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": channel,
        "is_ephemeral": False,
    }
    assert body["message"]["ts"] == posted["ts"] and body["user"]["id"] == "U01MAYA"
    assert local.message(channel, posted["ts"])["text"] == "Done by Maya"
    assert 0 < local.ack_latencies[0] < 0.3


async def test_clicking_a_button_that_was_never_drawn_is_a_test_error(
    local: LocalSlack, client: AsyncWebClient
) -> None:
    channel = local.channel_id("meetings")
    posted = await client.chat_postMessage(channel=channel, text="card", blocks=button_blocks())
    with pytest.raises(LookupError, match="action_item.done"):
        await local.click_button("U01MAYA", channel, posted["ts"], "action_item.snooze", "42")


async def test_missing_ack_raises_a_clear_timeout(
    local: LocalSlack, client: AsyncWebClient, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    channel = local.channel_id("meetings")
    posted = await client.chat_postMessage(channel=channel, text="card", blocks=button_blocks())
    with pytest.raises(AckTimeoutError, match="action_item.done"):
        await local.click_button("U01MAYA", channel, posted["ts"], "action_item.done", "42", timeout=0.3)


async def test_slash_command_opens_a_modal_and_replies_through_response_url(
    local: LocalSlack, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt

    @app.command("/fathom")
    async def fathom(ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=modal())
        await respond(text=f"opening for {body['text']}")

    await local.send_command("U02JONAS", "general", "/fathom", "audit brightline")
    for _ in range(100):
        if local.ephemerals:
            break
        await asyncio.sleep(0.02)

    [opened] = local.modal_stack("U02JONAS")
    assert opened["callback_id"] == "proposal.edit"
    assert local.ephemerals[0]["user"] == "U02JONAS"
    assert local.ephemerals[0]["text"] == "opening for audit brightline"


async def test_view_submission_answered_with_errors_keeps_the_modal_open(
    local: LocalSlack, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt
    submitted: list[dict[str, Any]] = []

    @app.view("proposal.edit")
    async def save(ack: Any, view: dict[str, Any]) -> None:
        submitted.append(view["state"]["values"])
        title = view["state"]["values"]["title"]["value"]["value"]
        if not title:
            await ack(response_action="errors", errors={"title": "Give it a title"})
        else:
            await ack()

    view_id = (await _open_modal(local))["id"]
    rejected = await local.submit_view("U01MAYA", view_id, {"owner": {"user": "U04OMAR"}})
    assert rejected == {"response_action": "errors", "errors": {"title": "Give it a title"}}
    assert view_id in local.open_modals
    assert submitted[0]["owner"]["user"] == {"type": "users_select", "selected_user": "U04OMAR"}

    accepted = await local.submit_view("U01MAYA", view_id, {"title": {"value": "Q3 plan"}})
    assert accepted == {}
    assert view_id not in local.open_modals


async def _open_modal(local: LocalSlack) -> dict[str, Any]:
    """Open a modal the way a handler would: with a trigger Slack issued for an interaction."""
    client = AsyncWebClient(token=local.bot_token, base_url=local.api_url)
    response = await client.views_open(trigger_id=local.web.issue_trigger("U01MAYA"), view=modal())
    return response["view"]


async def test_event_redelivery_keeps_the_event_id_and_reports_the_retry(
    local: LocalSlack, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt
    seen: list[tuple[str, str, str]] = []

    @app.event("app_mention")
    async def mentioned(body: dict[str, Any], event: dict[str, Any], request: Any) -> None:
        seen.append((body["event_id"], request.headers.get("x-slack-retry-num", ["0"])[0], event["text"]))

    await local.mention("U01MAYA", "meetings", "summarise please")
    event = {
        "type": "app_mention",
        "user": "U01MAYA",
        "text": "again",
        "channel": "C02MEETINGS",
        "ts": "1.000001",
    }
    await local.send_event(event, retry_attempt=1, event_id="EvSAME")
    await local.send_event(event, retry_attempt=2, event_id="EvSAME")
    for _ in range(100):
        if len(seen) == 3:
            break
        await asyncio.sleep(0.02)

    assert seen[0][1:] == ("0", f"<@{local.bot_user_id}> summarise please")
    assert [(event_id, retry) for event_id, retry, _ in seen[1:]] == [("EvSAME", "1"), ("EvSAME", "2")]
    assert local.messages("meetings")[0]["text"] == f"<@{local.bot_user_id}> summarise please"


async def test_response_actions_update_push_and_clear_change_the_open_modals(
    local: LocalSlack, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt

    @app.view("proposal.edit")
    async def step_one(ack: Any) -> None:
        await ack(response_action="update", view=modal("proposal.confirm"))

    @app.view("proposal.confirm")
    async def step_two(ack: Any) -> None:
        await ack(response_action="push", view=modal("proposal.done"))

    @app.view("proposal.done")
    async def step_three(ack: Any) -> None:
        await ack(response_action="clear")

    view_id = (await _open_modal(local))["id"]
    await local.submit_view("U01MAYA", view_id, {"title": {"value": "x"}})
    assert local.view(view_id)["callback_id"] == "proposal.confirm"
    await local.submit_view("U01MAYA", view_id, {"title": {"value": "x"}})
    stack = local.modal_stack("U01MAYA")
    assert [v["callback_id"] for v in stack] == ["proposal.confirm", "proposal.done"]
    assert stack[1]["previous_view_id"] == view_id
    await local.submit_view("U01MAYA", stack[1]["id"], {})
    assert local.open_modals == {}


async def test_ephemeral_buttons_can_be_answered_and_deleted_through_response_url(
    local: LocalSlack, client: AsyncWebClient, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt

    @app.action("action_item.done")
    async def done(ack: Any, respond: Any, body: dict[str, Any]) -> None:
        await ack()
        assert body["container"]["is_ephemeral"] is True
        await respond(response_type="in_channel", text="Maya finished item 42")
        await respond(delete_original=True)

    channel = local.channel_id("meetings")
    sent = await client.chat_postEphemeral(
        channel=channel, user="U01MAYA", text="yours", blocks=button_blocks()
    )
    await local.click_button("U01MAYA", channel, sent["message_ts"], "action_item.done", "42")
    for _ in range(100):
        if len(local.calls_to("response_url")) == 2:
            break
        await asyncio.sleep(0.02)

    assert local.ephemerals == []
    assert [m["text"] for m in local.messages(channel)] == ["Maya finished item 42"]


async def test_selects_and_date_pickers_in_a_home_tab_carry_their_values(
    local: LocalSlack, client: AsyncWebClient, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt
    picked: list[dict[str, Any]] = []

    @app.action("action_item.snooze")
    @app.action("action_item.assign")
    @app.action("meeting.filter")
    async def chosen(ack: Any, action: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        picked.append({**action, "container": body["container"]["type"]})

    elements = [
        {"type": "datepicker", "action_id": "action_item.snooze"},
        {"type": "users_select", "action_id": "action_item.assign"},
        {
            "type": "static_select",
            "action_id": "meeting.filter",
            "options": [{"text": {"type": "plain_text", "text": "Clients"}, "value": "clients"}],
        },
    ]
    home = await client.views_publish(
        user_id="U04OMAR", view={"type": "home", "blocks": [{"type": "actions", "elements": elements}]}
    )
    view_id = home["view"]["id"]
    await local.pick_date("U04OMAR", None, None, "action_item.snooze", "2030-01-31", view_id=view_id)
    await local.select_user("U04OMAR", None, None, "action_item.assign", "U01MAYA", view_id=view_id)
    await local.select_option("U04OMAR", None, None, "meeting.filter", "clients", "Clients", view_id=view_id)
    for _ in range(100):
        if len(picked) == 3:
            break
        await asyncio.sleep(0.02)

    assert [p["container"] for p in picked] == ["view"] * 3
    assert picked[0]["selected_date"] == "2030-01-31"
    assert picked[1]["selected_user"] == "U01MAYA"
    assert picked[2]["selected_option"]["value"] == "clients"


async def test_home_opened_event_reaches_the_app_which_publishes_a_view(
    local: LocalSlack, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": button_blocks()})

    await local.open_home("U03PRIYA")
    for _ in range(100):
        if local.home_view("U03PRIYA"):
            break
        await asyncio.sleep(0.02)
    home_view = local.home_view("U03PRIYA")
    assert home_view is not None and home_view["blocks"][0]["block_id"] == "action_item:42"


async def test_dropped_socket_reconnects_and_a_later_event_still_arrives(
    local: LocalSlack, client: AsyncWebClient, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt
    clicks: list[str] = []

    @app.action("action_item.done")
    async def done(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicks.append(body["user"]["id"])

    channel = local.channel_id("meetings")
    posted = await client.chat_postMessage(channel=channel, text="card", blocks=button_blocks())
    assert await local.drop_sockets() == 1
    await local.click_button("U02JONAS", channel, posted["ts"], "action_item.done", "42")

    assert clicks == ["U02JONAS"]
    assert local.hub.connects == 2


async def test_disconnect_refresh_moves_the_app_to_a_new_socket(
    local: LocalSlack, client: AsyncWebClient, bolt: tuple[AsyncApp, AsyncSocketModeHandler]
) -> None:
    app, _ = bolt

    @app.command("/fathom")
    async def fathom(ack: Any) -> None:
        await ack(text="still here")

    assert await local.send_disconnect() == 1
    ack = await local.send_command("U01MAYA", "general", "/fathom", "")

    assert ack == {"text": "still here"}
    assert local.hub.connects == 2
    assert len(local.calls_to("apps.connections.open")) == 2


async def test_an_event_sent_while_no_app_is_connected_waits_for_the_connection(local: LocalSlack) -> None:
    app = AsyncApp(client=AsyncWebClient(token=local.bot_token, base_url=local.api_url))
    seen: list[str] = []

    @app.event("app_home_opened")
    async def home(event: dict[str, Any]) -> None:
        seen.append(event["user"])

    pending = asyncio.create_task(local.open_home("U02JONAS"))
    await asyncio.sleep(0.1)
    handler = AsyncSocketModeHandler(app, local.app_token, ping_interval=0.2)
    await handler.connect_async()
    try:
        await pending
        assert seen == ["U02JONAS"]
    finally:
        await handler.close_async()


def _counter(received: dict[str, int], name: str) -> Any:
    async def count(ack: Any) -> None:
        received[name] += 1
        await ack()

    return count


async def test_envelopes_are_spread_round_robin_over_connected_apps(local: LocalSlack) -> None:
    received: dict[str, int] = {"first": 0, "second": 0}
    handlers = []
    for name in received:
        app = AsyncApp(client=AsyncWebClient(token=local.bot_token, base_url=local.api_url))

        app.command("/fathom")(_counter(received, name))
        handlers.append(AsyncSocketModeHandler(app, local.app_token, ping_interval=0.2))
    try:
        for handler in handlers:
            await handler.connect_async()
        await local.wait_for_socket(count=2)
        for _ in range(4):
            await local.send_command("U01MAYA", "general", "/fathom")
        assert received == {"first": 2, "second": 2}
    finally:
        for handler in handlers:
            await handler.close_async()


async def test_workspace_can_be_seeded_with_other_people_and_channels() -> None:
    slack = await LocalSlack.start(
        users=[SlackUser("U1", "ana", "Ana Silva", "ana@client.example", "America/Sao_Paulo")],
        channels=[SlackChannel("C1", "ops")],
    )
    try:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        found = await client.users_lookupByEmail(email="ana@client.example")
        await client.chat_postMessage(channel="#ops", text="hello ops")
        assert found["user"]["tz"] == "America/Sao_Paulo"
        assert [m["text"] for m in slack.messages("ops")] == ["hello ops"]
        with pytest.raises(LookupError):
            slack.channel_id("general")
    finally:
        await slack.stop()


async def test_uploaded_files_are_downloadable_from_the_sandbox_and_survive_a_restart(
    tmp_path: Any, client: AsyncWebClient
) -> None:
    """#16 item 1 and 6: a file message carries a sandbox URL serving its bytes; the workspace is kept."""
    state = tmp_path / "sandbox_workspace.json"
    first = await LocalSlack.start(web_ui=True, state_path=state)
    try:
        api = AsyncWebClient(token=first.bot_token, base_url=first.api_url)
        parent = await api.chat_postMessage(channel="C02MEETINGS", text="Audit ready")
        await api.files_upload_v2(
            channel="C02MEETINGS", thread_ts=parent["ts"], filename="pack.zip", content=b"PK\x03\x04zip"
        )
        [file] = first.thread("C02MEETINGS", parent["ts"])[-1]["files"]
        assert (file["name"], file["size"]) == ("pack.zip", 7)
        async with aiohttp.ClientSession() as http, http.get(file["url_private_download"]) as response:
            assert response.status == 200 and await response.read() == b"PK\x03\x04zip"
            assert response.headers["Content-Disposition"].startswith("attachment")
    finally:
        await first.stop()
    second = await LocalSlack.start(web_ui=True, state_path=state)
    try:
        assert [m["text"] for m in second.messages("C02MEETINGS")] == ["Audit ready"]
        assert [f.name for f in second.files] == ["pack.zip"]
        url = file["url_private"].replace(first.base_url, second.base_url)
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert await response.read() == b"PK\x03\x04zip"
    finally:
        await second.stop()


async def test_response_url_answer_to_a_click_in_a_thread_lands_in_that_thread(
    local: LocalSlack, client: AsyncWebClient
) -> None:
    """#16 item 6: Slack shows a click's ephemeral answer in the thread the button was in."""
    parent = await client.chat_postMessage(channel="C02MEETINGS", text="card")
    reply = await client.chat_postMessage(channel="C02MEETINGS", thread_ts=parent["ts"], text="item")
    url = local.web.issue_response_url("C02MEETINGS", reply["ts"], "U01MAYA")
    async with aiohttp.ClientSession() as http:
        await http.post(url, json={"text": "Only owners can do that", "response_type": "ephemeral"})
    [answer] = local.ephemerals
    assert (answer["text"], answer["thread_ts"]) == ("Only owners can do that", parent["ts"])
