"""OS update proposals for one meeting: what would change, a diff preview, and the decision buttons.

A card stays under 50 blocks however many proposals a meeting yields: the first
`MAX_SHOWN` are drawn, the rest collapse into "+N more proposals" (Approve all still covers them).
Diff previews share one character budget so the message stays small; the full diff is attached
to the thread by the publisher. A change to a template or to `fathom-os.yml` steers the bot itself:
it is always drawn, flagged, previewed as fully as a section allows, confirmed on its own Approve
button and left out of Approve all (which says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    InteractiveElement,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from blocks.common import Message, build, mrkdwn
from blocks.ids import ProposalAction, ProposalField, ViewCallback, block_id
from blocks.limits import HEADER_TEXT, INPUT_VALUE, SECTION_TEXT
from blocks.text import code_block, esc_trunc, inline_code, plain, slack_len
from blocks.values import ProposalRef, _Ref, encode
from services.views import HistoryLine, MeetingHeading, ProposalView, RevertView

MAX_SHOWN = 20  # header + context + 2 per proposal + more + approve all <= 50
DIFF_BUDGET = 16_000  # characters of diff preview per card, shared by the proposals shown
DIFF_MAX, DIFF_MIN = 2_400, 300
SENSITIVE_BUDGET = 12_000  # extra preview for changes to templates and the bot's configuration
FLAGS = {
    "template": "⚠ changes a template (the bot renders it)",
    "configuration": "⚠ changes the bot's configuration (fathom-os.yml)",
}
STATUS = {
    "proposed": ":large_yellow_circle: proposed",
    "applied": ":white_check_mark: applied",
    "rejected": ":x: rejected",
    "conflicted": ":warning: conflicted",
    "invalid": ":no_entry: invalid",
    "reverted": ":leftwards_arrow_with_hook: reverted",
}
ACTIONS = {"create": "create", "append": "append to", "update_section": "update section"}


class CardRef(_Ref):
    """An approval card: the meeting's own (`pack` False) or its client OS pack's (#16 item 3).
    Reads an old card's `{"meeting_id": N}` too."""

    meeting_id: int
    pack: bool = False


def proposal_card(
    meeting: MeetingHeading | None,
    proposals: Sequence[ProposalView],
    diffs: dict[int, str],
    *,
    pack: bool = False,
) -> Message:
    """`diffs` maps proposal id -> unified diff (missing: the proposed content is previewed).

    `pack`: the card of a client OS pack (/os-audit), apart from the meeting's own card, so its
    Approve all commits exactly the pack's files."""
    meeting_id = meeting.id if meeting else None
    kind = "Client OS pack" if pack else "OS updates"
    title = f"{kind}: {meeting.title}" if meeting else kind
    card = "pack" if pack else "proposals"
    shown = _shown(proposals)
    preview = max(DIFF_MIN, min(DIFF_MAX, DIFF_BUDGET // max(1, len(shown))))
    sensitive = sum(1 for p in shown if p.held)
    full_preview = max(preview, SENSITIVE_BUDGET // max(1, sensitive))
    counts: dict[str, int] = {}
    for proposal in proposals:
        counts[proposal.status] = counts.get(proposal.status, 0) + 1
    held = sum(1 for p in proposals if p.held)
    summary = " · ".join(f"{n} {status}" for status, n in counts.items()) or "no proposals"
    blocks: list[Block] = [
        HeaderBlock(block_id=block_id(card, meeting_id, "header"), text=plain(title, HEADER_TEXT)),
        ContextBlock(
            block_id=block_id(card, meeting_id, "summary"), elements=[mrkdwn(esc_trunc(summary, 500))]
        ),
    ]
    for proposal in shown:
        blocks.append(
            SectionBlock(
                block_id=block_id("proposal", proposal.id),
                text=mrkdwn(_describe(proposal, diffs, full_preview if proposal.held else preview)),
            )
        )
        buttons = _buttons(proposal)
        if buttons:
            blocks.append(
                ActionsBlock(block_id=block_id("proposal", proposal.id, "actions"), elements=buttons)
            )
    if len(proposals) > len(shown):
        more = len(proposals) - len(shown)
        blocks.append(
            ContextBlock(
                block_id=block_id(card, meeting_id, "more"),
                elements=[mrkdwn(f"+{more} more proposal{'s' if more != 1 else ''} (in the attached diff)")],
            )
        )
    bulk = counts.get("proposed", 0) - held
    if meeting_id is not None and bulk > 1:
        skipped = f" {_changes(held)} to templates or fathom-os.yml not included." if held else ""
        approve_all = ButtonElement(
            text=f"Approve all ({bulk})",
            action_id=ProposalAction.APPROVE_ALL,
            value=encode(CardRef(meeting_id=meeting_id, pack=pack)),
            style="primary",
            confirm=ConfirmObject(
                title="Approve all?",
                text=f"Commit {bulk} proposed changes to the OS repository as one commit?{skipped}",
                confirm="Approve all",
                deny="Cancel",
            ),
        )
        blocks.append(
            ActionsBlock(block_id=block_id(card, meeting_id, "approve_all"), elements=[approve_all])
        )
    if held and meeting_id is not None:
        note = (
            f"⚠ {_changes(held)} to templates or the bot's configuration "
            f"{'needs' if held == 1 else 'need'} a single approval each: "
            "Approve all skips them. Read the full diff before approving."
        )
        blocks.append(ContextBlock(block_id=block_id(card, meeting_id, "held"), elements=[mrkdwn(note)]))
    return build(f"{title} — {summary}", blocks)


def _changes(n: int) -> str:
    return f"{n} change{'s' if n != 1 else ''}"


def _shown(proposals: Sequence[ProposalView]) -> list[ProposalView]:
    """The first `MAX_SHOWN`, except that a held change is never collapsed into "+N more"."""
    held = [p for p in proposals if p.held][:MAX_SHOWN]
    room = MAX_SHOWN - len(held)
    others = [p for p in proposals if not p.held][:room]
    keep = {id(p) for p in held + others}
    return [p for p in proposals if id(p) in keep]


def _describe(proposal: ProposalView, diffs: dict[int, str], preview: int) -> str:
    action = ACTIONS.get(proposal.action, proposal.action)
    if proposal.action == "update_section" and proposal.section:
        action += f" “{esc_trunc(proposal.section, 100)}”"
    status = STATUS.get(proposal.status, esc_trunc(proposal.status, 40))
    if proposal.status == "applied" and proposal.commit_sha:
        status += f" {inline_code(proposal.commit_sha[:7], 9)}"
    if proposal.status in ("conflicted", "invalid", "rejected") and proposal.reason:
        status += f": {esc_trunc(proposal.reason, 300)}"
    head = f"*{inline_code(proposal.path, 300)}* — {action}\n{status}"
    if kind := proposal.steers_the_bot:
        head += f"\n*{FLAGS[kind]}*"
    if proposal.why:
        head += f"\n_Why:_ {esc_trunc(proposal.why, 300)}"
    diff = diffs.get(proposal.id) if proposal.id is not None else None
    source = diff if diff is not None else proposal.content
    if not source:
        return head
    block = code_block(source, min(preview, SECTION_TEXT - slack_len(head) - 60))
    note = "\n_Preview truncated — full diff attached._" if slack_len(block) < slack_len(source) else ""
    return f"{head}\n{block}{note}"


def approve_button(proposal: ProposalView) -> ButtonElement:
    """Approve, as the card and the Home tab draw it: a change that steers the bot asks to confirm."""
    kind = proposal.steers_the_bot
    confirm = (
        ConfirmObject(
            title="Approve this change?",
            text=f"{FLAGS[kind]}. Commit it only if you have read its full diff.",
            confirm="Approve",
            deny="Cancel",
        )
        if kind
        else None
    )
    return ButtonElement(
        text="Approve",
        action_id=ProposalAction.APPROVE,
        value=encode(ProposalRef(proposal_id=proposal.id)),
        style="primary",
        confirm=confirm,
    )


def _buttons(proposal: ProposalView) -> list[InteractiveElement]:
    ref = encode(ProposalRef(proposal_id=proposal.id))
    if proposal.status == "applied":
        return [
            ButtonElement(
                text="Revert",
                action_id=ProposalAction.REVERT,
                value=ref,
                style="danger",
                confirm=ConfirmObject(
                    title="Revert?", text="Add a commit undoing this change?", confirm="Revert", deny="Cancel"
                ),
            )
        ]
    if proposal.status in ("proposed", "conflicted", "invalid"):
        buttons: list[InteractiveElement] = []
        if proposal.status == "proposed":
            buttons.append(approve_button(proposal))
        buttons.append(
            ButtonElement(text="Reject", action_id=ProposalAction.REJECT, value=ref, style="danger")
        )
        buttons.append(ButtonElement(text="Edit", action_id=ProposalAction.EDIT, value=ref))
        return buttons
    return []


def proposal_edit_modal(proposal: ProposalView) -> dict[str, Any]:
    """Edit the proposed content before approving. Slack inputs hold 3,000 characters: a longer
    proposal is not offered for editing (saving a cut copy would silently lose the rest)."""
    ref = encode(ProposalRef(proposal_id=proposal.id))
    where = (
        f"{inline_code(proposal.path, 300)} — {ACTIONS.get(proposal.action, esc_trunc(proposal.action, 40))}"
    )
    context = ContextBlock(block_id="proposal_target", elements=[mrkdwn(where)])
    if slack_len(proposal.content) > INPUT_VALUE:
        size = slack_len(proposal.content)
        text = (
            f":warning: This proposal is {size:,} characters; a Slack text box holds {INPUT_VALUE:,}. "
            "Edit it in the OS repository instead, or reject it and ask for a shorter one."
        )
        view = View(
            type="modal",
            callback_id=ViewCallback.PROPOSAL_EDIT,
            title="Edit OS update",
            close="Close",
            private_metadata=ref,
            blocks=[context, SectionBlock(block_id="proposal_too_long", text=mrkdwn(text))],
        )
        return view.to_dict()
    view = View(
        type="modal",
        callback_id=ViewCallback.PROPOSAL_EDIT,
        title="Edit OS update",
        submit="Save",
        close="Cancel",
        private_metadata=ref,
        blocks=[
            context,
            InputBlock(
                block_id=ProposalField.CONTENT,
                label="Content",
                element=PlainTextInputElement(
                    action_id=ProposalField.CONTENT,
                    multiline=True,
                    max_length=INPUT_VALUE,
                    initial_value=proposal.content or None,
                ),
            ),
        ],
    )
    return view.to_dict()


def reverted_text(result: RevertView) -> str:
    """What the approver hears after a rollback (the Revert button and /os-rollback alike)."""
    text = f"Reverted `{result.sha[:7]}` with commit `{result.reverted_sha[:7]}`."
    if result.push_error:
        text += f" The push to the remote failed: {result.push_error}"
    return text


def history_text(entries: Sequence[HistoryLine], path: str | None) -> str:
    """One line per commit: short id, date, author, subject and the meeting it came from."""
    where = f" of `{path[:200]}`" if path else ""
    if not entries:
        return f"No OS commits{where} yet."
    lines = [f"*Recent OS commits{where}:*"]
    for e in entries:
        c = e.commit
        meeting = f" — meeting: {e.meeting_title}" if e.meeting_title else ""
        subject = c.subject if len(c.subject) <= 100 else c.subject[:99] + "…"
        lines.append(f"`{c.short}` {c.date:%Y-%m-%d} {c.author_name}: {subject}{meeting}")
    return "\n".join(lines)
