"""Reminder DMs and thread notes in Slack: what `services.reminders` decided, drawn and sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock

from blocks.action_items import digest_dm, reminder_dm
from blocks.common import Message, build, mrkdwn
from blocks.text import esc_trunc, user_mention
from services.models import ActionItem
from services.reminders import Refused
from services.slack.gateway import MessageRef, SlackGateway
from services.views import item_views


class ReminderPublisher:
    """Implements `services.reminders.ReminderSender` over the gateway; Slack's refusals become
    `Refused` so the domain can release its claim without knowing Slack's error type.

    Every message goes through `SlackGateway.post_or_update` under the claim's key, so a reminder
    sent again after a crash finds a message that reached Slack (DM history, or the thread) and
    updates it instead of posting a second one. A `fresh` key has no message yet: the ref is not
    looked up (the pending marker still guards the post)."""

    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway

    async def profile(self, slack_id: str) -> tuple[str | None, str]:
        user = await self.gateway.user_info(slack_id)
        return user.tz, user.name

    async def remind(
        self, slack_id: str, name: str, items: Sequence[ActionItem], now: datetime, key: str, *, fresh: bool
    ) -> None:
        await self._dm(slack_id, key, reminder_dm(name, item_views(items), now), fresh)

    async def digest(
        self,
        slack_id: str,
        due_today: Sequence[ActionItem],
        overdue: Sequence[ActionItem],
        completed: Sequence[ActionItem],
        now: datetime,
        key: str,
        *,
        fresh: bool,
    ) -> None:
        message = digest_dm(item_views(due_today), item_views(overdue), item_views(completed), now)
        await self._dm(slack_id, key, message, fresh)

    async def note(self, item: ActionItem, nudges: int, key: str, *, fresh: bool) -> bool:
        """After the last nudge the meeting's thread hears about it; False when there is no thread."""
        parent = await self.gateway.ref(f"meeting:{item.meeting_id}")
        if parent is None:
            return False
        owner = user_mention(item.owner_slack_id) or "its owner"
        due = item.due_date.strftime("%a %d %b") if item.due_date else "no date"
        text = (
            f":hourglass: Still open after {nudges} reminder{'s' if nudges != 1 else ''} to {owner}"
            f" (due {due}): *{esc_trunc(item.text, 1500)}*"
        )
        message = build(
            f"Still open: {item.text}", [SectionBlock(block_id=f"reminder_note:{item.id}", text=mrkdwn(text))]
        )
        try:
            await self.gateway.post_or_update(
                key, parent.channel, message, thread_ts=parent.ts, known=_known(fresh)
            )
        except SlackApiError as exc:
            raise Refused(str(exc.response.get("error"))) from exc
        return True

    async def _dm(self, slack_id: str, key: str, message: Message, fresh: bool) -> None:
        try:
            channel = await self.gateway.dm_channel(slack_id)
            await self.gateway.post_or_update(key, channel, message, known=_known(fresh))
        except SlackApiError as exc:
            raise Refused(str(exc.response.get("error"))) from exc


def _known(fresh: bool) -> dict[str, MessageRef] | None:
    """`post_or_update`'s pre-fetched refs: none at all for a fresh key, else looked up."""
    return {} if fresh else None
