"""What the handler modules listen to, recorded without an app: every id per listener kind."""

from __future__ import annotations

import importlib
import re
from collections import defaultdict
from typing import Any

from bot.slack_app import HANDLER_MODULES


class Recorder:
    """Stands in for AsyncApp.register targets: records what each handler module listens to."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = defaultdict(set)

    def __getattr__(self, kind: str) -> Any:
        def listener(matcher: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(matcher, dict):
                matcher = matcher.get("action_id") or matcher.get("callback_id") or matcher.get("type")
            self.seen[kind].add(matcher.pattern if isinstance(matcher, re.Pattern) else str(matcher))
            return lambda fn: fn

        return listener


def registered() -> dict[str, set[str]]:
    recorder = Recorder()
    for name in HANDLER_MODULES:
        importlib.import_module(name).register(recorder)
    return recorder.seen
