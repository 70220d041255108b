"""Asana through the official `asana` client (v5): tasks from action items, status both ways.

The client is synchronous (urllib3): each call runs in a worker thread. Its own retry strategy is
switched off so a 429 reaches the outbox's shared rate gate (honouring `Retry-After`) and a 5xx
the job queue's backoff, as for every other target. A task is created in the project named by
`integrations.asana.project_id` with `name`, `notes`, `assignee` (through `owners:`) and `due_on`;
two-way sync reads `completed`, `assignee` and `due_on` back (`GET /tasks/{gid}`), closes a task
whose item is done here (`PUT completed: true`) and pushes owner and due-date edits; undo deletes
the task (Asana keeps it in the trash for 30 days). Asana's error body is `{"errors": [{"message"}]}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

import asana
from asana.rest import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

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

TARGET = "asana"
OPERATIONS = ("issue", "task")
FIELDS = "name,completed,permalink_url,assignee,due_on,modified_at"
T = TypeVar("T")


class AsanaConnector:
    target = TARGET

    def __init__(
        self,
        token: str,
        base_url: str = "https://app.asana.com/api/1.0",
        *,
        settings: ConnectorSettings | None = None,
    ) -> None:
        self.settings = settings or ConnectorSettings()
        configuration = asana.Configuration()
        configuration.access_token = token
        configuration.host = base_url.rstrip("/")
        configuration.retry_strategy = Retry(total=0, status_forcelist=[], raise_on_status=False)
        self.client = asana.ApiClient(configuration)
        self.tasks = asana.TasksApi(self.client)
        self.users = asana.UsersApi(self.client)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except ApiException as exc:
            raise _translate(exc) from exc
        except Urllib3Error as exc:
            raise TargetUnavailable(f"asana unreachable: {type(exc).__name__}") from exc

    async def apply(self, write: Write, progress: Progress) -> Applied:
        if write.operation not in OPERATIONS:
            raise TargetError(TARGET, 400, f"unknown Asana operation {write.operation!r}")
        p = write.payload
        project = p.get("project_id") or self.settings.project_id
        if not project:
            raise TargetError(
                TARGET, 400, "no Asana project: set integrations.asana.project_id in fathom-os.yml"
            )
        data: dict[str, Any] = {
            "name": str(p.get("title") or "Action item")[:1024],
            "notes": str(p.get("description") or ""),
            "projects": [str(project)],
        }
        if p.get("assignee_id"):
            data["assignee"] = str(p["assignee_id"])
        if p.get("due_date"):
            data["due_on"] = str(p["due_date"])[:10]
        task = await self._call(self.tasks.create_task, {"data": data}, {"opt_fields": FIELDS})
        return Applied(
            external_id=str(task["gid"]),
            url=task.get("permalink_url"),
            remote_status="completed" if task.get("completed") else "open",
        )

    async def states(self, external_ids: list[str]) -> list[RemoteState]:
        out: list[RemoteState] = []
        for gid in external_ids:
            try:
                task = await self._call(self.tasks.get_task, gid, {"opt_fields": FIELDS})
            except TargetError as exc:
                if exc.status == 404:  # deleted there: nothing to sync
                    continue
                raise
            done = bool(task.get("completed"))
            out.append(
                RemoteState(
                    str(task["gid"]),
                    done,
                    "completed" if done else "open",
                    assignee=(task.get("assignee") or {}).get("gid"),
                    due_date=task.get("due_on"),
                    modified_at=task.get("modified_at"),
                )
            )
        return out

    async def close(self, external_id: str) -> None:
        await self._call(self.tasks.update_task, {"data": {"completed": True}}, external_id, {})

    async def edit(self, external_id: str, *, assignee: str | None, due_date: str | None) -> None:
        """Owner and due date changed here: the same there (None clears it)."""
        data = {"assignee": assignee, "due_on": due_date}
        await self._call(self.tasks.update_task, {"data": data}, external_id, {})

    async def undo(self, operation: str, external_id: str) -> None:
        await self._call(self.tasks.delete_task, external_id)

    async def check(self) -> str:
        me = await self._call(self.users.get_user, "me", {"opt_fields": "name,email"})
        project = (
            f", project {self.settings.project_id}" if self.settings.project_id else ", no project_id set"
        )
        return f"token of {me.get('name') or me.get('email') or 'a user'}{project}"


def _translate(exc: ApiException) -> Exception:
    status = int(exc.status or 0)
    message = ""
    try:
        body = json.loads(exc.body) if exc.body else {}
        errors = body.get("errors") or []
        message = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
    except (ValueError, TypeError, AttributeError):
        message = str(exc.body or "")[:500]
    if status == 429:
        return RateLimited(TARGET, retry_after(exc.headers))
    if 400 <= status < 500:
        return TargetError(TARGET, status, message or str(exc.reason or "refused"))
    return TargetUnavailable(f"asana answered {status}")
