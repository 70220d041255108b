"""Meeting rows built from the Fathom fixtures without a database, as the blocks builders see them."""

from __future__ import annotations

import json
from typing import Any

from services.fathom import FathomMeeting
from services.models import Meeting
from tests.helpers import FIXTURES


def load(name: str) -> dict[str, Any]:
    """A fixture's payload by its file name (`partner_sync.json`)."""
    return json.loads((FIXTURES / name).read_text())


def make_meeting(payload: dict[str, Any], *, id: int = 7, **overrides: Any) -> Meeting:
    fathom = FathomMeeting.model_validate(payload)
    fields: dict[str, Any] = {
        "id": id,
        "recording_id": fathom.recording_id,
        "title": fathom.title,
        "url": fathom.url,
        "share_url": fathom.share_url,
        "started_at": fathom.started_at,
        "ended_at": fathom.ended_at,
        "payload": payload,
        "status": "received",
        "needs_reanalysis": False,
    }
    fields.update(overrides)
    return Meeting(**fields)
