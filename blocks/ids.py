"""Every action_id and callback_id the builders draw, one StrEnum per domain (`<domain>.<verb>`).

Handlers register these exact values; `all_action_ids()` lets a test prove that every id a card
can show has a listener (Bolt sends no ack for an unmatched action, and Slack shows an error).
Block ids name what the block shows (`action_item:12`, `meeting:3:header`) so a handler can find
the entity behind a select menu, which carries no value of its own.
"""

from __future__ import annotations

from enum import StrEnum

from services.views import SnoozeKind


class ActionItemAction(StrEnum):
    DONE = "action_item.done"
    REOPEN = "action_item.reopen"
    SNOOZE = "action_item.snooze"  # overflow; option value = SnoozeChoice
    REASSIGN = "action_item.reassign"  # users_select; item from block_id
    EDIT = "action_item.edit"
    ASSIGN = "action_item.assign"  # users_select drawn when the owner is unknown
    NEXT_PAGE = "action_item.next_page"  # /os-actions paging; value = PageRef
    PREV_PAGE = "action_item.prev_page"


class MeetingAction(StrEnum):
    RETRY_ANALYSIS = "meeting.retry_analysis"
    OPEN_FATHOM = "meeting.open_fathom"  # link button: Slack still sends block_actions, ack it
    GENERATE_OS = "audit.generate"
    SUMMARISE_THREAD = "meeting.summarise_thread"  # overflow; option value = MeetingRef


class ProposalAction(StrEnum):
    APPROVE = "proposal.approve"
    REJECT = "proposal.reject"
    EDIT = "proposal.edit"
    APPROVE_ALL = "proposal.approve_all"  # value = MeetingRef
    REVERT = "proposal.revert"


class OutboxAction(StrEnum):
    """Outside writes (#21): the approval card and the "Send to …" button on item cards."""

    APPROVE = "outbox.approve"  # value = OutboxRef
    REJECT = "outbox.reject"
    APPROVE_ALL = "outbox.approve_all"  # value = MeetingRef
    UNDO = "outbox.undo"
    OPEN = "outbox.open"  # link button to the record there: Slack still sends block_actions, ack it
    SEND = "outbox.send"  # value = SendRef (item + target)
    EDIT = "outbox.edit"  # value = OutboxRef: opens the edit modal


class ViewCallback(StrEnum):
    ACTION_ITEM_EDIT = "action_item.edit_submit"
    PROPOSAL_EDIT = "proposal.edit_submit"
    SNOOZE_DATE = "action_item.snooze_date_submit"
    OUTBOX_EDIT = "outbox.edit_submit"


class ItemField(StrEnum):
    """block_id == action_id of each input in the edit modal: `state.values[F][F]`."""

    TEXT = "item_text"
    OWNER = "item_owner"
    DUE_DATE = "item_due_date"
    PRIORITY = "item_priority"


class OutboxField(StrEnum):
    """block_id == action_id of each input in the outside-write edit modal."""

    TITLE = "outbox_title"
    BODY = "outbox_body"
    DUE = "outbox_due"


class SnoozeField(StrEnum):
    DATE = "snooze_date"


class ProposalField(StrEnum):
    CONTENT = "proposal_content"


SnoozeOption = SnoozeKind  # the one definition lives with the view models (services/views.py)


class HomeAction(StrEnum):
    SHOW_MORE = "home.show_more"  # value = MoreRef


class AuditAction(StrEnum):
    BUILD = "audit.build"  # Generate on the preview card; value = AuditRequest
    REGENERATE = "audit.regenerate"  # extract again with the same inputs
    EDIT_INPUTS = "audit.edit_inputs"  # reopen the options modal, pre-filled


class QAAction(StrEnum):
    PICK_MEETING = "qa.pick_meeting"  # "Which meeting?" button; value = QAPick


class AuditView(StrEnum):
    OPTIONS = "audit.options_submit"


class PrivacyAction(StrEnum):
    FORGET = "privacy.forget"  # admin-only Home button: opens the erasure modal (#18)


class PrivacyView(StrEnum):
    PREVIEW = "privacy.forget_preview"  # e-mail entered: show the dry run
    CONFIRM = "privacy.forget_confirm"  # dry run seen: erase


class PrivacyField(StrEnum):
    EMAIL = "forget_email"


ACTION_ENUMS: tuple[type[StrEnum], ...] = (
    ActionItemAction,
    MeetingAction,
    ProposalAction,
    HomeAction,
    AuditAction,
    QAAction,
    OutboxAction,
    PrivacyAction,
)
VIEW_ENUMS: tuple[type[StrEnum], ...] = (ViewCallback, AuditView, PrivacyView)


def all_action_ids() -> set[str]:
    """Every block_actions action_id a builder may draw."""
    return {member.value for enum in ACTION_ENUMS for member in enum}


def all_callback_ids() -> set[str]:
    return {member.value for enum in VIEW_ENUMS for member in enum}


def block_id(domain: str, entity_id: int | None, part: str | None = None) -> str:
    """`action_item:12`, `action_item:12:actions`, `meeting:3:header`."""
    base = f"{domain}:{entity_id if entity_id is not None else 'new'}"
    return f"{base}:{part}" if part else base


def entity_id_from_block_id(value: str, domain: str) -> int:
    """The id a block_id names (for select menus, whose payload carries no value)."""
    parts = value.split(":")
    if len(parts) < 2 or parts[0] != domain or not parts[1].isdigit():
        raise ValueError(f"block_id {value!r} does not name a {domain}")
    return int(parts[1])
