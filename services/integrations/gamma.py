"""Gamma's Generate API v1.0 (no official Python SDK: httpx).

`POST /v1.0/generations` starts a deck and answers `generationId`; `GET /v1.0/generations/{id}`
is polled until `status` is `completed` (`gammaUrl`, `gammaId`, `exportUrl`) or `failed`
(`error.message`). The export URL is temporary, so the file is downloaded at once and handed to
the outbox as an attachment for the thread. Undo archives the gamma (`POST /v1.0/gammas/{id}/archive`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from services.integrations.base import Applied, Attachment, Progress, TargetError, Write
from services.integrations.http import checked, send
from services.os_config import ConnectorSettings

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
