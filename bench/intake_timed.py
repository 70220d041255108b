"""The webhook intake process with --breakdown timers (bench_under_load.py ack --breakdown).

Run by the bot in place of `python -m bot.intake_process` (bot.intake_process.ENTRY); times the ack's
steps inside the intake process and writes them to $BENCH_INTAKE_SPANS (JSON, ms) when it exits.
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
    import bot.intake_process as intake_process
    from services.intake_inbox import IntakeInbox
    from services.webhook import WebhookIntake

    spans: dict[str, list[float]] = {"receive": [], "inbox commit": [], "write lock wait": []}
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

    code = main()
    Path(os.environ["BENCH_INTAKE_SPANS"]).write_text(json.dumps(spans))
    sys.exit(code)
