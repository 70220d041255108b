"""CPU-heavy work leaves the event loop free: a webhook is acknowledged while a long meeting is
being analysed, and a large delivery is validated off the loop and stored like any other."""

from __future__ import annotations

import asyncio
import copy
import json

from services.analysis.heuristic import HeuristicAnalyzer
from services.db import Database
from services.fathom import parse_meeting
from services.models import WebhookDelivery
from services.webhook import OFF_LOOP_BYTES, sign_delivery
from tests.helpers import load_fixture
from tests.support.webhook import SECRET, body_of, serving


def long_meeting(times: int) -> dict:  # type: ignore[type-arg]
    """The 80-minute fixture's transcript played `times` times over."""
    base = load_fixture("ami_TS3009c_long")
    turns = [copy.deepcopy(t) for _ in range(times) for t in base["transcript"]]
    return {**base, "transcript": turns}


async def test_a_webhook_is_acknowledged_while_a_long_meeting_is_analysed(db: Database) -> None:
    meeting = parse_meeting(long_meeting(4))  # about 5 h of transcript: hundreds of ms of analysis
    async with serving(db) as server:
        analysis = asyncio.create_task(HeuristicAnalyzer().analyze(meeting))
        await asyncio.sleep(0)  # the analysis has started
        body = body_of(recording_id=556_001)
        status, _ = await server.post(body, sign_delivery(SECRET, body))
        assert status == 202
        assert not analysis.done()  # the ack did not wait for it
        outcome = await analysis
    assert outcome.analyzer == "heuristic" and outcome.analysis.action_items


async def test_a_large_delivery_is_validated_off_the_loop_and_stored(db: Database) -> None:
    body = json.dumps({**long_meeting(2), "recording_id": 556_002}).encode()
    assert len(body) > OFF_LOOP_BYTES
    async with serving(db, max_bytes=4 * 1024 * 1024) as server:
        status, reply = await server.post(body, sign_delivery(SECRET, body))
        assert status == 202 and reply["status"] == "accepted"
        bad = json.dumps({**long_meeting(2), "recording_id": "not a number"}).encode()
        status, reply = await server.post(bad, sign_delivery(SECRET, bad))
        assert status == 400 and "recording_id" in json.dumps(reply)  # a clear refusal, not a crash
    assert await server.count(WebhookDelivery, status="accepted") == 1
