"""Approval card buttons: Approve, Reject, Edit (opens the modal), Approve all, Revert.

Each button carries only an id; the service reloads the proposal and checks that the clicker is an
approver (a refusal becomes an ephemeral message through the app's wrapped-listener error path).
"""

from __future__ import annotations

from typing import Any

from blocks.common import notice
from blocks.ids import ProposalAction
from blocks.proposals import CardRef, reverted_text
from blocks.values import ProposalRef, decode
from handlers.context import action_value, actor_id, app_of
from handlers.registrar import Registrar
from services.proposals import Decided


async def tell(respond: Any, text: str) -> None:
    await respond(**notice(text).as_kwargs(), response_type="ephemeral", replace_original=False)


def describe(decided: Decided) -> str | None:
    """What the approver needs to hear beyond the updated card (a conflict, a failed push)."""
    p = decided.proposal
    if p.status == "conflicted":
        return f"`{p.path}` changed since this was proposed and the edits conflict. Use Edit to resolve it."
    if p.status == "invalid":
        return f"`{p.path}` was refused: {p.reason}"
    if decided.push_error:
        return (
            f"Committed `{(p.commit_sha or '')[:7]}`, but the push to the remote failed: {decided.push_error}"
        )
    return None


async def approve(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(ProposalRef, action_value(body))
    decided = await app.domain.proposals.approve(ref.proposal_id, actor_id(body))
    await app.slack.approvals.refresh([decided.proposal.meeting_id], actor_id(body))
    if message := describe(decided):
        await tell(respond, message)


async def approve_all(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(CardRef, action_value(body))
    result = await app.domain.proposals.approve_all(ref.meeting_id, actor_id(body), pack=ref.pack)
    await app.slack.approvals.refresh([ref.meeting_id], actor_id(body))
    messages = [m for m in (describe(d) for d in result.decided) if m]
    if result.held:
        paths = ", ".join(f"`{p.path}`" for p in result.held[:5]) + (" …" if len(result.held) > 5 else "")
        messages.append(
            f"Approve all left out {paths}: a change to a template or the bot's configuration "
            "needs its own approval. Read its full diff on the card, then use its Approve button."
        )
    if messages:
        await tell(respond, "\n".join(dict.fromkeys(messages)))


async def reject(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(ProposalRef, action_value(body))
    proposal = await app.domain.proposals.reject(ref.proposal_id, actor_id(body))
    await app.slack.approvals.refresh([proposal.meeting_id], actor_id(body))


async def edit(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(ProposalRef, action_value(body))
    proposal = await app.domain.proposals.for_editing(ref.proposal_id, actor_id(body))
    await app.slack.approvals.open_edit(body["trigger_id"], proposal)


async def revert(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, ref = app_of(context), decode(ProposalRef, action_value(body))
    result = await app.domain.proposals.revert(ref.proposal_id, actor_id(body))
    await app.slack.approvals.refresh([p.meeting_id for p in result.proposals], actor_id(body))
    await tell(respond, reverted_text(result))


def register(app: Registrar) -> None:
    app.action(ProposalAction.APPROVE.value)(approve)
    app.action(ProposalAction.APPROVE_ALL.value)(approve_all)
    app.action(ProposalAction.REJECT.value)(reject)
    app.action(ProposalAction.EDIT.value)(edit)
    app.action(ProposalAction.REVERT.value)(revert)
