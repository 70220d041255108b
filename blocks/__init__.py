"""Pure Block Kit builders: domain objects in, Slack-ready dicts out, no I/O.

Every builder returns a `Message` (fallback `text` + `blocks`) or, for modals, a view dict, and
stays inside Slack's limits (`blocks.limits.check_message` / `check_view` prove it in tests).
Action and callback ids live in `blocks.ids`; button values in `blocks.values`.
"""

from blocks.action_items import (
    action_item_card,
    action_item_list,
    digest_dm,
    edit_item_modal,
    reminder_dm,
    snooze_date_modal,
)
from blocks.common import Message, error_message, notice
from blocks.details import details_card
from blocks.meeting_card import meeting_card
from blocks.proposals import proposal_card, proposal_edit_modal

__all__ = [
    "Message",
    "action_item_card",
    "action_item_list",
    "details_card",
    "digest_dm",
    "edit_item_modal",
    "error_message",
    "meeting_card",
    "notice",
    "proposal_card",
    "proposal_edit_modal",
    "reminder_dm",
    "snooze_date_modal",
]
