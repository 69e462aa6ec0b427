"""QueryConfig: how the query engine retrieves, which models play which role, and when it refuses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragforge.retrieval.search import SearchOptions


class QueryConfig(BaseModel):
    """Settings of :class:`~ragforge.query.QueryEngine` (``extra="forbid"``: a typo is an error).

    Model roles: ``answer_model`` writes the answer; ``small_model`` routes, rewrites queries, grades unsure
    answers and (with ``rerank="llm"``) reranks. Both are model specs (an Ollama name, ``gguf:PATH``,
    ``openai:NAME@URL``) used when the engine builds its own chat models; objects passed to the engine win.

    The answer: ``answer_style="short"`` asks for the direct answer in as few words as the question needs
    and its passage number; the engine finds the supporting sentence itself and returns it as the citation's
    quote. ``"explained"`` lets the model add at most two supporting sentences. ``answer_format="text"`` (one
    plain reply, a few tokens) suits small models; ``"json"`` asks for a structured reply, bounded by the
    schema (quotes at most ``max_quote_chars``, at most ``max_citations``; quotes asked only with
    ``quotes=True``), salvaged when cut off.

    The refusal policy (the same in ``query``, ``stream`` and the evals): each claim of the answer is looked
    for in every passage. The answer is returned when its direct answer is *supported*: at least
    ``accept_support`` of its content words stand in one passage, in sentences that also hold at least
    ``min_alignment`` of the question's words. Below ``reject_support`` it is *unsupported*. In between (or
    supported but not aligned with the question) it is *unsure*, and with ``grade="auto"`` the small model
    is asked once whether the passages state it. The engine refuses ("The documents do not say.") when the
    model refused or no attempt's direct answer is supported. Citations are repaired to the passage that
    holds the words. A refused or unsupported attempt is retried with a rewritten query (at most
    ``max_rewrites`` rounds) only when retrieval looks weak: no passage holds ``rewrite_below`` of the
    question's words; a rewrite equal to an earlier query is skipped.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer_model: str = "llama3.2"
    small_model: str | None = None  # None: the answer model plays every role
    host: str | None = None  # Ollama server; None = $OLLAMA_HOST or http://127.0.0.1:11434
    temperature: float = Field(default=0.0, ge=0.0)

    k: int = Field(default=5, ge=1, le=100)  # passages in the prompt
    candidates: int = Field(default=20, ge=1, le=1000)  # retrieved before reranking
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    search: SearchOptions = SearchOptions()  # fusion and candidate depths (the retrieval layer's defaults)
    rerank: Literal["none", "llm", "cross_encoder"] = "none"
    cross_encoder: str | None = None  # model name or path when rerank="cross_encoder"
    max_context_chars: int | None = Field(default=2000, gt=0)  # per passage in the prompt

    answer_style: Literal["short", "explained"] = "short"
    answer_format: Literal["text", "json"] = "text"
    quotes: bool = False  # json only: ask the model to quote (the engine finds the spans either way)
    max_quote_chars: int = Field(default=200, ge=10)
    max_citations: int = Field(default=3, ge=1)
    max_answer_tokens: int = Field(default=128, ge=8)  # bound on the answer's generated tokens
    json_retries: int = Field(default=0, ge=0)  # re-asks after an invalid structured reply (salvage first)
    logprobs: bool = True  # ask for token log-probabilities (Answer.confidence); servers without them ignore it

    accept_support: float = Field(default=0.75, ge=0.0, le=1.0)
    reject_support: float = Field(default=0.34, ge=0.0, le=1.0)
    min_alignment: float = Field(default=0.2, ge=0.0, le=1.0)
    grade: Literal["auto", "always", "never"] = "auto"  # when the small model grades an answer
    max_rewrites: int = Field(default=1, ge=0)
    rewrite_below: float = Field(default=0.5, ge=0.0, le=1.0)
    min_score: float | None = None  # refuse without asking the LLM when the best hit scores below this
    step_limit: int = Field(default=40, ge=5)

    @model_validator(mode="after")
    def _consistent(self) -> QueryConfig:
        if self.rerank == "cross_encoder" and not self.cross_encoder:
            raise ValueError("rerank='cross_encoder' needs cross_encoder='<model name or path>'")
        if self.candidates < self.k:
            raise ValueError("candidates must be >= k")
        if self.reject_support > self.accept_support:
            raise ValueError("reject_support must be <= accept_support")
        return self
