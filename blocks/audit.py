"""/os-audit surfaces: the options modal and the preview card in the meeting thread.

The card is one message per meeting (`audit:<meeting_id>`), redrawn at each stage. While work
runs it shows no buttons, so nobody starts a second run from a stale card. The audit ids live
here, next to the only builder that draws them (the meeting card's entry button is
`MeetingAction.GENERATE_OS`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from blocks.common import Message, build, mrkdwn
from blocks.ids import AuditAction, AuditView
from blocks.limits import OPTION_TEXT
from blocks.text import bullet_lines, code_block, esc_trunc, plain
from blocks.text import link as text_link
from blocks.values import _Ref, encode
from services.views import NO_INDUSTRY, Delivery, MeetingChoice, Output, Preview, Stage

CLIENT_NAME_MAX = 80
TREE_LIMIT = 2800
AUTO = "auto"


class AuditField(StrEnum):
    """block_id == action_id of each modal input: `state.values[F][F]`."""

    MEETING = "audit_meeting"
    CLIENT = "audit_client"
    INDUSTRY = "audit_industry"
    OUTPUT = "audit_output"


class AuditRequest(_Ref):
    """The inputs behind a card. The names are the user's own typing, re-validated on every click;
    they grant nothing, so carrying them beats a table for a few short strings."""

    meeting_id: int
    client_name: str | None = Field(default=None, max_length=CLIENT_NAME_MAX)
    industry: str | None = Field(default=None, max_length=40)
    output: Literal["zip", "os", "both"] = "zip"
    run: str | None = Field(default=None, max_length=16)  # the card these inputs are drawn on


class ModalMeta(_Ref):
    channel: str | None = None  # where /os-audit was typed: the card goes there if the meeting has none


OUTPUT_LABELS = {
    Output.ZIP: "Zip in the meeting thread",
    Output.OS: "Propose into the OS",
    Output.BOTH: "Both",
}
STAGE_TEXT = {
    Stage.ANALYSING: ":hourglass_flowing_sand: Analysing the meeting…",
    Stage.READY: ":eyes: Preview ready: check it, then Generate.",
    Stage.GENERATING: ":gear: Generating the client OS…",
    Stage.UPLOADING: ":outbox_tray: Uploading…",
    Stage.DONE: ":white_check_mark: Done.",
    Stage.FAILED: ":warning: Generation failed.",
}


def _option(text: str, value: str) -> Option:
    return Option(text=plain(text, OPTION_TEXT), value=value)


def meeting_label(m: MeetingChoice) -> str:
    day = m.started_at.strftime("%Y-%m-%d") if m.started_at else "undated"
    client = f" · {m.client_slug}" if m.client_slug else ""
    return f"{day} · {m.title}{client}"


def options_modal(
    meetings: list[MeetingChoice],
    industries: list[str],
    *,
    selected: AuditRequest | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Newest meetings first; Slack's select filters them as the user types (title or client)."""
    meeting_options = [_option(meeting_label(m), str(m.id)) for m in meetings[:100]]
    initial_meeting = next(
        (o for o in meeting_options if selected and o.value == str(selected.meeting_id)), None
    )
    industry_options = [
        _option("Detect from the meeting", AUTO),
        *(_option(name.replace("_", " ").title(), name) for name in industries[:97]),
        _option("None (base templates only)", NO_INDUSTRY),
    ]
    wanted_industry = (selected.industry if selected else None) or AUTO
    initial_industry = next((o for o in industry_options if o.value == wanted_industry), industry_options[0])
    output_options = [_option(label, out.value) for out, label in OUTPUT_LABELS.items()]
    wanted_output = selected.output if selected else Output.ZIP.value
    initial_output = next(o for o in output_options if o.value == wanted_output)
    blocks: list[Block] = [
        InputBlock(
            block_id=AuditField.MEETING,
            label="Meeting",
            element=StaticSelectElement(
                action_id=AuditField.MEETING,
                placeholder="Pick a meeting (type to search)",
                options=meeting_options,
                initial_option=initial_meeting,
            ),
        ),
        InputBlock(
            block_id=AuditField.CLIENT,
            label="Client name",
            optional=True,
            hint="Leave empty to take it from the meeting.",
            element=PlainTextInputElement(
                action_id=AuditField.CLIENT,
                max_length=CLIENT_NAME_MAX,
                initial_value=(selected.client_name if selected and selected.client_name else None),
            ),
        ),
        InputBlock(
            block_id=AuditField.INDUSTRY,
            label="Industry pack",
            element=StaticSelectElement(
                action_id=AuditField.INDUSTRY, options=industry_options, initial_option=initial_industry
            ),
        ),
        InputBlock(
            block_id=AuditField.OUTPUT,
            label="Output",
            element=StaticSelectElement(
                action_id=AuditField.OUTPUT, options=output_options, initial_option=initial_output
            ),
        ),
    ]
    view = View(
        type="modal",
        callback_id=AuditView.OPTIONS,
        title=PlainTextObject(text="Client Claude Code OS"),
        submit=PlainTextObject(text="Preview"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=encode(ModalMeta(channel=channel)),
        blocks=blocks,
    )
    return view.to_dict()


def progress_card(meeting_title: str, stage: Stage, reference: str | None = None) -> Message:
    """The card before a preview exists (analysing, or failed early)."""
    status = STAGE_TEXT[stage] + (f" Reference: `{reference}`" if reference else "")
    blocks: list[Block] = [
        SectionBlock(
            block_id="audit:status",
            text=mrkdwn(f"*Client OS for “{esc_trunc(meeting_title, 200)}”*\n{status}"),
        )
    ]
    return build(f"Client OS: {STAGE_TEXT[stage]}", blocks)


def preview_card(
    preview: Preview,
    stage: Stage,
    *,
    delivery: Delivery | None = None,
    reference: str | None = None,
    run: str | None = None,
) -> Message:
    """File tree, top opportunities, budget and timeline; buttons only when nothing is running.

    `run` names this card: buttons of a card still in progress carry it, so its clicks redraw it;
    a finished card's buttons carry none, so a click there starts a new card (#16 item 2)."""
    pack, x = preview.pack, preview.extraction
    status = STAGE_TEXT[stage] + (f" Reference: `{reference}`" if reference else "")
    plan = pack.plan
    budget = f"${x.budget.amount_usd:,.0f}" if x.budget.amount_usd else "not stated"
    if x.budget.amount_usd and x.budget.scope:
        budget += f" ({x.budget.scope})"
    go_live = plan.go_live.isoformat() if plan else (x.timeline.deadline or "not stated")
    weeks = f" ({plan.week_count} weeks)" if plan else ""
    top = [
        f"{i}. *{esc_trunc(o.title, 150)}* — value {o.value}, effort {o.effort}, phase {o.phase}"
        for i, o in enumerate(pack.top_opportunities(3), 1)
    ]
    blocks: list[Block] = [
        HeaderBlock(block_id="audit:header", text=plain(f"Claude Code OS — {pack.client_name}", 150)),
        SectionBlock(block_id="audit:status", text=mrkdwn(status)),
        SectionBlock(block_id="audit:summary", text=mrkdwn(esc_trunc(pack.summary, 2000))),
        SectionBlock(
            block_id="audit:facts",
            fields=[
                mrkdwn(f"*Budget*\n{esc_trunc(str(budget), 200)}"),
                mrkdwn(f"*Timeline*\ngo-live {go_live}{weeks}"),
                mrkdwn(f"*Industry pack*\n{esc_trunc(pack.industry or 'none', 60)}"),
                mrkdwn(f"*Extracted by*\n{preview.source}"),
            ],
        ),
        SectionBlock(
            block_id="audit:opportunities",
            text=mrkdwn("*Top opportunities*\n" + (bullet_lines(top, 2500) or "_none found_")),
        ),
        SectionBlock(
            block_id="audit:tree",
            text=mrkdwn(f"*{len(pack.files)} files*\n" + code_block(pack.tree(), TREE_LIMIT)),
        ),
    ]
    if delivery is not None:
        blocks.append(ContextBlock(block_id="audit:result", elements=[mrkdwn(_result_line(delivery))]))
    if stage in (Stage.READY, Stage.DONE, Stage.FAILED):
        blocks.append(_buttons(preview, None if stage == Stage.DONE else run))
    return build(f"Client OS for {pack.client_name}: {STAGE_TEXT[stage]}", blocks)


def request_for(preview: Preview, run: str | None = None) -> AuditRequest:
    o = preview.options
    return AuditRequest(
        meeting_id=o.meeting_id,
        client_name=o.client_name,
        industry=o.industry,
        output=o.output.value,
        run=run,
    )


def started_here(meeting_title: str, link: str | None) -> Message:
    """The ephemeral where /os-audit was asked: the modal closes, so say where the preview is."""
    where = text_link(link, "in the meeting's thread") if link else "in the meeting's thread"
    text = f":hourglass_flowing_sand: Preparing the client OS preview for “{esc_trunc(meeting_title, 200)}” {where}."
    return build(text, [SectionBlock(block_id="audit:started", text=mrkdwn(text))])


def _buttons(preview: Preview, run: str | None) -> ActionsBlock:
    value = encode(request_for(preview, run))
    return ActionsBlock(
        block_id="audit:actions",
        elements=[
            ButtonElement(text="Generate", action_id=AuditAction.BUILD, value=value, style="primary"),
            ButtonElement(text="Regenerate", action_id=AuditAction.REGENERATE, value=value),
            ButtonElement(text="Edit inputs", action_id=AuditAction.EDIT_INPUTS, value=value),
        ],
    )


def _result_line(d: Delivery) -> str:
    parts = []
    if d.zip_name:
        parts.append(f"`{esc_trunc(d.zip_name, 120)}` uploaded below ({d.zip_bytes // 1024 + 1} KB)")
    if d.preview.options.wants_os:
        waiting = sum(1 for p in d.proposals if p.status == "proposed")
        parts.append(f"{waiting} OS proposals await an approver")
        if d.zip_only:
            where = f"in `{esc_trunc(d.zip_name, 120)}`" if d.zip_name else "in the zip only"
            parts.append(f"{len(d.zip_only)} code/config files are not in the OS: they are {where}")
        if d.already_in_os:
            parts.append(f"{len(d.already_in_os)} files already in the OS were left as they are")
    return " · ".join(parts) or "Nothing to deliver."


__all__ = [
    "AuditAction",
    "AuditField",
    "AuditRequest",
    "AuditView",
    "ModalMeta",
    "options_modal",
    "preview_card",
    "progress_card",
    "request_for",
    "started_here",
]
