"""Action items in Slack, wherever they are drawn: the thread card, a reminder DM, the /os-actions
list, the Home tab, the edit and snooze modals, and the DM a new owner gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from blocks.action_item_modals import edit_item_modal
from blocks.action_items import action_item_list, assigned_dm, reminder_item_blocks, snooze_date_modal
from blocks.common import Message
from services.clock import utcnow
from services.models import ActionItem
from services.slack.gateway import SlackGateway
from services.slack.home import HomePublisher
from services.slack.meeting_card import SlackPublisher
from services.views import ItemView, item_views

PAGE_SIZE = 10

Respond = Callable[..., Awaitable[Any]]  # an interaction's response_url, as Bolt's `respond`


@dataclass(frozen=True)
class Clicked:
    """Where a click came from, read from the interaction payload by the handler."""

    actor: str
    channel: str | None = None
    message_ts: str | None = None
    message_text: str = ""
    message_blocks: tuple[dict[str, Any], ...] = ()
    from_home: bool = False


class ActionItemPublisher:
    def __init__(self, gateway: SlackGateway, cards: SlackPublisher, home: HomePublisher) -> None:
        self.gateway = gateway
        self.cards = cards
        self.home = home

    async def refresh(
        self, item: ActionItem, clicked: Clicked | None = None, respond: Respond | None = None
    ) -> None:
        """Redraw the thread card; when the click came from a DM or a list, redraw that message too."""
        view = ItemView.of(item)
        card = await self.cards.publish_item(view)
        # the owner's and the clicker's Home tabs, debounced
        self.home.refresh_soon([item.owner_slack_id, clicked.actor if clicked else None])
        if clicked is None or clicked.from_home or respond is None or not clicked.message_blocks:
            return
        if card and card.channel == clicked.channel and card.ts == clicked.message_ts:
            return  # the clicked message is the card itself, already redrawn
        blocks = splice(list(clicked.message_blocks), reminder_item_blocks(view, utcnow()))
        await respond(text=clicked.message_text, blocks=blocks, replace_original=True)

    async def tell_new_owner(self, item: ActionItem, owner: str, actor: str) -> None:
        await self.gateway.send_dm(owner, assigned_dm(ItemView.of(item), actor, utcnow()))

    async def changed(
        self,
        item: ActionItem,
        notify: str | None,
        actor: str,
        clicked: Clicked | None = None,
        respond: Respond | None = None,
    ) -> None:
        """After a change: redraw, and tell a new owner (unless they made the change themselves)."""
        await self.refresh(item, clicked, respond)
        if notify and notify != actor:
            await self.tell_new_owner(item, notify, actor)

    async def item_list(
        self, items: Sequence[ActionItem], user: str, caller: str, *, overdue: bool, page: int = 1
    ) -> Message:
        return action_item_list(
            item_views(items),
            title=await self.list_title(user, caller, overdue),
            page=page,
            page_size=PAGE_SIZE,
            mentions={},
            now=utcnow(),
            for_user=None if user == caller else user,
            overdue=overdue,
        )

    async def list_title(self, user: str, caller: str, overdue: bool) -> str:
        kind = "overdue" if overdue else "open"
        if user == caller:
            return f"Your {kind} action items"
        return f"{(await self.gateway.user_info(user)).name}'s {kind} action items"

    async def open_edit(self, trigger_id: str, item: ActionItem) -> None:
        await self.gateway.open_view(
            trigger_id, edit_item_modal(ItemView.of(item), owner_slack_id=item.owner_slack_id)
        )

    async def open_snooze_date(self, trigger_id: str, item: ActionItem, today: date) -> None:
        await self.gateway.open_view(trigger_id, snooze_date_modal(ItemView.of(item), today=today))


def splice(blocks: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace the blocks that share a block_id with `fresh` ones, keeping everything else."""
    by_id = {b.get("block_id"): b for b in fresh}
    return [by_id.get(b.get("block_id"), b) for b in blocks]
