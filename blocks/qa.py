"""The @-mention answer: the answer's text and its citations (moments of the recording), or a
short "Which meeting?" with one button per candidate meeting."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, SectionBlock

from blocks.common import Message, build, mrkdwn
from blocks.ids import QAAction
from blocks.search import citation
from blocks.text import esc_trunc, link, truncate
from blocks.values import QAPick, encode
from services.views import Answer, MeetingChoice

ANSWER_CHARS = 2800
EMPTY = "I found nothing in past meetings about that. Try other words, or `/os-meetings` to search."


def qa_answer(answer: Answer, thread_urls: dict[int, str]) -> Message:
    if answer.choices:
        return which_meeting(answer.question, answer.choices)
    if not answer.text:
        return build(EMPTY, [SectionBlock(block_id="qa:empty", text=mrkdwn(EMPTY))])
    blocks: list[Block] = [
        SectionBlock(block_id="qa:answer", text=mrkdwn(esc_trunc(answer.text, ANSWER_CHARS)))
    ]
    if answer.sources:
        first = answer.sources[0]
        head = citation(first, thread_urls.get(first.meeting_id))
        moments = " · ".join(
            link(h.recording_url, f"▶ {h.ts}") for h in answer.sources[1:] if h.recording_url and h.ts
        )
        blocks.append(
            ContextBlock(block_id="qa:sources", elements=[mrkdwn(f"{head} · {moments}".rstrip(" ·"), 2900)])
        )
    if answer.model is None:
        why = "Claude is not available" if answer.error else "Claude is off (no `ANTHROPIC_API_KEY`)"
        blocks.append(
            ContextBlock(block_id="qa:offline", elements=[mrkdwn(f"{why}: answered from the transcript.")])
        )
    return build(answer.text, blocks)


def which_meeting(question: str, choices: list[MeetingChoice]) -> Message:
    text = "Which meeting? Several fit your question about equally:"
    blocks: list[Block] = [SectionBlock(block_id="qa:which", text=mrkdwn(text))]
    for choice in choices[:5]:
        label = choice.title + (f" · {choice.started_at:%d %b %Y}" if choice.started_at else "")
        blocks.append(
            ActionsBlock(
                block_id=f"qa:choice:{choice.id}",
                elements=[
                    ButtonElement(
                        text=truncate(label, 75),
                        action_id=QAAction.PICK_MEETING.value,
                        value=encode(QAPick(meeting_id=choice.id, question=question[:1500])),
                    )
                ],
            )
        )
    return build(text, blocks)
