"""Composition root: builds every client and service, runs them in one event loop, shuts down cleanly.

`fathom-os run` = job workers + Slack (Socket Mode) + scheduler in this process, and the webhook HTTP
server in a child process it starts and supervises (bot/intake_process.py). Without Slack tokens the
built-in local Slack-compatible server stands in (the sandbox), so the bot still works.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
import time
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.clients import build_claude_client, build_http_session, build_slack_client
from bot.config import Settings
from bot.container import Infra, build, build_offline
from bot.db import create_database, upgrade
from bot.intake_process import IntakeConfig, IntakeProcess
from bot.scheduler import Scheduler
from handlers.context import AppContext
from services import charts, cpu, telemetry
from services.analysis import decision_model
from services.analysis.base import build_analyzer
from services.container import Domain
from services.fathom import FathomMeeting
from services.fathom_api import FathomAPI
from services.jobs import JobQueue, QueuePolicy, Worker
from services.os_config import OSConfig, load_or_default, load_os_config
from services.os_context import build_context
from services.os_repo import OSRepo
from services.pipeline import MeetingPipeline
from services.privacy import RetentionReport, purge_expired
from services.proposals import ProposalService
from services.reconcile import Reconciler, Recovered
from services.slack.container import Slack
from services.slack.gateway import RateGate, SlackGateway
from services.webhook import WebhookIntake

log = logging.getLogger(__name__)

SANDBOX_CHANNEL = "C02MEETINGS"  # #meetings in the local sandbox workspace
SANDBOX_RECONCILE_SECONDS = 15.0  # the sandbox's own Fathom API stand-in is reconciled this often
SANDBOX_FATHOM_KEY = "sandbox-fathom-key"


# A new OS made while running the sandbox gets the sandbox's demo team, so approvals can be tried.
SANDBOX_TEAM = {
    "admin_email": "maya@agency.example",
    "admin_name": "Maya Chen",
    "admin_slack_id": "U01MAYA",
    "internal_domain": "agency.example",
}


async def init_os_repo(settings: Settings, *, sandbox: bool = False) -> bool:
    """Create the OS from the skeleton unless a git repository is already there (used as it is)."""
    context: dict[str, Any] = {
        "agency_name": "Our Agency",
        "default_channel": settings.slack_default_channel or "",
    }
    if sandbox:
        context.update(SANDBOX_TEAM)
    return await OSRepo(settings.os_repo_path).init(context=context)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        sandbox_slack: Any = None,
        socket_ping_interval: float = 10.0,
        claude_client: Any = None,
    ) -> None:
        self.settings = settings
        self.socket_ping_interval = socket_ping_interval
        self.sandbox_slack = sandbox_slack  # a running LocalSlack to use instead of real Slack
        self.db = create_database(settings)
        self.queue = JobQueue(
            self.db,
            QueuePolicy(lease_seconds=settings.job_lease_seconds, max_attempts=settings.job_max_attempts),
        )
        self.os_repo = OSRepo(settings.os_repo_path)
        self.claude = claude_client or build_claude_client(settings)
        self.worker: Worker | None = None
        self.http_runner: web.AppRunner | None = None
        self.intake_process: IntakeProcess | None = None
        self.http_port: int | None = None
        self.socket_handler: Any = None
        self.scheduler: Scheduler | None = None
        self.bolt_app: Any = None
        self.owned_sandbox: Any = None
        self.http_session: Any = None
        self.connectors: Any = None  # bot.integrations.Connectors, built with Slack (sandbox stand-ins)
        self._gc_thresholds: tuple[int, ...] = ()
        self._stop = asyncio.Event()
        self._slack_state: dict[str, Any] = {"ok": False, "mode": "off"}
        self._liveness: asyncio.Task[None] | None = None
        self.analyzer = build_analyzer(settings, self.claude, self._os_config)
        self.infra = Infra(
            settings=settings,
            db=self.db,
            queue=self.queue,
            os_repo=self.os_repo,
            claude=self.claude,
            analyzer=self.analyzer,
            context_for=self._context_for,
        )
        self.context: AppContext | None = None  # built in one step by `start`, Slack client first
        self._offline: Domain | None = None
        self.intake = WebhookIntake(self.db, self.queue)
        self.fathom_api, self.reconciler = self._build_reconciler()
        self.reconcile_seconds = settings.reconcile_every
        self.fathom_stand_in: Any = None  # the sandbox's local Fathom API (no FATHOM_API_KEY)

    @property
    def domain(self) -> Domain:
        """The running bot's domain; before `start` (CLI commands) the same services without Slack."""
        if self.context is not None:
            return self.context.domain
        if self._offline is None:
            self._offline = build_offline(self.infra)
        return self._offline

    @property
    def slack(self) -> Slack:
        if self.context is None:
            raise RuntimeError("Slack is not connected: call start() first")
        return self.context.slack

    @property
    def gateway(self) -> SlackGateway:
        return self.slack.gateway

    @property
    def pipeline(self) -> MeetingPipeline:
        return self.domain.pipeline

    @property
    def proposals(self) -> ProposalService:
        return self.domain.proposals

    def _build_reconciler(self) -> tuple[FathomAPI | None, Reconciler | None]:
        """With a Fathom API key: reconciliation (or, without a webhook secret, polling) intake."""
        if not self.settings.fathom_keys:
            return None, None
        api = FathomAPI(self.settings.fathom_api_url, self.settings.fathom_keys)
        return api, Reconciler(self.db, api, self.intake, on_recovered=[self._alert_recovered])

    async def _alert_recovered(self, recovered: Recovered) -> None:
        """A meeting whose webhook was missing longer than RECOVERY_ALERT_MINUTES (default 60): OPS_CHANNEL
        and a DM to each admin of fathom-os.yml hear of it (polling mode: never, the API is the intake)."""
        late = recovered.late_by
        if self.settings.polling_mode or self.context is None:
            return
        if late is None or late < timedelta(minutes=self.settings.recovery_alert_minutes):
            return
        text = (
            f"Reconciliation recovered Fathom recording {recovered.recording_id}: its webhook "
            f"had not arrived {int(late.total_seconds() // 60)} minutes after the meeting."
        )
        if self.settings.ops_channel:
            await self.gateway.call("chat.postMessage", channel=self.settings.ops_channel, text=text)
        if self.settings.recovery_alert_admins:
            for user in await self._admin_user_ids():
                await self.gateway.call(
                    "chat.postMessage", channel=await self.gateway.dm_channel(user), text=text
                )

    async def _admin_user_ids(self) -> list[str]:
        """Slack ids of fathom-os.yml's admins (`admins:` and team members with `admin: true`)."""
        config = self._os_config()
        wanted = [m.slack_user_id or m.email for m in config.team if m.admin] + list(config.admins)
        users: list[str] = []
        for who in wanted:
            user = who if who.startswith(("U", "W")) and "@" not in who else None
            if user is None and (found := await self.gateway.user_for_email(who)):
                user = found.id
            if user and user not in users:
                users.append(user)
        return users

    async def purge_expired(self, *, dry_run: bool = False) -> RetentionReport:
        """`retention:` of fathom-os.yml, daily from the scheduler and by `fathom-os retention`."""
        return await purge_expired(self.db, self._os_config(), dry_run=dry_run)

    def _os_config(self) -> OSConfig:
        return load_or_default(self.os_repo.path)

    async def _context_for(self, meeting: FathomMeeting) -> str:
        try:
            config = load_os_config(self.os_repo.path)
            return (await build_context(self.os_repo, config, meeting.external_domains)).text
        except Exception as exc:  # context is an enrichment, never a blocker
            log.warning("OS context unavailable: %s", type(exc).__name__)
            return ""

    async def open(self, *, sandbox: bool = False) -> None:
        """Database and OS ready; enough for CLI commands that do not serve."""
        await upgrade(self.db)
        if await init_os_repo(self.settings, sandbox=sandbox):
            log.info("created a new OS repository at %s", self.settings.os_repo_path)
        await self.os_repo.recover()  # finish a change a killed process left half-written (logged)

    async def start(self) -> None:
        await self.open(sandbox=not self.settings.slack_enabled)
        # while Slack connects: networkx for charts, the learned decision signal's weights
        warming = [asyncio.wrap_future(f) for f in cpu.start(charts.warm_up, decision_model.warm_up)]
        # a restart after kill -9: this host's dead workers' jobs are free now, not after their lease
        await self.queue.release_dead_workers()
        await self._start_intake()  # the child imports while Slack connects
        await self._start_slack()
        self.worker = Worker(
            self.queue,
            {**self.pipeline.handlers(), **self.domain.outbox.handlers(), **self.slack.privacy.handlers()},
            concurrency=self.settings.job_workers,
        )
        self.worker.start()
        assert self.intake_process is not None
        await self.intake_process.ready()
        self._connect_sandbox_page(self.intake_process.config.secrets)
        await asyncio.gather(*warming)  # its modules are start-up objects too (frozen below)
        # Everything built so far lives as long as the process: move it out of the collector's way,
        # or every full collection walks ~250k start-up objects and stalls acks for 50-150 ms.
        gc.collect()
        gc.freeze()
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(20_000, 20, 20)  # fewer, still short, collections on the hot path
        log.info(
            "webhook server on http://%s:%s/webhooks/fathom (analyzer: %s)",
            self.settings.webhook_host,
            self.http_port,
            self.analyzer.name,
        )
        if self.settings.polling_mode:
            log.info("polling mode: no webhook secret, Fathom's API is listed every minute")
        elif not self.intake_process.config.secrets:
            log.warning("FATHOM_WEBHOOK_SECRET is not set: every webhook will be refused with 401")

    async def _start_intake(self) -> None:
        """The webhook server in its own process (bot/intake_process.py): bind the port, start it."""
        settings = self.settings
        config = IntakeConfig(
            database_url=settings.database_url,
            secrets=settings.webhook_secrets or self._sandbox_secret(),
            inbox=None,  # IntakeProcess decides: the inbox on a SQLite file
            max_bytes=settings.webhook_max_bytes,
            header_timeout=settings.webhook_header_timeout,
            body_timeout=settings.webhook_body_timeout,
            max_connections=settings.webhook_max_connections,
            lease_seconds=settings.job_lease_seconds,
            max_attempts=settings.job_max_attempts,
            log_level=settings.log_level,
            log_format=settings.log_format,
        )
        self.intake_process = IntakeProcess(
            config,
            host=settings.webhook_host,
            port=settings.webhook_port,
            probes={"slack": self._slack_probe, "jobs": self._jobs_probe},
            metrics=lambda: telemetry.exposition(self.db),
            notify=self.queue.notify,
            inbox_to=self.intake,
        )
        self.http_port = await self.intake_process.start()

    def _sandbox_secret(self) -> list[str]:
        """Sandbox without FATHOM_WEBHOOK_SECRET: a secret kept in the data folder, so the page, a restart
        and `fathom-os send` all sign with the same one."""
        from bot.sandbox.persistence import data_dir, load_or_create_secret

        if self.settings.slack_enabled:  # the sandbox (ours or a test's LocalSlack) only
            return []
        return [load_or_create_secret(data_dir(self.settings))]

    def _connect_sandbox_page(self, webhook_secrets: list[str]) -> None:
        ui = getattr(self.owned_sandbox or self.sandbox_slack, "web_ui", None)
        if ui is not None:
            host = self.settings.webhook_host
            host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
            secret = webhook_secrets[0] if webhook_secrets else None
            ui.configure_webhook(f"http://{host}:{self.http_port}/webhooks/fathom", secret)

    async def _start_slack(self) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        from bot.slack_app import create_app

        if self.settings.slack_enabled:
            assert self.settings.slack_bot_token and self.settings.slack_app_token
            bot_token = self.settings.slack_bot_token.get_secret_value()
            app_token = self.settings.slack_app_token.get_secret_value()
            api_url, mode = self.settings.slack_api_url, "slack"
        else:
            local = self.sandbox_slack
            if local is None:
                from bot.sandbox import LocalSlack
                from bot.sandbox.persistence import WORKSPACE_FILE, data_dir

                local = self.owned_sandbox = await LocalSlack.start(
                    port=self.settings.sandbox_port,
                    web_ui=True,
                    state_path=data_dir(self.settings) / WORKSPACE_FILE,
                )
            bot_token, app_token, api_url, mode = local.bot_token, local.app_token, local.api_url, "sandbox"
            log.info("no Slack tokens: using the local Slack sandbox at %s", local.base_url)
        gate = RateGate()
        self.http_session = build_http_session()
        client = build_slack_client(bot_token, api_url, gate, self.http_session)
        default_channel = self.settings.slack_default_channel or (
            SANDBOX_CHANNEL if mode == "sandbox" else None
        )
        from bot.integrations import build_connectors, sandbox_connectors

        config = self._os_config()
        self.connectors = (
            await sandbox_connectors(self.settings, config)
            if self.owned_sandbox is not None  # `fathom-os run` without tokens, not a test's server
            else build_connectors(self.settings, config)
        )
        self.infra = dataclasses.replace(self.infra, connectors=self.connectors.by_target)
        self.context = context = build(self.infra, client, gate, default_channel)
        self.bolt_app = create_app(context)
        self.socket_handler = AsyncSocketModeHandler(
            self.bolt_app, app_token, ping_interval=self.socket_ping_interval
        )
        await context.slack.gateway.auth_test()
        await self.socket_handler.connect_async()
        self._slack_state = {"ok": True, "mode": mode, "checked_at": time.time()}
        self._liveness = asyncio.create_task(self._liveness_loop())
        if mode == "sandbox":
            await self._sandbox_fathom(self.owned_sandbox or self.sandbox_slack)
        self.scheduler = Scheduler(
            context.domain.reminders,
            self.settings.reminder_interval,
            reconciler=self.reconciler,
            reconcile_seconds=self.reconcile_seconds,
            retention=self.purge_expired,
            outbox_sync=(context.domain.outbox.sync, self.settings.outbox_sync_seconds)
            if context.domain.outbox.configured()
            else None,
            db=self.db,  # each tick once across instances on one database
            weekly_report=context.slack.reports.weekly_if_due,
        )
        self.scheduler.start()

    async def _sandbox_fathom(self, local: Any) -> None:
        """Sandbox page without FATHOM_API_KEY: a local Fathom API stand-in, reconciled every 15 s, so
        "Send as a missed webhook" shows a meeting recovered with no webhook at all."""
        ui = getattr(local, "web_ui", None)
        if ui is None or self.reconciler is not None:
            return
        from bot.sandbox.fathom_api import FathomStandIn
        from services.fathom_api import ApiKey

        self.fathom_stand_in = await FathomStandIn.start(owners={SANDBOX_FATHOM_KEY: None})
        self.fathom_api = FathomAPI(self.fathom_stand_in.api_url, [ApiKey("sandbox", SANDBOX_FATHOM_KEY)])
        self.reconciler = Reconciler(
            self.db, self.fathom_api, self.intake, on_recovered=[self._alert_recovered]
        )
        self.reconcile_seconds = SANDBOX_RECONCILE_SECONDS
        ui.configure_fathom(self.fathom_stand_in, SANDBOX_RECONCILE_SECONDS)

    async def _liveness_loop(self, interval: float = 60.0) -> None:
        """Socket Mode can go silent after a reconnect: a periodic auth.test shows in /healthz."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.gateway.auth_test()
                connected = bool(self.socket_handler and await self.socket_handler.client.is_connected())
                self._slack_state = {
                    "ok": True,
                    "socket_connected": connected,
                    "mode": self._slack_state["mode"],
                    "checked_at": time.time(),
                }
            except Exception as exc:
                self._slack_state = {**self._slack_state, "ok": False, "error": type(exc).__name__}

    async def _slack_probe(self) -> dict[str, Any]:
        """Degraded when the last auth.test failed or the Socket Mode connection is down."""
        state = dict(self._slack_state)
        if self.socket_handler is not None:
            state["socket_connected"] = bool(await self.socket_handler.client.is_connected())
            if not state["socket_connected"]:
                state["ok"] = False
                state.setdefault("reason", "Socket Mode connection is down")
        if not state.get("ok") and "reason" not in state:
            state["reason"] = f"auth.test failed ({state.get('error', 'not connected')})"
        return state

    async def _jobs_probe(self) -> dict[str, Any]:
        """Degraded while workers cannot claim jobs (the database refuses their writes)."""
        counts = await self.queue.counts()
        error = self.queue.last_claim_error
        if error:
            return {"ok": False, "reason": f"job claims failing: {error}", **counts}
        return {"ok": True, **counts}

    async def stop(self) -> None:
        """Stop taking work first (HTTP, scheduler), then let running work finish, then close clients."""
        if self.scheduler:
            self.scheduler.stop()
        if self._liveness:
            self._liveness.cancel()
        if self.http_runner:
            await self.http_runner.cleanup()
        if self.intake_process is not None:
            await self.intake_process.stop()
        if self.worker:
            await self.worker.stop(grace=10)
        if self.context is not None:
            await self.context.domain.audit.drain()
            await self.context.slack.home.drain()
            await self.context.slack.privacy.drain()  # an erasure under way finishes (#18)
        if self.socket_handler:
            with contextlib.suppress(Exception):
                await self.socket_handler.close_async()
        if self.http_session is not None:
            await self.http_session.close()
        if self.fathom_api is not None:
            await self.fathom_api.close()
        if self.fathom_stand_in is not None:
            await self.fathom_stand_in.stop()
        if self.connectors is not None:
            await self.connectors.stop()
        if self.owned_sandbox:
            await self.owned_sandbox.stop()
        await self.close()

    async def close(self) -> None:
        gc.unfreeze()
        if self._gc_thresholds:
            gc.set_threshold(*self._gc_thresholds)
        if self.claude is not None:
            await self.claude.close()
        await self.db.dispose()

    def request_stop(self) -> None:
        self._stop.set()

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        print(
            f"Fathom OS running. Webhook: http://{self.settings.webhook_host}:{self.http_port}/webhooks/fathom"
            f"  Health: http://{self.settings.webhook_host}:{self.http_port}/healthz",
            flush=True,
        )
        if self.owned_sandbox is not None:
            print(f"No Slack tokens: local Slack sandbox at {self.owned_sandbox.base_url}/", flush=True)
        await self._stop.wait()
        log.info("shutting down")
        await self.stop()
        return 0
