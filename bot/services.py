"""The service container handed to Slack handlers through Bolt's context (never a global)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from services.db import Database
from services.jobs import JobQueue
from services.meetings import MeetingStore
from services.os_config import OSConfig, load_or_default
from services.os_repo import OSRepo
from services.pipeline import MeetingPipeline
from services.slack.gateway import SlackGateway


@dataclass
class Services:
    settings: Settings
    db: Database
    queue: JobQueue
    store: MeetingStore
    pipeline: MeetingPipeline
    os_repo: OSRepo
    proposals: Any  # services.proposals.ProposalService
    search: Any  # services.search.SearchIndex
    home: Any  # services.home.HomeService
    qa: Any  # services.qa.QAService
    audit: Any  # services.audit.service.AuditService
    access: Any  # services.access.AccessPolicy: who may see which meeting
    # set once Slack (real or sandbox) is connected
    gateway: SlackGateway | None = None
    publisher: Any = None  # services.slack.meeting_card.SlackPublisher
    action_items: Any = None  # services.action_items.ActionItemService
    reminders: Any = None  # services.reminders.ReminderService
    home_publisher: Any = None  # services.slack.home.HomePublisher
    audit_publisher: Any = None  # services.slack.audit.AuditPublisher

    def os_config(self) -> OSConfig:
        """Read fresh each time: `fathom-os.yml` changes through approved commits."""
        return load_or_default(self.os_repo.path)

    @property
    def slack(self) -> SlackGateway:
        if self.gateway is None:
            raise RuntimeError("Slack is not configured")
        return self.gateway
