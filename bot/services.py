"""The service container handed to Slack handlers through Bolt's context (never a global)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from services.db import Database
from services.jobs import JobQueue
from services.meetings import MeetingStore
from services.os_config import OSConfig, OSConfigError, load_os_config
from services.os_repo import OSRepo
from services.pipeline import MeetingPipeline
from services.slack_gateway import SlackGateway


@dataclass
class Services:
    settings: Settings
    db: Database
    queue: JobQueue
    store: MeetingStore
    pipeline: MeetingPipeline
    os_repo: OSRepo
    gateway: SlackGateway | None = None
    publisher: Any = None  # services.publisher.SlackPublisher when Slack is on
    action_items: Any = None  # services.action_items.ActionItemService
    reminders: Any = None  # services.reminders.ReminderService
    proposals: Any = None  # services.proposals.ProposalService
    audit: Any = None  # services.audit.AuditService (/os-audit)
    extras: dict[str, Any] = field(default_factory=dict)

    def os_config(self) -> OSConfig:
        """Read fresh each time: `fathom-os.yml` changes through approved commits."""
        try:
            return load_os_config(self.os_repo.path)
        except OSConfigError:
            return OSConfig()

    @property
    def slack(self) -> SlackGateway:
        if self.gateway is None:
            raise RuntimeError("Slack is not configured")
        return self.gateway
