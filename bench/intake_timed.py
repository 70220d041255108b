"""The webhook intake process with --breakdown timers (bench_under_load.py ack --breakdown).

Run by the bot in place of `python -m bot.intake_process` (bot.intake_process.ENTRY); times the ack's
steps inside the intake process and writes them to $BENCH_INTAKE_SPANS (JSON, ms) when it exits;
with $BENCH_INTAKE_PROFILE set, a cProfile of the whole process is written there too.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def install() -> dict[str, list[float]]:
    import bot.http
    import bot.intake_process as intake_process
    from services.intake_inbox import IntakeInbox
    from services.webhook import WebhookIntake

    spans: dict[str, list[float]] = {
        "request handled (aiohttp handler, signature, receive)": [],
        "receive": [],
        "inbox commit": [],
        "write lock wait": [],
    }
    create_http_app = bot.http.create_http_app

    def timed_app(*args: Any, observe: Any = None, **kwargs: Any) -> Any:
        def timed_observe(seconds: float, outcome: str) -> None:
            spans["request handled (aiohttp handler, signature, receive)"].append(seconds * 1000)
            if observe is not None:
                observe(seconds, outcome)

        return create_http_app(*args, observe=timed_observe, **kwargs)

    bot.http.create_http_app = timed_app  # type: ignore[assignment]
    put = IntakeInbox.put

    def timed_put(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return put(*args, **kwargs)
        finally:
            spans["inbox commit"].append((time.perf_counter() - start) * 1000)

    IntakeInbox.put = timed_put  # type: ignore[method-assign]
    receive = WebhookIntake.receive

    async def timed_receive(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await receive(*args, **kwargs)
        finally:
            spans["receive"].append((time.perf_counter() - start) * 1000)

    WebhookIntake.receive = timed_receive  # type: ignore[method-assign]
    begin = intake_process._begin_soon

    async def timed_begin(session: Any) -> None:
        start = time.perf_counter()
        try:
            await begin(session)
        finally:
            spans["write lock wait"].append((time.perf_counter() - start) * 1000)

    intake_process._begin_soon = timed_begin  # type: ignore[assignment]
    return spans


if __name__ == "__main__":
    spans = install()
    from bot.intake_process import main

    profile = os.environ.get("BENCH_INTAKE_PROFILE")
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        code = profiler.runcall(main)
        profiler.dump_stats(profile)
    else:
        code = main()
    Path(os.environ["BENCH_INTAKE_SPANS"]).write_text(json.dumps(spans))
    sys.exit(code)
