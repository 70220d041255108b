"""The composition root's object graph, built in one step into two typed containers.

`Domain` holds the services (ingest, analysis, meetings, items, proposals, search, Q&A, audit,
reminders); `Slack` holds the gateway and one publisher per surface. Nothing is assigned after
construction: the Slack client exists first, so every service gets its collaborators (the meeting
publisher, the people directory, channel members, the reminder sender) in its constructor, and the
`after_analysis` hooks are listed once, here. Handlers receive `AppContext(domain, slack)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from anthropic import AsyncAnthropic
from slack_sdk.web.async_client import AsyncWebClient

from bot.clients import build_pacer
from bot.config import Settings
from handlers.context import AppContext
from services.access import AccessPolicy
from services.action_items import ActionItemService
from services.analysis.base import Analyzer, analyze_with_fallback
from services.analysis.heuristic import HeuristicAnalyzer
from services.analytics import AnalyticsService
from services.audit.service import AuditService
from services.container import Domain
from services.conversations import ConversationService
from services.db import Database
from services.fathom import FathomMeeting
from services.home import HomeService
from services.integrations.base import Connector
from services.integrations.gamma import ReportDeck
from services.jobs import JobQueue
from services.meetings import MeetingStore
from services.os_config import OSConfig, load_or_default
from services.os_repo import OSRepo
from services.outbox import Notifier, OutboxService
from services.people import People
from services.pipeline import AfterAnalysis, AnalyzeFn, MeetingPipeline, MeetingPublisher, NullPublisher
from services.privacy import AuditPrivacy, PrivacyService, PrivateAnalysis, qa_policy
from services.proposals import ProposalService
from services.qa import QAService
from services.reminders import ReminderSender, ReminderService
from services.search import SearchIndex
from services.slack.action_items import ActionItemPublisher
from services.slack.approvals import ProposalPublisher
from services.slack.audit import AuditPublisher
from services.slack.container import Slack
from services.slack.gateway import RateGate, SlackGateway
from services.slack.home import HomePublisher
from services.slack.meeting_card import SlackPublisher
from services.slack.outbox import OutboxPublisher, item_blocks
from services.slack.privacy import PrivacyPublisher
from services.slack.reminders import ReminderPublisher
from services.slack.report import ChartUploader, ReportPublisher, SentimentWatch


@dataclass(frozen=True)
class Infra:
    """What exists before any service: settings, the database, the queue, the OS and Claude."""

    settings: Settings
    db: Database
    queue: JobQueue
    os_repo: OSRepo
    claude: AsyncAnthropic | None
    analyzer: Analyzer
    context_for: Callable[[FathomMeeting], Awaitable[str]]
    connectors: dict[str, Connector] = field(default_factory=dict)  # outside systems (bot/integrations.py)

    def os_config(self) -> OSConfig:
        """Read fresh each time: `fathom-os.yml` changes through approved commits."""
        return load_or_default(self.os_repo.path)


class _NoSender:
    """Reminders without Slack (CLI commands): nothing is ever delivered."""

    async def profile(self, slack_id: str) -> tuple[str | None, str]:
        return None, ""

    async def remind(self, *args: object, **kwargs: object) -> None:
        from services.reminders import Refused

        raise Refused("Slack is not configured")

    digest = remind

    async def note(self, *args: object, **kwargs: object) -> bool:
        return False


def analyze_fn(infra: Infra) -> AnalyzeFn:
    """The heuristic runs alone; any other analyzer falls back to it (marked degraded). Redaction
    comes first: the analyzer sees placeholders, the card the originals."""
    analyzer = infra.analyzer
    analyze: AnalyzeFn = (
        analyzer.analyze
        if isinstance(analyzer, HeuristicAnalyzer)
        else partial(analyze_with_fallback, analyzer, HeuristicAnalyzer())
    )
    return PrivateAnalysis(analyze, infra.db, infra.os_config)


@dataclass(frozen=True)
class _Core:
    """The services the Slack publishers draw from, built before the pipeline that calls them."""

    store: MeetingStore
    search: SearchIndex
    access: AccessPolicy
    proposals: ProposalService
    people: People
    home: HomeService
    analytics: AnalyticsService


def _core(infra: Infra, gateway: SlackGateway | None) -> _Core:
    db = infra.db
    access = AccessPolicy(db, infra.os_config, members=gateway, directory=gateway)
    return _Core(
        store=MeetingStore(db),
        search=SearchIndex(db),
        access=access,
        people=People(db, gateway),
        home=HomeService(db, access),
        analytics=AnalyticsService(db),
        proposals=ProposalService(
            db, infra.os_repo, infra.os_config, remote=infra.settings.os_remote, people=gateway
        ),
    )


def _domain(
    infra: Infra,
    core: _Core,
    *,
    gateway: SlackGateway | None,
    publisher: MeetingPublisher,
    approval_card: AfterAnalysis | None,
    sender: ReminderSender,
    outbox_cards: Notifier | None = None,
) -> Domain:
    settings, db, os_config = infra.settings, infra.db, infra.os_config
    # after each (re-)analysis: OS proposals, the search index, then the approval card
    hooks: list[AfterAnalysis] = [core.proposals.after_analysis, core.search.after_analysis]
    if approval_card is not None:
        hooks.append(approval_card)
    hooks.append(core.analytics.after_analysis)  # the dashboard's facts follow every analysis (#20)
    if gateway is not None:  # then a client's tone drop is told to its account owner
        hooks.append(SentimentWatch(core.analytics, gateway, os_config).after_analysis)
    outbox = OutboxService(
        db, infra.queue, os_config, infra.connectors, people=gateway, notifier=outbox_cards
    )
    if infra.connectors:  # CRM writes, PM tasks, a new client's onboarding deck (#21)
        hooks.append(outbox.after_analysis)
    pipeline = MeetingPipeline(
        db,
        infra.queue,
        analyze_fn(infra),
        store=core.store,
        publisher=publisher,
        context_for=infra.context_for,
        after_analysis=hooks,
        fast_analysis=infra.claude is None,
    )
    qa = QAService(
        db,
        core.search,
        infra.claude,
        access=core.access,
        model=settings.claude_model,
        prices=settings.claude_prices,
        policy=partial(qa_policy, infra.os_config),  # privacy: of fathom-os.yml (#18)
    )
    action_items = ActionItemService(db, os_config, gateway)
    return Domain(
        settings=settings,
        db=db,
        queue=infra.queue,
        store=core.store,
        pipeline=pipeline,
        os_repo=infra.os_repo,
        proposals=core.proposals,
        search=core.search,
        access=core.access,
        people=core.people,
        home=core.home,
        qa=qa,
        audit=AuditService(
            db,
            core.store,
            infra.os_repo,
            client=infra.claude,
            model=settings.claude_model,
            fallback_model=settings.claude_fallback_model,
            people=core.people,
            proposals=core.proposals,
            privacy=AuditPrivacy(db, os_config),
        ),
        action_items=action_items,
        reminders=ReminderService(db, os_config, sender),
        os_config=os_config,
        outbox=outbox,
        analytics=core.analytics,
        conversations=ConversationService(db, core.access, qa, action_items, core.proposals, core.store),
        report_deck=ReportDeck(core.analytics, core.access, outbox) if "gamma" in infra.connectors else None,
    )


def build_offline(infra: Infra) -> Domain:
    """The domain without Slack (CLI ingest, reanalyze, reindex): meetings are stored, not posted."""
    core = _core(infra, None)
    return _domain(
        infra, core, gateway=None, publisher=NullPublisher(), approval_card=None, sender=_NoSender()
    )


def build(infra: Infra, client: AsyncWebClient, gate: RateGate, default_channel: str | None) -> AppContext:
    """Everything, Slack side included, for `fathom-os run`."""
    gateway = SlackGateway(client, infra.db, gate, build_pacer(client.base_url))
    core = _core(infra, gateway)
    meeting_cards = SlackPublisher(
        core.store,
        gateway,
        infra.os_config,
        default_channel,
        related=core.search.related,
        access=core.access,
        outside=partial(item_blocks, infra.db, list(infra.connectors)),
        backfill_days=infra.settings.backfill_day_threads,
    )
    outbox_cards = OutboxPublisher(infra.db, core.store, gateway, meeting_cards)
    reports = ReportPublisher(
        core.analytics,
        ChartUploader(infra.db, gateway),
        gateway,
        core.access,
        infra.os_config,
        read_os=infra.os_repo.read,
    )
    home = HomePublisher(core.home, core.people, gateway, infra.os_config, charts=reports.home_charts)
    approvals = ProposalPublisher(core.proposals, core.store, gateway, home)
    reminders = ReminderPublisher(gateway)
    domain = _domain(
        infra,
        core,
        gateway=gateway,
        publisher=meeting_cards,
        approval_card=approvals.after_analysis,
        sender=reminders,
        outbox_cards=outbox_cards,
    )
    slack = Slack(
        client=client,
        gateway=gateway,
        meeting_cards=meeting_cards,
        action_items=ActionItemPublisher(gateway, meeting_cards, home),
        approvals=approvals,
        home=home,
        audit=AuditPublisher(
            domain.audit,
            gateway,
            approvals,
            deck=domain.outbox.propose_audit_deck if "gamma" in infra.connectors else None,
        ),
        reminders=reminders,
        reports=reports,
        privacy=PrivacyPublisher(
            PrivacyService(
                infra.db,
                infra.os_config,
                os_repo=infra.os_repo,
                proposals=core.proposals,
                queue=infra.queue,
                reindex=core.search.index_meeting,
                email_for=core.people.email_for,
            ),
            core.proposals,
            gateway,
        ),
    )
    return AppContext(domain, slack)
