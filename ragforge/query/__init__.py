"""The RAG engine: a question in, a grounded Answer out, every claim citing a page of a real file.

    import ragforge
    from ragforge.llm import OllamaChat

    index = ragforge.open_index("my-index")
    engine = ragforge.QueryEngine(index, llm=OllamaChat("llama3.2"))
    answer = engine.query("How do I rotate the API keys?")
    print(answer.text)                       # "... rotate them with `keys rotate` [1]."
    for c in answer.citations:               # [1] ops/keys.md, p. None, chars 120-190, verified quote
        print(c.number, c.source, c.page, c.start, c.end, c.quote)

The pipeline is a ragforge.graph graph (``engine.graph``; ``build_default_graph(node=fn)`` replaces a
node): route -> retrieve (hybrid) | call_tools -> join -> rerank (none / LLM / cross-encoder) ->
synthesise (the direct answer and its [n], one call) -> check (which passage holds it: no model call) ->
grade (only when unsure) -> attempt -> (refused or unsupported and retrieval weak: rewrite, retrieve again,
bounded by ``max_rewrites``) -> finish (repaired, quoted citations, or "The documents do not say.").
The refusal policy is spelled out on :class:`QueryConfig`; :class:`PlainRAG` is the one-prompt baseline.
"""

from __future__ import annotations

from ragforge.query.chat import ChatSession, open_chat
from ragforge.query.citations import ResolvedCitations, cited_numbers, locate_quote, resolve_citations
from ragforge.query.config import QueryConfig
from ragforge.query.engine import NODE_NAMES, QueryEngine, ask, build_default_graph, compact_trace
from ragforge.query.followup import condensed
from ragforge.query.grounding import Grounding, check_grounding
from ragforge.query.plain import PlainRAG
from ragforge.query.prompts import REFUSAL, is_refusal
from ragforge.query.rerank_llm import LLMReranker
from ragforge.query.state import Attempt, Claim, QueryContext, QueryDeps, QueryState, Turn

__all__ = [
    "NODE_NAMES",
    "REFUSAL",
    "Attempt",
    "ChatSession",
    "Claim",
    "Grounding",
    "LLMReranker",
    "PlainRAG",
    "QueryConfig",
    "QueryContext",
    "QueryDeps",
    "QueryEngine",
    "QueryState",
    "ResolvedCitations",
    "Turn",
    "ask",
    "build_default_graph",
    "check_grounding",
    "cited_numbers",
    "compact_trace",
    "condensed",
    "is_refusal",
    "locate_quote",
    "open_chat",
    "resolve_citations",
]
