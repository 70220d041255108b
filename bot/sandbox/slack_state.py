"""In-memory workspace behind the local Slack-compatible server.

Kept apart from the HTTP layer so the Web API handlers, the interaction helpers and the tests all read
and change one plain Python model; nothing here does I/O.
"""

from __future__ import annotations

import copy
import itertools
import mimetypes
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

Message = dict[str, Any]
View = dict[str, Any]

TEAM_ID = "T0LOCAL"
TEAM_DOMAIN = "fathom-local"
TEAM_NAME = "Fathom Local"
BOT_USER_ID = "U0FATHOMBOT"
BOT_ID = "B0FATHOMBOT"
APP_ID = "A0FATHOMOS"
BOT_NAME = "fathom"


@dataclass
class SlackUser:
    """A workspace member; `to_api()` is what users.info returns for it."""

    id: str
    name: str
    real_name: str
    email: str
    tz: str = "America/New_York"
    is_admin: bool = False
    is_bot: bool = False
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        zone = ZoneInfo(self.tz)
        offset = datetime.now(zone).utcoffset()
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": datetime.now(zone).tzname() or self.tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_admin": self.is_admin,
            "is_owner": self.is_admin,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "email": self.email,
                "image_48": f"https://avatars.invalid/{self.id}.png",
                "team": TEAM_ID,
            },
        }


@dataclass
class SlackChannel:
    """A public channel, private channel or DM (`is_im`, with `user` the other member)."""

    id: str
    name: str = ""
    is_private: bool = False
    is_im: bool = False
    user: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    members: list[str] | None = None  # None: every user of the workspace (conversations.members)

    def to_api(self) -> dict[str, Any]:
        if self.is_im:
            return {"id": self.id, "is_im": True, "user": self.user, "created": self.created, "is_open": True}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_private": self.is_private,
            "is_member": True,
            "is_archived": False,
            "created": self.created,
        }


@dataclass
class StoredFile:
    """A file uploaded through files.getUploadURLExternal + completeUploadExternal."""

    id: str
    name: str
    length: int
    content: bytes = b""
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    def to_api(self, base_url: str = "") -> dict[str, Any]:
        """Slack's file object; the URLs point at this server's `/sandbox/files/` route."""
        url = f"{base_url}/sandbox/files/{self.id}/{quote(self.name)}"
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "filetype": self.name.rpartition(".")[2].lower() if "." in self.name else "binary",
            "size": len(self.content),
            "user": BOT_USER_ID,
            "channels": [self.channel] if self.channel else [],
            "url_private": url,
            "url_private_download": f"{url}?download=1",
            "permalink": url,
        }


def default_users() -> list[SlackUser]:
    """The people in the Fathom fixtures, plus a stranger who belongs to no meeting."""
    return [
        SlackUser("U01MAYA", "maya", "Maya Chen", "maya@agency.example", "America/New_York", is_admin=True),
        SlackUser("U02JONAS", "jonas", "Jonas Reed", "jonas@agency.example", "Europe/Berlin"),
        SlackUser("U03PRIYA", "priya", "Priya Nair", "priya@agency.example", "Asia/Kolkata"),
        SlackUser("U04OMAR", "omar", "Omar Haddad", "omar@agency.example", "Europe/London"),
        SlackUser("U09STRANGER", "sam", "Sam Stranger", "sam@elsewhere.example", "America/Los_Angeles"),
    ]


def default_channels() -> list[SlackChannel]:
    return [
        SlackChannel("C01GENERAL", "general"),
        SlackChannel("C02MEETINGS", "meetings"),
        SlackChannel("C03CLIENTS", "clients"),
    ]


class Workspace:
    """Users, channels, messages, ephemerals, views and files of one fake Slack team."""

    def __init__(
        self, users: list[SlackUser] | None = None, channels: list[SlackChannel] | None = None
    ) -> None:
        bot = SlackUser(BOT_USER_ID, BOT_NAME, "Fathom OS", "bot@fathom-os.invalid", "UTC", is_bot=True)
        self.users: dict[str, SlackUser] = {u.id: u for u in [*(users or default_users()), bot]}
        self.channels: dict[str, SlackChannel] = {c.id: c for c in (channels or default_channels())}
        self.posts: dict[str, list[Message]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, View] = {}
        self.view_owner: dict[str, str] = {}
        self.home_view_ids: dict[str, str] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.files: dict[str, StoredFile] = {}
        self._last_ts = 0.0
        self._ids = itertools.count(1)

    # ids and timestamps -------------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):05d}{secrets.token_hex(3).upper()}"

    def next_ts(self) -> str:
        """Slack ts strings are unique per channel and sort by time; keep them strictly increasing."""
        self._last_ts = max(round(time.time(), 6), round(self._last_ts + 0.000001, 6))
        return f"{self._last_ts:.6f}"

    # users and channels -------------------------------------------------------------------------
    def add_user(self, user: SlackUser) -> SlackUser:
        self.users[user.id] = user
        return user

    def user_by_email(self, email: str) -> SlackUser | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted and not u.is_bot), None)

    def resolve_channel(self, ref: str) -> SlackChannel | None:
        """Channel id, `#name`/name, or a user id (Slack then posts into the app's DM with that user)."""
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users:
            return self.open_dm(ref)
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def channel_members(self, channel_id: str) -> list[str]:
        """Who is in a channel: a DM's user and the bot, a listed set, or everyone."""
        channel = self.channels[channel_id]
        if channel.is_im:
            return [u for u in (channel.user, BOT_USER_ID) if u]
        if channel.members is not None:
            return list(dict.fromkeys(channel.members))
        return list(self.users)

    def open_dm(self, user_id: str) -> SlackChannel:
        existing = next((c for c in self.channels.values() if c.is_im and c.user == user_id), None)
        if existing:
            return existing
        channel = SlackChannel(f"D{user_id.removeprefix('U')}", is_im=True, user=user_id)
        self.channels[channel.id] = channel
        return channel

    # messages -----------------------------------------------------------------------------------
    def add_message(self, channel: str, message: Message) -> Message:
        message = {"type": "message", "ts": self.next_ts(), "team": TEAM_ID, **message}
        thread_ts = message.get("thread_ts")
        parent = self.find_message(channel, thread_ts) if thread_ts else None
        if parent is not None and thread_ts != message["ts"]:
            parent.setdefault("thread_ts", parent["ts"])
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            users = parent.setdefault("reply_users", [])
            if message.get("user") not in users:
                users.append(message.get("user"))
            parent["latest_reply"] = message["ts"]
        self.posts.setdefault(channel, []).append(message)
        return message

    def find_message(self, channel: str, ts: str | None) -> Message | None:
        return next((m for m in self.posts.get(channel, []) if m["ts"] == ts), None)

    def delete_message(self, channel: str, ts: str) -> bool:
        before = self.posts.get(channel, [])
        self.posts[channel] = [m for m in before if m["ts"] != ts]
        return len(self.posts[channel]) != len(before)

    def top_level(self, channel: str) -> list[Message]:
        return [
            m
            for m in self.posts.get(channel, [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]

    def thread(self, channel: str, ts: str) -> list[Message]:
        parent = self.find_message(channel, ts)
        if parent is None:
            return []
        replies = [m for m in self.posts.get(channel, []) if m.get("thread_ts") == ts and m["ts"] != ts]
        return [parent, *replies]

    # views --------------------------------------------------------------------------------------
    def store_view(self, user_id: str, view: View, view_id: str | None = None) -> View:
        """Normalise a view the way Slack echoes it back (id, hash, state, app ids)."""
        view_id = view_id or self.new_id("V")
        previous = self.views.get(view_id, {})
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": previous.get("root_view_id", view_id),
            "previous_view_id": previous.get("previous_view_id"),
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "bot_id": BOT_ID,
        }
        for key in ("title", "submit", "close"):
            if key in view:
                stored[key] = view[key]
        self.views[view_id] = stored
        self.view_owner[view_id] = user_id
        return stored

    def close_modal(self, view_id: str) -> None:
        user_id = self.view_owner.get(view_id)
        stack = self.modal_stacks.get(user_id or "", [])
        if view_id in stack:
            del stack[stack.index(view_id) :]

    def clear_modals(self, user_id: str) -> None:
        self.modal_stacks[user_id] = []

    def open_modals(self) -> dict[str, View]:
        return {vid: copy.deepcopy(self.views[vid]) for stack in self.modal_stacks.values() for vid in stack}
