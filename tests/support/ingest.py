"""Every Fathom fixture stored, analysed by the heuristic and indexed for search, on a real database."""

from __future__ import annotations

from services.analysis.heuristic import HeuristicAnalyzer
from services.db import Database
from services.fathom import parse_meeting
from services.meetings import MeetingStore
from services.search import SearchIndex
from tests.helpers import FIXTURE_NAMES, load_fixture


async def ingest_fixtures(db: Database) -> dict[str, int]:
    """Every fixture ingested, analysed by the heuristic and indexed; name -> meeting id."""
    store, index, ids = MeetingStore(db), SearchIndex(db), {}
    for name in FIXTURE_NAMES:
        data = load_fixture(name)
        if name == "minimal_no_content":
            data["recording_id"] = data["recording_id"] + 777  # shares an id with partner_sync
        fathom = parse_meeting(data)
        meeting_id = (await store.ingest(fathom)).meeting_id
        await store.store_analysis(meeting_id, await HeuristicAnalyzer().analyze(fathom))
        await index.index_meeting(meeting_id)
        ids[name] = meeting_id
    return ids
