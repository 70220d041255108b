"""The outside systems' clients, built in the composition root (#21).

A connector exists when its secret is set (`GAMMA_API_KEY`, `HUBSPOT_TOKEN`, `LINEAR_API_KEY`,
`SALESFORCE_INSTANCE_URL` + `SALESFORCE_ACCESS_TOKEN`, `ASANA_TOKEN`, `JIRA_URL` + `JIRA_TOKEN`) and
`fathom-os.yml` does not switch it off. In the local sandbox (no Slack tokens) Gamma and Linear
without a token run against the local stand-ins, so the outbox card, a generating deck and the
"Send to Linear" button can be tried without any account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from services.integrations.base import Connector
from services.os_config import OSConfig

log = logging.getLogger(__name__)

SANDBOX_GAMMA_KEY = "sk-gamma-sandbox"
SANDBOX_LINEAR_KEY = "lin_api_sandbox"
SANDBOX_LINEAR_TEAM = "team-sandbox"


@dataclass
class Connectors:
    by_target: dict[str, Connector] = field(default_factory=dict)
    stand_ins: list[Any] = field(default_factory=list)  # local servers started for the sandbox

    async def stop(self) -> None:
        for connector in self.by_target.values():
            close = getattr(connector, "aclose", None)
            if close is not None:
                await close()
        for stand_in in self.stand_ins:
            await stand_in.stop()


def build_connectors(settings: Settings, config: OSConfig) -> Connectors:
    from services.integrations.gamma import GammaConnector
    from services.integrations.hubspot import HubSpotConnector
    from services.integrations.linear import LinearConnector

    out = Connectors()
    integrations = config.integrations
    if settings.gamma_api_key and integrations.settings_for("gamma").enabled:
        out.by_target["gamma"] = GammaConnector(
            settings.gamma_api_key.get_secret_value(),
            settings.gamma_api_url,
            settings=integrations.settings_for("gamma"),
        )
    if settings.hubspot_token and integrations.settings_for("hubspot").enabled:
        out.by_target["hubspot"] = HubSpotConnector(
            settings.hubspot_token.get_secret_value(), settings.hubspot_api_url
        )
    if (
        settings.salesforce_access_token
        and settings.salesforce_instance_url
        and integrations.settings_for("salesforce").enabled
    ):
        from services.integrations.salesforce import SalesforceConnector

        out.by_target["salesforce"] = SalesforceConnector(
            settings.salesforce_instance_url,
            settings.salesforce_access_token.get_secret_value(),
            settings=integrations.settings_for("salesforce"),
        )
    if settings.asana_token and integrations.settings_for("asana").enabled:
        from services.integrations.asana import AsanaConnector

        out.by_target["asana"] = AsanaConnector(
            settings.asana_token.get_secret_value(),
            settings.asana_api_url,
            settings=integrations.settings_for("asana"),
        )
    if settings.jira_url and settings.jira_token and integrations.settings_for("jira").enabled:
        from services.integrations.jira import JiraConnector

        out.by_target["jira"] = JiraConnector(
            settings.jira_url,
            settings.jira_email or "",
            settings.jira_token.get_secret_value(),
            settings=integrations.settings_for("jira"),
        )
    if settings.linear_api_key and integrations.settings_for("linear").enabled:
        out.by_target["linear"] = LinearConnector(
            settings.linear_api_key.get_secret_value(),
            settings.linear_api_url,
            settings=integrations.settings_for("linear"),
        )
    return out


async def sandbox_connectors(settings: Settings, config: OSConfig) -> Connectors:
    """Real connectors where a token is set; local Gamma and Linear stand-ins where not."""
    from bot.sandbox.gamma_api import GammaStandIn
    from bot.sandbox.linear_api import LinearStandIn
    from services.integrations.gamma import GammaConnector
    from services.integrations.linear import LinearConnector
    from services.os_config import ConnectorSettings

    out = build_connectors(settings, config)
    if "gamma" not in out.by_target:
        gamma = await GammaStandIn.start(api_key=SANDBOX_GAMMA_KEY, polls_needed=3)
        out.stand_ins.append(gamma)
        out.by_target["gamma"] = GammaConnector(
            SANDBOX_GAMMA_KEY,
            gamma.base_url,
            settings=integrations_or_default(config, "gamma"),
            poll_interval=1.0,
        )
        log.info("sandbox: Gamma stand-in at %s", gamma.base_url)
    if "linear" not in out.by_target:
        linear = await LinearStandIn.start(api_key=SANDBOX_LINEAR_KEY, teams=(SANDBOX_LINEAR_TEAM,))
        out.stand_ins.append(linear)
        base = config.integrations.settings_for("linear")
        linear_settings = ConnectorSettings(**{**base.model_dump(), "team_id": SANDBOX_LINEAR_TEAM})
        out.by_target["linear"] = LinearConnector(SANDBOX_LINEAR_KEY, linear.url, settings=linear_settings)
        log.info("sandbox: Linear stand-in at %s", linear.url)
    return out


def integrations_or_default(config: OSConfig, target: str) -> Any:
    return config.integrations.settings_for(target)


FIXES = {
    "gamma": "create a key at gamma.app → Settings → API keys (Pro plan or above) and set GAMMA_API_KEY",
    "hubspot": "create a private app (HubSpot → Settings → Integrations → Private apps) with the scopes in "
    "the README and set HUBSPOT_TOKEN to its access token",
    "salesforce": "set SALESFORCE_INSTANCE_URL (https://<domain>.my.salesforce.com) and "
    "SALESFORCE_ACCESS_TOKEN to a connected app's OAuth access token (scope api)",
    "asana": "create a personal access token (Asana → Settings → Apps → Developer apps) and set ASANA_TOKEN",
    "jira": "create an API token at id.atlassian.com → Security → API tokens and set JIRA_URL, "
    "JIRA_EMAIL and JIRA_TOKEN",
    "linear": "create a personal API key (Linear → Settings → Account → Security & access) and set LINEAR_API_KEY",
}


async def connector_checks(settings: Settings, config: OSConfig) -> list[Any]:
    """`fathom-os check`: one cheap read per configured connector, and exactly what is wrong."""
    from bot.checks import Check
    from services.integrations.base import RateLimited, TargetError, TargetUnavailable

    connectors = build_connectors(settings, config)
    out = []
    try:
        for target, connector in connectors.by_target.items():
            name = f"integration {target}"
            try:
                said = await connector.check()
            except TargetError as exc:
                fix = FIXES[target] if exc.status in (401, 403) else f"{target} said: {exc.message}"
                out.append(
                    Check(name, "fail", f"{target} refused the check ({exc.status}): {exc.message}", fix)
                )
                continue
            except RateLimited as exc:
                out.append(Check(name, "warn", f"rate limited; retry in {exc.retry_after:g} s", None))
                continue
            except TargetUnavailable as exc:
                out.append(
                    Check(name, "fail", str(exc), f"check the {target.upper()} API URL and the network")
                )
                continue
            warning = _settings_gap(target, config)
            out.append(
                Check(name, "warn" if warning else "ok", said + (f"; {warning}" if warning else ""), None)
            )
    finally:
        await connectors.stop()
    return out


def _settings_gap(target: str, config: OSConfig) -> str | None:
    if target == "linear" and not config.integrations.settings_for("linear").team_id:
        return "no integrations.linear.team_id in fathom-os.yml: issues cannot be created"
    if target in ("asana", "jira") and not config.integrations.settings_for(target).project_id:
        return f"no integrations.{target}.project_id in fathom-os.yml: tasks cannot be created"
    return None
