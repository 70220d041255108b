"""Helpers that act as a Slack user: clicks, selects, commands, view submissions, events.

Each sends a Slack-shaped envelope over Socket Mode and returns the app's ack payload, so a test
reads like the user's story and fails loudly (LookupError, AckTimeoutError) when the app would not
have answered Slack in time or the element clicked was never drawn.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.sandbox import slack_limits as limits
from bot.sandbox import slack_payloads as payloads
from bot.sandbox.slack_socket import SocketHub
from bot.sandbox.slack_state import BOT_USER_ID, Message, SlackUser, View, Workspace
from bot.sandbox.slack_web import WebApi


class Interactions:
    """Mixed into `LocalSlack`, which sets these attributes."""

    workspace: Workspace
    web: WebApi
    hub: SocketHub
    ack_timeout: float
    socket_wait: float

    def channel_id(self, name: str) -> str:
        """`#meetings` or `meetings` -> its id; tests read better with names."""
        channel = self.workspace.resolve_channel(name)
        if channel is None:
            raise LookupError(f"no channel {name!r}")
        return channel.id

    def home_view(self, user_id: str) -> View | None:
        view = self.workspace.views.get(self.workspace.home_view_ids.get(user_id, ""))
        return copy.deepcopy(view) if view else None

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
        self,
        user_id: str,
        channel_id: str,
        command: str,
        text: str = "",
        *,
        timeout: float | None = None,
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

    async def send_message(
        self,
        user_id: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        timeout: float | None = None,
    ) -> tuple[Message, dict[str, Any]]:
        """A human posts `text` (in a thread with `thread_ts`) and Slack delivers the `message`
        event (message.channels / .groups / .im); returns the stored message and the ack."""
        message = self.post_as_user(user_id, channel, text, thread_ts)
        if thread_ts:
            parent = self.workspace.find_message(self.channel_id(channel), thread_ts)
            if parent is not None and parent.get("user"):
                message["parent_user_id"] = parent["user"]
        ack = await self.deliver_message(
            channel, message, event_id=event_id, retry_attempt=retry_attempt, timeout=timeout
        )
        return message, ack

    async def send_dm(
        self, user_id: str, text: str, *, timeout: float | None = None
    ) -> tuple[Message, dict[str, Any]]:
        """A human writes in the app's Messages tab (their DM with the bot): a `message.im` event."""
        return await self.send_message(user_id, self.workspace.open_dm(user_id).id, text, timeout=timeout)

    async def deliver_message(
        self,
        channel: str,
        message: Message,
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Deliver the `message` event for a stored message: Slack sends one for bots' posts too
        (the app's own included, with `bot_id`), which the app must ignore."""
        channel_obj = self.workspace.channels[self.channel_id(channel)]
        event = payloads.message_event(message, channel_obj)
        return await self.send_event(event, retry_attempt, event_id, timeout=timeout)

    def post_as_bot(
        self,
        bot_id: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        *,
        user_id: str | None = None,
    ) -> Message:
        """Another app's message (its own `bot_id`), stored without delivering an event."""
        message: Message = {"bot_id": bot_id, "text": text, "app_id": f"A{bot_id[1:]}"}
        if user_id:
            message["user"] = user_id
        else:
            message["subtype"] = "bot_message"
        if thread_ts:
            message["thread_ts"] = thread_ts
        return copy.deepcopy(self.workspace.add_message(self.channel_id(channel), message))

    async def message_shortcut(
        self,
        user_id: str,
        channel: str,
        message_ts: str,
        callback_id: str,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Run a message shortcut ("More actions" on a message): the `message_action` payload."""
        user = self._user(user_id)
        channel_obj = self.workspace.channels[self.channel_id(channel)]
        message = self.workspace.find_message(channel_obj.id, message_ts)
        if message is None:
            raise LookupError(f"no message {message_ts} in {channel}")
        payload = payloads.message_action(
            user=user,
            channel=channel_obj.to_api(),
            message=message,
            callback_id=callback_id,
            trigger_id=self.web.issue_trigger(user_id),
            response_url=self.web.issue_response_url(channel_obj.id, None, user_id),
        )
        return await self._deliver("interactive", payload, accepts=False, timeout=timeout, label=callback_id)
