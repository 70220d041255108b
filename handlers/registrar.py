"""What every handler module's `register(app)` receives: `bot.slack_app.SafeRegistrar` implements it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Listener = Callable[..., Awaitable[Any]]


class Registrar(Protocol):
    """Bolt's listener decorators, as handler modules use them (each listener gets wrapped)."""

    def action(self, constraints: Any) -> Callable[[Listener], Any]: ...

    def command(self, command: Any) -> Callable[[Listener], Any]: ...

    def view(self, constraints: Any) -> Callable[[Listener], Any]: ...

    def event(self, event: Any) -> Callable[[Listener], Any]: ...

    def options(self, constraints: Any) -> Callable[[Listener], Any]: ...

    def shortcut(self, constraints: Any) -> Callable[[Listener], Any]: ...
