"""The one place that talks to the Slack Web API.

Owns rate limits (a 429's Retry-After pauses every caller of that method, not just one request;
total wait is bounded), records each post (entity -> channel, ts) the moment it succeeds so a
retried job updates instead of posting twice (a crash between Slack's reply and that record is
covered by a pending marker and the message's own metadata, see `post_or_update`), and caches email -> Slack user lookups (hits and
misses) in the people table. Speaks plain dicts and `blocks.Message`; no Bolt types here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cachetools import LRUCache, TTLCache
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from blocks.common import Message
from services.clock import as_utc, utcnow
from services.db import Database
from services.models import Person, SlackMessageRef, SlackPendingPost
from services.slack.pacer import Pacer

log = logging.getLogger(__name__)

HIT_TTL = timedelta(hours=24)
MISS_TTL = timedelta(hours=1)
MEMBERS_TTL = 60.0  # seconds a channel's member list is trusted (access checks read it often)
MEMBERS_CACHED = 256  # channels whose member lists are kept
# Per-process caches, each bounded: least recently used entries go first.
REFS_CACHED = 20_000  # entity -> message ref (a ref changes only through this gateway)
SENT_CACHED = 20_000  # entity -> digest of the content last sent (a miss only costs one chat.update)
PERMALINKS_CACHED = 20_000  # (channel, ts) -> permalink (permalinks never change)
DM_CHANNELS_CACHED = 10_000  # user -> DM channel id (never changes)
# Every post recorded as a ref carries Slack message metadata {event_type: REF_EVENT, event_payload:
# {key: entity}}, so after a crash the bot can recognise its own message in the channel or thread.
REF_EVENT = "fathom_os_ref"
LOOKUP_MARGIN = 120.0  # seconds before a pending post's start still searched (clock skew with Slack)
LOOKUP_PAGES = 5  # pages of history/replies read at most when looking for an earlier post
LOOKUP_PAGE = 200  # messages a page


class RateGate:
    """Per-method pause shared by every request of this bot: Slack limits by method and workspace."""

    def __init__(self, max_wait: float = 120.0) -> None:
        self.max_wait = max_wait
        self._until: dict[str, float] = {}

    def block(self, method: str, seconds: float) -> None:
        self._until[method] = max(self._until.get(method, 0.0), time.monotonic() + seconds)

    async def wait(self, method: str) -> None:
        delay = self._until.get(method, 0.0) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class GatedRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, but the Retry-After window is shared and the total wait bounded."""

    def __init__(self, gate: RateGate, max_retry_count: int = 8) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.gate = gate

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        waited = float(state.custom_values.get("waited", 0.0)) if state.custom_values else 0.0
        return waited + _retry_after(response) <= self.gate.max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None
        delay = _retry_after(response) + random.uniform(0, 0.25)
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        self.gate.block(method, delay)
        if state.custom_values is None:
            state.custom_values = {}
        state.custom_values["waited"] = float(state.custom_values.get("waited", 0.0)) + delay
        state.next_attempt_requested = True
        await self.gate.wait(method)
        state.increment_current_attempt()


def _retry_after(response: HttpResponse) -> float:
    for key, values in response.headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(values[0] if isinstance(values, list) else values))
            except (TypeError, ValueError):
                break
    return 1.0


def retry_handlers(gate: RateGate) -> list[AsyncRetryHandler]:
    from slack_sdk.http_retry.builtin_async_handlers import (
        AsyncConnectionErrorRetryHandler,
        AsyncServerErrorRetryHandler,
    )

    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=3),
        GatedRateLimitHandler(gate),
    ]


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    email: str | None
    tz: str | None
    is_bot: bool = False
    is_guest: bool = False  # a restricted or ultra-restricted (single-channel) account
    deleted: bool = False


class SlackGateway:
    def __init__(
        self, client: AsyncWebClient, db: Database, gate: RateGate | None = None, pacer: Pacer | None = None
    ) -> None:
        self.client = client
        self.pacer = pacer  # sends at Slack's rate, by priority (services/slack/pacer.py); None: unpaced
        self.db = db
        self.gate = gate or RateGate()
        self._dm_channels: LRUCache[str, str] = LRUCache(DM_CHANNELS_CACHED)
        self._sent: LRUCache[str, int] = LRUCache(SENT_CACHED)  # entity -> hash of the content sent
        self._permalinks: LRUCache[tuple[str, str], str | None] = LRUCache(PERMALINKS_CACHED)
        self._members: TTLCache[str, set[str]] = TTLCache(MEMBERS_CACHED, MEMBERS_TTL)
        self._refs: LRUCache[str, MessageRef] = LRUCache(REFS_CACHED)
        self.bot_user_id: str | None = None

    async def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method through slack_sdk's named method (it knows each method's encoding)."""
        if self.pacer is not None:
            await self.pacer.acquire(method, kwargs.get("channel"))
        await self.gate.wait(method)
        response = await getattr(self.client, method.replace(".", "_"))(**_drop_none(kwargs))
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def auth_test(self) -> dict[str, Any]:
        data = await self.call("auth.test")
        self.bot_user_id = data.get("user_id")
        return data

    # -- messages --------------------------------------------------------------------------------
    async def ref(self, entity: str) -> MessageRef | None:
        if (cached := self._refs.get(entity)) is not None:
            return cached
        async with self.db.read_session() as s:
            row = await s.scalar(select(SlackMessageRef).where(SlackMessageRef.entity == entity))
        if row is None:
            return None
        ref = self._refs[entity] = MessageRef(row.channel, row.ts, row.thread_ts)
        return ref

    async def post(
        self, channel: str, message: Message, *, thread_ts: str | None = None, key: str | None = None
    ) -> MessageRef:
        """Post a message; `key` (a ref's entity) goes into its metadata so the bot can find it again."""
        metadata = {"event_type": REF_EVENT, "event_payload": {"key": key}} if key else None
        data = await self.call(
            "chat.postMessage",
            channel=channel,
            thread_ts=thread_ts,
            metadata=metadata,
            **message.as_kwargs(),
        )
        return MessageRef(str(data["channel"]), str(data["ts"]), thread_ts)

    async def update(self, ref: MessageRef, message: Message) -> None:
        await self.call("chat.update", channel=ref.channel, ts=ref.ts, **message.as_kwargs())

    async def refs(self, entities: list[str]) -> dict[str, MessageRef]:
        """Several refs in one query (a meeting's parent, items and details)."""
        found = {e: ref for e in entities if (ref := self._refs.get(e)) is not None}
        missing = [e for e in entities if e not in found]
        if not missing:
            return found
        async with self.db.read_session() as s:
            rows = await s.scalars(select(SlackMessageRef).where(SlackMessageRef.entity.in_(missing)))
            for r in rows:
                found[r.entity] = self._refs[r.entity] = MessageRef(r.channel, r.ts, r.thread_ts)
        return found

    async def post_or_update(
        self,
        entity: str,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        known: dict[str, MessageRef] | None = None,
    ) -> MessageRef:
        """Idempotent publish: the first call posts and records the ref; later calls update it.

        `known` is a pre-fetched ref map (see `refs`); an update whose content this process already
        sent is skipped, so re-publishing an unchanged card costs no Slack call.

        A first post writes a pending marker before chat.postMessage and removes it with the ref. A
        marker found on a later attempt means that attempt may have posted and died before recording:
        only then is Slack searched for the message carrying this entity's metadata, and a match is
        recorded and updated instead of posted again. The normal path costs no extra Slack call.
        """
        existing = known.get(entity) if known is not None else await self.ref(entity)
        if existing is None:
            existing = await self._claim_post(entity, channel, thread_ts)
        digest = hash((message.text, repr(message.blocks)))
        if existing is not None:
            if self._sent.get(entity) == digest:
                return existing
            try:
                await self.update(existing, message)
                self._sent[entity] = digest
                return existing
            except SlackApiError as exc:
                if exc.response.get("error") not in ("message_not_found", "channel_not_found"):
                    raise
                log.warning("message for %s vanished; posting again", entity)
                await self._forget(entity)
                await self._claim_post(entity, channel, thread_ts)
        try:
            ref = await self.post(channel, message, thread_ts=thread_ts, key=entity)
        except SlackApiError as exc:
            if exc.response.status_code < 500:  # Slack answered: nothing was posted
                await self._clear_pending(entity)
            raise
        await self._record(entity, ref)
        self._sent[entity] = digest
        return ref

    async def _claim_post(self, entity: str, channel: str, thread_ts: str | None) -> MessageRef | None:
        """Before a first post: write the pending marker; if one is there already, an earlier attempt
        may have posted, so look for its message (the ref, recorded, if found)."""
        async with self.db.read_session() as s:  # looked up before taking SQLite's write lock (#15)
            pending = await s.get(SlackPendingPost, entity)
            where = None if pending is None else (pending.channel, pending.thread_ts, pending.started_at)
        if where is None:
            try:
                async with self.db.session() as s:
                    s.add(SlackPendingPost(entity=entity, channel=channel, thread_ts=thread_ts))
                return None
            except IntegrityError:
                return None  # a concurrent first post of the same entity wrote it a moment ago
        found = await self._find_posted(entity, *where)
        if found is not None:
            log.warning("found the earlier post of %s in Slack; updating it instead of posting", entity)
            await self._record(entity, found)
        return found

    async def _find_posted(
        self, entity: str, channel: str, thread_ts: str | None, since: datetime
    ) -> MessageRef | None:
        """This bot's message carrying `entity` in its metadata, posted since `since` (a few pages of
        conversations.history, or conversations.replies for a thread reply)."""
        oldest = f"{as_utc(since).timestamp() - LOOKUP_MARGIN:.6f}"
        method, where = (
            ("conversations.replies", {"ts": thread_ts}) if thread_ts else ("conversations.history", {})
        )
        cursor: str | None = None
        for _ in range(LOOKUP_PAGES):
            try:
                data = await self.call(
                    method,
                    channel=channel,
                    oldest=oldest,
                    limit=LOOKUP_PAGE,
                    include_all_metadata=True,
                    cursor=cursor,
                    **where,
                )
            except SlackApiError as exc:
                if exc.response.get("error") == "ratelimited":
                    raise  # retry the job later rather than risk a second post
                log.warning("could not look for an earlier post of %s: %s", entity, exc.response.get("error"))
                return None
            for m in data.get("messages") or []:
                if _carries(m, entity) and m.get("ts") != thread_ts and self._mine(m):
                    return MessageRef(channel, str(m["ts"]), thread_ts)
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return None

    def _mine(self, message: dict[str, Any]) -> bool:
        return self.bot_user_id is None or message.get("user") == self.bot_user_id

    async def _record(self, entity: str, ref: MessageRef) -> None:
        try:
            async with self.db.session() as s:
                s.add(SlackMessageRef(entity=entity, channel=ref.channel, ts=ref.ts, thread_ts=ref.thread_ts))
                await s.execute(delete(SlackPendingPost).where(SlackPendingPost.entity == entity))
            self._refs[entity] = ref
        except IntegrityError:
            log.warning("a concurrent publisher already recorded %s", entity)
            await self._clear_pending(entity)

    async def _clear_pending(self, entity: str) -> None:
        async with self.db.session() as s:
            await s.execute(delete(SlackPendingPost).where(SlackPendingPost.entity == entity))

    async def _forget(self, entity: str) -> None:
        self._refs.pop(entity, None)
        async with self.db.session() as s:
            row = await s.scalar(select(SlackMessageRef).where(SlackMessageRef.entity == entity))
            if row:
                await s.delete(row)

    async def post_ephemeral(
        self, channel: str, user: str, message: Message, thread_ts: str | None = None
    ) -> None:
        await self.call(
            "chat.postEphemeral", channel=channel, user=user, thread_ts=thread_ts, **message.as_kwargs()
        )

    async def dm_channel(self, user_id: str) -> str:
        if user_id not in self._dm_channels:
            data = await self.call("conversations.open", users=user_id)
            self._dm_channels[user_id] = str(data["channel"]["id"])
        return self._dm_channels[user_id]

    async def send_dm(self, user_id: str, message: Message) -> MessageRef:
        return await self.post(await self.dm_channel(user_id), message)

    async def permalink(self, ref: MessageRef) -> str | None:
        """A message's link; it never changes, so each is asked for once per process."""
        key = (ref.channel, ref.ts)
        if key not in self._permalinks:
            try:
                data = await self.call("chat.getPermalink", channel=ref.channel, message_ts=ref.ts)
            except SlackApiError:
                return None
            self._permalinks[key] = data.get("permalink")
        return self._permalinks[key]

    async def thread_urls(self, meeting_ids: set[int]) -> dict[int, str]:
        """Permalinks of the meetings' cards (fetched concurrently; a missing card is just no link)."""
        if not meeting_ids:
            return {}

        async def one(meeting_id: int) -> tuple[int, str | None]:
            ref = await self.ref(f"meeting:{meeting_id}")
            return meeting_id, (await self.permalink(ref) if ref else None)

        pairs = await asyncio.gather(*(one(i) for i in sorted(meeting_ids)))
        return {i: url for i, url in pairs if url}

    # -- views and files ---------------------------------------------------------------------------
    async def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        await self.call("views.publish", user_id=user_id, view=view)

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> dict[str, Any]:
        view_opened: dict[str, Any] = (await self.call("views.open", trigger_id=trigger_id, view=view)).get(
            "view", {}
        )
        return view_opened

    async def update_view(self, view_id: str, view: dict[str, Any]) -> None:
        await self.call("views.update", view_id=view_id, view=view)

    async def upload_file(
        self,
        channel: str | None,
        filename: str,
        content: bytes,
        *,
        title: str,
        thread_ts: str | None = None,
        comment: str | None = None,
    ) -> str:
        """files_upload_v2; returns the file id (an image block shows it as `slack_file: {"id": …}`).
        Without a channel the file stays private to the bot, which is enough for an image block."""
        await self.gate.wait("files.getUploadURLExternal")
        response = await self.client.files_upload_v2(
            **_drop_none(
                {
                    "channel": channel,
                    "filename": filename,
                    "content": content,
                    "title": title,
                    "thread_ts": thread_ts,
                    "initial_comment": comment,
                }
            )
        )
        files = (response.data if isinstance(response.data, dict) else {}).get("files") or [{}]
        return str(files[0].get("id") or (response.get("file") or {}).get("id") or "")

    # -- people ------------------------------------------------------------------------------------
    async def user_for_email(self, email: str | None, *, name: str | None = None) -> SlackUser | None:
        """email -> Slack user, cached in `people` (misses too, for a shorter time)."""
        if not email:
            return None
        email = email.strip().lower()
        async with self.db.session() as s:
            person = await s.scalar(select(Person).where(Person.email == email))
            if person and person.looked_up_at:
                ttl = HIT_TTL if person.slack_user_id else MISS_TTL
                if utcnow() - as_utc(person.looked_up_at) < ttl:
                    if person.slack_user_id is None:
                        return None
                    return SlackUser(person.slack_user_id, person.name or email, email, person.tz)
        user: SlackUser | None = None
        try:
            data = await self.call("users.lookupByEmail", email=email)
            user = _slack_user(data["user"])
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                raise
        await self._remember(email, user, name)
        return user

    async def _remember(self, email: str, user: SlackUser | None, name: str | None) -> None:
        try:
            async with self.db.session() as s:
                person = await s.scalar(select(Person).where(Person.email == email))
                if person is None:
                    person = Person(email=email)
                    s.add(person)
                person.slack_user_id = user.id if user else None
                person.name = (user.name if user else None) or person.name or name
                person.tz = user.tz if user else person.tz
                person.looked_up_at = utcnow()
        except IntegrityError:
            pass  # a concurrent lookup stored the same person

    async def user_info(self, user_id: str) -> SlackUser:
        data = await self.call("users.info", user=user_id)
        return _slack_user(data["user"])

    async def members(self, channel_id: str) -> set[str]:
        """`services.access.ChannelMembers`: a channel's members (every page), cached MEMBERS_TTL s."""
        cached = self._members.get(channel_id)
        if cached is not None:
            return cached
        found: set[str] = set()
        cursor: str | None = None
        while True:
            data = await self.call("conversations.members", channel=channel_id, limit=1000, cursor=cursor)
            found.update(str(m) for m in data.get("members") or [])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        self._members[channel_id] = found
        return found

    async def mentions_for(self, emails: list[str | None]) -> dict[str, str]:
        """email -> Slack user id for the emails that map to a Slack user (one query when cached)."""
        wanted = {e.strip().lower() for e in emails if e}
        out: dict[str, str] = {}
        fresh: set[str] = set()
        if wanted:
            async with self.db.session() as s:
                for person in await s.scalars(select(Person).where(Person.email.in_(wanted))):
                    ttl = HIT_TTL if person.slack_user_id else MISS_TTL
                    if person.looked_up_at and utcnow() - as_utc(person.looked_up_at) < ttl:
                        fresh.add(person.email)
                        if person.slack_user_id:
                            out[person.email] = person.slack_user_id
        for email in sorted(wanted - fresh):
            user = await self.user_for_email(email)
            if user:
                out[email] = user.id
        return out


def _slack_user(data: dict[str, Any]) -> SlackUser:
    profile = data.get("profile") or {}
    name = data.get("real_name") or profile.get("real_name") or data.get("name") or data.get("id", "")
    return SlackUser(
        id=str(data["id"]),
        name=str(name),
        email=(profile.get("email") or None),
        tz=data.get("tz"),
        is_bot=bool(data.get("is_bot")),
        is_guest=bool(data.get("is_restricted") or data.get("is_ultra_restricted")),
        deleted=bool(data.get("deleted")),
    )


def _carries(message: dict[str, Any], entity: str) -> bool:
    """Whether a message's metadata marks it as the post of `entity` (see REF_EVENT)."""
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != REF_EVENT:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("key") == entity


def _drop_none(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}
