"""The @-mention answer: Claude's text with numbered sources, or (offline) the best passages."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from blocks.common import Message, build, mrkdwn
from blocks.search import citation, marked
from blocks.text import esc_trunc
from services.views import Answer

ANSWER_CHARS = 2800
OFFLINE_PASSAGES = 5


def qa_answer(answer: Answer, thread_urls: dict[int, str]) -> Message:
    if not answer.sources:
        text = "I found nothing in past meetings about that. Try other words, or `/os-meetings` to search."
        return build(text, [SectionBlock(block_id="qa:empty", text=mrkdwn(text))])
    blocks: list[Block] = []
    if answer.text:
        blocks.append(SectionBlock(block_id="qa:answer", text=mrkdwn(esc_trunc(answer.text, ANSWER_CHARS))))
        lines = [
            f"[{n}] {citation(h, thread_urls.get(h.meeting_id))}" for n, h in enumerate(answer.sources, 1)
        ]
        blocks.append(ContextBlock(block_id="qa:sources", elements=[mrkdwn("\n".join(lines), 2900)]))
        return build(answer.text, blocks)
    intro = "Claude is not available, so here are the most relevant passages:"
    if answer.error is None:
        intro = "Claude is off (no `ANTHROPIC_API_KEY`), so here are the most relevant passages:"
    blocks.append(SectionBlock(block_id="qa:intro", text=mrkdwn(intro)))
    for n, hit in enumerate(answer.sources[:OFFLINE_PASSAGES], 1):
        body = f"{citation(hit, thread_urls.get(hit.meeting_id))}\n{marked(hit.snippet, 700)}"
        blocks.append(SectionBlock(block_id=f"qa:passage:{n}", text=mrkdwn(body)))
    return build(f"{intro} {answer.sources[0].title}", blocks)
