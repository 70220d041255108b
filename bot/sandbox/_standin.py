"""What the outside-system stand-ins (Gamma, HubSpot, Linear) share: an aiohttp server on a free
port, the expected credential, forced faults for tests, and a sliding-window rate limit."""

from __future__ import annotations

import collections
import time
from typing import Any

from aiohttp import web


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Run `app` on host:port (0: a free port); the runner (for cleanup) and the bound base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


class StandIn:
    """Subclasses add routes in `routes(app)`; `calls` counts every request (benchmarks read it)."""

    def __init__(self, *, limit: int = 0, window_seconds: float = 10.0) -> None:
        self.limit, self.window = limit, window_seconds  # limit 0: no rate limit
        self.calls = 0
        self.throttled = 0
        self.requests: list[tuple[str, str, Any]] = []  # (method, path, json body) of each request
        self._stamps: collections.deque[float] = collections.deque()
        self._forced: list[tuple[int, dict[str, Any], float]] = []  # (status, body, retry-after)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @classmethod
    async def start(cls, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> Any:
        stand_in = cls(**kwargs)
        app = web.Application(middlewares=[stand_in._middleware])
        stand_in.routes(app)
        stand_in._runner, stand_in.base_url = await serve(app, host, port)
        return stand_in

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def force(self, status: int, body: dict[str, Any], *, count: int = 1, retry_after: float = 0.0) -> None:
        """The next `count` requests (after authentication) get this answer."""
        self._forced.extend([(status, body, retry_after)] * count)

    # hooks a subclass fills in -----------------------------------------------------------------
    def authorised(self, request: web.Request) -> bool:
        return True

    def unauthorised(self) -> web.Response:
        return web.json_response({"message": "unauthorised"}, status=401)

    def rate_limited(self, retry_after: float) -> web.Response:
        return web.json_response(
            {"message": "Too many requests"}, status=429, headers={"Retry-After": f"{retry_after:g}"}
        )

    def error(self, status: int, body: dict[str, Any], retry_after: float) -> web.Response:
        if status == 429:
            return self.rate_limited(retry_after)
        return web.json_response(body, status=status)

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
