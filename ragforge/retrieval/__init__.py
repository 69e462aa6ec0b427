"""Retrieval: query -> [Hit]. ``Index`` (open, sync, search) and the search pipeline behind it.

    dense ─┐
           ├─ fusion (RRF | weighted) ─ rerank (optional) ─▶ [Hit] with scores per stage
    lexical┘
"""

from __future__ import annotations

from ragforge.retrieval.documents import document_scores
from ragforge.retrieval.fusion import reciprocal_rank_fusion, weighted_fusion
from ragforge.retrieval.index import Index, build_index, open_index, watch_index
from ragforge.retrieval.protocols import ChunkSource, Searcher
from ragforge.retrieval.rerank import CrossEncoderReranker, Reranker, resolve_reranker
from ragforge.retrieval.search import SearchOptions, run_search, search_all

__all__ = [
    "ChunkSource",
    "CrossEncoderReranker",
    "Index",
    "Reranker",
    "SearchOptions",
    "Searcher",
    "build_index",
    "document_scores",
    "open_index",
    "reciprocal_rank_fusion",
    "resolve_reranker",
    "run_search",
    "search_all",
    "watch_index",
    "weighted_fusion",
]
