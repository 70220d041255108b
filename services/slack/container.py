"""The Slack container: the gateway and one publisher per surface, built by bot/container.py."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.action_items import ActionItemPublisher
from services.slack.approvals import ProposalPublisher
from services.slack.audit import AuditPublisher
from services.slack.gateway import SlackGateway
from services.slack.home import HomePublisher
from services.slack.meeting_card import SlackPublisher
from services.slack.privacy import PrivacyPublisher
from services.slack.reminders import ReminderPublisher
from services.slack.report import ReportPublisher


@dataclass(frozen=True)
class Slack:
    client: AsyncWebClient
    gateway: SlackGateway
    meeting_cards: SlackPublisher
    action_items: ActionItemPublisher
    approvals: ProposalPublisher
    home: HomePublisher
    audit: AuditPublisher
    reminders: ReminderPublisher
    reports: ReportPublisher
    privacy: PrivacyPublisher  # erasure from Home, erasure approval cards (#18)
