"""Questions about past meetings: retrieve the best passages and decisions, then let Claude answer
from them only, citing passages by number. Without Claude the passages themselves are the answer.

Retrieval is the search index (any-word matching, several passages per meeting, decisions weigh
more than transcript lines), so answers stay grounded and the prompt stays small (< 4k tokens).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from services.access import Scope
from services.db import Database
from services.models import LLMUsage
from services.redaction import Policy, Redactor
from services.search import SearchIndex, parse_query
from services.views import HIT_CLOSE, HIT_OPEN, Answer, Hit

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

log = logging.getLogger(__name__)

MAX_PASSAGES = 8
MAX_TOKENS = 700
SYSTEM = (
    "You answer questions about an agency's past meetings using only the numbered passages given. "
    "Cite every claim with the passage number in square brackets, like [2]. If the passages do not "
    "answer the question, say so in one sentence. Be brief: at most 5 sentences or bullets. "
    "Plain text, no headings."
)


def numbered_passages(hits: list[Hit]) -> str:
    lines = []
    for n, hit in enumerate(hits, start=1):
        when = hit.started_at.date().isoformat() if hit.started_at else "undated"
        at = f" at {hit.ts}" if hit.ts else ""
        body = hit.snippet.replace(HIT_OPEN, "").replace(HIT_CLOSE, "")
        lines.append(f"[{n}] {hit.title} ({when}{at}, {hit.kind}):\n{body}")
    return "\n\n".join(lines)


class QAService:
    def __init__(
        self,
        db: Database,
        index: SearchIndex,
        client: AsyncAnthropic | None = None,
        *,
        model: str = "claude-sonnet-4-6",
        prices: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] | None = None,
        policy: Callable[[], Policy] = Policy,
    ) -> None:
        self.db = db
        self.index = index
        self.client = client
        self.model = model
        self.prices = prices or {}
        self.policy = policy  # redaction before the model (services/redaction.py), standard by default

    async def retrieve(self, question: str, scope: Scope) -> list[Hit]:
        """Filters work in questions too (`client:brightline`); up to 3 passages per meeting, only
        from meetings in `scope` (services.access: what the people who will read the answer may see)."""
        return await self.index.search(
            parse_query(question), scope, limit=MAX_PASSAGES, per_meeting=3, any_word=True
        )

    async def answer(self, question: str, scope: Scope) -> Answer:
        """Claude sees only passages from `scope`, so the answer can cite nothing else."""
        hits = await self.retrieve(question, scope)
        if not hits or self.client is None:
            return Answer(question, None, hits)
        redactor = Redactor(self.policy())  # placeholders in the request, originals in the answer
        prompt = redactor.redact(f"Passages:\n\n{numbered_passages(hits)}\n\nQuestion: {question}")
        try:
            message = await self.client.messages.create(
                model=self.model,
                max_tokens=MAX_TOKENS,
                system=SYSTEM,
                messages=[{"role": "user", "content": prompt}],
            )
        except Exception as exc:  # any API failure: the passages are still a useful answer
            log.warning("Q&A call failed: %s", type(exc).__name__)
            return Answer(question, None, hits, error=type(exc).__name__)
        text = redactor.restore("".join(getattr(block, "text", "") for block in message.content).strip())
        await self._record_usage(message.model, message.usage)
        return Answer(question, text or None, hits, model=message.model)

    async def _record_usage(self, model: str, usage: object) -> None:
        from services.analysis.claude import cost_usd
        from services.analysis.schema import UsageRecord

        record = UsageRecord(
            purpose="qa",
            model=model,
            input_tokens=getattr(usage, "input_tokens", 0) or 0,
            output_tokens=getattr(usage, "output_tokens", 0) or 0,
            cache_creation_tokens=getattr(usage, "cache_creation_input_tokens", 0) or 0,
            cache_read_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
        )
        async with self.db.session() as s:
            s.add(LLMUsage.of(None, record.model_copy(update={"cost_usd": cost_usd(self.prices, record)})))
