"""Salesforce through `simple-salesforce`: an Event for the meeting and Tasks for its action items.

The client is synchronous (requests): each call runs in a worker thread. Records carry `WhoId`
(the contact found by the attendees' e-mail addresses, SOQL), `WhatId` (the deal or account from
Fathom's `crm_matches`, else the contact's account), `ActivityDate`, `Subject` and `Description`.
Crash safety: every Subject ends with a marker derived from the outbox dedupe key (`[fos:…]`);
before creating, the connector looks it up (SOQL `LIKE`), so a retry after a crash that lost the
answer finds the record it made instead of making a second one. Errors are Salesforce's
`[{"message", "errorCode"}]` list; `REQUEST_LIMIT_EXCEEDED` (or a 429) is honoured as a rate
limit. Undo deletes the record (it goes to the recycle bin, restorable for 15 days).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce  # type: ignore[attr-defined]  # re-exported, not in __all__
from simple_salesforce.exceptions import SalesforceError

from services.integrations.base import (
    Applied,
    Progress,
    RateLimited,
    TargetError,
    TargetUnavailable,
    Write,
)
from services.os_config import ConnectorSettings

TARGET = "salesforce"
OPERATIONS = {"event": "Event", "task": "Task"}
API_VERSION = "59.0"
T = TypeVar("T")


def marker(dedupe_key: str) -> str:
    """The Subject suffix a retry looks the record up by (short, unique per outbox entry)."""
    return f"[fos:{hashlib.sha256(dedupe_key.encode()).hexdigest()[:12]}]"


def _soql(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SalesforceConnector:
    target = TARGET

    def __init__(
        self,
        instance_url: str,
        session_id: str,
        *,
        settings: ConnectorSettings | None = None,
        session: requests.Session | None = None,
        version: str = API_VERSION,
        rate_limit_wait: float = 5.0,
    ) -> None:
        self.settings = settings or ConnectorSettings()
        self.instance_url = instance_url.rstrip("/")
        self.client = Salesforce(
            instance_url=self.instance_url, session_id=session_id, session=session, version=version
        )
        self.rate_limit_wait = rate_limit_wait

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except SalesforceError as exc:
            raise self._translate(exc) from exc
        except requests.RequestException as exc:
            raise TargetUnavailable(f"salesforce unreachable: {type(exc).__name__}") from exc

    def _translate(self, exc: SalesforceError) -> Exception:
        errors: list[Any] = exc.content if isinstance(exc.content, list) else []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        code = str(first.get("errorCode") or "")
        message = str(first.get("message") or exc.content or "refused")[:1000]
        if exc.status == 429 or code == "REQUEST_LIMIT_EXCEEDED":
            return RateLimited(TARGET, self.rate_limit_wait)
        if 400 <= exc.status < 500:
            return TargetError(TARGET, exc.status, f"{code}: {message}" if code else message)
        return TargetUnavailable(f"salesforce answered {exc.status}")

    async def _query(self, soql: str) -> list[dict[str, Any]]:
        result = await self._call(self.client.query, soql)
        return [dict(r) for r in result.get("records") or []]

    async def _who_what(self, p: dict[str, Any]) -> tuple[str | None, str | None]:
        who = next((str(i) for i in p.get("contact_ids") or [] if i), None)
        what = next((str(i) for k in ("deal_ids", "company_ids") for i in p.get(k) or [] if i), None)
        emails = [str(e).lower() for e in p.get("emails") or [] if e][:50]
        if who is None and emails:
            found = await self._query(
                f"SELECT Id, AccountId FROM Contact WHERE Email IN ({', '.join(map(_soql, emails))}) LIMIT 1"
            )
            if found:
                who = str(found[0]["Id"])
                what = what or (str(found[0]["AccountId"]) if found[0].get("AccountId") else None)
        return who, what

    async def _existing(self, sobject: str, mark: str) -> str | None:
        found = await self._query(f"SELECT Id FROM {sobject} WHERE Subject LIKE {_soql('%' + mark)} LIMIT 1")
        return str(found[0]["Id"]) if found else None

    async def apply(self, write: Write, progress: Progress) -> Applied:
        sobject = OPERATIONS.get(write.operation)
        if sobject is None:
            raise TargetError(TARGET, 400, f"unknown Salesforce operation {write.operation!r}")
        p = write.payload
        mark = marker(write.dedupe_key)
        found = await self._existing(sobject, mark) if write.retry else None  # made by an earlier run
        if found:
            return Applied(external_id=found, url=self.record_url(found))
        subject = str(p.get("subject") or p.get("title") or "Follow up")
        record: dict[str, Any] = {
            "Subject": f"{subject[: 255 - len(mark) - 1]} {mark}",
            "Description": str(p.get("description") or p.get("body") or "")[:32_000],
        }
        who, what = await self._who_what(p)
        if who:
            record["WhoId"] = who
        if what:
            record["WhatId"] = what
        owner = p.get("owner_id")
        if owner:
            record["OwnerId"] = str(owner)
        if sobject == "Event":
            start = _when(p.get("start")) or datetime.now(UTC)
            end = _when(p.get("end")) or start + timedelta(minutes=30)
            record.update(
                StartDateTime=_iso(start),
                EndDateTime=_iso(max(end, start)),
                ActivityDate=start.date().isoformat(),
            )
            if p.get("external_url"):
                record["Description"] = f"{record['Description']}\n\nRecording: {p['external_url']}".strip()
        else:
            record.update(Status="Not Started", Priority=str(p.get("priority") or "Normal"))
            due = p.get("due") or p.get("due_date")
            if due:
                record["ActivityDate"] = str(due)[:10]
        api = getattr(self.client, sobject)
        created = await self._call(api.create, record)
        if not created.get("success", True) or not created.get("id"):
            raise TargetError(TARGET, 400, str(created.get("errors") or "Salesforce did not create it"))
        return Applied(external_id=str(created["id"]), url=self.record_url(str(created["id"])))

    def record_url(self, record_id: str) -> str:
        return f"{self.instance_url}/{record_id}"

    async def undo(self, operation: str, external_id: str) -> None:
        api = getattr(self.client, OPERATIONS.get(operation, "Task"))
        await self._call(api.delete, external_id)

    async def check(self) -> str:
        limits = await self._call(self.client.limits)
        daily = limits.get("DailyApiRequests") or {}
        return f"session accepted ({daily.get('Remaining', '?')} of {daily.get('Max', '?')} daily API calls left)"


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def proposals_for_meeting(
    meeting: Any, items: Any, config: Any, *, decisions: Any = (), facts: Any = ()
) -> list[Any]:
    """The HubSpot proposals recast for Salesforce: the meeting as an Event, the agency's action
    items as Tasks (deal facts stay a suggestion on the Event's description, never a field change)."""
    from dataclasses import replace

    from services.integrations.proposals import hubspot_for_meeting

    owners = config.integrations.settings_for(TARGET)
    out = []
    for p in hubspot_for_meeting(meeting, items, config, decisions=decisions, facts=facts):
        payload = dict(p.payload)
        if p.operation == "meeting":
            operation, summary = "event", "Event: " + p.summary.removeprefix("Meeting: ")
            if facts:
                payload["body"] = (
                    f"{payload.get('body') or ''}\n\nSuggested from the meeting (not applied):\n"
                    + "\n".join(f"- {f}" for f in facts)
                ).strip()
        elif p.operation == "task":
            operation, summary = "task", p.summary
            payload.pop("owner_id", None)
        else:
            continue
        if p.item_id is not None:
            item = next((i for i in items if i.id == p.item_id), None)
            owner = owners.owner_for(item.owner_slack_id, item.owner_email) if item else None
            if owner:
                payload["owner_id"] = owner
        key = p.dedupe_key.replace("hubspot:meeting:", "salesforce:event:").replace("hubspot:", "salesforce:")
        out.append(
            replace(p, target=TARGET, operation=operation, payload=payload, dedupe_key=key, summary=summary)
        )
    return out
