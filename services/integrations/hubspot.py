"""HubSpot through the official `hubspot-api-client`: meeting engagements, tasks and notes.

The SDK is synchronous (urllib3): each call runs in a worker thread. Records are associated with
the contacts, company and deal Fathom matched (`crm_matches`), else found by the attendees'
e-mail addresses and domains (contacts / companies search). A note carries deal-relevant facts as a
suggestion; the bot never changes a deal's fields. Undo archives the record (HubSpot's delete).
Crash safety: every body ends with `Ref: fos-<hash of the dedupe key>`; before creating, the
connector searches for it (a meeting with an external URL: by that URL), so a retry after a crash
that lost HubSpot's answer finds the record instead of making a second one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from hubspot import HubSpot
from hubspot.crm.companies import Filter as CompanyFilter
from hubspot.crm.companies import FilterGroup as CompanyFilterGroup
from hubspot.crm.companies import PublicObjectSearchRequest as CompanySearch
from hubspot.crm.contacts import Filter, FilterGroup, PublicObjectSearchRequest
from hubspot.crm.objects import Filter as RecordFilter
from hubspot.crm.objects import FilterGroup as RecordFilterGroup
from hubspot.crm.objects import PublicObjectSearchRequest as RecordSearch
from hubspot.crm.objects.meetings import SimplePublicObjectInputForCreate as MeetingInput
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteInput
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate as TaskInput
from urllib3.exceptions import HTTPError as Urllib3Error

from services.integrations.base import (
    Applied,
    Pacer,
    Progress,
    RateLimited,
    TargetError,
    TargetUnavailable,
    Write,
    retry_after,
)

TARGET = "hubspot"
OPERATIONS = ("meeting", "task", "note")
# HubSpot-defined association type ids, from the record to contact / company / deal
ASSOCIATION_TYPES = {
    "meeting": {"contact": 200, "company": 188, "deal": 212},
    "task": {"contact": 204, "company": 192, "deal": 216},
    "note": {"contact": 202, "company": 190, "deal": 214},
}
T = TypeVar("T")


class HubSpotConnector:
    target = TARGET

    def __init__(
        self, token: str, base_url: str = "https://api.hubapi.com", *, portal_id: str | None = None
    ) -> None:
        self.client = HubSpot(access_token=token, host=base_url.rstrip("/"))
        self.base_url = base_url.rstrip("/")
        self.portal_id = portal_id
        self.pacer = Pacer()  # learns HubSpot's rate from its first 429

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        await self.pacer.wait()
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except Urllib3Error as exc:
            raise TargetUnavailable(f"hubspot unreachable: {type(exc).__name__}") from exc
        except Exception as exc:
            status = getattr(exc, "status", None)
            if not isinstance(status, int):
                raise
            if status == 429:
                self._learn(getattr(exc, "headers", None))
            raise _translate(exc, status) from exc

    def _learn(self, headers: Any) -> None:
        try:
            max_calls = int(headers["X-HubSpot-RateLimit-Max"])
            interval = float(headers["X-HubSpot-RateLimit-Interval-Milliseconds"]) / 1000
        except (KeyError, TypeError, ValueError):
            return
        self.pacer.learn(max_calls, interval)

    # -- associations -------------------------------------------------------------------------

    async def associations(self, payload: dict[str, Any]) -> dict[str, list[str]]:
        """Fathom's crm_matches when present, else contacts by e-mail and companies by domain."""
        found = {
            "contact": [str(i) for i in payload.get("contact_ids") or []],
            "company": [str(i) for i in payload.get("company_ids") or []],
            "deal": [str(i) for i in payload.get("deal_ids") or []],
        }
        emails = [str(e).lower() for e in payload.get("emails") or []][:100]
        if not found["contact"] and emails:
            search = PublicObjectSearchRequest(
                filter_groups=[
                    FilterGroup(filters=[Filter(property_name="email", operator="IN", values=emails)])
                ],
                properties=["email"],
                limit=100,
            )
            page = await self._call(
                self.client.crm.contacts.search_api.do_search, public_object_search_request=search
            )
            found["contact"] = [r.id for r in page.results]
        domains = [str(d).lower() for d in payload.get("domains") or []][:100]
        if not found["company"] and domains:
            search_c = CompanySearch(
                filter_groups=[
                    CompanyFilterGroup(
                        filters=[CompanyFilter(property_name="domain", operator="IN", values=domains)]
                    )
                ],
                properties=["domain"],
                limit=100,
            )
            page_c = await self._call(
                self.client.crm.companies.search_api.do_search, public_object_search_request=search_c
            )
            found["company"] = [r.id for r in page_c.results]
        return found

    def _assoc(self, operation: str, found: dict[str, list[str]]) -> list[dict[str, Any]]:
        types = ASSOCIATION_TYPES[operation]
        return [
            {
                "to": {"id": oid},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": types[kind]}],
            }
            for kind, ids in found.items()
            for oid in dict.fromkeys(ids)
        ]

    # -- writes -------------------------------------------------------------------------------

    async def apply(self, write: Write, progress: Progress) -> Applied:
        if write.operation not in OPERATIONS:
            raise TargetError(TARGET, 400, f"unknown HubSpot operation {write.operation!r}")
        p = write.payload
        found = await self.associations(p)
        ref = dedupe_ref(write.dedupe_key)
        made = await self._made_before(write.operation, ref, p) if write.retry else None
        if made is not None:  # an earlier run created it and its answer was lost
            return Applied(external_id=made, url=self._record_url(write.operation, made, found))
        associations = self._assoc(write.operation, found)
        when = _ms(p.get("start") or p.get("due")) or _ms(datetime.now(UTC).isoformat())
        if write.operation == "meeting":
            properties = {
                "hs_timestamp": when,
                "hs_meeting_title": str(p.get("title") or "Meeting")[:255],
                "hs_meeting_body": _with_ref(p.get("body"), ref),
                "hs_meeting_start_time": when,
                "hs_meeting_end_time": _ms(p.get("end")) or when,
                "hs_meeting_outcome": "COMPLETED",
            }
            if p.get("external_url"):
                properties["hs_meeting_external_url"] = str(p["external_url"])
            api = self.client.crm.objects.meetings.basic_api
            created = await self._call(
                api.create,
                simple_public_object_input_for_create=MeetingInput(
                    properties=properties, associations=associations
                ),
            )
        elif write.operation == "task":
            properties = {
                "hs_timestamp": when,
                "hs_task_subject": str(p.get("subject") or "Follow up")[:255],
                "hs_task_body": _with_ref(p.get("body"), ref),
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": str(p.get("priority") or "MEDIUM").upper(),
            }
            if p.get("owner_id"):
                properties["hubspot_owner_id"] = str(p["owner_id"])
            api = self.client.crm.objects.tasks.basic_api
            created = await self._call(
                api.create,
                simple_public_object_input_for_create=TaskInput(
                    properties=properties, associations=associations
                ),
            )
        else:
            properties = {"hs_timestamp": when, "hs_note_body": _with_ref(p.get("body"), ref)}
            api = self.client.crm.objects.notes.basic_api
            created = await self._call(
                api.create,
                simple_public_object_input_for_create=NoteInput(
                    properties=properties, associations=associations
                ),
            )
        return Applied(
            external_id=str(created.id), url=self._record_url(write.operation, str(created.id), found)
        )

    async def _made_before(self, operation: str, ref: str, p: dict[str, Any]) -> str | None:
        """The record an earlier run of this write created, by the meeting's external URL or the
        `Ref: fos-…` token every record's body ends with (HubSpot's search indexes within seconds)."""
        if operation == "meeting" and p.get("external_url"):
            wanted = RecordFilter(
                property_name="hs_meeting_external_url", operator="EQ", value=str(p["external_url"])
            )
        else:
            body = {"meeting": "hs_meeting_body", "task": "hs_task_body", "note": "hs_note_body"}[operation]
            wanted = RecordFilter(property_name=body, operator="CONTAINS_TOKEN", value=ref)
        search = RecordSearch(
            filter_groups=[RecordFilterGroup(filters=[wanted])], properties=["hs_object_id"], limit=1
        )
        api = getattr(self.client.crm.objects, f"{operation}s").search_api
        page = await self._call(api.do_search, public_object_search_request=search)
        return str(page.results[0].id) if page.results else None

    def _record_url(self, operation: str, record_id: str, found: dict[str, list[str]]) -> str | None:
        """Engagements open on their contact's or company's record in HubSpot's app."""
        if not self.portal_id:
            return None
        for kind, type_id in (("contact", "0-1"), ("company", "0-2"), ("deal", "0-3")):
            if found.get(kind):
                return f"https://app.hubspot.com/contacts/{self.portal_id}/record/{type_id}/{found[kind][0]}"
        return None

    async def undo(self, operation: str, external_id: str) -> None:
        apis = {
            "meeting": (self.client.crm.objects.meetings.basic_api.archive, "meeting_id"),
            "task": (self.client.crm.objects.tasks.basic_api.archive, "task_id"),
            "note": (self.client.crm.objects.notes.basic_api.archive, "note_id"),
        }
        fn, arg = apis[operation]
        await self._call(fn, **{arg: external_id})

    async def check(self) -> str:
        page = await self._call(self.client.crm.contacts.basic_api.get_page, limit=1)
        return f"token accepted (contacts readable, {len(page.results)} listed)"


def dedupe_ref(dedupe_key: str) -> str:
    return "fos-" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:12]


def _with_ref(body: Any, ref: str) -> str:
    text = str(body or "")[:64_900]
    return f"{text}\n\nRef: {ref}" if text else f"Ref: {ref}"


def _ms(value: Any) -> str | None:
    """HubSpot timestamps: epoch milliseconds or ISO 8601; ISO is sent as is, validated here."""
    if not value:
        return None
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _translate(exc: Exception, status: int) -> Exception:
    body = getattr(exc, "body", None)
    message = ""
    try:
        data = json.loads(body) if body else {}
        message = str(data.get("message") or "")
    except (ValueError, TypeError, AttributeError):
        message = str(body or "")[:500]
    headers = getattr(exc, "headers", None)
    if status == 429:
        interval = None
        if headers is not None and headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"):
            try:
                interval = float(headers["X-HubSpot-RateLimit-Interval-Milliseconds"]) / 1000 / 10
            except ValueError:
                interval = None
        return RateLimited(TARGET, retry_after(headers, default=max(0.05, interval or 1.0)))
    if 400 <= status < 500:
        return TargetError(TARGET, status, message or getattr(exc, "reason", "") or "refused")
    return TargetUnavailable(f"hubspot answered {status}")
