"""Views, file uploads (v2 flow) and response_url for the local Slack Web API.

Split from `slack_web.py` by surface; the mixin expects the attributes `WebApi` sets up.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox import slack_limits as limits
from bot.sandbox.slack_faults import CallRecord
from bot.sandbox.slack_socket import SocketHub
from bot.sandbox.slack_state import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_ID,
    Message,
    StoredFile,
    View,
    Workspace,
)

if TYPE_CHECKING:
    from bot.sandbox.slack_web import Handler

BOT_PROFILE = {"id": BOT_ID, "app_id": APP_ID, "name": BOT_NAME, "team_id": TEAM_ID, "deleted": False}
MAX_VIEW_STACK = 3
MAX_RESPONSE_URL_USES = 5


class ApiError(Exception):
    """A Slack `{"ok": false, "error": ...}` answer, with optional `response_metadata.messages`."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def _view_param(p: dict[str, Any]) -> View:
    raw = p.get("view")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ApiError("invalid_arguments", [f"[ERROR] invalid JSON in view: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise ApiError("invalid_arguments", ["[ERROR] missing required field: view"])
    limits.check_view(raw)
    return raw


class ViewsFilesApi:
    """views.*, files.* (upload v2), the response_url endpoint and helpers shared with `WebApi`."""

    ws: Workspace
    hub: SocketHub
    base_url: str
    calls: list[CallRecord]
    triggers: dict[str, tuple[str, float]]
    trigger_ttl: float
    response_urls: dict[str, dict[str, Any]]

    def channel_or_raise(self, ref: Any) -> str:
        channel = self.ws.resolve_channel(str(ref or ""))
        if channel is None:
            raise ApiError("channel_not_found")
        return channel.id

    def bot_message(self, text: str | None, blocks: list[Any] | None) -> Message:
        message: Message = {"user": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID, "text": text or ""}
        message["bot_profile"] = BOT_PROFILE
        if blocks is not None:
            message["blocks"] = [
                {**b, "block_id": b.get("block_id") or secrets.token_hex(3)} if isinstance(b, dict) else b
                for b in blocks
            ]
        return message

    def view_and_file_methods(self) -> dict[str, Handler]:
        return {
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }

    def consume_trigger(self, trigger_id: Any) -> str:
        """Triggers are single-use and expire after 3 s on Slack; return the user who caused it."""
        entry = self.triggers.get(str(trigger_id or ""))
        if entry is None:
            raise ApiError("invalid_trigger_id")
        user_id, issued = entry
        if issued < 0:
            raise ApiError("trigger_exchanged")
        if time.monotonic() - issued > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        self.triggers[str(trigger_id)] = (user_id, -1.0)
        return user_id

    # views --------------------------------------------------------------------------------------
    async def views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        view = _view_param(p)
        user_id = self.consume_trigger(p.get("trigger_id"))
        stored = self.ws.store_view(user_id, view)
        self.ws.modal_stacks[user_id] = [stored["id"]]
        return {"view": copy.deepcopy(stored)}

    async def views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        view = _view_param(p)
        user_id = self.consume_trigger(p.get("trigger_id"))
        return {"view": copy.deepcopy(self.push_view(user_id, view))}

    def push_view(self, user_id: str, view: View) -> View:
        stack = self.ws.modal_stacks.setdefault(user_id, [])
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        stored = self.ws.store_view(user_id, view)
        if stack:
            stored["root_view_id"], stored["previous_view_id"] = stack[0], stack[-1]
        stack.append(stored["id"])
        return stored

    async def views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view = _view_param(p)
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            view_id = next(
                (k for k, v in self.ws.views.items() if v["external_id"] == p["external_id"]), None
            )
        current = self.ws.views.get(str(view_id or ""))
        if current is None:
            raise ApiError("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        stored = self.ws.store_view(self.ws.view_owner[current["id"]], view, current["id"])
        return {"view": copy.deepcopy(stored)}

    async def views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        view = _view_param(p)
        user_id = str(p.get("user_id") or "")
        if user_id not in self.ws.users:
            raise ApiError("user_not_found")
        if view.get("type") != "home":
            raise ApiError("invalid_arguments", ["[ERROR] views.publish only accepts home views"])
        current = self.ws.views.get(self.ws.home_view_ids.get(user_id, ""))
        if current is not None and p.get("hash") and p["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        stored = self.ws.store_view(user_id, view, current["id"] if current else None)
        self.ws.home_view_ids[user_id] = stored["id"]
        return {"view": copy.deepcopy(stored)}

    # files (upload v2) --------------------------------------------------------------------------
    async def files_get_upload_url_external(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = str(p.get("filename") or "")
        if not filename or p.get("length") in (None, ""):
            raise ApiError("invalid_arguments", ["[ERROR] filename and length are required"])
        stored = StoredFile(id=self.ws.new_id("F"), name=filename, length=int(p["length"]))
        self.ws.files[stored.id] = stored
        return {"upload_url": f"{self.base_url}/upload/v1/{stored.id}", "file_id": stored.id}

    async def handle_upload(self, request: web.Request) -> web.Response:
        stored = self.ws.files.get(request.match_info["file_id"])
        status = 404 if stored is None else 200
        if stored is not None:
            stored.content = await request.read()
        self.calls.append(
            CallRecord(
                "files.upload", {"file_id": request.match_info["file_id"]}, time.time(), status, status == 200
            )
        )
        if stored is None:
            return web.Response(status=404, text="file not found")
        return web.Response(text=f"OK - {len(stored.content)}")

    async def files_complete_upload_external(self, p: dict[str, Any]) -> dict[str, Any]:
        raw = p.get("files")
        items = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments", ["[ERROR] files must be a non-empty array"])
        channel_ref = p.get("channel_id") or (str(p.get("channels") or "").split(",")[0] or None)
        channel = self.channel_or_raise(channel_ref) if channel_ref else None
        done: list[StoredFile] = []
        for item in items:
            stored = self.ws.files.get(str(item.get("id")))
            if stored is None or (not stored.content and stored.length):
                raise ApiError("file_not_found")
            stored.title = item.get("title") or stored.name
            stored.channel, stored.thread_ts = channel, p.get("thread_ts") or None
            stored.initial_comment, stored.completed = p.get("initial_comment"), True
            done.append(stored)
        if channel is not None:
            message = self.bot_message(p.get("initial_comment") or "", None)
            message["files"] = [f.to_api(self.base_url) for f in done]
            message["upload"] = True
            if p.get("thread_ts"):
                message["thread_ts"] = str(p["thread_ts"])
            self.ws.add_message(channel, message)
        return {"files": [f.to_api(self.base_url) for f in done]}

    # response_url -------------------------------------------------------------------------------
    async def handle_response_url(self, request: web.Request) -> web.Response:
        """Slack's response_url: reply ephemerally or in channel, replace or delete the original."""
        ctx = self.response_urls.get(request.match_info["rid"])
        try:
            body = await request.json()
        except (json.JSONDecodeError, ValueError):
            body = None
        answer: dict[str, Any] = {"ok": True}
        status = 200
        if ctx is None:
            status, answer = 404, {"ok": False, "error": "expired_url"}
        elif ctx["uses"] >= MAX_RESPONSE_URL_USES:
            status, answer = 404, {"ok": False, "error": "used_url"}
        elif not isinstance(body, dict):
            status, answer = 400, {"ok": False, "error": "invalid_payload"}
        else:
            ctx["uses"] += 1
            try:
                self._apply_response(ctx, body)
            except (ApiError, limits.SlackLimitError) as exc:
                status, answer = 400, {"ok": False, "error": exc.error}
        params = body if isinstance(body, dict) else {}
        self.calls.append(
            CallRecord("response_url", params, time.time(), status, status == 200, answer.get("error"))
        )
        return web.json_response(answer, status=status)

    def _apply_response(self, ctx: dict[str, Any], body: dict[str, Any]) -> None:
        channel, original_ts = ctx["channel"], ctx["message_ts"]
        if body.get("delete_original"):
            if ctx["is_ephemeral"]:
                self.ws.ephemerals = [e for e in self.ws.ephemerals if e["ts"] != original_ts]
            elif not (channel and self.ws.delete_message(channel, original_ts)):
                raise ApiError("message_not_found")
            return
        text, blocks = body.get("text"), body.get("blocks")
        limits.check_message(text, blocks)
        if body.get("replace_original") and original_ts:
            if ctx["is_ephemeral"]:
                for eph in self.ws.ephemerals:
                    if eph["ts"] == original_ts:
                        eph.update({"text": text or "", "blocks": blocks})
                return
            message = self.ws.find_message(channel, original_ts)
            if message is None:
                raise ApiError("message_not_found")
            message.update(self.bot_message(text, blocks))
            if blocks is None:
                message.pop("blocks", None)
            return
        if channel is None:
            raise ApiError("channel_not_found")
        if body.get("response_type") == "in_channel":
            message = self.bot_message(text, blocks)
            if body.get("thread_ts"):
                message["thread_ts"] = str(body["thread_ts"])
            self.ws.add_message(channel, message)
            return
        # Slack shows the answer to a click on a thread reply in that thread, not in the channel.
        thread_ts = body.get("thread_ts")
        if not thread_ts and original_ts:
            if ctx["is_ephemeral"]:
                original = next((e for e in self.ws.ephemerals if e["ts"] == original_ts), None)
            else:
                original = self.ws.find_message(channel, original_ts)
            if original is not None and original.get("thread_ts") not in (None, original_ts):
                thread_ts = original["thread_ts"]
        self.ws.ephemerals.append(
            {
                "channel": channel,
                "user": ctx["user"],
                "text": text or "",
                "blocks": blocks,
                "ts": self.ws.next_ts(),
                "thread_ts": thread_ts,
                "source": "response_url",
            }
        )
