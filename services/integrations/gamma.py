"""Gamma's Generate API v1.0 (no official Python SDK: httpx).

`POST /v1.0/generations` starts a deck and answers `generationId`; `GET /v1.0/generations/{id}`
is polled until `status` is `completed` (`gammaUrl`, `gammaId`, `exportUrl`) or `failed`
(`error.message`). The export URL is temporary, so the file is downloaded at once and handed to
the outbox as an attachment for the thread. Undo archives the gamma (`POST /v1.0/gammas/{id}/archive`).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import httpx

from services.errors import UserFacingError
from services.integrations.base import Applied, Attachment, Progress, TargetError, Write
from services.integrations.http import checked, send
from services.os_config import ConnectorSettings

if TYPE_CHECKING:
    from services.access import AccessPolicy
    from services.analysis.schema import MeetingAnalysis
    from services.analytics import AnalyticsService
    from services.models import Meeting, OutboxEntry
    from services.outbox import OutboxService, Proposed
    from services.views import Dashboard

TARGET = "gamma"
OPERATION_DECK = "deck"


class GammaConnector:
    target = TARGET

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://public-api.gamma.app",
        *,
        settings: ConnectorSettings | None = None,
        poll_interval: float = 5.0,
        max_polls: int = 120,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings or ConnectorSettings()
        self.poll_interval = poll_interval
        self.max_polls = max_polls
        self.client = client or httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"X-API-KEY": api_key, "Content-Type": "application/json"},
            timeout=httpx.Timeout(30.0),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def request_body(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The generation request (Gamma's field names) from an outbox payload."""
        body: dict[str, Any] = {
            "inputText": str(payload.get("input_text") or "")[:400_000],
            "textMode": payload.get("text_mode", "generate"),
            "format": payload.get("format", "presentation"),
            "numCards": int(payload.get("num_cards") or self.settings.num_cards),
            "textOptions": {"amount": "medium", "language": payload.get("language", "en")},
            "imageOptions": {"source": "aiGenerated"},
            "sharingOptions": {"workspaceAccess": "view", "externalAccess": "noAccess"},
        }
        if payload.get("card_split"):  # "inputTextBreaks": one card per `---`-separated part
            body["cardSplit"] = payload["card_split"]
        if self.settings.theme_id:
            body["themeId"] = self.settings.theme_id
        export = payload.get("export_as", self.settings.export_as)
        if export:
            body["exportAs"] = export
        return body

    async def apply(self, write: Write, progress: Progress) -> Applied:
        body = self.request_body(write.payload)
        if not body["inputText"].strip():
            raise TargetError(TARGET, 400, "the deck has no input text")
        started = checked(
            TARGET, await send(TARGET, lambda: self.client.post("/v1.0/generations", json=body))
        )
        generation_id = str(started.get("generationId") or "")
        if not generation_id:
            raise TargetError(TARGET, 502, "Gamma answered without a generationId")
        await progress("Gamma is generating the deck…")
        for poll in range(1, self.max_polls + 1):
            await asyncio.sleep(self.poll_interval)
            state = checked(
                TARGET, await send(TARGET, lambda: self.client.get(f"/v1.0/generations/{generation_id}"))
            )
            status = str(state.get("status") or "")
            if status == "completed":
                return await self._completed(write, state, generation_id)
            if status == "failed":
                error = state.get("error") or {}
                message = error.get("message") if isinstance(error, dict) else str(error)
                raise TargetError(
                    TARGET, int((error or {}).get("statusCode", 422)), message or "generation failed"
                )
            await progress(f"Gamma is generating the deck… (check {poll})")
        raise TargetError(TARGET, 504, f"the generation did not finish after {self.max_polls} checks")

    async def _completed(self, write: Write, state: dict[str, Any], generation_id: str) -> Applied:
        attachments = []
        export_url = state.get("exportUrl")
        if export_url:  # temporary: fetch it now (no API key: the URL is signed)
            async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as plain:
                response = await send(TARGET, lambda: plain.get(str(export_url)))
            if response.status_code == 200:
                kind = "pptx" if str(export_url).split("?")[0].endswith(".pptx") else "pdf"
                title = str(write.payload.get("title") or "Gamma deck")
                attachments.append(Attachment(f"{_slug(title)}.{kind}", response.content, title[:250]))
        return Applied(
            external_id=str(state.get("gammaId") or generation_id),
            url=state.get("gammaUrl"),
            attachments=attachments,
            remote_status="completed",
        )

    async def undo(self, operation: str, external_id: str) -> None:
        checked(TARGET, await send(TARGET, lambda: self.client.post(f"/v1.0/gammas/{external_id}/archive")))

    async def check(self) -> str:
        themes = checked(
            TARGET, await send(TARGET, lambda: self.client.get("/v1.0/themes", params={"limit": 1}))
        )
        count = len(themes.get("data", themes) if isinstance(themes, dict) else themes)
        return f"API key accepted ({count} theme(s) listed)"


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    return "-".join(p for p in out.split("-") if p)[:60] or "deck"


# -- what the decks say (pure: the outbox and the report deck call these) ------------------------

CARD_BREAK = "\n---\n"  # Gamma splits inputText into cards here (textMode "preserve"/"condense")
ONBOARDING_TYPES = ("discovery", "sales", "ai_audit")
MAX_LINES = 8
SPLIT = {"text_mode": "condense", "card_split": "inputTextBreaks"}


def deck_text(title: str, cards: list[tuple[str, list[str] | str]]) -> str:
    """Markdown with one card per (heading, bullets or paragraph), cards separated by `---`."""
    out = [f"# {_line(title, 200)}"]
    for heading, body in cards:
        if isinstance(body, str):
            text = body.strip()
        else:
            lines = [_line(b, 300) for b in body if b and b.strip()][:MAX_LINES]
            text = "\n".join(f"- {b}" for b in lines)
        if text:
            out.append(f"## {heading}\n\n{text}")
    return CARD_BREAK.join(out)[:400_000]


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def report_deck(dashboard: Dashboard, kind: str, channel: str) -> Proposed:
    """The weekly (or monthly) executive summary deck: the week's figures, decisions and risks;
    one deck per period and channel (asked twice, it is the same proposal)."""
    from services.outbox import Proposed

    period, eff = dashboard.period, dashboard.efficiency
    client = f" · {period.client}" if period.client else ""
    figures = [
        f"{eff.meetings} meetings, {eff.hours:.1f} hours",
        f"{eff.without_outcome} meetings without a decision or action item",
    ]
    if eff.decisions_per_hour is not None:
        figures.append(f"{eff.decisions_per_hour:.1f} decisions per meeting hour")
    if eff.overrun_minutes_avg is not None:
        figures.append(f"average overrun {eff.overrun_minutes_avg:+.0f} minutes")
    weeks = sorted(dashboard.sentiment_by_week.items())
    if weeks:
        figures.append(f"tone this week {weeks[-1][1]:+.2f}")
    decisions = [f"{d.what} ({d.client or d.meeting_title})" for d in dashboard.decisions]
    risks = [f"{risk} ({title})" for _, title, risk in dashboard.risks]
    label = "Weekly" if kind == "week" else "Monthly"
    title = f"{label} executive summary{client}: {period.label}"
    text = deck_text(
        title,
        [
            ("The period in figures", figures),
            ("Decisions", decisions or ["No decisions recorded."]),
            ("Risks", risks or ["No risks raised."]),
        ],
    )
    stamp = iso_week(period.until.date()) if kind == "week" else f"{period.until:%Y-%m}"
    return Proposed(
        TARGET,
        OPERATION_DECK,
        {"input_text": text, "title": f"{label} summary {stamp}", "channel": channel, **SPLIT},
        f"gamma:report:{kind}:{stamp}:{period.client or '*'}:channel:{channel}",
        f"Deck: {label.lower()} executive summary {stamp}{client}",
    )


def onboarding_deck(meeting: Meeting, analysis: MeetingAnalysis, client_name: str) -> Proposed:
    """A new client's onboarding deck: who they are, what we heard, next steps, timeline; once per
    client (the dedupe key is the client's slug)."""
    from services.outbox import Proposed

    heard = [analysis.summary_one_line] + [m.text for m in analysis.requirements]
    heard += [f"Budget: {m.text}" for m in analysis.budget]
    steps = [i.text + (f" (due {i.due_date:%d %b})" if i.due_date else "") for i in analysis.action_items]
    steps += [d.what for d in analysis.decisions]
    when = f" on {meeting.started_at:%d %b %Y}" if meeting.started_at else ""
    text = deck_text(
        f"Welcome, {client_name}",
        [
            (client_name, f"Onboarding, after our first meeting{when}: {_line(meeting.title, 200)}."),
            ("What we heard", heard),
            ("Next steps", steps or ["We follow up with a proposal."]),
            ("Timeline", [m.text for m in analysis.timeline] or ["To be agreed together."]),
        ],
    )
    return Proposed(
        TARGET,
        OPERATION_DECK,
        {"input_text": text, "title": f"{client_name} onboarding", **SPLIT},
        f"gamma:onboarding:client:{meeting.client_slug}",
        f"Deck: {client_name} onboarding",
        meeting_id=meeting.id,
    )


def _line(text: str, limit: int) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ReportDeck:
    """`/os-report week --deck`: the report's content as a Gamma deck, proposed through the outbox
    with its approval card in the channel it was asked in. Decisions and risks are those every
    reader of that channel may see (the figures are aggregates), as for `/os-report here`."""

    def __init__(self, analytics: AnalyticsService, access: AccessPolicy, outbox: OutboxService) -> None:
        self.analytics = analytics
        self.access = access
        self.outbox = outbox

    async def propose(self, kind: str, client: str | None, channel: str, actor: str) -> OutboxEntry:
        if kind not in ("week", "month"):
            raise UserFacingError("A deck is made of the weekly or monthly report: `/os-report week --deck`.")
        if not channel:
            raise UserFacingError("Ask for the deck in a channel: its approval card is posted there.")
        if TARGET not in self.outbox.connectors:
            raise UserFacingError("Gamma is not configured: set GAMMA_API_KEY (see README, Gamma).")
        period = self.analytics.period(kind, client)
        dashboard = await self.analytics.dashboard(period)
        audience = await self.access.channel_audience(channel)
        ids = {d.meeting_id for d in dashboard.decisions} | {r[0] for r in dashboard.risks}
        seen = await self.access.visible(audience, ids)
        dashboard = replace(
            dashboard,
            decisions=[d for d in dashboard.decisions if d.meeting_id in seen],
            risks=[r for r in dashboard.risks if r[0] in seen],
        )
        return await self.outbox.propose(report_deck(dashboard, kind, channel), actor)
