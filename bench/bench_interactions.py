"""Slack ack latency for interactions (target p99 < 300 ms, hard limit 3 s): button clicks, slash
commands, Home tab opens and modal submissions, measured by the local Slack server from sending the
Socket Mode envelope to receiving the app's ack, while meetings are being processed in the background.

Run: .venv/bin/python bench/bench_interactions.py [--rounds 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp
from _common import SECRET, bench_runtime, fixture, summary

from blocks.ids import ActionItemAction
from blocks.values import ItemRef, encode
from services.webhook import sign_delivery


async def main(rounds: int) -> None:
    async with bench_runtime() as (runtime, slack), aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{runtime.http_port}/webhooks/fathom"
        body = json.dumps(fixture("ai_audit_discovery")).encode()
        async with http.post(url, data=body, headers=sign_delivery(SECRET, body)) as r:
            assert r.status == 202
        deadline = time.monotonic() + 30
        card = None
        while time.monotonic() < deadline and card is None:
            for parent in slack.messages("C02MEETINGS"):
                for reply in slack.thread("C02MEETINGS", parent["ts"])[1:]:
                    if "U01MAYA" in json.dumps(reply["blocks"]) and "action_item.done" in json.dumps(
                        reply["blocks"]
                    ):
                        card = reply
            await asyncio.sleep(0.05)
        assert card, "no action item card"
        item_id = int(card["blocks"][0]["block_id"].split(":")[1])

        async def background_load() -> None:  # meetings keep arriving while people click
            for i in range(rounds):
                payload = json.dumps({**fixture("partner_sync"), "recording_id": 5_000_000 + i}).encode()
                async with http.post(url, data=payload, headers=sign_delivery(SECRET, payload)) as r:
                    assert r.status == 202
                await asyncio.sleep(0.05)

        load = asyncio.create_task(background_load())
        start = len(slack.acks)
        for i in range(rounds):
            current = slack.message("C02MEETINGS", card["ts"])
            action = (
                ActionItemAction.REOPEN
                if "action_item.reopen" in json.dumps(current["blocks"])
                else ActionItemAction.DONE
            )
            await slack.click_button(
                "U01MAYA", "C02MEETINGS", card["ts"], action, encode(ItemRef(item_id=item_id))
            )
            await slack.send_command("U01MAYA", "C01GENERAL", "/os-actions", "")
            await slack.open_home("U02JONAS")
            if i % 10 == 0:
                await slack.send_command("U01MAYA", "C01GENERAL", "/os-meetings", "insurance verification")
            await asyncio.sleep(0.02)
        await load
        acks = slack.acks[start:]
        by_type: dict[str, list[float]] = {}
        for ack in acks:
            by_type.setdefault(ack.type, []).append(ack.latency * 1000)
        for kind, values in sorted(by_type.items()):
            print(summary(f"ack latency, {kind}", values))
        print(summary("ack latency, all interactions", [a.latency * 1000 for a in acks]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    asyncio.run(main(parser.parse_args().rounds))
