"""Jira through the `jira` library (REST API v2): issues from action items, status both ways.

The client is synchronous (requests) and built lazily in a worker thread (it reads
`/serverInfo` when built). Its own retries are off (`max_retries=0`) so a 429 reaches the outbox's
shared rate gate with Jira's `Retry-After`. An issue is created in `integrations.jira.project_id`
(the project key) as a Task with `summary`, `description`, `assignee` (account id through
`owners:`), `duedate`, and a label derived from the outbox dedupe key: before creating, the
connector searches for that label (JQL), so a retry after a crash that lost the answer finds the
issue it made. Done here runs the issue's first transition into the `done` status category;
two-way sync reads status, assignee, due date and `updated` (one JQL search per 100 issues) and
pushes owner and due-date edits; undo deletes the issue (needs the Delete issues permission).
Jira's error body is `{"errorMessages": […], "errors": {field: message}}`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from jira import JIRA
from jira.exceptions import JIRAError

from services.integrations.base import (
    Applied,
    Progress,
    RateLimited,
    RemoteState,
    TargetError,
    TargetUnavailable,
    Write,
    retry_after,
)
from services.os_config import ConnectorSettings

TARGET = "jira"
OPERATIONS = ("issue", "task")
FIELDS = ["status", "assignee", "duedate", "updated"]
T = TypeVar("T")


def label(dedupe_key: str) -> str:
    return f"fos-{hashlib.sha256(dedupe_key.encode()).hexdigest()[:12]}"


class JiraConnector:
    target = TARGET

    def __init__(
        self,
        url: str,
        email: str,
        token: str,
        *,
        settings: ConnectorSettings | None = None,
        issue_type: str = "Task",
    ) -> None:
        self.settings = settings or ConnectorSettings()
        self.url = url.rstrip("/")
        self._auth = (email, token)
        self.issue_type = issue_type
        self._client: JIRA | None = None
        self._lock = asyncio.Lock()

    def _build(self) -> JIRA:
        return JIRA(server=self.url, basic_auth=self._auth, max_retries=0, timeout=30)

    async def _call(self, fn: Callable[[JIRA], T]) -> T:
        try:
            if self._client is None:
                async with self._lock:
                    if self._client is None:
                        self._client = await asyncio.to_thread(self._build)
            client = self._client
            return await asyncio.to_thread(fn, client)
        except JIRAError as exc:
            raise _translate(exc) from exc
        except requests.RequestException as exc:
            raise TargetUnavailable(f"jira unreachable: {type(exc).__name__}") from exc

    def browse(self, key: str) -> str:
        return f"{self.url}/browse/{key}"

    async def _search(self, jql: str, limit: int = 100) -> list[dict[str, Any]]:
        found = await self._call(
            lambda j: j.search_issues(jql, fields=FIELDS, maxResults=limit, json_result=True)
        )
        return list(found.get("issues") or [])

    async def apply(self, write: Write, progress: Progress) -> Applied:
        if write.operation not in OPERATIONS:
            raise TargetError(TARGET, 400, f"unknown Jira operation {write.operation!r}")
        p = write.payload
        project = p.get("project_id") or self.settings.project_id
        if not project:
            raise TargetError(TARGET, 400, "no Jira project: set integrations.jira.project_id (the key)")
        mark = label(write.dedupe_key)
        made = await self._search(f'labels = "{mark}"', limit=1) if write.retry else []  # an earlier run
        if made:
            return Applied(external_id=str(made[0]["id"]), url=self.browse(str(made[0]["key"])))
        fields: dict[str, Any] = {
            "project": {"key": str(project)},
            "issuetype": {"name": self.issue_type},
            "summary": " ".join(str(p.get("title") or "Action item").split())[:255],
            "description": str(p.get("description") or ""),
            "labels": ["fathom-os", mark],
        }
        if p.get("assignee_id"):
            fields["assignee"] = {"accountId": str(p["assignee_id"])}
        if p.get("due_date"):
            fields["duedate"] = str(p["due_date"])[:10]
        issue = await self._call(lambda j: j.create_issue(fields=fields, prefetch=False))
        return Applied(external_id=str(issue.id), url=self.browse(str(issue.key)), remote_status="To Do")

    async def states(self, external_ids: list[str]) -> list[RemoteState]:
        out: list[RemoteState] = []
        for start in range(0, len(external_ids), 100):
            chunk = [i for i in external_ids[start : start + 100] if i.isdigit()]
            if not chunk:
                continue
            for issue in await self._search(f"id in ({', '.join(chunk)})"):
                f = issue.get("fields") or {}
                status = f.get("status") or {}
                out.append(
                    RemoteState(
                        str(issue["id"]),
                        (status.get("statusCategory") or {}).get("key") == "done",
                        str(status.get("name") or ""),
                        assignee=(f.get("assignee") or {}).get("accountId"),
                        due_date=f.get("duedate"),
                        modified_at=f.get("updated"),
                    )
                )
        return out

    async def close(self, external_id: str) -> None:
        def run(j: JIRA) -> None:
            transitions = j.transitions(external_id)
            done = next(
                (
                    t
                    for t in transitions
                    if ((t.get("to") or {}).get("statusCategory") or {}).get("key") == "done"
                ),
                None,
            )
            if done is None:
                raise JIRAError("no transition into Done from this status", status_code=409)
            j.transition_issue(external_id, str(done["id"]))

        await self._call(run)

    async def edit(self, external_id: str, *, assignee: str | None, due_date: str | None) -> None:
        fields = {"assignee": {"accountId": assignee} if assignee else None, "duedate": due_date}
        await self._call(lambda j: j.issue(external_id, fields="summary").update(fields=fields))

    async def undo(self, operation: str, external_id: str) -> None:
        await self._call(lambda j: j.issue(external_id, fields="summary").delete())  # type: ignore[no-untyped-call]

    async def check(self) -> str:
        me = await self._call(lambda j: j.myself())
        project = (
            f", project {self.settings.project_id}" if self.settings.project_id else ", no project_id set"
        )
        return f"token of {me.get('displayName') or me.get('emailAddress') or 'a user'}{project}"


def _translate(exc: JIRAError) -> Exception:
    status = int(exc.status_code or 0)
    response = getattr(exc, "response", None)
    message = ""
    if response is not None:
        try:
            body = response.json()
            parts = [str(m) for m in body.get("errorMessages") or []]
            parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
            message = "; ".join(parts)
        except (ValueError, AttributeError):
            message = (response.text or "")[:500]
    message = message or str(exc.text or "refused")
    if status == 429:
        return RateLimited(TARGET, retry_after(response.headers if response is not None else None))
    if 400 <= status < 500:
        return TargetError(TARGET, status, message)
    return TargetUnavailable(f"jira answered {status}")
