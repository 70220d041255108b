"""What the bot says about itself in its Messages tab (`help`)."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, SectionBlock

from blocks.common import Message, build, mrkdwn

HELP_LINES = (
    "*Ask me anything about your meetings* right here, e.g. _what did we decide about pricing with "
    "Brightline?_ I answer from the meetings you may see, with links to the moments in the recording.",
    "*In a meeting card's thread* (no @-mention needed):\n"
    "• a question is answered from that meeting\n"
    "• `action: send the deck to @maya by Friday` (or `todo:`) adds an action item; the owner is the "
    "person mentioned, else you\n"
    "• a correction (_actually the budget is 50k, not 40k_) is proposed for the meeting note\n"
    "• `summarise` (or the card's ⋯ menu) proposes the thread's discussion for the meeting note\n"
    "• *Make an action item* in a message's ⋯ menu turns that message into an item",
    "Commands: `/os-actions` · `/os-meetings` · `/os-audit` · `/os-history` · `/os-help`",
)


def conversation_help() -> Message:
    text = "What I can do: answer questions about meetings, add action items, propose corrections."
    blocks = [
        SectionBlock(block_id="conversation_help:ask", text=mrkdwn(HELP_LINES[0])),
        SectionBlock(block_id="conversation_help:threads", text=mrkdwn(HELP_LINES[1])),
        ContextBlock(block_id="conversation_help:commands", elements=[mrkdwn(HELP_LINES[2])]),
    ]
    return build(text, blocks)
