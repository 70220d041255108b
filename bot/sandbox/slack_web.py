"""Web API of the local Slack: request parsing, auth, faults, and the chat/conversations/users methods.

slack_sdk sends some methods as form data, some as JSON and some as query parameters, with the token
in an `Authorization: Bearer` header; all of them are accepted here so the real client works unchanged.
Views, files and response_url live in `slack_web_views.py`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox import slack_limits as limits
from bot.sandbox.slack_faults import CallRecord, Faults
from bot.sandbox.slack_rates import PER_CHANNEL_METHODS, RateModel
from bot.sandbox.slack_socket import SocketHub
from bot.sandbox.slack_state import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_ID,
    TEAM_NAME,
    Workspace,
)
from bot.sandbox.slack_web_views import ApiError, ViewsFilesApi

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _as_json(value: Any) -> Any:
    """Form-encoded requests carry blocks/views as JSON strings; JSON requests carry them as objects."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ApiError("invalid_arguments", messages=[f"[ERROR] invalid JSON: {exc}"]) from exc
    return value


def _flag(params: dict[str, Any], name: str) -> bool:
    """Slack booleans arrive as "1"/"0" (slack_sdk), "true"/"false" or JSON booleans."""
    return str(params.get(name, "")).lower() in ("1", "true")


def _metadata(params: dict[str, Any]) -> dict[str, Any] | None:
    """chat.postMessage / chat.update `metadata`: {event_type: str, event_payload: object}."""
    raw = _as_json(params.get("metadata"))
    if raw in (None, ""):
        return None
    if not isinstance(raw, dict):
        raise ApiError("invalid_metadata_format")
    event_type, payload = raw.get("event_type"), raw.get("event_payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        raise ApiError("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": payload}


def _page(messages: list[Any], params: dict[str, Any]) -> tuple[list[Any], str]:
    """One page of `messages` and the next cursor ("" on the last page), Slack's cursor paging."""
    try:
        limit = int(params.get("limit") or 100)
        cursor = str(params.get("cursor") or "")
        start = int(base64.b64decode(cursor).decode().removeprefix("next_ts:")) if cursor else 0
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ApiError("invalid_cursor") from None
    if limit < 1:
        raise ApiError("invalid_limit")
    more = start + limit < len(messages)
    return messages[start : start + limit], (
        base64.b64encode(f"next_ts:{start + limit}".encode()).decode() if more else ""
    )


def _in_window(messages: list[Any], params: dict[str, Any]) -> list[Any]:
    """`oldest` / `latest` bounds, exclusive unless `inclusive` (Slack's default)."""
    inclusive = _flag(params, "inclusive")
    try:
        oldest = float(params["oldest"]) if params.get("oldest") else None
        latest = float(params["latest"]) if params.get("latest") else None
    except ValueError:
        raise ApiError("invalid_ts_oldest" if params.get("oldest") else "invalid_ts_latest") from None
    out = []
    for m in messages:
        ts = float(m["ts"])
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            continue
        if latest is not None and (ts > latest or (ts == latest and not inclusive)):
            continue
        out.append(m)
    return out


def _as_listed(messages: list[Any], params: dict[str, Any]) -> list[Any]:
    """Copies as history/replies list them: metadata only with `include_all_metadata`."""
    out = copy.deepcopy(messages)
    if not _flag(params, "include_all_metadata"):
        for m in out:
            m.pop("metadata", None)
    return out


def _required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value in (None, ""):
        raise ApiError("invalid_arguments", messages=[f"[ERROR] missing required field: {name}"])
    return value


class WebApi(ViewsFilesApi):
    """All Web API endpoints; `calls` records every request in arrival order."""

    def __init__(self, workspace: Workspace, hub: SocketHub, bot_token: str, app_token: str) -> None:
        self.ws = workspace
        self.hub = hub
        self.bot_token = bot_token
        self.app_token = app_token
        self.faults = Faults()
        self.rates: RateModel | None = None  # Slack's published limits, off unless LocalSlack turns them on
        self.calls: list[CallRecord] = []
        self.base_url = ""
        self.triggers: dict[str, tuple[str, float]] = {}
        self.trigger_ttl = 3.0
        self.response_urls: dict[str, dict[str, Any]] = {}
        self.methods: dict[str, Handler] = {
            "auth.test": self.auth_test,
            "apps.connections.open": self.apps_connections_open,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.getPermalink": self.chat_get_permalink,
            "chat.delete": self.chat_delete,
            "conversations.open": self.conversations_open,
            "conversations.info": self.conversations_info,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.members": self.conversations_members,
            "users.info": self.users_info,
            "users.lookupByEmail": self.users_lookup_by_email,
            "users.list": self.users_list,
            "reactions.add": self.reactions_add,
            **self.view_and_file_methods(),
        }

    # plumbing -----------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self.handle)
        app.router.add_post("/upload/v1/{file_id}", self.handle_upload)
        app.router.add_post("/response/{rid}", self.handle_response_url)
        app.router.add_get("/link/", self.hub.handle)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update(dict(await request.post()))
        return params

    def _token(self, request: web.Request, params: dict[str, Any]) -> str | None:
        token = params.pop("token", None)
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ").strip()
        return token or None

    def _reply(
        self,
        method: str,
        params: dict[str, Any],
        body: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        self.calls.append(
            CallRecord(method, params, time.time(), status, bool(body.get("ok")), body.get("error"))
        )
        return web.json_response(body, status=status, headers=headers)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await self._params(request)
        except (json.JSONDecodeError, ValueError):
            return self._reply(method, {}, {"ok": False, "error": "invalid_json"})
        token = self._token(request, params)
        failure = self.faults.check(method)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
            return self._reply(method, params, {"ok": False, "error": failure.error}, failure.status, headers)
        if token is None:
            return self._reply(method, params, {"ok": False, "error": "not_authed"})
        if token not in (self.bot_token, self.app_token):
            return self._reply(method, params, {"ok": False, "error": "invalid_auth"})
        app_only = method == "apps.connections.open"
        if (token == self.app_token) != app_only and method != "auth.test":
            return self._reply(method, params, {"ok": False, "error": "not_allowed_token_type"})
        handler = self.methods.get(method)
        if handler is None:
            return self._reply(method, params, {"ok": False, "error": "unknown_method"})
        retry_after = self._rate_check(method, params)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return self._reply(method, params, {"ok": False, "error": "ratelimited"}, 429, headers)
        try:
            body = {"ok": True, **await handler(params)}
        except ApiError as exc:
            body = exc.body()
        except limits.SlackLimitError as exc:
            body = ApiError(exc.error, messages=exc.messages).body()
        return self._reply(method, params, body)

    def _rate_check(self, method: str, params: dict[str, Any]) -> int | None:
        if self.rates is None:
            return None
        channel = None
        if method in PER_CHANNEL_METHODS:
            raw = str(params.get("channel") or "")
            try:
                channel = self.channel_or_raise(raw)
            except ApiError:
                channel = raw
        return self.rates.check(method, channel)

    # shared helpers used by the interaction helpers too ------------------------------------------
    def issue_trigger(self, user_id: str) -> str:
        trigger = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        self.triggers[trigger] = (user_id, time.monotonic())
        return trigger

    def issue_response_url(
        self, channel: str | None, message_ts: str | None, user_id: str, is_ephemeral: bool = False
    ) -> str:
        rid = secrets.token_urlsafe(12)
        self.response_urls[rid] = {
            "channel": channel,
            "message_ts": message_ts,
            "user": user_id,
            "is_ephemeral": is_ephemeral,
            "uses": 0,
        }
        return f"{self.base_url}/response/{rid}"

    # auth and socket ----------------------------------------------------------------------------
    async def auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{self.base_url}/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }

    async def apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        ws_base = self.base_url.replace("http://", "ws://", 1)
        return {"url": f"{ws_base}/link/?ticket={self.hub.issue_ticket()}"}

    # chat ---------------------------------------------------------------------------------------
    async def chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_or_raise(_required(p, "channel"))
        text, blocks = p.get("text"), _as_json(p.get("blocks"))
        limits.check_message(text, blocks)
        message = self.bot_message(text, blocks)
        thread_ts = p.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            if str(p.get("reply_broadcast", "")).lower() in ("1", "true"):
                message["subtype"] = "thread_broadcast"
        metadata = _metadata(p)
        if metadata:
            message["metadata"] = metadata
        stored = self.ws.add_message(channel, message)
        return {"channel": channel, "ts": stored["ts"], "message": copy.deepcopy(stored)}

    async def chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_or_raise(_required(p, "channel"))
        ts = str(_required(p, "ts"))
        message = self.ws.find_message(channel, ts)
        if message is None:
            raise ApiError("message_not_found")
        if message.get("bot_id") != BOT_ID:
            raise ApiError("cant_update_message")
        text, blocks = p.get("text"), _as_json(p.get("blocks"))
        limits.check_message(text or message.get("text"), blocks, max_text=limits.MAX_UPDATE_TEXT)
        fresh = self.bot_message(text if text is not None else message.get("text"), blocks)
        if blocks is None and "blocks" in message:
            fresh["blocks"] = message["blocks"]
        message.update(fresh)
        message["edited"] = {"user": BOT_USER_ID, "ts": self.ws.next_ts()}
        metadata = _metadata(p)
        if metadata:
            message["metadata"] = metadata
        return {"channel": channel, "ts": ts, "text": message["text"], "message": copy.deepcopy(message)}

    async def chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_or_raise(_required(p, "channel"))
        user = str(_required(p, "user"))
        if user not in self.ws.users:
            raise ApiError("user_not_found")
        text, blocks = p.get("text"), _as_json(p.get("blocks"))
        limits.check_message(text, blocks)
        ts = self.ws.next_ts()
        self.ws.ephemerals.append(
            {
                "channel": channel,
                "user": user,
                "text": text or "",
                "blocks": blocks,
                "ts": ts,
                "thread_ts": p.get("thread_ts"),
                "source": "chat.postEphemeral",
            }
        )
        return {"message_ts": ts}

    async def chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_or_raise(_required(p, "channel"))
        ts = str(_required(p, "message_ts"))
        if self.ws.find_message(channel, ts) is None:
            raise ApiError("message_not_found")
        return {"channel": channel, "permalink": f"{self.base_url}/archives/{channel}/p{ts.replace('.', '')}"}

    async def chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_or_raise(_required(p, "channel"))
        ts = str(_required(p, "ts"))
        if not self.ws.delete_message(channel, ts):
            raise ApiError("message_not_found")
        return {"channel": channel, "ts": ts}

    # conversations ------------------------------------------------------------------------------
    async def conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel"):
            return {"channel": {"id": self.channel_or_raise(p["channel"])}}
        users = [u.strip() for u in str(_required(p, "users")).split(",") if u.strip()]
        unknown = [u for u in users if u not in self.ws.users]
        if unknown:
            raise ApiError("user_not_found")
        if len(users) != 1:
            raise ApiError("not_supported", messages=["the local Slack opens 1:1 DMs only"])
        channel = self.ws.open_dm(users[0])
        return {"channel": {"id": channel.id}, "already_open": False, "no_op": False}

    async def conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.ws.channels.get(self.channel_or_raise(_required(p, "channel")))
        assert channel is not None
        return {"channel": channel.to_api()}

    async def conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        """Newest first, `oldest`/`latest`/`inclusive`, cursor pages; metadata with include_all_metadata."""
        channel = self.channel_or_raise(_required(p, "channel"))
        messages = _in_window(list(reversed(self.ws.top_level(channel))), p)
        page, cursor = _page(messages, p)
        return {
            "messages": _as_listed(page, p),
            "has_more": bool(cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    async def conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        """The parent first, then its replies oldest first (`oldest`/`latest` bound the replies)."""
        channel = self.channel_or_raise(_required(p, "channel"))
        thread = self.ws.thread(channel, str(_required(p, "ts")))
        if not thread:
            raise ApiError("thread_not_found")
        page, cursor = _page([thread[0], *_in_window(thread[1:], p)], p)
        return {
            "messages": _as_listed(page, p),
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    async def conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        """Slack's shape: `members` (user ids) a page at a time, `response_metadata.next_cursor`."""
        channel = self.channel_or_raise(_required(p, "channel"))
        try:
            limit = int(p.get("limit") or 100)
            cursor = str(p.get("cursor") or "")
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise ApiError("invalid_cursor") from None
        if not 1 <= limit <= 1000:
            raise ApiError("invalid_limit")
        members = self.ws.channel_members(channel)
        page = members[start : start + limit]
        more = start + limit < len(members)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    # users and reactions ------------------------------------------------------------------------
    async def users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.ws.users.get(str(_required(p, "user")))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": user.to_api()}

    async def users_lookup_by_email(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.ws.user_by_email(str(_required(p, "email")))
        if user is None:
            raise ApiError("users_not_found")
        return {"user": user.to_api()}

    async def users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        members = [u.to_api() for u in self.ws.users.values()]
        start = int(p.get("cursor") or 0)
        limit = int(p.get("limit") or 200) or 200
        page = members[start : start + limit]
        cursor = str(start + limit) if start + limit < len(members) else ""
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    async def reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_or_raise(_required(p, "channel"))
        message = self.ws.find_message(channel, str(_required(p, "timestamp")))
        if message is None:
            raise ApiError("message_not_found")
        name = str(_required(p, "name")).strip(":")
        reactions = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if BOT_USER_ID in reaction["users"]:
            raise ApiError("already_reacted")
        reaction["users"].append(BOT_USER_ID)
        reaction["count"] += 1
        return {}
