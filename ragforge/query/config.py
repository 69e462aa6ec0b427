"""QueryConfig: how the query engine retrieves, which models play which role, and when it refuses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragforge.retrieval.search import SearchOptions

# Relevance bounds per embedding model, measured on real answers of Qwen2.5-Coder-1.5B
# (eval/results/answers.md). (min_relevance, sure_relevance): with all-MiniLM-L6-v2, 4 of 9 answers to
# unanswerable ClapNQ dev questions stood only in passages below 0.25 of cosine to the question, and no
# correct SQuAD answer (44 seen while tuning; the lowest at 0.348) did. A higher bound cost correct answers.
RELEVANCE: dict[str, tuple[float, float]] = {
    "sentence-transformers/all-MiniLM-L6-v2": (0.25, 0.25),
}
# Off-topic bounds (passage, window): an answer is off-topic when its passage's cosine to the question is
# below the first AND the one or two sentences that hold it are below the second. With all-MiniLM-L6-v2, on
# the recorded answers of the 150 SQuAD and 120 ClapNQ evaluation questions, this refused no answer with F1
# above 0 on SQuAD (the passage bound alone refused "UK" at 0.197 and "ABC Circle Films" at 0.223, whose
# windows stand at 0.235 and above) and 7 answers to unanswerable ClapNQ questions (the passage bound alone:
# 5); chosen on those recorded answers; on 70 fresh questions it moved one refusal each way (answers.md).
OFF_TOPIC: dict[str, tuple[float, float]] = {
    "sentence-transformers/all-MiniLM-L6-v2": (0.40, 0.20),
}


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
    for in every passage. The direct answer (the first claim) is

    * *unsupported* when less than ``reject_support`` of its content words stand in any passage, or when
      it is off-topic: neither the passage that holds it nor the one or two sentences that hold it are about
      the question (dense similarity to the question below ``off_topic_passage`` and ``off_topic_window``;
      with only a passage bound, below ``min_relevance``). A small model asked what the passages cannot
      answer copies a word from a passage about something else: "Malaysia" to "what country is south of the
      United States"; a right answer may stand in a long passage about much else, in a sentence about the
      question ("UK" to "Where was the 2000 study conducted?");
    * *supported* when at least ``accept_support`` of its words stand in one passage whose similarity to the
      question is at least ``sure_relevance`` (without a calibrated embedder: in sentences that hold at
      least ``min_alignment`` of the question's words);
    * *unsure* otherwise. With a calibrated embedder an unsure answer is returned (its passage is about the
      question); without one (``grade="auto"``), or always with ``grade="unsure"``, the small model is
      first asked once whether that passage window answers the question. (Measured with
      Qwen2.5-Coder-1.5B, ``eval/results/answers.md``: grading calibrated unsure answers refused mostly
      partly right ones.)

    A bare "Yes"/"No" has no words of its own to look for: it is attributed to the passage that holds most
    of the question's words and judged by that passage's relevance (or alignment) alone.

    An answer is also unsupported when the question names the kind of value it wants (a unit, "in knots";
    "how far"; "how much ... cost"; a temperature, speed or year) and neither the answer nor the sentences
    that hold it carry one (``check_kind``, :mod:`~ragforge.query.answer_type`).

    Opt-in, ``max_refusal_odds``: an answer is also unsupported when the model itself gave the refusal
    sentence at least that probability (read from the answer's top token log-probabilities, and one
    one-token continuation when the refusal's first word stands beside the answer; see
    :mod:`~ragforge.query.refusal_odds`). Off by default: with Qwen2.5-Coder-1.5B it refuses more
    unanswerable questions and more answerable ones too (``eval/results/answers.md``).

    The engine refuses ("The documents do not say.") when the model refused or no attempt's direct answer
    is supported. Citations are repaired to the passage that
    holds the words. A refused or unsupported attempt is retried with a rewritten query (at most
    ``max_rewrites`` rounds) only when retrieval missed: no passage holds ``rewrite_below`` of the
    question's words and (with a calibrated embedder) none has a dense score of ``min_relevance``; a rewrite
    equal to an earlier query is skipped. (Questions the documents cannot answer retrieve passages on their
    topic: rewriting those only costs calls.)
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
    # refuse an answer when the model itself gave the refusal sentence at least this probability (read from
    # the answer's top token log-probabilities; None: off; backends without them: no effect)
    max_refusal_odds: float | None = Field(default=None, ge=0.0, le=1.0)
    # resolve a beginning the refusal shares with answers ("The") by one more token of the reply, the prompt
    # already cached (an extra, one-token call); False: only what the answer's own tokens show
    refusal_continuation: bool = True
    top_logprobs: int = Field(default=10, ge=1, le=20)  # alternatives asked per token for the refusal odds

    check_kind: bool = True  # refuse an answer without the kind of value the question names (answer_type.py)
    accept_support: float = Field(default=0.75, ge=0.0, le=1.0)
    reject_support: float = Field(default=0.34, ge=0.0, le=1.0)
    min_alignment: float = Field(default=0.2, ge=0.0, le=1.0)
    # the question's cosine to the passage holding the answer (its dense score); None = calibrated per
    # embedding model (RELEVANCE), else the lexical alignment decides
    min_relevance: float | None = Field(default=None, ge=-1.0, le=1.0)
    sure_relevance: float | None = Field(default=None, ge=-1.0, le=1.0)
    # off-topic: the passage's and the answer window's cosine to the question both below these; None =
    # calibrated per embedding model (OFF_TOPIC), else the passage alone against min_relevance
    off_topic_passage: float | None = Field(default=None, ge=-1.0, le=1.0)
    off_topic_window: float | None = Field(default=None, ge=-1.0, le=1.0)
    # when the small model grades an answer: auto = unsure ones when relevance is not calibrated; unsure =
    # every unsure one; always = every answer; never = none (unsure answers are accepted)
    grade: Literal["auto", "unsure", "always", "never"] = "auto"
    max_rewrites: int = Field(default=1, ge=0)
    rewrite_below: float = Field(default=0.5, ge=0.0, le=1.0)
    min_score: float | None = None  # refuse without asking the LLM when the best hit scores below this
    step_limit: int = Field(default=40, ge=5)

    def relevance_bounds(self, model_id: str | None) -> tuple[float, float] | None:
        """``(min_relevance, sure_relevance)`` for an index's embedding model, or None (not calibrated)."""
        calibrated = RELEVANCE.get(model_id or "", (None, None))
        low = self.min_relevance if self.min_relevance is not None else calibrated[0]
        high = self.sure_relevance if self.sure_relevance is not None else calibrated[1]
        if low is None:
            return None
        return low, max(low, high if high is not None else low)

    def off_topic_bounds(self, model_id: str | None) -> tuple[float, float | None] | None:
        """``(passage, window)`` below both of which an answer is off-topic (window None: the passage alone
        decides), or None when relevance is not calibrated for the embedding model."""
        bounds = self.relevance_bounds(model_id)
        if bounds is None:
            return None
        if self.min_relevance is not None and self.off_topic_passage is None and self.off_topic_window is None:
            return bounds[0], None  # the user's own passage bound, alone, as asked
        calibrated = OFF_TOPIC.get(model_id or "", (None, None))
        passage = next(b for b in (self.off_topic_passage, calibrated[0], bounds[0]) if b is not None)
        window = self.off_topic_window if self.off_topic_window is not None else calibrated[1]
        return passage, window

    @model_validator(mode="after")
    def _consistent(self) -> QueryConfig:
        if self.rerank == "cross_encoder" and not self.cross_encoder:
            raise ValueError("rerank='cross_encoder' needs cross_encoder='<model name or path>'")
        if self.candidates < self.k:
            raise ValueError("candidates must be >= k")
        if self.reject_support > self.accept_support:
            raise ValueError("reject_support must be <= accept_support")
        return self
