"""A local stand-in for HubSpot's CRM v3 API, in the shapes `hubspot-api-client` sends and parses.

`POST /crm/v3/objects/{meetings,tasks,notes}` with `{properties, associations}` answers 201 with a
SimplePublicObject (`id`, `properties`, `createdAt`, `updatedAt`, `archived`); `GET` and `DELETE`
(archive) by id; `POST /crm/v3/objects/{type}/search` with `filterGroups` (EQ / IN /
CONTAINS_TOKEN) answers `{total, results}`; `GET /crm/v3/objects/contacts` pages. Bearer-token
auth, HubSpot's error body (`status`, `message`, `correlationId`, `category`), property validation on create
(unknown association targets, a bad `hs_task_status`), and its ten-secondly rate limit answered
429 with `errorType: RATE_LIMIT` and the `X-HubSpot-RateLimit-*` headers.
"""

from __future__ import annotations

import itertools
import re
import uuid
from typing import Any

from aiohttp import web

from bot.sandbox._standin import StandIn, now_iso

ENGAGEMENTS = ("meetings", "tasks", "notes")
REQUIRED = {"meetings": ("hs_timestamp",), "tasks": ("hs_timestamp",), "notes": ("hs_timestamp",)}
TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")


class HubSpotStandIn(StandIn):
    WINDOW = 10.0  # HubSpot's ten-secondly rolling limit

    def __init__(self, *, token: str = "pat-na1-test", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.credential = ("Authorization", f"Bearer {token}")
        self._ids = itertools.count(90_001)
        self.objects: dict[str, dict[str, dict[str, Any]]] = {
            t: {} for t in (*ENGAGEMENTS, "contacts", "companies", "deals")
        }
        self.associations: dict[str, list[tuple[str, int]]] = {}  # record id -> [(to id, type id)]

    def add(self, object_type: str, properties: dict[str, str]) -> str:
        oid = str(next(self._ids))
        self.objects[object_type][oid] = self._record(oid, properties)
        return oid

    def _record(self, oid: str, properties: dict[str, Any]) -> dict[str, Any]:
        now = now_iso()
        props = {k: (None if v is None else str(v)) for k, v in properties.items()}
        props.update({"hs_object_id": oid, "hs_createdate": now, "hs_lastmodifieddate": now})
        return {"id": oid, "properties": props, "createdAt": now, "updatedAt": now, "archived": False}

    def routes(self, app: web.Application) -> None:
        for t in ENGAGEMENTS:
            app.router.add_post(f"/crm/v3/objects/{t}", self._create)
            app.router.add_get(f"/crm/v3/objects/{t}/{{id}}", self._get)
            app.router.add_delete(f"/crm/v3/objects/{t}/{{id}}", self._archive)
            app.router.add_post(f"/crm/v3/objects/{t}/search", self._search)
        for t in ("contacts", "companies"):
            app.router.add_post(f"/crm/v3/objects/{t}/search", self._search)
            app.router.add_get(f"/crm/v3/objects/{t}", self._page)

    def unauthorised(self) -> web.Response:
        return _error(
            401,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
            "INVALID_AUTHENTICATION",
        )

    def rate_limited(self, retry_after: float) -> web.Response:
        return web.json_response(
            {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": "TEN_SECONDLY_ROLLING",
            },
            status=429,
            headers={
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window * 1000)),
                "X-HubSpot-RateLimit-Max": str(self.limit or 100),
                "X-HubSpot-RateLimit-Remaining": "0",
            },
        )

    def failure(self, status: int, body: dict[str, Any]) -> web.Response:
        return _error(
            status, str(body.get("message") or "error"), str(body.get("category") or "VALIDATION_ERROR")
        )

    @staticmethod
    def _type(request: web.Request) -> str:
        return request.path.split("/")[4]

    async def _create(self, request: web.Request) -> web.Response:
        object_type = self._type(request)
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        properties = body.get("properties")
        if not isinstance(properties, dict):
            return _error(400, "Invalid input: properties is required", "VALIDATION_ERROR")
        missing = [p for p in REQUIRED[object_type] if not properties.get(p)]
        if missing:
            return _error(
                400, f"Property values were not valid: {missing[0]} is required", "VALIDATION_ERROR"
            )
        status = properties.get("hs_task_status")
        if object_type == "tasks" and status not in (None, *TASK_STATUSES):
            return _error(
                400,
                f'Property values were not valid: [{{"isValid":false,"message":"{status} was not one of the '
                f'allowed options","name":"hs_task_status"}}]',
                "VALIDATION_ERROR",
            )
        links: list[tuple[str, int]] = []
        for assoc in body.get("associations") or []:
            to = str((assoc.get("to") or {}).get("id") or "")
            if not any(to in self.objects[t] for t in ("contacts", "companies", "deals")):
                return _error(
                    400, f"One or more associations are invalid: {to} does not exist", "VALIDATION_ERROR"
                )
            for spec in assoc.get("types") or []:
                links.append((to, int(spec.get("associationTypeId"))))
        oid = str(next(self._ids))
        record = self._record(oid, properties)
        self.objects[object_type][oid] = record
        self.associations[oid] = links
        return web.json_response(record, status=201)

    async def _get(self, request: web.Request) -> web.Response:
        record = self.objects[self._type(request)].get(request.match_info["id"])
        if record is None or record["archived"]:
            return _error(404, "Object not found", "OBJECT_NOT_FOUND")
        return web.json_response(record)

    async def _archive(self, request: web.Request) -> web.Response:
        record = self.objects[self._type(request)].get(request.match_info["id"])
        if record is None:
            return _error(404, "Object not found", "OBJECT_NOT_FOUND")
        record["archived"] = True
        return web.Response(status=204)

    async def _search(self, request: web.Request) -> web.Response:
        object_type = self._type(request)
        body = await request.json()
        results = []
        for record in self.objects[object_type].values():
            if record["archived"]:
                continue
            for group in body.get("filterGroups") or [{"filters": []}]:
                if all(_matches(record, f) for f in group.get("filters") or []):
                    results.append(record)
                    break
        limit = int(body.get("limit") or 10)
        return web.json_response({"total": len(results), "results": results[:limit]})

    async def _page(self, request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", "10"))
        records = [r for r in self.objects[self._type(request)].values() if not r["archived"]][:limit]
        return web.json_response({"results": records})

    def live(self, object_type: str) -> list[dict[str, Any]]:
        return [r for r in self.objects[object_type].values() if not r["archived"]]


def _matches(record: dict[str, Any], f: dict[str, Any]) -> bool:
    value = (record["properties"].get(f.get("propertyName")) or "").lower()
    op = f.get("operator")
    if op == "EQ":
        return value == str(f.get("value") or "").lower()
    if op == "IN":
        return value in {str(v).lower() for v in f.get("values") or []}
    if op == "CONTAINS_TOKEN":  # HubSpot tokenises on whitespace and punctuation other than - and _
        return str(f.get("value") or "").lower() in re.split(r"[^\w-]+", value)
    return False


def _error(status: int, message: str, category: str) -> web.Response:
    return web.json_response(
        {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category},
        status=status,
    )
