"""Home lists pending approvals with an Approve button on each shown row, the rest behind "N more"
(#16 item 7), and Approve clicked on Home commits and redraws the tab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from blocks.home import home_view
from blocks.ids import ProposalAction
from blocks.limits import check_view
from services.clock import utcnow
from services.db import Database
from services.home import SHOW_PROPOSALS
from services.models import OSProposal
from tests.harness import running_bot
from tests.support.home import MAYA, home_service
from tests.support.ingest import ingest_fixtures


async def add_proposals(db: Database, meeting_id: int, count: int) -> None:
    async with db.session() as s:
        for n in range(count):
            s.add(
                OSProposal(
                    meeting_id=meeting_id,
                    path=f"clients/brightline/notes-{n}.md",
                    action="create",
                    content=f"# Notes {n}\n\nNew pricing notes\n",
                    reason="Pricing was agreed",
                )
            )


def approve_buttons(view: dict[str, Any]) -> list[tuple[str, int]]:
    """(block_id, proposal id) of every Approve drawn on the tab."""
    return [
        (b["block_id"], json.loads(b["accessory"]["value"])["proposal_id"])
        for b in view["blocks"]
        if (b.get("accessory") or {}).get("action_id") == ProposalAction.APPROVE
    ]


async def test_the_first_pending_approvals_have_approve_buttons_and_the_rest_n_more(any_db: Database) -> None:
    ids = await ingest_fixtures(any_db)
    await add_proposals(any_db, ids["ai_audit_discovery"], SHOW_PROPOSALS + 3)
    view = home_view(await home_service(any_db).load(MAYA, email=None, is_approver=True, now=utcnow()))
    buttons = approve_buttons(view)
    assert len(buttons) == SHOW_PROPOSALS
    assert all(block == f"home:proposal:{pid}" for block, pid in buttons)
    more = next(b for b in view["blocks"] if b.get("block_id") == "home:proposals:more")
    assert more["elements"][0]["text"]["text"] == "3 more"
    assert check_view(view) == []


async def test_approve_on_home_commits_and_redraws_the_tab(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        ids = await ingest_fixtures(bot.runtime.db)
        await add_proposals(bot.runtime.db, ids["ai_audit_discovery"], 2)
        await bot.slack.open_home(MAYA)  # Maya is an admin of the sandbox team: an approver
        await bot.wait_for(lambda: len(approve_buttons(bot.slack.home_view(MAYA) or {"blocks": []})) == 2)
        view = bot.slack.home_view(MAYA)
        assert view is not None
        _, proposal_id = approve_buttons(view)[0]
        button = next(
            b["accessory"] for b in view["blocks"] if b["block_id"] == f"home:proposal:{proposal_id}"
        )
        await bot.slack.click_button(
            MAYA, None, None, ProposalAction.APPROVE, button["value"], view_id=view["id"]
        )
        await bot.wait_for(lambda: len(approve_buttons(bot.slack.home_view(MAYA) or {"blocks": []})) == 1)
        [proposal] = [
            p
            for p in await bot.runtime.proposals.for_meeting(ids["ai_audit_discovery"])
            if p.id == proposal_id
        ]
        assert proposal.status == "applied" and proposal.commit_sha
