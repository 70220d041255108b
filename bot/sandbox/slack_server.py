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

import asyncio
import copy
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.slack_faults import CallRecord
from bot.sandbox.slack_interactions import Interactions
from bot.sandbox.slack_rates import RateModel, rates_enabled_from_env
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
from services.slack.rate_limits import limit_for, scaled

if TYPE_CHECKING:
    from bot.sandbox.web import SandboxWeb

log = logging.getLogger(__name__)

DEFAULT_BOT_TOKEN = "xoxb-local-sandbox"  # noqa: S105 - not a secret: only this local server accepts it
DEFAULT_APP_TOKEN = "xapp-local-sandbox"  # noqa: S105


class LocalSlack(Interactions):
    """One fake Slack workspace with one app installed; see the module docstring for the wiring."""

    def __init__(
        self,
        users: list[SlackUser] | None = None,
        channels: list[SlackChannel] | None = None,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        web_ui: bool = False,
        rate_limits: bool | None = None,
        rate_clock: Callable[[], float] | None = None,
        state_path: Path | None = None,
        rate_scale: float = 1.0,
    ) -> None:
        self.workspace = Workspace(users, channels)
        self.state_path = state_path  # the sandbox keeps its workspace here across restarts
        self._save_task: asyncio.Task[None] | None = None
        if state_path is not None:
            from bot.sandbox.persistence import load_workspace

            load_workspace(self.workspace, state_path)
        self.hub = SocketHub(APP_ID)
        self.web = WebApi(self.workspace, self.hub, bot_token, app_token)
        # Slack's published per-method limits (bot/sandbox/slack_rates.py): None reads
        # LOCAL_SLACK_RATE_LIMITS (off when unset); benchmarks and throughput tests pass True.
        if rate_limits is None:
            rate_limits = rates_enabled_from_env()
        if rate_limits:
            limits = scaled(limit_for, rate_scale) if rate_scale != 1.0 else limit_for
            self.web.rates = RateModel(rate_clock or time.monotonic, limits)
        self.bot_token, self.app_token = bot_token, app_token
        self.bot_user_id = BOT_USER_ID
        self.ack_timeout = 3.0
        self.socket_wait = 10.0
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.web_ui: SandboxWeb | None = None
        if web_ui:  # the browser page of `fathom-os run` without tokens (bot/sandbox/web.py)
            from bot.sandbox.web import SandboxWeb

            self.web_ui = SandboxWeb(self)

    # lifecycle ----------------------------------------------------------------------------------
    @classmethod
    async def start(cls, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> LocalSlack:
        local = cls(**kwargs)
        await local.serve(host, port)
        return local

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        self.web.add_routes(app)
        if self.web_ui is not None:
            self.web_ui.add_routes(app)
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
        if self._save_task is not None:
            self._save_task.cancel()
        self.save()

    # persistence (sandbox only) -----------------------------------------------------------------
    def save(self) -> None:
        if self.state_path is not None:
            from bot.sandbox.persistence import save_workspace

            save_workspace(self.workspace, self.state_path)

    def schedule_save(self, delay: float = 0.5) -> None:
        """Coalesce a burst of changes into one write; `stop()` writes whatever is left."""
        if self.state_path is None or (self._save_task is not None and not self._save_task.done()):
            return

        async def later() -> None:
            await asyncio.sleep(delay)
            try:
                self.save()
            except OSError as exc:  # a full disk must not take the sandbox down
                log.warning("could not save the sandbox workspace to %s: %s", self.state_path, exc)

        self._save_task = asyncio.get_running_loop().create_task(later())

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

    @property
    def rates(self) -> RateModel | None:
        """The rate model when Slack's limits are on (`rates.limited` counts the 429s answered)."""
        return self.web.rates

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
