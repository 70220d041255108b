"""Cost of a first post through `SlackGateway.post_or_update` (#12 item 5): chat.postMessage, the
pending marker written before it and the ref recorded after, one new entity at a time, against the
local Slack server and a fresh SQLite file. The lost-post search is not on this path.

Run: .venv/bin/python bench/bench_first_posts.py [--posts 300]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from _common import summary

from blocks.common import notice
from bot.clients import build_slack_client
from bot.db import upgrade
from bot.sandbox import LocalSlack
from services.db import Database
from services.slack.gateway import RateGate, SlackGateway


async def main(posts: int) -> None:
    slack = await LocalSlack.start()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}")
        await upgrade(db)
        gate = RateGate()
        gateway = SlackGateway(build_slack_client(slack.bot_token, slack.api_url, gate), db, gate)
        ms: list[float] = []
        for i in range(posts):
            start = time.perf_counter()
            await gateway.post_or_update(f"meeting:{i}", "C02MEETINGS", notice(f"card {i}"))
            ms.append((time.perf_counter() - start) * 1000)
        assert len(slack.messages("C02MEETINGS")) == posts and not slack.calls_to("conversations.history")
        print(summary("first post", ms))
        await db.dispose()
    await slack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=300)
    asyncio.run(main(parser.parse_args().posts))
