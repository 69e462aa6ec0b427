"""The query graph's state (what flows between nodes) and its dependencies (what nodes use).

Nodes are ``f(state: QueryState, ctx: QueryContext) -> dict`` and find the index, models, tools and settings in
``ctx.deps`` (a :class:`QueryDeps`), so a replacement node needs nothing but that signature. The index is any
:class:`~ragforge.retrieval.protocols.Searcher`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from pydantic import BaseModel, Field

from ragforge.graph import append
from ragforge.llm import ChatModel, ToolBox, ToolCall
from ragforge.query.config import QueryConfig
from ragforge.retrieval.protocols import Searcher
from ragforge.retrieval.rerank import Reranker
from ragforge.types import Answer, Hit

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from ragforge.store.store import WhereLike

Route = Literal["retrieve", "tools", "both"]
Verdict = Literal["", "supported", "unsure", "unsupported", "refused"]


class Claim(BaseModel):
    """One claim of an answer (a clause ending with its [n], or a sentence) and the passage window that holds
    it (block numbers are 1-based)."""

    text: str  # the clause without its markers
    at: tuple[int, int] = (0, 0)  # where the clause stands in the draft (unknown [n] numbers removed)
    cited: list[int] = Field(default_factory=list)  # what the model cited
    passage: int | None = None  # the block the engine attributes it to (None: no passage holds it)
    start: int = 0  # the quote's span in that chunk's text
    end: int = 0
    support: float = 0.0  # share of the claim's words in that window
    alignment: float = 0.0  # share of the question's words around it
    relevance: float | None = None  # the passage's dense similarity to the question (None: not scored)
    window_relevance: float | None = None  # the quoted window's similarity to the question (when needed)
    own_words: bool = True  # False for a bare yes/no, attributed by the question's words


class Attempt(BaseModel):
    """One synthesis attempt and how it was judged (the engine answers from the last supported one)."""

    query: str
    context: list[Hit]
    draft: str
    confidence: float | None = None
    refusal_odds: float | None = None
    quotes: dict[int, list[str]] = Field(default_factory=dict)
    claims: list[Claim] = Field(default_factory=list)
    verdict: Verdict = ""
    graded: bool | None = None  # the small model's verdict, when it was asked


class Turn(BaseModel):
    """One earlier exchange of a conversation: the question as asked and the answer's text."""

    question: str
    answer: str


class QueryState(BaseModel):
    question: str  # a follow-up becomes its standalone question (the "condense" node)
    history: list[Turn] = Field(default_factory=list)  # the conversation before this question, oldest first
    query: str = ""  # the current search query ("" = the question)
    route: Route = "retrieve"
    tool_calls: list[ToolCall] = Field(default_factory=list)
    retrieved: list[Hit] = Field(default_factory=list)  # retrieval candidates of the current round
    tool_hits: list[Hit] = Field(default_factory=list)  # tool results, as context blocks
    context: list[Hit] = Field(default_factory=list)  # the numbered blocks of the prompt
    draft: str = ""  # the model's raw answer text
    confidence: float | None = None  # the draft's geometric-mean token probability, when the model reports it
    refusal_odds: float | None = None  # the probability the model gave the refusal instead (when measured)
    quotes: dict[int, list[str]] = Field(default_factory=dict)  # block number -> quoted spans
    claims: list[Claim] = Field(default_factory=list)  # the draft's sentences, attributed to passages
    verdict: Verdict = ""
    graded: bool | None = None  # the small model's verdict on this round's draft, when it was asked
    rewrites: int = 0
    queries: list[str] = Field(default_factory=list)  # every search query run, in order
    attempts: Annotated[list[Attempt], append] = Field(default_factory=list)
    answer: Answer | None = None  # the final answer, set by the "finish" node


@dataclass
class QueryDeps:
    """What the nodes use. ``on_token`` is set by ``QueryEngine.stream`` to receive the answer's pieces."""

    index: Searcher  # a ragforge.Index, or anything with .search(query, k, where=, mode=, options=)
    llm: ChatModel
    small_llm: ChatModel
    config: QueryConfig
    tools: ToolBox = field(default_factory=ToolBox)
    reranker: Reranker | None = None
    where: WhereLike = None
    max_rewrites: int = 1
    on_token: Callable[[str], None] | None = None

    @property
    def options(self) -> dict[str, Any]:
        return {"temperature": self.config.temperature}

    @property
    def answer_options(self) -> dict[str, Any]:
        """Options of the answer call: a bound on the reply, and token log-probabilities when configured."""
        options = {**self.options, "num_predict": self.config.max_answer_tokens}
        if self.config.logprobs:
            options["logprobs"] = True
        if self.config.max_refusal_odds is not None:
            options["logprobs"] = True
            options["top_logprobs"] = self.config.top_logprobs
        return options


class QueryContext(Protocol):
    """What a query node gets as ``ctx``: the graph's :class:`~ragforge.graph.RunContext`, whose ``deps`` are the
    engine's :class:`QueryDeps`."""

    @property
    def deps(self) -> QueryDeps: ...

    def emit(self, event: dict[str, Any]) -> None: ...
