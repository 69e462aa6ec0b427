"""An LLM reranker: one structured call scores every candidate passage 0-10 for the question.

Implements the retrieval layer's ``Reranker`` protocol, so it works both inside the query engine and as
``index.search(..., rerank=LLMReranker(llm))``. A candidate the model leaves out scores 0; scores are
clamped to 0..10 and recorded in ``hit.scores["rerank"]``. If the model fails to produce valid JSON
(after the structured-output re-asks) the hits are returned unchanged and the failure is reported to
``on_event``, so a flaky small model never loses the retrieval results.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from ragforge.errors import StructuredOutputError
from ragforge.llm import ChatModel, structured
from ragforge.llm.types import EventHook
from ragforge.query.prompts import RERANK_PROMPT, context_blocks
from ragforge.retrieval.rerank import apply_scores
from ragforge.types import Hit


class PassageScore(BaseModel):
    n: int
    score: float


class RerankScores(BaseModel):
    scores: list[PassageScore] = Field(default_factory=list)


class LLMReranker:
    """Rerank with a chat model: ``LLMReranker(OllamaChat("llama3.2:1b")).rerank(query, hits, top_n)``.

    ``max_chars`` trims each passage in the prompt; ``retries`` is passed to ``structured()``.
    """

    def __init__(self, llm: ChatModel, *, max_chars: int = 600, retries: int = 1,
                 on_event: EventHook | None = None) -> None:
        self.llm = llm
        self.max_chars = max_chars
        self.retries = retries
        self.on_event = on_event

    def __repr__(self) -> str:
        return f"LLMReranker({getattr(self.llm, 'model', '?')!r})"

    def scores(self, query: str, hits: Sequence[Hit]) -> list[float]:
        """One score (0..10) per hit, from one structured call."""
        prompt = RERANK_PROMPT.format(question=query,
                                      passages=context_blocks(hits, max_chars=self.max_chars))
        reply = structured(self.llm, prompt, RerankScores, retries=self.retries)
        by_number = {s.n: min(10.0, max(0.0, s.score)) for s in reply.scores}
        return [by_number.get(i, 0.0) for i in range(1, len(hits) + 1)]

    def rerank(self, query: str, hits: Sequence[Hit], top_n: int) -> list[Hit]:
        head = list(hits[:top_n])
        if not head:
            return list(hits)
        try:
            scores = self.scores(query, head)
        except StructuredOutputError as exc:
            if self.on_event is not None:
                self.on_event({"type": "rerank_failed", "error": str(exc)})
            return list(hits)
        return apply_scores(hits, scores, top_n)
