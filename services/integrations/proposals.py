"""What the bot proposes to write where: pure functions from a meeting or an item to outbox entries.

Dedupe keys name the source (`linear:item:12`, `hubspot:meeting:7`), so proposing again (a
re-analysis, a second click on "Send to …") finds the entry that exists instead of adding one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from services.models import ActionItem, Meeting
from services.os_config import ConnectorSettings, OSConfig
from services.outbox import Proposed

MAX_BODY = 60_000


def issue_for_item(
    item: ActionItem, meeting: Meeting | None, settings: ConnectorSettings, target: str
) -> Proposed:
    """A PM task for an action item (Linear issue), its owner mapped through `owners:`."""
    where = f"From the meeting “{meeting.title}”" if meeting else "From a meeting"
    link = meeting.share_url or meeting.url if meeting else None
    description = f"{where}{f' ({link})' if link else ''}.\n\n{item.text}"
    if item.playback_url:
        description += f"\n\n[Where it was said]({item.playback_url})"
    payload: dict[str, Any] = {"title": _line(item.text, 250), "description": description[:MAX_BODY]}
    assignee = settings.owner_for(item.owner_slack_id, item.owner_email)
    if assignee:
        payload["assignee_id"] = assignee
    if item.due_date:
        payload["due_date"] = item.due_date.isoformat()
    return Proposed(
        target, "issue", payload, f"{target}:item:{item.id}", f"Task: {_line(item.text, 120)}",
        meeting_id=item.meeting_id, item_id=item.id,
    )  # fmt: skip


def hubspot_for_meeting(
    meeting: Meeting,
    items: Sequence[ActionItem],
    config: OSConfig,
    *,
    decisions: Sequence[str] = (),
    facts: Sequence[str] = (),
) -> list[Proposed]:
    """A meeting engagement, a task per agency action item and a note of deal facts (a suggestion)."""
    settings = config.integrations.settings_for("hubspot")
    fathom = meeting.fathom()
    matches = fathom.crm_matches
    ids = {
        "contact_ids": [
            str(c.get("id") or c.get("record_id") or "") for c in (matches.contacts if matches else [])
        ],
        "company_ids": [
            str(c.get("id") or c.get("record_id") or "") for c in (matches.companies if matches else [])
        ],
        "deal_ids": [
            str(c.get("id") or c.get("record_id") or "") for c in (matches.deals if matches else [])
        ],
    }
    ids = {k: [v for v in vals if v] for k, vals in ids.items()}
    lookup = {
        "emails": [i.email for i in fathom.external_invitees if i.email],
        "domains": [d for d in fathom.external_domains if not config.is_internal_domain(d)],
    }
    body = fathom.summary_markdown or ""
    if decisions:
        body += "\n\nDecisions:\n" + "\n".join(f"- {d}" for d in decisions)
    start = meeting.started_at
    end = meeting.ended_at or (start + timedelta(minutes=30) if start else None)
    out = [
        Proposed(
            "hubspot",
            "meeting",
            {
                "title": _line(meeting.title, 250),
                "body": body[:MAX_BODY],
                "start": start.isoformat() if start else None,
                "end": end.isoformat() if end else None,
                "external_url": meeting.share_url or meeting.url,
                **ids,
                **lookup,
            },
            f"hubspot:meeting:{meeting.id}",
            f"Meeting: {_line(meeting.title, 120)}",
            meeting_id=meeting.id,
        )
    ]
    for item in items:
        if item.owner_external:
            continue  # the client's own to-dos are not the agency's tasks
        payload: dict[str, Any] = {"subject": _line(item.text, 250), "body": item.text, **ids, **lookup}
        if item.due_date:
            payload["due"] = item.due_date.isoformat()
        owner = settings.owner_for(item.owner_slack_id, item.owner_email)
        if owner:
            payload["owner_id"] = owner
        out.append(
            Proposed(
                "hubspot",
                "task",
                payload,
                f"hubspot:task:item:{item.id}",
                f"Task: {_line(item.text, 120)}",
                meeting_id=meeting.id,
                item_id=item.id,
            )  # fmt: skip
        )
    if facts:
        note = "Suggested from the meeting (not applied to the deal):\n" + "\n".join(f"- {f}" for f in facts)
        out.append(
            Proposed(
                "hubspot",
                "note",
                {"body": note[:MAX_BODY], **ids, **lookup},
                f"hubspot:note:{meeting.id}",
                "Note: deal facts",
                meeting_id=meeting.id,
            )  # fmt: skip
        )
    return out


def deck_for_audit(
    meeting_id: int, client: str, sections: Sequence[tuple[str, str]], *, kind: str = "proposal"
) -> Proposed:
    """A Gamma deck from the /os-audit pack: one card-worthy section per (heading, markdown)."""
    text = f"# {client}: {kind} deck\n\n" + "\n\n---\n\n".join(f"## {h}\n\n{body}" for h, body in sections)
    return Proposed(
        "gamma", "deck", {"input_text": text[:400_000], "title": f"{client} {kind}"},
        f"gamma:{kind}:meeting:{meeting_id}", f"Deck: {client} {kind}", meeting_id=meeting_id,
    )  # fmt: skip


def _line(text: str, limit: int) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
