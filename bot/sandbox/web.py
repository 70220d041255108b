"""Browser UI of the local Slack sandbox: a Slack-like page served next to the fake Web API.

The page never talks to the bot directly. It reads the workspace through `/sandbox/api/state`, and
every click, selection, submission or slash command is replayed through LocalSlack's interaction
helpers, so the bot receives exactly the Socket Mode envelopes real Slack would send. Changes reach
the page as server-sent events: a middleware bumps a version after every Web API / response_url call
(the only ways the bot changes what users see) and after each sandbox action.

The page acts as any workspace user (approvers included), so its own routes are guarded against
other web pages: they answer only a loopback `Host` of this server (DNS rebinding gets 421), POSTs
need `Content-Type: application/json` (415; no cross-origin "simple" request can send it), a
same-server `Origin` when one is sent (403), and the per-start token written into the page (403).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import random
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bot.sandbox.slack_socket import AckTimeoutError, NoSocketError
from bot.sandbox.slack_state import BOT_USER_ID, TEAM_NAME

if TYPE_CHECKING:
    from bot.sandbox.slack_server import LocalSlack

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "fathom"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
TOKEN_HEADER = "X-Sandbox-Token"
TOKEN_PLACEHOLDER = "__SANDBOX_TOKEN__"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_STAMP = r"\d{1,2}:\d{2}(?::\d{2})?"
_STAMPED_LINE = re.compile(rf"^\[?({_STAMP})\]?\s*[-–]?\s*(.*)$")
_SPEAKER_LINE = re.compile(rf"^([A-Z][\w .'-]{{0,40}}?)\s*(?:\(({_STAMP})\))?:\s*(.*)$")

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(Exception):
    """A page request the sandbox cannot act on; shown to the person as a toast."""


def _clock(value: str) -> int:
    parts = [int(p) for p in value.split(":")]
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def _stamp(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _speaking_seconds(words: str) -> int:
    """About 150 words a minute, at least 2 s: the length of an utterance without timestamps."""
    return max(2, round(len(words.split()) * 60 / 150))


def _external_domain(title: str) -> str:
    """The client's domain Fathom would know from the invite; here made from the title's first part."""
    head = re.split(r"\s[-–—|:]\s|:", title, maxsplit=1)[0]
    slug = re.sub(r"[^a-z0-9]+", "-", head.lower()).strip("-")
    return f"{slug or 'guest'}.example"


def transcript_payload(
    text: str,
    title: str = "",
    recording_id: int | None = None,
    people: dict[str, str] | None = None,
    recorded_by: str = "Maya Chen",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Build the payload Fathom would send for a pasted transcript.

    Lines look like `Name: words`, optionally with a timestamp (`[00:01:23] Name: words`,
    `00:01:23 Name: words`, `Name (01:23): words`); a line without a speaker continues the previous
    speaker. Speakers are the people who talk; invitees are the known people (`people`: name -> email,
    internal) who spoke or recorded, plus every other speaker as an external guest. The meeting lasts
    from the first timestamp to the end of the last utterance (estimated when there are no timestamps).
    """
    people = people or {}
    known = {name.lower(): (name, email) for name, email in people.items()}
    recorder = known.get(recorded_by.lower(), (recorded_by, None))
    title = title.strip() or "Pasted transcript"
    domain = _external_domain(title)
    entries: list[dict[str, Any]] = []
    clock = 0
    speaker = recorder[0]
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        stamp: int | None = None
        match = _STAMPED_LINE.match(line)
        if match:
            stamp, line = _clock(match.group(1)), match.group(2).strip()
        match = _SPEAKER_LINE.match(line)
        if match:
            speaker, words = match.group(1).strip(), match.group(3).strip()
            if match.group(2):
                stamp = _clock(match.group(2))
        else:
            words = line
        if not words:
            continue
        if stamp is not None:
            clock = max(clock, stamp)
        entries.append({"speaker": speaker, "text": words, "at": clock})
        clock += _speaking_seconds(words)
    duration = clock

    speakers = list(dict.fromkeys(e["speaker"] for e in entries))
    invitees: list[dict[str, Any]] = []
    emails: dict[str, str] = {}
    home_domain = (recorder[1] or "").partition("@")[2]
    for name in dict.fromkeys([recorder[0], *speakers]):
        display, email = known.get(name.lower(), (name, None))
        external = email is None or bool(home_domain and email.partition("@")[2] != home_domain)
        if email is None:
            email = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") + "@" + domain
        emails[name] = email
        invitees.append(
            {
                "name": display,
                "email": email,
                "email_domain": email.partition("@")[2],
                "is_external": external,
                "matched_speaker_display_name": name if name in speakers else None,
            }
        )
    transcript = [
        {
            "speaker": {"display_name": e["speaker"], "matched_calendar_invitee_email": emails[e["speaker"]]},
            "text": e["text"],
            "timestamp": _stamp(e["at"]),
        }
        for e in entries
    ]
    rid = recording_id or random.randint(100_000_000, 999_999_999)  # noqa: S311 - an id, not a secret
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(seconds=duration)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    has_external = any(i["is_external"] for i in invitees)
    recorder_email = emails.get(recorder[0]) or ""
    return {
        "title": title,
        "meeting_title": title,
        "recording_id": rid,
        "url": f"https://fathom.video/calls/{rid}",
        "share_url": f"https://fathom.video/share/sandbox-{rid}",
        "created_at": end.strftime(iso),
        "scheduled_start_time": start.strftime(iso),
        "scheduled_end_time": end.strftime(iso),
        "recording_start_time": start.strftime(iso),
        "recording_end_time": end.strftime(iso),
        "calendar_invitees_domains_type": "one_or_more_external" if has_external else "only_internal",
        "transcript_language": "en",
        "calendar_invitees": invitees,
        "recorded_by": {
            "name": recorder[0],
            "email": recorder_email,
            "email_domain": recorder_email.partition("@")[2],
            "team": "Sandbox",
        },
        "transcript": transcript,
    }


def sample_names() -> list[str]:
    return sorted(p.stem for p in SAMPLES_DIR.glob("*.json"))


class SandboxWeb:
    """Routes and live-update plumbing of the sandbox page for one LocalSlack."""

    def __init__(self, slack: LocalSlack) -> None:
        self.slack = slack
        self.webhook_url: str | None = None
        self._webhook_secret: str | None = None
        self.fathom: Any = None  # the local Fathom API stand-in the bot reconciles from (a missed webhook)
        self.reconcile_seconds: float | None = None
        self.version = 0
        self._changed = asyncio.Condition()
        self.token = secrets.token_urlsafe(32)  # per start; only the served page knows it

    def configure_webhook(self, url: str, secret: str | None) -> None:
        """Where "Send a sample meeting" posts, and the secret it signs with (kept out of every page)."""
        self.webhook_url, self._webhook_secret = url, secret

    def configure_fathom(self, stand_in: Any, reconcile_seconds: float) -> None:
        """The Fathom API stand-in that "Send as a missed webhook" fills, and how often the bot lists it."""
        self.fathom, self.reconcile_seconds = stand_in, reconcile_seconds

    # live updates -------------------------------------------------------------------------------
    def notify(self) -> None:
        """Tell every open page to refetch; cheap, so it is called after anything that may change state."""
        self.version += 1
        asyncio.get_running_loop().create_task(self._wake())
        self.slack.schedule_save()

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # guarding the page's own routes ------------------------------------------------------------
    def allowed_hosts(self) -> set[str]:
        """`Host` values that name this server: its bound address and the loopback names, same port."""
        bound = self.slack.base_url.removeprefix("http://")
        port = bound.rpartition(":")[2]
        return {bound, *(f"{name}:{port}" for name in LOOPBACK_NAMES)}

    def refusal(self, request: web.Request) -> web.StreamResponse | None:
        """Why a request to the page's routes is refused (a response), or None when it may go on."""
        if request.headers.get("Host", "").lower() not in self.allowed_hosts():
            return web.json_response({"ok": False, "error": "unknown Host"}, status=421)
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower().removeprefix("http://") not in self.allowed_hosts():
            return web.json_response({"ok": False, "error": "cross-origin request"}, status=403)
        if request.method != "POST":
            return None
        if request.content_type != "application/json":
            error = "Content-Type must be application/json"
            return web.json_response({"ok": False, "error": error}, status=415)
        if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), self.token):
            return web.json_response({"ok": False, "error": "missing or wrong sandbox token"}, status=403)
        return None

    @web.middleware
    async def _guard(self, request: web.Request, handler: Route) -> web.StreamResponse:
        if request.path == "/" or request.path.startswith("/sandbox/"):
            refused = self.refusal(request)
            if refused is not None:
                return refused
        return await handler(request)

    @web.middleware
    async def _watch(self, request: web.Request, handler: Route) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:
            if request.path.startswith(("/api/", "/response/")):
                self.notify()

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        seen = -1
        try:
            while True:
                if seen != self.version:
                    seen = self.version
                    await response.write(f"data: {json.dumps({'version': seen})}\n\n".encode())
                async with self._changed:
                    try:
                        await asyncio.wait_for(self._changed.wait(), timeout=15.0)
                    except TimeoutError:
                        await response.write(b": keep-alive\n\n")
        except ConnectionResetError:
            pass  # the tab was closed
        return response

    # wiring -------------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.middlewares.append(self._guard)
        app.middlewares.append(self._watch)
        app.router.add_get("/", self.index)
        app.router.add_get("/sandbox/static/{name}", self.static)
        app.router.add_get("/sandbox/api/state", self.state)
        app.router.add_get("/sandbox/api/events", self.events)
        app.router.add_get("/sandbox/files/{file_id}/{name}", self.file)
        app.router.add_get("/sandbox/files/{file_id}", self.file)  # an image block's slack_file id
        posts: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "action": self.action,
            "submit": self.submit,
            "close": self.close,
            "command": self.command,
            "message": self.message,
            "home": self.home,
            "sample": self.sample,
            "sample_missed": self.sample_missed,
        }
        for name, method in posts.items():
            app.router.add_post(f"/sandbox/api/{name}", self._json_route(method))

    def _json_route(self, method: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> Route:
        async def route(request: web.Request) -> web.StreamResponse:
            try:
                body = await request.json()
                if not isinstance(body, dict):
                    raise BadRequest("expected a JSON object")
                result = await method(body)
            except (BadRequest, LookupError, ValueError) as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=400)
            except AckTimeoutError:
                error = "The app did not acknowledge within 3 seconds (Slack would show an error)."
                return web.json_response({"ok": False, "error": error}, status=504)
            except NoSocketError:
                return web.json_response({"ok": False, "error": "The bot is not connected."}, status=503)
            finally:
                self.notify()
            return web.json_response({"ok": True, **result})

        return route

    async def index(self, request: web.Request) -> web.StreamResponse:
        page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        return web.Response(
            text=page.replace(TOKEN_PLACEHOLDER, self.token),
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC_DIR / name
        if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in STATIC_TYPES:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def file(self, request: web.Request) -> web.StreamResponse:
        """An uploaded file's bytes: images inline, anything else as a download (never run as a page)."""
        stored = self.slack.workspace.files.get(request.match_info["file_id"])
        name = request.match_info.get("name")  # absent: an image block's slack_file id
        if stored is None or not stored.completed or (name is not None and stored.name != name):
            raise web.HTTPNotFound(text="no such file in this sandbox")
        inline = stored.mimetype.startswith("image/") and "download" not in request.query
        disposition = "inline" if inline else "attachment"
        return web.Response(
            body=stored.content,
            content_type=stored.mimetype if inline else "application/octet-stream",
            headers={
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.name)}",
                "Content-Security-Policy": "sandbox",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    # reading ------------------------------------------------------------------------------------
    def _user_id(self, body: dict[str, Any] | Any) -> str:
        user_id = str(body.get("user") or "")
        if user_id not in self.slack.users or user_id == BOT_USER_ID:
            raise BadRequest(f"unknown user {user_id!r}")
        return user_id

    async def state(self, request: web.Request) -> web.StreamResponse:
        """Everything one person can see: channels, their DM with the app, ephemerals, home, modals."""
        ws = self.slack.workspace
        user_id = request.query.get("user") or "U01MAYA"
        if user_id not in ws.users:
            raise web.HTTPBadRequest(text="unknown user")
        dm = ws.open_dm(user_id)
        channels = [c for c in ws.channels.values() if not c.is_im]
        home = self.slack.home_view(user_id)
        body = {
            "version": self.version,
            "team": TEAM_NAME,
            "me": user_id,
            "bot_user_id": BOT_USER_ID,
            "users": [
                {"id": u.id, "name": u.name, "real_name": u.real_name, "is_bot": u.is_bot}
                for u in ws.users.values()
            ],
            "channels": [{"id": c.id, "name": c.name, "is_private": c.is_private} for c in channels],
            "dm": {"id": dm.id, "name": "Fathom OS"},
            "messages": {c.id: copy.deepcopy(ws.posts.get(c.id, [])) for c in [*channels, dm]},
            "ephemerals": [copy.deepcopy(e) for e in ws.ephemerals if e.get("user") == user_id],
            "home": home,
            "modals": self.slack.modal_stack(user_id),
            "samples": sample_names(),
            "webhook_ready": bool(self.webhook_url and self._webhook_secret),
        }
        return web.json_response(body, dumps=lambda o: json.dumps(o, default=str))

    # acting -------------------------------------------------------------------------------------
    async def action(self, body: dict[str, Any]) -> dict[str, Any]:
        """One element interaction in a message (channel + ts) or a view (view_id), as block_actions."""
        user_id = self._user_id(body)
        kind, action_id = str(body.get("kind") or "button"), str(body.get("action_id") or "")
        if not action_id:
            raise BadRequest("action_id is required")
        where: dict[str, Any] = {"block_id": body.get("block_id"), "view_id": body.get("view_id")}
        channel, ts = body.get("channel"), body.get("ts")
        value = body.get("value")
        s = self.slack
        if kind == "button":
            ack = await s.click_button(user_id, channel, ts, action_id, value, **where)
        elif kind in ("static_select", "overflow", "radio_buttons"):
            ack = await s.select_option(
                user_id, channel, ts, action_id, str(value), body.get("text"), **where
            )
        elif kind == "users_select":
            ack = await s.select_user(user_id, channel, ts, action_id, str(value), **where)
        elif kind == "datepicker":
            ack = await s.pick_date(user_id, channel, ts, action_id, str(value), **where)
        else:
            raise BadRequest(f"the sandbox cannot send {kind!r} actions yet")
        return {"ack": ack}

    async def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = self._user_id(body)
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise BadRequest("values must be {block_id: {action_id: value}}")
        ack = await self.slack.submit_view(user_id, str(body.get("view_id") or ""), values)
        return {"ack": ack}

    async def close(self, body: dict[str, Any]) -> dict[str, Any]:
        """Cancel/X on a modal. Our views do not ask for notify_on_close, so no event is sent."""
        self.slack.workspace.close_modal(str(body.get("view_id") or ""))
        return {}

    async def command(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = self._user_id(body)
        command, _, text = str(body.get("text") or "").strip().partition(" ")
        if not command.startswith("/") or len(command) < 2:
            raise BadRequest("a slash command starts with /, e.g. /os-actions")
        ack = await self.slack.send_command(user_id, str(body.get("channel")), command, text.strip())
        return {"ack": ack}

    async def message(self, body: dict[str, Any]) -> dict[str, Any]:
        """A typed message; mentioning the app (`@fathom`) also delivers app_mention, like Slack."""
        user_id = self._user_id(body)
        text, channel = str(body.get("text") or "").strip(), str(body.get("channel"))
        thread_ts = body.get("thread_ts") or None
        if not text:
            raise BadRequest("nothing to send")
        text = self.mentions(text)
        if f"<@{BOT_USER_ID}>" in text:
            return {"ack": await self.slack.mention(user_id, channel, text, thread_ts)}
        self.slack.post_as_user(user_id, channel, text, thread_ts)
        return {}

    def mentions(self, text: str) -> str:
        """`@Jonas Reed`, `@jonas`, `@Fathom OS` or `@fathom` typed in the composer become `<@U…>`, as
        Slack's autocomplete would make them; longest names first, so `@Fathom OS` is not `@Fathom` + OS."""
        names: dict[str, str] = {"fathom os": BOT_USER_ID, "fathom": BOT_USER_ID}
        for user in self.slack.users.values():
            if not user.deleted:
                names.setdefault(user.real_name.lower(), user.id)
                names.setdefault(user.name.lower(), user.id)
        pattern = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True) if n)
        found = re.compile(rf"(?<![<\w])@({pattern})(?![\w-])", re.IGNORECASE)
        return found.sub(lambda m: f"<@{names[m.group(1).lower()]}>", text)

    async def home(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"ack": await self.slack.open_home(self._user_id(body))}

    async def sample(self, body: dict[str, Any]) -> dict[str, Any]:
        """Sign and post a bundled fixture (fresh recording_id, so each send is a new meeting) or text."""
        if not (self.webhook_url and self._webhook_secret):
            raise BadRequest("the webhook endpoint is not configured for this sandbox")
        payload = self._sample_payload(body)
        from services.webhook import sign_delivery

        data = json.dumps(payload).encode()
        headers = sign_delivery(self._webhook_secret, data)
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.webhook_url, data=data, headers=headers) as response,
        ):
            answer = await response.text()
        return {"status": response.status, "response": answer[:500], "recording_id": payload["recording_id"]}

    async def sample_missed(self, body: dict[str, Any]) -> dict[str, Any]:
        """The same meeting, but its webhook "never arrives": it goes into the local Fathom API stand-in
        only, and the bot's reconciliation (every `reconcile_seconds` here) recovers and cards it."""
        if self.fathom is None:
            raise BadRequest("no local Fathom API in this sandbox (FATHOM_API_KEY points at a real one)")
        payload = self._sample_payload(body)
        payload["created_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.fathom.add(payload)
        return {
            "status": "listed",
            "recording_id": payload["recording_id"],
            "reconcile_seconds": self.reconcile_seconds,
        }

    def _sample_payload(self, body: dict[str, Any]) -> dict[str, Any]:
        name, transcript = body.get("name"), str(body.get("transcript") or "")
        if transcript.strip():
            ws = self.slack.workspace
            people = {u.real_name: u.email for u in ws.users.values() if not u.is_bot and not u.deleted}
            acting = ws.users.get(str(body.get("user") or ""))
            recorder = acting.real_name if acting and not acting.is_bot else "Maya Chen"
            return transcript_payload(
                transcript, str(body.get("title") or ""), people=people, recorded_by=recorder
            )
        if name in sample_names():
            payload: dict[str, Any] = json.loads((SAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8"))
            payload["recording_id"] = random.randint(100_000_000, 999_999_999)  # noqa: S311
            return payload
        raise BadRequest(f"no sample named {name!r}; choose one of {sample_names()}")
