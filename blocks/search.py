"""`/os-meetings` results: one section per matching meeting with the passage, the moment in the
recording and the meeting's thread."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from blocks.common import Message, build, mrkdwn
from blocks.text import esc_trunc, link
from services.views import HIT_CLOSE, HIT_OPEN, Hit

SNIPPET_CHARS = 600
KIND_LABELS = {"title": "title", "summary": "summary", "decision": "decision", "line": "transcript"}


def marked(snippet: str, limit: int = SNIPPET_CHARS) -> str:
    """Escaped passage with the matched words in bold."""
    text = esc_trunc(" ".join(snippet.split()), limit)
    return text.replace(HIT_OPEN, "*").replace(HIT_CLOSE, "*")


def citation(hit: Hit, thread_url: str | None) -> str:
    """`Title · 16 Nov 2026 · ▶ 00:12:34 · thread` with the links that exist."""
    parts = [f"*{link(hit.url, hit.title) if hit.url else esc_trunc(hit.title, 200)}*"]
    if hit.started_at:
        parts.append(hit.started_at.strftime("%d %b %Y"))
    if hit.recording_url and hit.ts:
        parts.append(link(hit.recording_url, f"▶ {hit.ts}"))
    if thread_url:
        parts.append(link(thread_url, "thread"))
    return " · ".join(parts)


def search_results(
    query_text: str, hits: Sequence[Hit], thread_urls: dict[int, str], problems: Sequence[str] = ()
) -> Message:
    shown = esc_trunc(query_text or "(filters only)", 200)
    noun = "meeting" if len(hits) == 1 else "meetings"
    blocks: list[Block] = [
        SectionBlock(block_id="search:header", text=mrkdwn(f":mag: *{len(hits)} {noun}* for _{shown}_"))
    ]
    for problem in problems[:3]:
        blocks.append(
            ContextBlock(block_id=f"search:problem:{len(blocks)}", elements=[mrkdwn(esc_trunc(problem, 300))])
        )
    for hit in hits[:20]:
        label = KIND_LABELS.get(hit.kind, hit.kind)
        body = f"{citation(hit, thread_urls.get(hit.meeting_id))}\n_{label}_: {marked(hit.snippet)}"
        blocks.append(
            SectionBlock(block_id=f"search:{hit.meeting_id}:{hit.kind}:{hit.ts}", text=mrkdwn(body))
        )
    if not hits:
        blocks.append(
            SectionBlock(
                block_id="search:empty",
                text=mrkdwn(
                    "Nothing matched. Try fewer words, or drop a filter (`client:` `type:` `after:` `with:`)."
                ),
            )
        )
    return build(f"{len(hits)} {noun} for {query_text}", blocks)
