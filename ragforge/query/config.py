"""QueryConfig: how the query engine retrieves, which models play which role, and when it refuses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragforge.retrieval.search import SearchOptions


class QueryConfig(BaseModel):
    """Settings of :class:`~ragforge.query.QueryEngine` (``extra="forbid"``: a typo is an error).

    Model roles: ``answer_model`` writes the answer; ``small_model`` routes, rewrites queries, grades
    grounding and (with ``rerank="llm"``) reranks. Both are Ollama model names used when the engine builds
    its own chat models; chat-model objects passed to the engine take precedence.

    Grounding: each answer sentence is *supported* when ``min_overlap`` of its content words occur in the
    chunks it cites; the attempt's score is the supported share. Below ``weak_below`` (or a refusal) the
    query is rewritten and retrieval runs again, at most ``max_rewrites`` times; the best attempt is kept,
    and if its score is at or below ``refuse_below`` the engine refuses. With ``llm_grader`` the small
    model also judges each attempt, and a "not supported" verdict scores it 0.
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

    max_answer_tokens: int = Field(default=128, ge=8)  # bound on the answer's generated tokens
    answer_format: Literal["json", "text"] = "json"  # json: a structured reply with quoted spans
    json_retries: int = Field(default=1, ge=0)
    max_rewrites: int = Field(default=1, ge=0)  # rewrite-and-retrieve rounds when grounding is weak
    min_overlap: float = Field(default=0.5, ge=0.0, le=1.0)  # per sentence, share of words in its sources
    weak_below: float = Field(default=0.5, ge=0.0, le=1.0)  # grounding score below this triggers a rewrite
    refuse_below: float = Field(default=0.0, ge=0.0, le=1.0)  # final score at or below this -> refuse
    llm_grader: bool = False  # also ask the small model whether the context supports the answer
    min_score: float | None = None  # refuse without asking the LLM when the best hit scores below this
    step_limit: int = Field(default=40, ge=5)

    @model_validator(mode="after")
    def _cross_encoder_named(self) -> "QueryConfig":
        if self.rerank == "cross_encoder" and not self.cross_encoder:
            raise ValueError("rerank='cross_encoder' needs cross_encoder='<model name or path>'")
        if self.candidates < self.k:
            raise ValueError("candidates must be >= k")
        return self
