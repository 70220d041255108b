"""`python -m bot.sandbox [--port N] [--web-ui]`: the local Slack-compatible server on its own.

Useful to run Slack in a separate process (benchmarks, manual testing with real tokens pointed at
it: SLACK_BOT_TOKEN=xoxb-local-sandbox SLACK_APP_TOKEN=xapp-local-sandbox SLACK_API_URL=<printed>).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.sandbox import LocalSlack


async def serve(port: int, web_ui: bool) -> None:
    local = await LocalSlack.start(port=port, web_ui=web_ui)
    print(local.api_url, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await local.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--web-ui", action="store_true")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.web_ui))


if __name__ == "__main__":
    main()
