"""Bolt app factory: a fresh AsyncApp per call, the typed AppContext injected through Bolt's context,
one error handler."""

from __future__ import annotations

import importlib
import inspect
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from blocks.common import error_message
from handlers.context import AppContext
from handlers.registrar import Listener
from services.errors import UserFacingError
from services.once import first_sighting

log = logging.getLogger(__name__)

# Every handler module exposes register(app). Order matters only for overlapping matchers.
HANDLER_MODULES = (
    "handlers.actions.meetings",
    "handlers.events.home",
    "handlers.events.messages",
    "handlers.events.threads",
    "handlers.shortcuts.action_items",
    "handlers.actions.proposals",
    "handlers.views.proposals",
    "handlers.commands.os",
    "handlers.actions.action_items",
    "handlers.views.action_items",
    "handlers.commands.actions",
    "handlers.actions.home",
    "handlers.commands.meetings",
    "handlers.commands.help",
    "handlers.actions.audit",
    "handlers.actions.outbox",
    "handlers.views.outbox",
    "handlers.actions.qa",
    "handlers.views.audit",
    "handlers.commands.audit",
    "handlers.commands.report",
    "handlers.actions.privacy",
    "handlers.views.privacy",
)


class RecentIds:
    """Event ids seen lately: Slack re-delivers an event it thinks we missed (retry_attempt > 0)."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen(self, event_id: str) -> bool:
        if event_id in self._ids:
            return True
        self._ids[event_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return False


def create_app(fathom: AppContext, *, extra_modules: tuple[str, ...] = ()) -> AsyncApp:
    """A fresh app over the Slack container's client; every listener gets `context["fathom"]`."""
    client: AsyncWebClient = fathom.slack.client

    app = AsyncApp(
        client=client,
        process_before_response=False,
        ignoring_self_events_enabled=True,
        raise_error_for_unhandled_request=False,
    )

    seen_events = RecentIds()  # this process's fast path; the database decides across instances

    async def _redelivered(event_id: str) -> bool:
        if seen_events.seen(event_id):
            return True
        try:
            return not await first_sighting(fathom.domain.db, event_id)
        except Exception as exc:  # the database down: handle the event rather than drop it
            log.warning("event de-duplication unavailable (%s): handling %s", type(exc).__name__, event_id)
            return False

    @app.middleware
    async def inject_context(
        body: dict[str, Any],
        context: dict[str, Any],
        next: Callable[[], Awaitable[None]],  # noqa: A002
    ) -> Any:
        event_id = body.get("event_id")
        if event_id and await _redelivered(str(event_id)):
            log.info("ignoring a re-delivered event %s", event_id)
            return BoltResponse(status=200, body="")
        context["fathom"] = fathom
        await next()
        return None

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
        # Only reached for errors outside our listeners (middleware); listeners are wrapped below.
        await report_error(fathom, error, body, respond)

    registrar = SafeRegistrar(app, fathom)
    for name in HANDLER_MODULES + extra_modules:
        importlib.import_module(name).register(registrar)
    return app


class SafeRegistrar:
    """What handler modules' `register(app)` receives (`handlers.registrar.Registrar`): Bolt's
    listener decorators, but every listener is wrapped.

    Why: when a listener raises just after `ack()`, Bolt's asyncio runner resets the ack it already
    has (`ack.response = None`), so Slack may get no acknowledgement at all and the user sees a
    generic failure. Wrapped listeners never raise into Bolt: errors become a friendly ephemeral
    (`UserFacingError`) or a logged correlation id, and an un-acked request is still acked.
    """

    def __init__(self, app: AsyncApp, context: AppContext) -> None:
        self._app = app
        self._context = context

    def _wrapped(self, decorator: Callable[[Listener], Any]) -> Callable[[Listener], Any]:
        def decorate(fn: Listener) -> Any:
            return decorator(safe_listener(fn, self._context))

        return decorate

    def action(self, constraints: Any) -> Callable[[Listener], Any]:
        return self._wrapped(self._app.action(constraints))

    def command(self, command: Any) -> Callable[[Listener], Any]:
        return self._wrapped(self._app.command(command))

    def view(self, constraints: Any) -> Callable[[Listener], Any]:
        return self._wrapped(self._app.view(constraints))

    def event(self, event: Any) -> Callable[[Listener], Any]:
        return self._wrapped(self._app.event(event))

    def options(self, constraints: Any) -> Callable[[Listener], Any]:
        return self._wrapped(self._app.options(constraints))

    def shortcut(self, constraints: Any) -> Callable[[Listener], Any]:
        return self._wrapped(self._app.shortcut(constraints))

    def message(self, keyword: Any = None) -> Callable[[Listener], Any]:
        return self._wrapped(self._app.message(keyword))


def safe_listener(fn: Callable[..., Awaitable[Any]], services: AppContext) -> Callable[..., Awaitable[Any]]:
    wanted = list(inspect.signature(fn).parameters)
    names = wanted + [n for n in ("ack", "body", "respond") if n not in wanted]

    async def listener(**kwargs: Any) -> Any:
        try:
            return await fn(**{k: kwargs[k] for k in wanted if k in kwargs})
        except Exception as error:
            ack = kwargs.get("ack")
            if ack is not None and getattr(ack, "response", None) is None:
                await ack()
            await report_error(services, error, kwargs.get("body") or {}, kwargs.get("respond"))
            return None

    listener.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    listener.__name__ = getattr(fn, "__name__", "listener")
    listener.__qualname__ = getattr(fn, "__qualname__", listener.__name__)
    return listener


async def report_error(services: AppContext, error: Exception, body: dict[str, Any], respond: Any) -> None:
    if isinstance(error, UserFacingError):
        message = error_message(str(error))
    else:
        correlation = uuid.uuid4().hex[:12]
        log.error(
            "unhandled error in Slack listener (ref %s): %s",
            correlation,
            type(error).__name__,
            exc_info=error,
            extra={"correlation_id": correlation},
        )
        message = error_message("Something went wrong on our side.", correlation)
    await _tell_user(services, body, message, respond)


async def _tell_user(services: AppContext, body: dict[str, Any], message: Any, respond: Any) -> None:
    try:
        if body.get("response_url") and respond is not None:
            await respond(
                text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False
            )
            return
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        if user and channel:
            await services.slack.gateway.post_ephemeral(channel, user, message)
        elif user:
            await services.slack.gateway.send_dm(user, message)
    except Exception:
        log.warning("could not tell the user about an error")
