"""Linear over its GraphQL API (httpx): issues from action items, and their status both ways.

`issueCreate` gets a client-chosen issue id derived from the outbox dedupe key, so a retry after a
crash that lost the answer finds the issue it already made instead of making a second one.
Two-way status: `issues(filter: {id: {in: …}})` reads states (type `completed` = done there),
`issueUpdate` moves an issue to the team's completed state when its item is done here; undo is
`issueArchive`. Rate limits: Linear answers `RATELIMITED` in `errors[].extensions.code` with the
`X-RateLimit-Requests-Reset` header (epoch ms); plain 429s are honoured too.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

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
from services.integrations.http import json_message, send
from services.os_config import ConnectorSettings

TARGET = "linear"
OPERATION_ISSUE = "issue"
_ISSUE_FIELDS = "id identifier url state { id name type }"
VIEWER = "query Viewer { viewer { id name email } }"
ISSUE_CREATE = (
    "mutation IssueCreate($input: IssueCreateInput!) "
    f"{{ issueCreate(input: $input) {{ success issue {{ {_ISSUE_FIELDS} }} }} }}"
)
ISSUE = f"query Issue($id: String!) {{ issue(id: $id) {{ {_ISSUE_FIELDS} }} }}"
ISSUE_STATES = (
    "query IssueStates($ids: [ID!]) "
    f"{{ issues(filter: {{ id: {{ in: $ids }} }}, first: 250) {{ nodes {{ {_ISSUE_FIELDS} }} }} }}"
)
COMPLETED_STATES = (
    "query CompletedStates($teamId: ID!) { workflowStates(filter: "
    '{ team: { id: { eq: $teamId } }, type: { eq: "completed" } }) { nodes { id name } } }'
)
ISSUE_UPDATE = (
    "mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) "
    f"{{ issueUpdate(id: $id, input: $input) {{ success issue {{ {_ISSUE_FIELDS} }} }} }}"
)
ISSUE_ARCHIVE = "mutation IssueArchive($id: String!) { issueArchive(id: $id) { success } }"


def issue_id(dedupe_key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fathom-os:{dedupe_key}"))


class LinearConnector:
    target = TARGET

    def __init__(
        self,
        api_key: str,
        url: str = "https://api.linear.app/graphql",
        *,
        settings: ConnectorSettings | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings or ConnectorSettings()
        self.url = url
        self.client = client or httpx.AsyncClient(
            headers={"Authorization": api_key, "Content-Type": "application/json"},
            timeout=httpx.Timeout(30.0),
        )
        self._completed_state: dict[str, str] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _gql(
        self, operation: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = {"operationName": operation, "query": query, "variables": variables or {}}
        response = await send(TARGET, lambda: self.client.post(self.url, json=body))
        try:
            data = response.json()
        except ValueError:
            data = {}
        errors = data.get("errors") if isinstance(data, dict) else None
        if errors:
            code = str(((errors[0] or {}).get("extensions") or {}).get("code") or "")
            if code == "RATELIMITED" or response.status_code == 429:
                raise RateLimited(TARGET, _reset_seconds(response.headers))
            if response.status_code >= 500:
                raise TargetUnavailable(f"linear answered {response.status_code}")
            raise TargetError(
                TARGET, response.status_code if response.status_code >= 400 else 400, json_message(response)
            )
        if response.status_code == 429:
            raise RateLimited(TARGET, retry_after(response.headers))
        if response.status_code >= 500:
            raise TargetUnavailable(f"linear answered {response.status_code}")
        if response.status_code >= 400:
            raise TargetError(TARGET, response.status_code, json_message(response))
        return dict(data.get("data") or {})

    async def apply(self, write: Write, progress: Progress) -> Applied:
        if write.operation != OPERATION_ISSUE:
            raise TargetError(TARGET, 400, f"unknown Linear operation {write.operation!r}")
        p = write.payload
        team = p.get("team_id") or self.settings.team_id
        if not team:
            raise TargetError(TARGET, 400, "no Linear team: set integrations.linear.team_id in fathom-os.yml")
        wanted = issue_id(write.dedupe_key)
        issue_input: dict[str, Any] = {
            "id": wanted,
            "teamId": team,
            "title": str(p.get("title") or "Action item")[:255],
            "description": str(p.get("description") or ""),
        }
        for src, dst in (("assignee_id", "assigneeId"), ("due_date", "dueDate"), ("project_id", "projectId")):
            if p.get(src):
                issue_input[dst] = p[src]
        if "projectId" not in issue_input and self.settings.project_id:
            issue_input["projectId"] = self.settings.project_id
        try:
            data = await self._gql("IssueCreate", ISSUE_CREATE, {"input": issue_input})
            issue = (data.get("issueCreate") or {}).get("issue") or {}
        except TargetError as exc:
            if "already exists" not in exc.message:
                raise
            issue = (await self._gql("Issue", ISSUE, {"id": wanted})).get(
                "issue"
            ) or {}  # made before a crash
        if not issue.get("id"):
            raise TargetError(TARGET, 502, "Linear answered without an issue")
        return Applied(
            external_id=str(issue["id"]),
            url=issue.get("url"),
            remote_status=str((issue.get("state") or {}).get("name") or "") or None,
        )

    async def states(self, external_ids: list[str]) -> list[RemoteState]:
        out: list[RemoteState] = []
        for start in range(0, len(external_ids), 250):
            data = await self._gql("IssueStates", ISSUE_STATES, {"ids": external_ids[start : start + 250]})
            for node in (data.get("issues") or {}).get("nodes") or []:
                state = node.get("state") or {}
                out.append(
                    RemoteState(
                        str(node["id"]), state.get("type") == "completed", str(state.get("name") or "")
                    )
                )
        return out

    async def close(self, external_id: str) -> None:
        team = self.settings.team_id or ""
        state = self._completed_state.get(team)
        if state is None:
            nodes = (await self._gql("CompletedStates", COMPLETED_STATES, {"teamId": team})).get(
                "workflowStates"
            ) or {}
            found = (nodes.get("nodes") or [{}])[0].get("id")
            if not found:
                raise TargetError(TARGET, 400, f"team {team} has no completed state")
            state = self._completed_state[team] = str(found)
        await self._gql("IssueUpdate", ISSUE_UPDATE, {"id": external_id, "input": {"stateId": state}})

    async def undo(self, operation: str, external_id: str) -> None:
        await self._gql("IssueArchive", ISSUE_ARCHIVE, {"id": external_id})

    async def check(self) -> str:
        viewer = (await self._gql("Viewer", VIEWER)).get("viewer") or {}
        team = f", team {self.settings.team_id}" if self.settings.team_id else ", no team_id set"
        return f"API key of {viewer.get('name') or viewer.get('email') or 'a user'}{team}"


def _reset_seconds(headers: Any) -> float:
    """`X-RateLimit-Requests-Reset` is epoch milliseconds; Retry-After when that is absent."""
    reset = headers.get("X-RateLimit-Requests-Reset") if headers is not None else None
    if reset:
        try:
            return min(60.0, max(0.0, float(reset) / 1000 - time.time()))
        except ValueError:
            pass
    return retry_after(headers)
