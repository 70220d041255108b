"""Erasure from Slack (#18): the admin's Home button, the e-mail modal, the dry-run preview with a
confirm, the result; and the approval card for an erasure's OS edits (no meeting behind it).

The modal carries only the e-mail (private_metadata) between the preview and the confirm; the
handler re-checks that the person submitting is an admin at each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)

from blocks.common import Message, mrkdwn
from blocks.ids import PrivacyAction, PrivacyField, PrivacyView
from blocks.limits import MAX_VIEW_BLOCKS
from blocks.proposals import proposal_card
from blocks.text import esc_trunc, escape
from blocks.values import encode
from services.views import ProposalView

TITLE = "Erase a person"
MAX_EMAIL = 254


class ForgetMeta(BaseModel):
    """What the confirm step needs: the e-mail shown in the preview (ids and values only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    email: str


def forget_button() -> list[Block]:
    """The admin section's button on the Home tab."""
    button = ButtonElement(text="Erase a person's data…", action_id=PrivacyAction.FORGET, style="danger")
    return [ActionsBlock(block_id="home:admin:privacy", elements=[button])]


def _modal(callback: str, blocks: list[Block], *, submit: str | None, meta: str = "") -> dict[str, Any]:
    assert len(blocks) <= MAX_VIEW_BLOCKS
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback,
        "title": {"type": "plain_text", "text": TITLE},
        "close": {"type": "plain_text", "text": "Cancel" if submit else "Close"},
        "blocks": [b.to_dict() for b in blocks],
        "private_metadata": meta,
    }
    if submit:
        view["submit"] = {"type": "plain_text", "text": submit}
    return view


def forget_modal() -> dict[str, Any]:
    """Step 1: the e-mail of the person to erase."""
    blocks: list[Block] = [
        SectionBlock(
            block_id="privacy:intro",
            text=mrkdwn(
                "Removes or anonymises the person in people, attendees, transcripts, action items, "
                "the search index and the audit log, and proposes OS edits for approval. "
                "The next step shows what would change; nothing is erased before you confirm."
            ),
        ),
        InputBlock(
            block_id=PrivacyField.EMAIL,
            label=PlainTextObject(text="E-mail address"),
            element=PlainTextInputElement(
                action_id=PrivacyField.EMAIL,
                placeholder="tom@client.example",
                max_length=MAX_EMAIL,
            ),
        ),
    ]
    return _modal(PrivacyView.PREVIEW, blocks, submit="Preview")


def _report(lines: Sequence[str]) -> list[Block]:
    return [
        SectionBlock(block_id=f"privacy:report:{n}", text=mrkdwn(escape(line)))
        for n, line in enumerate(lines[: MAX_VIEW_BLOCKS - 3])
    ]


def forget_preview_modal(email: str, lines: Sequence[str]) -> dict[str, Any]:
    """Step 2: the dry run, and the confirm."""
    blocks: list[Block] = [
        SectionBlock(
            block_id="privacy:who",
            text=mrkdwn(f"*Dry run for* `{esc_trunc(email, MAX_EMAIL)}`: nothing has changed yet."),
        ),
        *_report(lines),
        ContextBlock(
            block_id="privacy:warning", elements=[mrkdwn("Erase cannot be undone (except in git history).")]
        ),
    ]
    return _modal(PrivacyView.CONFIRM, blocks, submit="Erase", meta=encode(ForgetMeta(email=email)))


def forget_working_modal(email: str) -> dict[str, Any]:
    text = f"Erasing `{esc_trunc(email, MAX_EMAIL)}`…"
    return _modal(
        PrivacyView.CONFIRM, [SectionBlock(block_id="privacy:working", text=mrkdwn(text))], submit=None
    )


def forget_done_modal(record_id: int | None, lines: Sequence[str]) -> dict[str, Any]:
    """Step 3: what changed (counts, never the person's data)."""
    head = f"*Erased.* Erasure record #{record_id}." if record_id is not None else "*Erased.*"
    blocks: list[Block] = [SectionBlock(block_id="privacy:done", text=mrkdwn(head)), *_report(lines)]
    return _modal(PrivacyView.CONFIRM, blocks, submit=None)


def forget_failed_modal(reason: str) -> dict[str, Any]:
    text = f"*Nothing was erased.* {escape(reason)}"
    return _modal(
        PrivacyView.CONFIRM, [SectionBlock(block_id="privacy:failed", text=mrkdwn(text))], submit=None
    )


def erasure_card(proposals: Sequence[ProposalView], diffs: dict[int, str]) -> Message:
    """The approval card for an erasure's OS edits: the usual proposal card, with a lead-in."""
    card = proposal_card(None, proposals, diffs)
    lead = SectionBlock(
        block_id="erasure:lead",
        text=mrkdwn(
            "*Erasure request:* these OS edits remove a person's personal data "
            "(proposed by `fathom-os forget` or the Home tab's erase action). Approve to commit them."
        ),
    )
    return Message(
        text="Erasure request: OS edits awaiting approval", blocks=[lead.to_dict(), *card.blocks][:50]
    )
