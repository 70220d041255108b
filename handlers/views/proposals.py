"""Edit modal submission: new proposed content; the card's diff is recomputed from it."""

from __future__ import annotations

from typing import Any

from blocks.ids import ProposalField, ViewCallback
from blocks.values import ProposalRef, decode
from handlers.context import actor_id, app_of
from handlers.registrar import Registrar
from services.errors import UserFacingError


def submitted_content(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(
        ((values.get(ProposalField.CONTENT) or {}).get(ProposalField.CONTENT) or {}).get("value") or ""
    )


async def save_edit(ack: Any, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    app, ref = app_of(context), decode(ProposalRef, view.get("private_metadata"))
    try:
        proposal = await app.domain.proposals.edit(ref.proposal_id, submitted_content(view), actor_id(body))
    except UserFacingError as exc:  # keep the modal open with the reason under the text box
        await ack(response_action="errors", errors={ProposalField.CONTENT.value: str(exc)[:300]})
        return
    await ack()
    await app.slack.approvals.refresh([proposal.meeting_id], actor_id(body))


def register(app: Registrar) -> None:
    app.view(ViewCallback.PROPOSAL_EDIT.value)(save_edit)
