"""The domain container: every domain service, built complete by the composition root (bot/container.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.access import AccessPolicy
from services.action_items import ActionItemService
from services.analytics import AnalyticsService
from services.audit.service import AuditService
from services.conversations import ConversationService
from services.db import Database
from services.home import HomeService
from services.integrations.gamma import ReportDeck
from services.jobs import JobQueue
from services.meetings import MeetingStore
from services.os_config import OSConfig
from services.os_repo import OSRepo
from services.outbox import OutboxService
from services.people import People
from services.pipeline import MeetingPipeline
from services.proposals import ProposalService
from services.qa import QAService
from services.reminders import ReminderService
from services.search import SearchIndex

if TYPE_CHECKING:
    from bot.config import Settings


@dataclass(frozen=True)
class Domain:
    settings: Settings
    db: Database
    queue: JobQueue
    store: MeetingStore
    pipeline: MeetingPipeline
    os_repo: OSRepo
    proposals: ProposalService
    search: SearchIndex
    access: AccessPolicy
    people: People
    home: HomeService
    qa: QAService
    audit: AuditService
    action_items: ActionItemService
    reminders: ReminderService
    os_config: Callable[[], OSConfig]
    outbox: OutboxService  # outside writes (Gamma, HubSpot, Linear), approved in Slack (#21)
    analytics: AnalyticsService
    conversations: ConversationService  # meeting threads and DMs (#19)
    report_deck: ReportDeck | None = None  # `/os-report week --deck` through Gamma (#21)
