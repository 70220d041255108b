"""A local stand-in for Asana's REST API (`/api/1.0`), in the shapes the official `asana` client
sends and parses: every body is wrapped in `{"data": …}`.

`POST /tasks` (`name`, `notes`, `projects`, `assignee`, `due_on`) answers 201 with the task
(`gid`, `resource_type`, `name`, `completed`, `permalink_url`, `assignee {gid, name}`, `due_on`,
`modified_at`); `GET`, `PUT` (partial update) and `DELETE` `/tasks/{gid}`; `GET /users/me`.
Bearer token; errors are `{"errors": [{"message", "help"}]}` (401 `Not Authorized`, 400 `Not a
recognized ID`, 404 for an unknown task), and the rate limit is 429 with `Retry-After`.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from aiohttp import web

from bot.sandbox._standin import StandIn, now_iso

HELP = "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class AsanaStandIn(StandIn):
    WINDOW = 60.0
    rate_limit_body = {"errors": [{"message": "You have made too many requests recently. Please, be chill."}]}

    def __init__(
        self,
        *,
        token: str = "2/asana-test",
        projects: tuple[str, ...] = ("1200000000000001",),
        users: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credential = ("Authorization", f"Bearer {token}")
        self.projects = set(projects)
        self.users = users or {"1100000000000001": "Maya Chen", "1100000000000002": "Sam Ortiz"}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self._gids = itertools.count(1_300_000_000_000_001)

    @property
    def url(self) -> str:
        return self.base_url + "/api/1.0"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/1.0/tasks", self._create)
        app.router.add_get("/api/1.0/tasks/{gid}", self._get)
        app.router.add_put("/api/1.0/tasks/{gid}", self._update)
        app.router.add_delete("/api/1.0/tasks/{gid}", self._delete)
        app.router.add_get("/api/1.0/users/me", self._me)

    def unauthorised(self) -> web.Response:
        return _errors(401, "Not Authorized")

    def failure(self, status: int, body: dict[str, Any]) -> web.Response:
        return _errors(status, str(body.get("message") or "error"))

    # -- test helpers: someone works on the task in Asana ----------------------------------------

    def complete(self, gid: str) -> None:
        self.tasks[gid].update(completed=True, modified_at=now_iso())

    def edit(
        self, gid: str, *, assignee: str | None = None, due_on: str | None = None, at: str | None = None
    ) -> None:
        self.tasks[gid].update(assignee=self._user(assignee), due_on=due_on, modified_at=at or now_iso())

    def _user(self, gid: str | None) -> dict[str, Any] | None:
        return {"gid": gid, "resource_type": "user", "name": self.users[gid]} if gid else None

    # -- routes -------------------------------------------------------------------------------

    def _check(self, data: dict[str, Any]) -> web.Response | None:
        for project in data.get("projects") or []:
            if str(project) not in self.projects:
                return _errors(400, f"projects: Not a recognized ID: {project}")
        assignee = data.get("assignee")
        if assignee is not None and str(assignee) not in self.users:
            return _errors(400, f"assignee: Not a recognized ID: {assignee}")
        due = data.get("due_on")
        if due is not None and not _DATE.match(str(due)):
            return _errors(400, f"due_on: Invalid date: {due}")
        return None

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _errors(400, "Could not parse request data, invalid JSON")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return _errors(400, "data: Missing input")
        return data

    async def _create(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        if isinstance(data, web.Response):
            return data
        if not data.get("projects") and not data.get("workspace"):
            return _errors(400, "You should specify one of workspace, parent, projects")
        problem = self._check(data)
        if problem is not None:
            return problem
        gid = str(next(self._gids))
        project = str((data.get("projects") or ["0"])[0])
        self.tasks[gid] = {
            "gid": gid,
            "resource_type": "task",
            "name": str(data.get("name") or ""),
            "notes": str(data.get("notes") or ""),
            "completed": bool(data.get("completed", False)),
            "permalink_url": f"https://app.asana.com/0/{project}/{gid}",
            "assignee": None,
            "due_on": data.get("due_on"),
            "projects": [{"gid": p, "resource_type": "project"} for p in data.get("projects") or []],
            "modified_at": now_iso(),
        }
        if data.get("assignee"):
            self.edit(gid, assignee=str(data["assignee"]), due_on=data.get("due_on"))
        return web.json_response({"data": self.tasks[gid]}, status=201)

    def _task(self, request: web.Request) -> dict[str, Any] | web.Response:
        task = self.tasks.get(request.match_info["gid"])
        if task is None:
            return _errors(404, "task: Unknown object: " + request.match_info["gid"])
        return task

    async def _get(self, request: web.Request) -> web.Response:
        task = self._task(request)
        if isinstance(task, web.Response):
            return task
        return web.json_response({"data": task})

    async def _update(self, request: web.Request) -> web.Response:
        task = self._task(request)
        if isinstance(task, web.Response):
            return task
        data = await self._body(request)
        if isinstance(data, web.Response):
            return data
        problem = self._check(data)
        if problem is not None:
            return problem
        if "assignee" in data:
            task["assignee"] = self._user(str(data["assignee"]) if data["assignee"] else None)
        for key in ("name", "notes", "completed", "due_on"):
            if key in data:
                task[key] = data[key]
        task["modified_at"] = now_iso()
        return web.json_response({"data": task})

    async def _delete(self, request: web.Request) -> web.Response:
        task = self._task(request)
        if isinstance(task, web.Response):
            return task
        del self.tasks[task["gid"]]
        self.deleted.add(task["gid"])
        return web.json_response({"data": {}})

    async def _me(self, request: web.Request) -> web.Response:
        gid, name = next(iter(self.users.items()))
        return web.json_response(
            {"data": {"gid": gid, "resource_type": "user", "name": name, "email": "maya@agency.example"}}
        )


def _errors(status: int, message: str) -> web.Response:
    return web.json_response({"errors": [{"message": message, "help": HELP}]}, status=status)
