"""A local stand-in for Jira Cloud's REST API v2, in the shapes the `jira` library sends and parses.

`GET /rest/api/2/serverInfo` (deploymentType Cloud), `/myself`, `/field`; `POST /issue` with
`fields` (project key, issuetype name, summary, description, assignee accountId, duedate, labels)
answers 201 `{id, key, self}`; `GET`, `PUT` (fields) and `DELETE` `/issue/{idOrKey}`; `GET` and
`POST /issue/{id}/transitions` (To Do → In Progress → Done, Done in the `done` status category);
`GET|POST /search/jql` (and `/search`) run the JQL the bot sends (`labels = "…"`, `id in (…)`).
Basic auth (e-mail:API token); errors are `{"errorMessages": […], "errors": {field: message}}`;
the rate limit is 429 with `Retry-After`.
"""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

from aiohttp import web

from bot.sandbox._standin import StandIn, now_iso

API = "/rest/api/2"
STATUSES = {
    "todo": {"id": "10000", "name": "To Do", "statusCategory": {"id": 2, "key": "new", "name": "To Do"}},
    "progress": {
        "id": "3",
        "name": "In Progress",
        "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"},
    },
    "done": {"id": "10001", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
}
TRANSITIONS = {"11": "todo", "21": "progress", "31": "done"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MISSING = "Issue does not exist or you do not have permission to see it."


def _now() -> str:
    return now_iso("+0000")


class JiraStandIn(StandIn):
    WINDOW = 60.0
    rate_limit_body = {"errorMessages": ["Rate limit exceeded."]}

    def __init__(
        self,
        *,
        email: str = "maya@agency.example",
        token: str = "jira-test-token",
        projects: tuple[str, ...] = ("OPS",),
        users: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credential = ("Authorization", "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode())
        self.email = email
        self.projects = {p: itertools.count(1) for p in projects}
        self.users = users or {"712020:maya": "Maya Chen", "712020:sam": "Sam Ortiz"}
        self.issues: dict[str, dict[str, Any]] = {}  # by id
        self.deleted: set[str] = set()
        self._ids = itertools.count(10_001)

    def routes(self, app: web.Application) -> None:
        app.router.add_get(API + "/serverInfo", self._server_info)
        app.router.add_get(API + "/myself", self._myself)
        app.router.add_get(API + "/field", self._fields)
        app.router.add_post(API + "/issue", self._create)
        app.router.add_get(API + "/issue/{ref}", self._get)
        app.router.add_put(API + "/issue/{ref}", self._update)
        app.router.add_delete(API + "/issue/{ref}", self._delete)
        app.router.add_get(API + "/issue/{ref}/transitions", self._transitions)
        app.router.add_post(API + "/issue/{ref}/transitions", self._transition)
        for path in ("/search/jql", "/search"):
            app.router.add_get(API + path, self._search)
            app.router.add_post(API + path, self._search)

    def unauthorised(self) -> web.Response:
        return _errors(401, ["You are not authenticated. Authentication required to perform this operation."])

    def failure(self, status: int, body: dict[str, Any]) -> web.Response:
        return _errors(status, [str(body.get("message") or "error")])

    # -- test helpers: someone works on the issue in Jira --------------------------------------

    def complete(self, issue_id: str) -> None:
        self.issues[issue_id]["fields"].update(status=STATUSES["done"], updated=_now())

    def edit(
        self, issue_id: str, *, assignee: str | None, duedate: str | None, at: str | None = None
    ) -> None:
        fields = self.issues[issue_id]["fields"]
        fields.update(assignee=self._user(assignee), duedate=duedate, updated=at or _now())

    def _user(self, account_id: str | None) -> dict[str, Any] | None:
        if not account_id:
            return None
        return {"accountId": account_id, "displayName": self.users[account_id], "active": True}

    def _public(
        self, request: web.Request, issue: dict[str, Any], wanted: str | None = None
    ) -> dict[str, Any]:
        fields = issue["fields"]
        if wanted and wanted not in ("*all", "*navigable"):
            names = {f.strip() for f in wanted.split(",")}
            fields = {k: v for k, v in fields.items() if k in names}
        base = f"{request.scheme}://{request.host}"
        return {
            "id": issue["id"],
            "key": issue["key"],
            "self": f"{base}{API}/issue/{issue['id']}",
            "fields": fields,
        }

    def _find(self, ref: str) -> dict[str, Any] | None:
        return self.issues.get(ref) or next((i for i in self.issues.values() if i["key"] == ref), None)

    def _issue(self, request: web.Request) -> dict[str, Any] | web.Response:
        """The issue the path names, or Jira's 404."""
        issue = self._find(request.match_info["ref"])
        return _errors(404, [_MISSING]) if issue is None else issue

    # -- routes -------------------------------------------------------------------------------

    async def _server_info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "baseUrl": f"{request.scheme}://{request.host}",
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100_275,
                "serverTitle": "Jira",
            }
        )

    async def _myself(self, request: web.Request) -> web.Response:
        account, name = next(iter(self.users.items()))
        return web.json_response(
            {"accountId": account, "displayName": name, "emailAddress": self.email, "active": True}
        )

    async def _fields(self, request: web.Request) -> web.Response:
        names = ("summary", "description", "status", "assignee", "duedate", "labels", "updated", "project")
        return web.json_response([{"id": n, "name": n.title(), "clauseNames": [n]} for n in names])

    def _check(self, fields: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        assignee = fields.get("assignee")
        if isinstance(assignee, dict) and assignee.get("accountId") not in self.users:
            errors["assignee"] = f"User '{assignee.get('accountId')}' does not exist."
        due = fields.get("duedate")
        if due is not None and not _DATE.match(str(due)):
            errors["duedate"] = f"Error parsing date string: {due}"
        return errors

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        fields = dict((body or {}).get("fields") or {})
        errors = self._check(fields)
        project = (fields.get("project") or {}).get("key")
        if project not in self.projects:
            errors["project"] = "valid project is required"
        if (fields.get("issuetype") or {}).get("name") not in ("Task", "Bug", "Story"):
            errors["issuetype"] = "valid issue type is required"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        if errors or not isinstance(project, str):
            return _errors(400, [], errors)
        issue_id = str(next(self._ids))
        key = f"{project}-{next(self.projects[project])}"
        self.issues[issue_id] = {
            "id": issue_id,
            "key": key,
            "fields": {
                "summary": fields["summary"],
                "description": fields.get("description"),
                "project": {"key": project},
                "status": STATUSES["todo"],
                "assignee": self._user((fields.get("assignee") or {}).get("accountId")),
                "duedate": fields.get("duedate"),
                "labels": list(fields.get("labels") or []),
                "updated": _now(),
            },
        }
        base = f"{request.scheme}://{request.host}"
        return web.json_response(
            {"id": issue_id, "key": key, "self": f"{base}{API}/issue/{issue_id}"}, status=201
        )

    async def _get(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        if isinstance(issue, web.Response):
            return issue
        return web.json_response(self._public(request, issue, request.query.get("fields")))

    async def _update(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        if isinstance(issue, web.Response):
            return issue
        fields = dict(((await request.json()) or {}).get("fields") or {})
        errors = self._check(fields)
        if errors:
            return _errors(400, [], errors)
        if "assignee" in fields:
            issue["fields"]["assignee"] = self._user((fields["assignee"] or {}).get("accountId"))
        for name in ("summary", "description", "duedate"):
            if name in fields:
                issue["fields"][name] = fields[name]
        issue["fields"]["updated"] = _now()
        return web.Response(status=204)

    async def _delete(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        if isinstance(issue, web.Response):
            return issue
        del self.issues[issue["id"]]
        self.deleted.add(issue["id"])
        return web.Response(status=204)

    async def _transitions(self, request: web.Request) -> web.Response:
        if isinstance(found := self._issue(request), web.Response):
            return found
        return web.json_response(
            {
                "expand": "transitions",
                "transitions": [
                    {"id": tid, "name": STATUSES[s]["name"], "to": STATUSES[s], "hasScreen": False}
                    for tid, s in TRANSITIONS.items()
                ],
            }
        )

    async def _transition(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        if isinstance(issue, web.Response):
            return issue
        tid = str((((await request.json()) or {}).get("transition") or {}).get("id"))
        if tid not in TRANSITIONS:
            return _errors(400, [f"Transition id '{tid}' is not valid for this issue."])
        issue["fields"].update(status=STATUSES[TRANSITIONS[tid]], updated=_now())
        return web.Response(status=204)

    async def _search(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        if request.query.getall("fields", []):  # requests sends a list as repeated parameters
            params["fields"] = ",".join(request.query.getall("fields"))
        if request.method == "POST":
            params.update((await request.json()) or {})
        jql = str(params.get("jql") or "").strip()
        limit = int(params.get("maxResults") or 50)
        by_label = re.fullmatch(r'labels\s*=\s*"([^"]+)"', jql)
        by_id = re.fullmatch(r"id\s+in\s+\(([\d,\s]*)\)", jql)
        if by_label:
            found = [i for i in self.issues.values() if by_label[1] in i["fields"]["labels"]]
        elif by_id:
            wanted = [x.strip() for x in by_id[1].split(",") if x.strip()]
            found = [self.issues[i] for i in wanted if i in self.issues]
        else:
            return _errors(400, [f"Error in the JQL Query: {jql[:200]}"])
        fields = params.get("fields")
        if isinstance(fields, list):
            fields = ",".join(fields)
        issues = [self._public(request, i, fields) for i in found[:limit]]
        return web.json_response({"issues": issues, "isLast": True, "total": len(issues), "startAt": 0})


def _errors(status: int, messages: list[str], errors: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"errorMessages": messages, "errors": errors or {}}, status=status)
