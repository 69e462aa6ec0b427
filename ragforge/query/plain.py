"""``PlainRAG``: the reference every change to the engine must beat. Same retrieval, one plain prompt.

    baseline = PlainRAG(index, llm)
    answer = baseline.query("Where is most of the Scottish Parliament's work done?")   # "In committee."

It retrieves exactly as :class:`~ragforge.QueryEngine` does (mode, depth, fusion, ``k`` passages), asks the
model once with the passages and the question for a short answer or the refusal sentence (the prompt of the
engine's short style, :data:`~ragforge.query.prompts.SHORT_SYSTEM`), and returns an :class:`~ragforge.Answer`
as the model wrote it: no citations, no checks, no refusal but the model's own.
``ragforge eval answers --baseline plain`` runs it beside the engine on the same questions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragforge.llm import ChatModel
from ragforge.query import prompts
from ragforge.query.config import QueryConfig
from ragforge.retrieval.protocols import Searcher
from ragforge.types import Answer

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from ragforge.store.store import WhereLike


class PlainRAG:
    """Top-``k`` passages (the engine's retrieval settings) + one prompt -> the model's answer, unchecked."""

    def __init__(self, index: Searcher, llm: ChatModel, *, config: QueryConfig | None = None) -> None:
        self.index = index
        self.llm = llm
        self.config = config or QueryConfig()

    def __repr__(self) -> str:
        return f"PlainRAG(llm={getattr(self.llm, 'model', '?')!r})"

    def close(self) -> None:
        """Nothing to release (the model and the index are the caller's)."""

    def __enter__(self) -> PlainRAG:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, question: str, *, where: WhereLike = None) -> Answer:
        config = self.config
        hits = self.index.search(question, k=config.candidates, where=where, mode=config.mode,
                                 options=config.search)[: config.k]
        if not hits:
            return Answer(question=question, text=prompts.REFUSAL, refused=True)
        messages = prompts.answer_messages(question, hits, as_json=False, max_chars=config.max_context_chars,
                                           style="short")
        options = {"temperature": config.temperature, "num_predict": config.max_answer_tokens}
        if config.logprobs:
            options["logprobs"] = True
        result = self.llm.chat(messages, options=options)
        text = result.text.strip()
        return Answer(question=question, text=text or prompts.REFUSAL, hits=hits,
                      refused=not text or prompts.is_refusal(text), confidence=result.confidence)
