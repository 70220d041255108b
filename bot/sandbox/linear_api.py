"""A local stand-in for Linear's GraphQL API (`POST /graphql`), for the operations the bot sends.

No GraphQL engine: each request is routed by `operationName`, and its query must select the
fields Linear's schema has for it (checked, so a typo in the client's query fails a test).
Answers use Linear's shapes: `{data: {issueCreate: {success, issue {id identifier url state}}}}`,
`issues(filter: {id: {in}})` nodes, `workflowStates` of a team, `issueUpdate`, `issueArchive`,
`viewer`. Errors are `{errors: [{message, extensions: {code, userPresentableMessage}}]}`: a bad
key is `AUTHENTICATION_ERROR` (401), bad input `INVALID_INPUT` (400), and the rate limit is
`RATELIMITED` (HTTP 400) with the `X-RateLimit-Requests-*` headers, as Linear sends it.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from aiohttp import web

from bot.sandbox._standin import StandIn

REQUIRED_FIELDS = {
    "Viewer": ("viewer",),
    "IssueCreate": ("issueCreate(input: $input)", "success", "identifier", "url", "state"),
    "Issue": ("issue(id: $id)",),
    "IssueStates": ("issues(filter:", "nodes", "state"),
    "CompletedStates": ("workflowStates(filter:", '"completed"'),
    "IssueUpdate": ("issueUpdate(id: $id, input: $input)", "success"),
    "IssueArchive": ("issueArchive(id: $id)", "success"),
}


_NOT_FOUND = ("Entity not found: Issue", "INVALID_INPUT", "Could not find referenced Issue.")


class LinearStandIn(StandIn):
    WINDOW = 3600.0

    def __init__(
        self, *, api_key: str = "lin_api_test", teams: tuple[str, ...] = ("team-eng",), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.credential = ("Authorization", api_key)
        self.teams = {t: {"todo": f"{t}-todo", "done": f"{t}-done"} for t in teams}
        self.issues: dict[str, dict[str, Any]] = {}
        self._numbers = itertools.count(1)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/graphql", self._graphql)

    @property
    def url(self) -> str:
        return self.base_url + "/graphql"

    def unauthorised(self) -> web.Response:
        return _errors(401, "Authentication required, not authenticated", "AUTHENTICATION_ERROR")

    def rate_limited(self, retry_after: float) -> web.Response:
        reset = int((time.time() + retry_after) * 1000)
        return web.json_response(
            {"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]},
            status=400,
            headers={
                "X-RateLimit-Requests-Limit": str(self.limit or 1500),
                "X-RateLimit-Requests-Remaining": "0",
                "X-RateLimit-Requests-Reset": str(reset),
            },
        )

    def failure(self, status: int, body: dict[str, Any]) -> web.Response:
        return _errors(status, str(body.get("message") or "error"), str(body.get("code") or "INVALID_INPUT"))

    # -- test helpers -------------------------------------------------------------------------

    def complete(self, issue_id: str) -> None:
        """Someone closes the issue in Linear."""
        issue = self.issues[issue_id]
        issue["state"] = self._state(issue["teamId"], "done")

    def _state(self, team: str, which: str) -> dict[str, str]:
        if which == "done":
            return {"id": self.teams[team]["done"], "name": "Done", "type": "completed"}
        return {"id": self.teams[team]["todo"], "name": "Todo", "type": "unstarted"}

    def _public(self, issue: dict[str, Any]) -> dict[str, Any]:
        return {k: issue[k] for k in ("id", "identifier", "url", "state")}

    # -- GraphQL ------------------------------------------------------------------------------

    async def _graphql(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _errors(400, "Body is not JSON", "BAD_REQUEST")
        operation, query = body.get("operationName"), str(body.get("query") or "")
        variables = body.get("variables") or {}
        if operation not in REQUIRED_FIELDS:
            return _errors(400, f"Unknown operation {operation!r}", "GRAPHQL_VALIDATION_FAILED")
        for field in REQUIRED_FIELDS[operation]:
            if field not in query:
                return _errors(400, f"Query of {operation} lacks {field}", "GRAPHQL_VALIDATION_FAILED")
        handler = getattr(self, f"_op_{operation}")
        result: web.Response = handler(variables)
        return result

    def _op_Viewer(self, v: dict[str, Any]) -> web.Response:  # noqa: N802
        return _data({"viewer": {"id": "user-maya", "name": "Maya Chen", "email": "maya@agency.example"}})

    def _op_IssueCreate(self, v: dict[str, Any]) -> web.Response:  # noqa: N802
        data = v.get("input") or {}
        team = data.get("teamId")
        if team not in self.teams:
            return _errors(
                400, "Argument Validation Error", "INVALID_INPUT", "Team not found or not accessible."
            )
        if not str(data.get("title") or "").strip():
            return _errors(400, "Argument Validation Error", "INVALID_INPUT", "Title is required.")
        issue_id = str(data.get("id") or uuid.uuid4())
        if issue_id in self.issues:
            return _errors(
                400, "Argument Validation Error", "INVALID_INPUT", "An issue with this id already exists."
            )
        number = next(self._numbers)
        identifier = f"ENG-{number}"
        self.issues[issue_id] = {
            "id": issue_id,
            "identifier": identifier,
            "url": f"https://linear.app/agency/issue/{identifier.lower()}",
            "state": self._state(team, "todo"),
            "teamId": team,
            "title": data["title"],
            "description": data.get("description"),
            "assigneeId": data.get("assigneeId"),
            "dueDate": data.get("dueDate"),
            "archived": False,
        }
        return _data({"issueCreate": {"success": True, "issue": self._public(self.issues[issue_id])}})

    def _op_Issue(self, v: dict[str, Any]) -> web.Response:  # noqa: N802
        issue = self.issues.get(str(v.get("id")))
        if issue is None:
            return _errors(400, *_NOT_FOUND)
        return _data({"issue": self._public(issue)})

    def _op_IssueStates(self, v: dict[str, Any]) -> web.Response:  # noqa: N802
        ids = v.get("ids") or []
        nodes = [
            self._public(self.issues[i]) for i in ids if i in self.issues and not self.issues[i]["archived"]
        ]
        return _data({"issues": {"nodes": nodes}})

    def _op_CompletedStates(self, v: dict[str, Any]) -> web.Response:  # noqa: N802
        team = v.get("teamId")
        nodes = [{"id": self.teams[team]["done"], "name": "Done"}] if team in self.teams else []
        return _data({"workflowStates": {"nodes": nodes}})

    def _op_IssueUpdate(self, v: dict[str, Any]) -> web.Response:  # noqa: N802
        issue = self.issues.get(str(v.get("id")))
        if issue is None:
            return _errors(400, *_NOT_FOUND)
        state = (v.get("input") or {}).get("stateId")
        if state is not None:
            team = self.teams[issue["teamId"]]
            if state not in team.values():
                return _errors(400, "Argument Validation Error", "INVALID_INPUT", "Invalid workflow state.")
            issue["state"] = self._state(issue["teamId"], "done" if state == team["done"] else "todo")
        return _data({"issueUpdate": {"success": True, "issue": self._public(issue)}})

    def _op_IssueArchive(self, v: dict[str, Any]) -> web.Response:  # noqa: N802
        issue = self.issues.get(str(v.get("id")))
        if issue is None:
            return _errors(400, *_NOT_FOUND)
        issue["archived"] = True
        return _data({"issueArchive": {"success": True}})


def _data(data: dict[str, Any]) -> web.Response:
    return web.json_response({"data": data})


def _errors(status: int, message: str, code: str, user_message: str | None = None) -> web.Response:
    extensions: dict[str, Any] = {"code": code}
    if user_message:
        extensions["userPresentableMessage"] = user_message
    return web.json_response({"errors": [{"message": message, "extensions": extensions}]}, status=status)
