"""Approval card buttons: Approve, Reject, Edit (opens the modal), Approve all, Revert.

Each button carries only an id; the service reloads the proposal and checks that the clicker is an
approver (a refusal becomes an ephemeral message through the app's wrapped-listener error path).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.common import notice
from blocks.ids import ProposalAction
from blocks.proposals import proposal_edit_modal
from blocks.values import MeetingRef, ProposalRef, decode
from bot.services import Services
from handlers.context import action_value, actor_id, services_of
from services.proposals import Decided

Listener = Callable[..., Awaitable[None]]


async def refresh_card(services: Services, meeting_id: int | None, actor: str | None = None) -> None:
    """The approval card in place, and (debounced) the approver's Home tab list of pending changes."""
    publisher = services.proposals.publisher
    if meeting_id is not None and publisher is not None:
        await publisher.publish(meeting_id)
    if services.home_publisher is not None:
        services.home_publisher.refresh_soon([actor])


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
    services = services_of(context)
    ref = decode(ProposalRef, action_value(body))
    decided = await services.proposals.approve(ref.proposal_id, actor_id(body))
    await refresh_card(services, decided.proposal.meeting_id, actor_id(body))
    if message := describe(decided):
        await tell(respond, message)


async def approve_all(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    ref = decode(MeetingRef, action_value(body))
    result = await services.proposals.approve_all(ref.meeting_id, actor_id(body))
    await refresh_card(services, ref.meeting_id, actor_id(body))
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
    services = services_of(context)
    ref = decode(ProposalRef, action_value(body))
    proposal = await services.proposals.reject(ref.proposal_id, actor_id(body))
    await refresh_card(services, proposal.meeting_id, actor_id(body))


async def edit(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    ref = decode(ProposalRef, action_value(body))
    proposal = await services.proposals.for_editing(ref.proposal_id, actor_id(body))
    await services.slack.open_view(body["trigger_id"], proposal_edit_modal(proposal))


async def revert(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    services = services_of(context)
    ref = decode(ProposalRef, action_value(body))
    result = await services.proposals.revert(ref.proposal_id, actor_id(body))
    for meeting_id in dict.fromkeys(p.meeting_id for p in result.proposals):
        await refresh_card(services, meeting_id, actor_id(body))
    text = f"Reverted `{result.sha[:7]}` with commit `{result.reverted_sha[:7]}`."
    if result.push_error:
        text += f" The push to the remote failed: {result.push_error}"
    await tell(respond, text)


def register(app: AsyncApp) -> None:
    app.action(ProposalAction.APPROVE.value)(approve)
    app.action(ProposalAction.APPROVE_ALL.value)(approve_all)
    app.action(ProposalAction.REJECT.value)(reject)
    app.action(ProposalAction.EDIT.value)(edit)
    app.action(ProposalAction.REVERT.value)(revert)
