"""Edit modal submission: new proposed content; the card's diff is recomputed from it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.ids import ProposalField, ViewCallback
from blocks.values import ProposalRef, decode
from handlers.actions.proposals import refresh_card
from handlers.context import actor_id, services_of
from services.errors import UserFacingError


def submitted_content(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(
        ((values.get(ProposalField.CONTENT) or {}).get(ProposalField.CONTENT) or {}).get("value") or ""
    )


async def save_edit(ack: Any, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    services = services_of(context)
    ref = decode(ProposalRef, view.get("private_metadata"))
    try:
        proposal = await services.proposals.edit(ref.proposal_id, submitted_content(view), actor_id(body))
    except UserFacingError as exc:  # keep the modal open with the reason under the text box
        await ack(response_action="errors", errors={ProposalField.CONTENT.value: str(exc)[:300]})
        return
    await ack()
    await refresh_card(services, proposal.meeting_id, actor_id(body))


def register(app: AsyncApp) -> None:
    app.view(ViewCallback.PROPOSAL_EDIT.value)(save_edit)
