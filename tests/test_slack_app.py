"""The app's error handling: a failing listener still acks, and the user sees a friendly message."""

from __future__ import annotations

from pathlib import Path

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.slack_app import create_app
from tests.harness import MEETINGS_CHANNEL, running_bot


async def test_refusal_right_after_ack_is_acked_and_explained(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        runtime = bot.runtime
        app = create_app(runtime.context, extra_modules=("tests.failing_handlers",))  # type: ignore[arg-type]
        await runtime.socket_handler.close_async()
        handler = AsyncSocketModeHandler(app, bot.slack.app_token, ping_interval=0.2)
        await handler.connect_async()
        try:
            from blocks.common import Message

            buttons = {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": a,
                        "value": "x",
                        "text": {"type": "plain_text", "text": a},
                    }
                    for a in ("test.refuse", "test.crash")
                ],
            }
            posted = await runtime.gateway.post(MEETINGS_CHANNEL, Message("hello", [buttons]))  # type: ignore[union-attr]
            for _ in range(5):  # the ack race happened about one time in three
                ack = await bot.slack.click_button(
                    "U09STRANGER", MEETINGS_CHANNEL, posted.ts, "test.refuse", "x"
                )
                assert ack == {}  # a bare ack arrived (no ack within 3 s raises AckTimeoutError)
            await bot.wait_for(lambda: len([c for c in bot.slack.calls_to("response_url")]) >= 5)
            await bot.slack.click_button("U09STRANGER", MEETINGS_CHANNEL, posted.ts, "test.crash", "x")
            await bot.wait_for(lambda: len(bot.slack.calls_to("response_url")) >= 6)
            bodies = [str(c.params) for c in bot.slack.calls_to("response_url")]
            assert "Only approvers may do that." in bodies[0]
            assert "Something went wrong" in bodies[-1] and "Reference" in bodies[-1]
            assert "secret internal detail" not in bodies[-1]
        finally:
            await handler.close_async()
