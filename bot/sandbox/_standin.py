"""What the outside-system stand-ins share, so each `*_api.py` keeps only its API's own shapes.

`Server`: an aiohttp app on a free port, started and stopped one way (Fathom uses it alone: its
per-key rate limit is its own). `StandIn` adds what the connector stand-ins (Asana, Gamma, HubSpot,
Jira, Linear, Salesforce) have in common: the expected credential, forced faults for tests, a
sliding-window rate limit and a request log. A subclass says how its API spells a refusal
(`unauthorised`, `failure`, `rate_limit_body` or `rate_limited`) and adds its routes.
"""

from __future__ import annotations

import collections
import time
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from aiohttp import web


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Run `app` on host:port (0: a free port); the runner (for cleanup) and the bound base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


def now_iso(zone: str = "Z") -> str:
    """Now in UTC with milliseconds, the way most of these APIs stamp a record (`…T12:00:00.123Z`)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + zone


class Server:
    """Subclasses add routes in `routes(app)`; `start(**kwargs)` builds one and serves it."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def middlewares(self) -> list[Any]:
        return []

    @classmethod
    async def start(cls, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> Self:
        server = cls(**kwargs)
        app = web.Application(middlewares=server.middlewares())
        server.routes(app)
        server._runner, server.base_url = await serve(app, host, port)
        return server

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class StandIn(Server):
    """`calls` counts every request (benchmarks read it); `requests` logs (method, path, json body)."""

    WINDOW: ClassVar[float] = 10.0  # the API's rate-limit window when the caller names none
    rate_limit_body: ClassVar[dict[str, Any]] = {"message": "Too many requests"}

    def __init__(self, *, limit: int = 0, window_seconds: float | None = None) -> None:
        super().__init__()
        self.limit = limit  # 0: no rate limit
        self.window = self.WINDOW if window_seconds is None else window_seconds
        self.credential: tuple[str, str] | None = None  # (header, expected value); None: anyone
        self.calls = 0
        self.throttled = 0
        self.requests: list[tuple[str, str, Any]] = []
        self._stamps: collections.deque[float] = collections.deque()
        self._forced: list[tuple[int, dict[str, Any], float]] = []  # (status, body, retry-after)

    def middlewares(self) -> list[Any]:
        return [self._middleware]

    def force(self, status: int, body: dict[str, Any], *, count: int = 1, retry_after: float = 0.0) -> None:
        """The next `count` requests (after authentication) get this answer."""
        self._forced.extend([(status, body, retry_after)] * count)

    # how the API refuses: a subclass overrides what its API spells otherwise ------------------
    def authorised(self, request: web.Request) -> bool:
        if self.credential is None:
            return True
        header, expected = self.credential
        return request.headers.get(header) == expected

    def unauthorised(self) -> web.Response:
        return web.json_response({"message": "unauthorised"}, status=401)

    def rate_limited(self, retry_after: float) -> web.Response:
        return web.json_response(
            self.rate_limit_body, status=429, headers={"Retry-After": f"{retry_after:g}"}
        )

    def failure(self, status: int, body: dict[str, Any]) -> web.Response:
        """A forced error other than 429, in the API's error shape (`body` carries its message)."""
        return web.json_response(body, status=status)

    def error(self, status: int, body: dict[str, Any], retry_after: float) -> web.Response:
        if status == 429:
            return self.rate_limited(retry_after)
        return self.failure(status, body)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls += 1
        body = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        self.requests.append((request.method, request.path, body))
        if not self.authorised(request):
            return self.unauthorised()
        if self._forced:
            status, payload, retry = self._forced.pop(0)
            if status == 429:
                self.throttled += 1
            return self.error(status, payload, retry)
        if self.limit:
            now = time.monotonic()
            while self._stamps and self._stamps[0] <= now - self.window:
                self._stamps.popleft()
            if len(self._stamps) >= self.limit:
                self.throttled += 1
                return self.rate_limited(max(0.01, self._stamps[0] + self.window - now))
            self._stamps.append(now)
        response: web.StreamResponse = await handler(request)
        return response
