"""A local stand-in for Gamma's Generate API v1.0, speaking its request and response shapes.

`POST /v1.0/generations` (inputText, textMode, format, numCards, themeId, exportAs, textOptions,
imageOptions, sharingOptions; X-API-KEY) answers `{"generationId"}`; `GET /v1.0/generations/{id}`
answers `{"generationId", "status": "pending"}` for `polls_needed` checks, then `completed` with
`gammaId`, `gammaUrl`, `exportUrl` and `credits`, or `failed` with `error: {message, statusCode}`.
The export is served at a temporary URL; `POST /v1.0/gammas/{id}/archive` archives; `GET
/v1.0/themes` is the cheap read `fathom-os check` uses. Errors use Gamma's `{message, statusCode}`.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from bot.sandbox._standin import StandIn

TEXT_MODES = ("generate", "condense", "preserve")
FORMATS = ("presentation", "document", "webpage", "social")
EXPORTS = ("pdf", "pptx", "png")
PDF_BYTES = b"%PDF-1.4\n% Fathom OS sandbox deck\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class GammaStandIn(StandIn):
    rate_limit_body = {"message": "Too many requests", "statusCode": 429}

    def __init__(self, *, api_key: str = "sk-gamma-test", polls_needed: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.credential = ("X-API-KEY", api_key)
        self.polls_needed = polls_needed
        self.fail_next: str | None = None  # the next generation fails with this message
        self.generations: dict[str, dict[str, Any]] = {}
        self.archived: set[str] = set()
        self.downloads = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1.0/generations", self._create)
        app.router.add_get("/v1.0/generations/{id}", self._status)
        app.router.add_post("/v1.0/gammas/{id}/archive", self._archive)
        app.router.add_get("/v1.0/themes", self._themes)
        app.router.add_get("/exports/{id}.{ext}", self._export)

    def authorised(self, request: web.Request) -> bool:
        return request.path.startswith("/exports/") or super().authorised(request)  # a signed URL

    def unauthorised(self) -> web.Response:
        return _error(401, "Invalid API key.")

    async def _create(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Request body must be JSON.")
        text = body.get("inputText")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "inputText is required.")
        if len(text) > 400_000:
            return _error(400, "inputText is too long.")
        for name, allowed in (("textMode", TEXT_MODES), ("format", FORMATS), ("exportAs", EXPORTS)):
            if name in body and body[name] not in allowed:
                return _error(400, f"{name} must be one of: {', '.join(allowed)}.")
        cards = body.get("numCards", 10)
        if not isinstance(cards, int) or not 1 <= cards <= 75:
            return _error(400, "numCards must be between 1 and 75.")
        generation_id = uuid.uuid4().hex[:20]
        self.generations[generation_id] = {
            "request": body,
            "polls": 0,
            "fail": self.fail_next,
            "gamma_id": "g_" + uuid.uuid4().hex[:14],
        }
        self.fail_next = None
        return web.json_response({"generationId": generation_id})

    async def _status(self, request: web.Request) -> web.Response:
        generation_id = request.match_info["id"]
        gen = self.generations.get(generation_id)
        if gen is None:
            return _error(404, "Generation not found.")
        gen["polls"] += 1
        if gen["polls"] < self.polls_needed:
            return web.json_response({"generationId": generation_id, "status": "pending"})
        if gen["fail"]:
            return web.json_response(
                {
                    "generationId": generation_id,
                    "status": "failed",
                    "error": {"message": gen["fail"], "statusCode": 400},
                }
            )
        out: dict[str, Any] = {
            "generationId": generation_id,
            "status": "completed",
            "gammaId": gen["gamma_id"],
            "gammaUrl": f"https://gamma.app/docs/{gen['gamma_id']}",
            "credits": {"deducted": 40, "remaining": 960},
        }
        export = gen["request"].get("exportAs")
        if export:
            out["exportUrl"] = f"{self.base_url}/exports/{gen['gamma_id']}.{export}?signature=temporary"
        return web.json_response(out)

    async def _export(self, request: web.Request) -> web.Response:
        self.downloads += 1
        return web.Response(body=PDF_BYTES, content_type="application/octet-stream")

    async def _archive(self, request: web.Request) -> web.Response:
        gamma_id = request.match_info["id"]
        if not any(g["gamma_id"] == gamma_id for g in self.generations.values()):
            return _error(404, "Gamma not found.")
        self.archived.add(gamma_id)
        return web.json_response({"id": gamma_id, "archived": True})

    async def _themes(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"data": [{"id": "default-light", "name": "Default Light"}], "hasMore": False}
        )

    def deck_text(self, generation_id: str | None = None) -> str:
        gen = self.generations[generation_id] if generation_id else list(self.generations.values())[-1]
        return str(gen["request"]["inputText"])


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message, "statusCode": status}, status=status)
