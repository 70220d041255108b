"""The "Which meeting?" buttons of an @-mention answer: answer the question from the chosen meeting."""

from __future__ import annotations

from typing import Any

from blocks.ids import QAAction
from blocks.qa import qa_answer
from blocks.values import QAPick, decode
from handlers.context import action_value, actor_id, app_of
from handlers.registrar import Registrar


async def pick_meeting(ack: Any, body: dict[str, Any], context: dict[str, Any], respond: Any) -> None:
    await ack()
    app, pick = app_of(context), decode(QAPick, action_value(body))
    answer = await app.domain.qa.answer(pick.question, actor_id(body), meeting_id=pick.meeting_id)
    message = qa_answer(answer, await app.slack.gateway.thread_urls({h.meeting_id for h in answer.sources}))
    await respond(**message.as_kwargs(), response_type="ephemeral", replace_original=True)


def register(app: Registrar) -> None:
    app.action(QAAction.PICK_MEETING.value)(pick_meeting)
