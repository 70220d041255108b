"""A local stand-in for Salesforce's REST API, in the shapes `simple-salesforce` sends and parses.

`POST /services/data/vXX.X/sobjects/{Task,Event}/` answers 201 `{id, success, errors}`; `GET`,
`PATCH` and `DELETE` by id; `GET …/query/?q=` runs the small SOQL subset the bot sends (`SELECT
fields FROM object [WHERE field IN (…) | field = '…' | field LIKE '%…'] [LIMIT n]`) and answers
`{totalSize, done, records: [{attributes: {type, url}, …}]}`; `GET …/limits/`. Bearer session id;
errors are Salesforce's list `[{"message", "errorCode", "fields"}]` (`INVALID_SESSION_ID` 401,
`INVALID_CROSS_REFERENCE_KEY` for a WhoId/WhatId that does not exist, a restricted picklist, a
missing required field), and the rate limit is `REQUEST_LIMIT_EXCEEDED` (429 here).

Salesforce is HTTPS only and `simple-salesforce` always builds `https://` URLs: `plain_session`
gives it a requests session that sends those URLs to this stand-in over plain HTTP.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

import requests
from aiohttp import web
from requests.adapters import HTTPAdapter

from bot.sandbox._standin import StandIn

PREFIX = {"Task": "00T", "Event": "00U", "Contact": "003", "Account": "001", "Opportunity": "006"}
REQUIRED = {"Task": (), "Event": ("StartDateTime", "EndDateTime")}
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
_SOQL = re.compile(
    r"^SELECT\s+(?P<fields>[\w\s,]+?)\s+FROM\s+(?P<obj>\w+)"
    r"(?:\s+WHERE\s+(?P<field>\w+)\s+(?P<op>IN|=|LIKE)\s+(?P<value>\(.*\)|'(?:[^'\\]|\\.)*'))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")


class _ToPlainHttp(HTTPAdapter):
    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        request.url = "http://" + request.url.removeprefix("https://")
        return super().send(request, *args, **kwargs)


def plain_session() -> requests.Session:
    session = requests.Session()
    session.mount("https://", _ToPlainHttp())
    return session


class SalesforceStandIn(StandIn):
    WINDOW = 20.0

    def __init__(self, *, session_id: str = "00Dsandbox!session", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.credential = ("Authorization", f"Bearer {session_id}")
        self._ids = itertools.count(1)
        self.objects: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in PREFIX}
        self.deleted: set[str] = set()

    def add(self, sobject: str, fields: dict[str, Any]) -> str:
        rid = self._id(sobject)
        self.objects[sobject][rid] = {"Id": rid, **fields}
        return rid

    def _id(self, sobject: str) -> str:
        return f"{PREFIX[sobject]}5g{next(self._ids):010d}AAA"  # 18 characters, like Salesforce's

    def live(self, sobject: str) -> list[dict[str, Any]]:
        return list(self.objects[sobject].values())

    def routes(self, app: web.Application) -> None:
        base = "/services/data/v{version}"
        app.router.add_post(base + "/sobjects/{sobject}/", self._create)
        app.router.add_post(base + "/sobjects/{sobject}", self._create)
        app.router.add_get(base + "/sobjects/{sobject}/{id}", self._get)
        app.router.add_patch(base + "/sobjects/{sobject}/{id}", self._update)
        app.router.add_delete(base + "/sobjects/{sobject}/{id}", self._delete)
        app.router.add_get(base + "/query/", self._query)
        app.router.add_get(base + "/limits/", self._limits)

    def unauthorised(self) -> web.Response:
        return _error(401, "Session expired or invalid", "INVALID_SESSION_ID")

    def rate_limited(self, retry_after: float) -> web.Response:
        return _error(429, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")

    def failure(self, status: int, body: dict[str, Any]) -> web.Response:
        return _error(status, str(body.get("message") or "error"), str(body.get("errorCode") or "UNKNOWN"))

    def _table(self, request: web.Request) -> tuple[str, dict[str, dict[str, Any]]] | web.Response:
        sobject = request.match_info["sobject"]
        if sobject not in self.objects:
            return _error(404, f"The requested resource does not exist: {sobject}", "NOT_FOUND")
        return sobject, self.objects[sobject]

    def _row(self, request: web.Request) -> tuple[str, dict[str, Any]] | web.Response:
        """The sobject type and the record the path names, or Salesforce's 404."""
        found = self._table(request)
        if isinstance(found, web.Response):
            return found
        sobject, table = found
        record = table.get(request.match_info["id"])
        if record is None:
            return _error(404, "The requested resource does not exist", "NOT_FOUND")
        return sobject, record

    async def _create(self, request: web.Request) -> web.Response:
        found = self._table(request)
        if isinstance(found, web.Response):
            return found
        sobject, table = found
        try:
            fields = await request.json()
        except ValueError:
            return _error(400, "Unexpected character: was expecting JSON", "JSON_PARSER_ERROR")
        if not isinstance(fields, dict):
            return _error(400, "Can not deserialize SObject out of a list", "JSON_PARSER_ERROR")
        problem = self._validate(sobject, fields)
        if problem is not None:
            return problem
        rid = self._id(sobject)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        table[rid] = {"Id": rid, "CreatedDate": now, "LastModifiedDate": now, **fields}
        return web.json_response({"id": rid, "success": True, "errors": []}, status=201)

    def _validate(self, sobject: str, fields: dict[str, Any]) -> web.Response | None:
        for name in REQUIRED.get(sobject, ()):
            if not fields.get(name):
                return _error(400, f"Required fields are missing: [{name}]", "REQUIRED_FIELD_MISSING", name)
        if sobject == "Task" and fields.get("Status") not in (None, *TASK_STATUSES):
            return _error(
                400,
                f"Status: bad value for restricted picklist field: {fields['Status']}",
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Status",
            )
        for ref, kinds in (("WhoId", ("Contact",)), ("WhatId", ("Account", "Opportunity"))):
            value = fields.get(ref)
            if value and not any(value in self.objects[k] for k in kinds):
                return _error(400, "invalid cross reference id", "INVALID_CROSS_REFERENCE_KEY", ref)
        if len(str(fields.get("Subject") or "")) > 255:
            return _error(400, "Subject: data value too large", "STRING_TOO_LONG", "Subject")
        return None

    async def _get(self, request: web.Request) -> web.Response:
        found = self._row(request)
        if isinstance(found, web.Response):
            return found
        sobject, record = found
        return web.json_response({"attributes": _attributes(sobject, record["Id"]), **record})

    async def _update(self, request: web.Request) -> web.Response:
        found = self._row(request)
        if isinstance(found, web.Response):
            return found
        sobject, record = found
        fields = await request.json()
        problem = self._validate(sobject, {**record, **fields})
        if problem is not None:
            return problem
        record.update(fields)
        return web.Response(status=204)

    async def _delete(self, request: web.Request) -> web.Response:
        found = self._table(request)
        if isinstance(found, web.Response):
            return found
        _, table = found
        record = table.pop(request.match_info["id"], None)
        if record is None:
            return _error(404, "entity is deleted", "ENTITY_IS_DELETED")
        self.deleted.add(record["Id"])
        return web.Response(status=204)

    async def _query(self, request: web.Request) -> web.Response:
        q = request.query.get("q", "")
        match = _SOQL.match(q.strip())
        if match is None or match["obj"] not in self.objects:
            return _error(400, f"unexpected token in: {q[:200]}", "MALFORMED_QUERY")
        sobject = match["obj"]
        fields = [f.strip() for f in match["fields"].split(",")]
        rows = list(self.objects[sobject].values())
        if match["field"]:
            values = [_unquote(v) for v in _LITERAL.findall(match["value"])]
            op = match["op"].upper()
            rows = [r for r in rows if _where(str(r.get(match["field"]) or ""), op, values)]
        if match["limit"]:
            rows = rows[: int(match["limit"])]
        records = [
            {"attributes": _attributes(sobject, r["Id"]), **{f: r.get(f) for f in fields}} for r in rows
        ]
        return web.json_response({"totalSize": len(records), "done": True, "records": records})

    async def _limits(self, request: web.Request) -> web.Response:
        return web.json_response({"DailyApiRequests": {"Max": 15000, "Remaining": 15000 - self.calls}})


def _where(value: str, op: str, values: list[str]) -> bool:
    if op == "IN":
        return value.lower() in {v.lower() for v in values}
    if op == "=":
        return value.lower() == values[0].lower()
    pattern = re.escape(values[0]).replace("%", ".*").replace("_", ".")
    return re.fullmatch(pattern, value, re.IGNORECASE | re.DOTALL) is not None


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _attributes(sobject: str, rid: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v59.0/sobjects/{sobject}/{rid}"}


def _error(status: int, message: str, code: str, *fields: str) -> web.Response:
    return web.json_response([{"message": message, "errorCode": code, "fields": list(fields)}], status=status)
