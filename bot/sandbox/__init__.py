"""Local Slack-compatible server (Web API + Socket Mode) for end-to-end tests and the no-token sandbox."""

from bot.sandbox.slack_server import DEFAULT_APP_TOKEN, DEFAULT_BOT_TOKEN, LocalSlack
from bot.sandbox.slack_socket import AckTimeoutError, NoSocketError
from bot.sandbox.slack_state import BOT_USER_ID, TEAM_ID, SlackChannel, SlackUser

__all__ = [
    "BOT_USER_ID",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "TEAM_ID",
    "AckTimeoutError",
    "LocalSlack",
    "NoSocketError",
    "SlackChannel",
    "SlackUser",
]
