"""The `Message` every builder returns, plus the small error / notice messages handlers send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from blocks.limits import MESSAGE_TEXT, SECTION_TEXT
from blocks.text import esc_trunc, escape, fit_markdown, inline_code


@dataclass(frozen=True)
class Message:
    """Blocks plus the fallback text Slack shows in notifications and screen readers.

    The fallback is capped at 3,000 characters so the same Message can go to postMessage and to
    chat.update (which rejects text over 4,000).
    """

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for chat_postMessage / chat_update / chat_postEphemeral."""
        return {"text": self.text, "blocks": self.blocks, "unfurl_links": False, "unfurl_media": False}


def build(text: str, blocks: list[Block]) -> Message:
    """Serialise at the boundary (slack_sdk validates lengths in to_dict) and cap the fallback.

    The fallback text is parsed as mrkdwn in notifications, so it is escaped like any block text:
    a meeting titled `<!channel>` must not ping the channel.
    """
    fallback = esc_trunc(" ".join(text.split()) or "Fathom OS", MESSAGE_TEXT)
    return Message(text=fallback, blocks=[b.to_dict() for b in blocks])


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> MarkdownTextObject:
    """mrkdwn from already-escaped text, cut to `limit` as a last line of defence.

    Builders size their parts first; this guard only bites on inputs nobody planned for (a
    2,900-character URL, say), where a cut card beats Slack rejecting the whole message.
    """
    return MarkdownTextObject(text=fit_markdown(text, limit))


def error_message(text: str, correlation_id: str | None = None) -> Message:
    """Friendly ephemeral error; the correlation id lets support find the log line, never a trace."""
    blocks: list[Block] = [
        SectionBlock(block_id="error", text=mrkdwn(f":warning: {esc_trunc(text, SECTION_TEXT - 20)}"))
    ]
    if correlation_id:
        ref = inline_code(correlation_id, 100)
        blocks.append(ContextBlock(block_id="error:ref", elements=[mrkdwn(f"Reference: {ref}")]))
    return build(f"⚠ {text}", blocks)


def notice(text: str) -> Message:
    """A one-line confirmation or information message (ephemeral or DM)."""
    return build(text, [SectionBlock(block_id="notice", text=mrkdwn(esc_trunc(text, SECTION_TEXT)))])


__all__ = ["Message", "build", "error_message", "escape", "mrkdwn", "notice"]
