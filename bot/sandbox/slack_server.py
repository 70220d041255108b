"""`LocalSlack`: a Slack-compatible Web API + Socket Mode server on 127.0.0.1 for tests and the sandbox.

The real `slack_sdk` / `slack_bolt` clients talk to it unchanged; only the base URL and the tokens
differ. Wiring (the bot must be built the same way, with `SLACK_API_URL` as the base URL):

    local = await LocalSlack.start()                      # port 0: a free port is picked
    client = AsyncWebClient(token=local.bot_token, base_url=local.api_url)   # api_url ends in "/api/"
    app = AsyncApp(client=client)                         # no token kwarg: Bolt uses client.token
    handler = AsyncSocketModeHandler(app, local.app_token)  # from slack_bolt.adapter.socket_mode.async_handler
    await handler.connect_async()                         # apps.connections.open goes through app.client,
    ...                                                   # so it hits local.api_url too
    await handler.close_async(); await local.stop()

`AsyncSocketModeHandler(app, app_token, web_client=...)` is only needed when the handler should use
a different client than `app.client`. Its `ping_interval` (default 10 s) is also how long the
aiohttp Socket Mode client takes to notice an abruptly dropped socket; tests pass a small value.
The default tokens are `xoxb-local-sandbox` / `xapp-local-sandbox`; any other token gets `invalid_auth`.

Tests drive users through helper coroutines (`click_button`, `send_command`, `submit_view`, ...) that
send a real Slack-shaped envelope over the socket and return the app's ack payload.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from aiohttp import web

from bot.sandbox import slack_limits as limits
from bot.sandbox import slack_payloads as payloads
from bot.sandbox.slack_faults import CallRecord
from bot.sandbox.slack_socket import AckRecord, SocketHub
from bot.sandbox.slack_state import (
    APP_ID,
    BOT_USER_ID,
    Message,
    SlackChannel,
    SlackUser,
    StoredFile,
    View,
    Workspace,
)
from bot.sandbox.slack_web import WebApi

DEFAULT_BOT_TOKEN = "xoxb-local-sandbox"  # noqa: S105 - not a secret: only this local server accepts it
DEFAULT_APP_TOKEN = "xapp-local-sandbox"  # noqa: S105


class LocalSlack:
    """One fake Slack workspace with one app installed; see the module docstring for the wiring."""

    def __init__(
        self,
        users: list[SlackUser] | None = None,
        channels: list[SlackChannel] | None = None,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
    ) -> None:
        self.workspace = Workspace(users, channels)
        self.hub = SocketHub(APP_ID)
        self.web = WebApi(self.workspace, self.hub, bot_token, app_token)
        self.bot_token, self.app_token = bot_token, app_token
        self.bot_user_id = BOT_USER_ID
        self.ack_timeout = 3.0
        self.socket_wait = 10.0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # lifecycle ----------------------------------------------------------------------------------
    @classmethod
    async def start(cls, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> LocalSlack:
        local = cls(**kwargs)
        await local.serve(host, port)
        return local

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        self.web.add_routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        self.web.base_url = self.base_url

    async def stop(self) -> None:
        await self.hub.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # workspace ----------------------------------------------------------------------------------
    @property
    def users(self) -> dict[str, SlackUser]:
        return self.workspace.users

    @property
    def channels(self) -> dict[str, SlackChannel]:
        return self.workspace.channels

    def add_user(
        self,
        real_name: str,
        email: str,
        *,
        tz: str = "America/New_York",
        is_admin: bool = False,
        user_id: str | None = None,
        name: str | None = None,
    ) -> SlackUser:
        handle = name or re.sub(r"[^a-z0-9]+", ".", real_name.lower()).strip(".")
        return self.workspace.add_user(
            SlackUser(user_id or self.workspace.new_id("U"), handle, real_name, email, tz, is_admin)
        )

    def add_channel(
        self, name: str, *, is_private: bool = False, channel_id: str | None = None
    ) -> SlackChannel:
        channel = SlackChannel(channel_id or self.workspace.new_id("C"), name, is_private=is_private)
        self.workspace.channels[channel.id] = channel
        return channel

    def channel_id(self, name: str) -> str:
        """`#meetings` or `meetings` -> its id; tests read better with names."""
        channel = self.workspace.resolve_channel(name)
        if channel is None:
            raise LookupError(f"no channel {name!r}")
        return channel.id

    def user_id(self, email: str) -> str:
        user = self.workspace.user_by_email(email)
        if user is None:
            raise LookupError(f"no user with email {email!r}")
        return user.id

    # inspection ---------------------------------------------------------------------------------
    def messages(self, channel: str) -> list[Message]:
        """Channel-level messages, oldest first (thread replies are in `thread()`), latest content."""
        return copy.deepcopy(self.workspace.top_level(self.channel_id(channel)))

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Parent first, then replies, as conversations.replies returns them."""
        return copy.deepcopy(self.workspace.thread(self.channel_id(channel), ts))

    def message(self, channel: str, ts: str) -> Message:
        found = self.workspace.find_message(self.channel_id(channel), ts)
        if found is None:
            raise LookupError(f"no message {ts} in {channel}")
        return copy.deepcopy(found)

    def dms(self, user_id: str) -> list[Message]:
        """Everything the app posted in its DM with the user, thread replies included."""
        return copy.deepcopy(self.workspace.posts.get(self.workspace.open_dm(user_id).id, []))

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.workspace.ephemerals)

    def home_view(self, user_id: str) -> View | None:
        view = self.workspace.views.get(self.workspace.home_view_ids.get(user_id, ""))
        return copy.deepcopy(view) if view else None

    def view(self, view_id: str) -> View:
        return copy.deepcopy(self.workspace.views[view_id])

    @property
    def open_modals(self) -> dict[str, View]:
        """Modals currently on screen, by view id (a user's pushed stack included)."""
        return self.workspace.open_modals()

    def modal_stack(self, user_id: str) -> list[View]:
        return [copy.deepcopy(self.workspace.views[v]) for v in self.workspace.modal_stacks.get(user_id, [])]

    @property
    def files(self) -> list[StoredFile]:
        return [f for f in self.workspace.files.values() if f.completed]

    @property
    def calls(self) -> list[CallRecord]:
        return self.web.calls

    def calls_to(self, method: str) -> list[CallRecord]:
        return [c for c in self.web.calls if c.method == method]

    @property
    def acks(self) -> list[AckRecord]:
        return self.hub.acks

    @property
    def ack_latencies(self) -> list[float]:
        """Seconds from sending each envelope to receiving its ack."""
        return [a.latency for a in self.hub.acks]

    # faults and sockets -------------------------------------------------------------------------
    def fail_next(
        self, method: str, status: int = 429, retry_after: int = 1, count: int = 1, error: str | None = None
    ) -> None:
        """Make the next `count` calls of `method` fail (429 carries a Retry-After header)."""
        self.web.faults.fail_next(method, status, retry_after, count, error)

    def rate_limit(self, method: str, per_minute: int, window: float = 60.0) -> None:
        self.web.faults.rate_limit(method, per_minute, window)

    def clear_faults(self) -> None:
        self.web.faults.clear()

    @property
    def socket_count(self) -> int:
        return len(self.hub.live)

    async def wait_for_socket(self, count: int = 1, timeout: float = 5.0) -> None:
        await self.hub.wait_for_connections(count, timeout)

    async def drop_sockets(self) -> int:
        return await self.hub.drop_all()

    async def send_disconnect(self, reason: str = "refresh_requested") -> int:
        return await self.hub.send_disconnect(reason)

    # interactions -------------------------------------------------------------------------------
    def _user(self, user_id: str) -> SlackUser:
        user = self.workspace.users.get(user_id)
        if user is None:
            raise LookupError(f"no user {user_id!r}")
        return user

    async def _deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts: bool,
        timeout: float | None,
        label: str,
        retry_attempt: int | None = None,
    ) -> dict[str, Any]:
        return await self.hub.deliver(
            kind,
            payload,
            accepts_response_payload=accepts,
            timeout=timeout or self.ack_timeout,
            socket_wait=self.socket_wait,
            label=label,
            retry_attempt=retry_attempt,
            retry_reason="timeout" if retry_attempt else None,
        )

    async def _act(
        self,
        user_id: str,
        channel: str | None,
        message_ts: str | None,
        view_id: str | None,
        action_id: str,
        block_id: str | None,
        fields: dict[str, Any],
        timeout: float | None,
    ) -> dict[str, Any]:
        user = self._user(user_id)
        trigger_id = self.web.issue_trigger(user_id)
        if view_id is not None:
            view = self.workspace.views[view_id]
            found_block, element = payloads.find_element(view["blocks"], action_id, block_id)
            action = {"action_id": action_id, "block_id": found_block, **fields}
            if "text" in element and element.get("type") == "button":
                action["text"] = element["text"]
            payload = payloads.block_actions(user=user, action=action, trigger_id=trigger_id, view=view)
            return await self._deliver(
                "interactive", payload, accepts=False, timeout=timeout, label=action_id
            )
        if channel is None or message_ts is None:
            raise ValueError("pass channel and message_ts, or view_id")
        channel_obj = self.workspace.channels[self.channel_id(channel)]
        message = self.workspace.find_message(channel_obj.id, message_ts)
        ephemeral = next((e for e in self.workspace.ephemerals if e["ts"] == message_ts), None)
        if message is None and ephemeral is None:
            raise LookupError(f"no message {message_ts} in {channel}")
        blocks = (message or ephemeral or {}).get("blocks") or []
        found_block, element = payloads.find_element(blocks, action_id, block_id)
        action = {"action_id": action_id, "block_id": found_block, **fields}
        if element.get("type") == "button" and "text" in element:
            action["text"] = element["text"]
        ref = {"id": channel_obj.id, "name": channel_obj.name or "directmessage"}
        payload = payloads.block_actions(
            user=user,
            action=action,
            trigger_id=trigger_id,
            channel=ref,
            message=message,
            message_ts=message_ts,
            is_ephemeral=message is None,
            response_url=self.web.issue_response_url(channel_obj.id, message_ts, user_id, message is None),
        )
        return await self._deliver("interactive", payload, accepts=False, timeout=timeout, label=action_id)

    async def click_button(
        self,
        user_id: str,
        channel: str | None,
        message_ts: str | None,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        *,
        view_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Click a button drawn in a message (or, with `view_id`, in a home tab or modal)."""
        fields: dict[str, Any] = {"type": "button"}
        if value is not None:
            fields["value"] = value
        return await self._act(user_id, channel, message_ts, view_id, action_id, block_id, fields, timeout)

    async def select_user(
        self,
        user_id: str,
        channel: str | None,
        message_ts: str | None,
        action_id: str,
        selected_user: str,
        block_id: str | None = None,
        *,
        view_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        fields = {"type": "users_select", "selected_user": selected_user, "initial_user": None}
        return await self._act(user_id, channel, message_ts, view_id, action_id, block_id, fields, timeout)

    async def select_option(
        self,
        user_id: str,
        channel: str | None,
        message_ts: str | None,
        action_id: str,
        value: str,
        text: str | None = None,
        block_id: str | None = None,
        *,
        view_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
        fields = {"type": "static_select", "selected_option": option}
        return await self._act(user_id, channel, message_ts, view_id, action_id, block_id, fields, timeout)

    async def pick_date(
        self,
        user_id: str,
        channel: str | None,
        message_ts: str | None,
        action_id: str,
        date: str,
        block_id: str | None = None,
        *,
        view_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        fields = {"type": "datepicker", "selected_date": date}
        return await self._act(user_id, channel, message_ts, view_id, action_id, block_id, fields, timeout)

    async def send_command(
        self, user_id: str, channel_id: str, command: str, text: str = "", *, timeout: float | None = None
    ) -> dict[str, Any]:
        user = self._user(user_id)
        channel = self.workspace.channels[self.channel_id(channel_id)]
        payload = payloads.slash_command(
            user=user,
            channel=channel.to_api(),
            command=command,
            text=text,
            response_url=self.web.issue_response_url(channel.id, None, user_id),
            trigger_id=self.web.issue_trigger(user_id),
        )
        return await self._deliver("slash_commands", payload, accepts=True, timeout=timeout, label=command)

    async def submit_view(
        self,
        user_id: str,
        view_id: str,
        values: dict[str, dict[str, Any]] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Submit an open modal; apply `response_action` update/push/clear (or close it) like Slack."""
        if view_id not in self.workspace.modal_stacks.get(user_id, []):
            raise LookupError(f"view {view_id} is not open for {user_id}")
        view = self.workspace.views[view_id]
        state = payloads.view_state(view, values or {})
        payload = payloads.view_submission(
            user=self._user(user_id), view=view, state=state, trigger_id=self.web.issue_trigger(user_id)
        )
        ack = await self._deliver(
            "interactive", payload, accepts=True, timeout=timeout, label=view.get("callback_id") or view_id
        )
        action = ack.get("response_action")
        if action == "update":
            limits.check_view(ack["view"])
            self.workspace.store_view(user_id, ack["view"], view_id)
        elif action == "push":
            limits.check_view(ack["view"])
            self.web.push_view(user_id, ack["view"])
        elif action == "clear":
            self.workspace.clear_modals(user_id)
        elif action != "errors":
            self.workspace.close_modal(view_id)
        return ack

    async def open_home(self, user_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.workspace.open_dm(user_id).id,
            "tab": "home",
        }
        home = self.home_view(user_id)
        if home is not None:
            event["view"] = home
        return await self.send_event(event, timeout=timeout)

    async def send_event(
        self,
        event: dict[str, Any],
        retry_attempt: int = 0,
        event_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Deliver an Events API event; reuse `event_id` with `retry_attempt` > 0 to mimic a Slack retry."""
        payload = payloads.event_callback(event, event_id)
        return await self._deliver(
            "events_api",
            payload,
            accepts=False,
            timeout=timeout,
            label=str(event.get("type")),
            retry_attempt=retry_attempt,
        )

    async def mention(
        self,
        user_id: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Post `text` as the user (adding `<@bot>` if missing) and deliver the app_mention event."""
        if f"<@{BOT_USER_ID}>" not in text:
            text = f"<@{BOT_USER_ID}> {text}"
        message = self.post_as_user(user_id, channel, text, thread_ts)
        event = {
            "type": "app_mention",
            "user": user_id,
            "text": text,
            "ts": message["ts"],
            "channel": self.channel_id(channel),
            "event_ts": message["ts"],
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return await self.send_event(event, timeout=timeout)

    def post_as_user(self, user_id: str, channel: str, text: str, thread_ts: str | None = None) -> Message:
        """A human's message, stored without delivering an event (use `send_event` for message events)."""
        self._user(user_id)
        message: Message = {"user": user_id, "text": text}
        if thread_ts:
            message["thread_ts"] = thread_ts
        return copy.deepcopy(self.workspace.add_message(self.channel_id(channel), message))
