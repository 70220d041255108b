"""Home tab view (the full dashboard builds on this)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, PlainTextObject, SectionBlock

from blocks.common import mrkdwn

WELCOME = (
    "*Fathom OS* turns every recorded meeting into a threaded card with action items, decisions and "
    "proposed updates to your operating system.\n\n"
    "*Connect Fathom:* in Fathom, Settings → API → Webhooks, add `https://<your-host>/webhooks/fathom` "
    'for "new meeting content ready" (include transcript, summary and action items) and put the '
    "signing secret in `FATHOM_WEBHOOK_SECRET`."
)


def home_view() -> dict[str, Any]:
    blocks = [
        HeaderBlock(block_id="home:header", text=PlainTextObject(text="Fathom OS")),
        SectionBlock(block_id="home:welcome", text=mrkdwn(WELCOME)),
        ContextBlock(
            block_id="home:help", elements=[mrkdwn("Try `/os-actions` for your open action items.")]
        ),
    ]
    return {"type": "home", "blocks": [b.to_dict() for b in blocks]}
