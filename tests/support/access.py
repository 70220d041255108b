"""Who may see what, set up once: every fixture meeting stored and carded in the local Slack,
Brightline's card in #clients (only Omar and the bot are members), every other card in #meetings
(the team, not Sam); Ada is an admin by email in fathom-os.yml and attended nothing. The `world`
fixture in tests/conftest.py serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from blocks.common import notice
from bot.clients import build_slack_client
from bot.sandbox import LocalSlack
from bot.sandbox.slack_state import BOT_USER_ID
from services.access import AccessPolicy
from services.db import Database
from services.os_config import OSConfig
from services.slack.gateway import RateGate, SlackGateway
from tests.harness import MEETINGS_CHANNEL
from tests.support.ingest import ingest_fixtures

CLIENTS = "C03CLIENTS"
SAM, JONAS, PRIYA, OMAR = "U09STRANGER", "U02JONAS", "U03PRIYA", "U04OMAR"
BRIGHTLINE = "ai_audit_discovery"  # attendees: Maya and Jonas (and two people from the client)


@dataclass
class World:
    db: Database
    slack: LocalSlack
    gateway: SlackGateway
    access: AccessPolicy
    ids: dict[str, int]
    admin: str


@asynccontextmanager
async def visibility_world(db: Database) -> AsyncIterator[World]:
    slack = await LocalSlack.start()
    ada = slack.add_user("Ada Admin", "ada@agency.example", user_id="U05ADA").id
    slack.channels[CLIENTS].members = [OMAR, BOT_USER_ID]
    slack.channels[MEETINGS_CHANNEL].members = ["U01MAYA", JONAS, PRIYA, OMAR, ada, BOT_USER_ID]
    gate = RateGate()
    gateway = SlackGateway(build_slack_client(slack.bot_token, slack.api_url, gate), db, gate)
    ids = await ingest_fixtures(db)
    for name, meeting_id in ids.items():
        channel = CLIENTS if name == BRIGHTLINE else MEETINGS_CHANNEL
        await gateway.post_or_update(f"meeting:{meeting_id}", channel, notice(f"card {name}"))
    config = OSConfig(admins=["ada@agency.example"])
    access = AccessPolicy(db, lambda: config, members=gateway, directory=gateway)
    try:
        yield World(db, slack, gateway, access, ids, ada)
    finally:
        await slack.stop()
