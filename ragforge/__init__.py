"""ragforge: a local-first RAG query-engine toolkit.

The pipeline, top to bottom (each layer imports only from the layers above it)::

    folder ──readers──▶ Document ──chunking──▶ Chunk ──embedding──▶ vectors
                                                        │
                           store: FAISS + SQLite (chunks, FTS5, file hashes, embedding cache) + manifest
                                                        │
    question ──retrieval (dense | lexical | hybrid, rerank)──▶ [Hit]
                                                        │
                 llm (Ollama, retry/fallback/cache, tools, typed output)   graph (state, reducers, interrupts)
                                                        │
                           query: QueryEngine ──▶ Answer with citations to pages
                                                        │
                           eval: nDCG/Recall/MRR, EM/F1/faithfulness, reports

Quick start::

    import ragforge
    index = ragforge.open_index("my-index", create=True)
    index.sync("~/notes")
    for hit in index.search("how do I rotate the keys?", k=5):
        print(hit.rank, hit.chunk.citation_label(), hit.score)

Names are imported lazily, so ``import ragforge`` (and ``ragforge --help``) never loads torch or FAISS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragforge._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Answer": "ragforge.types",
    "ChunkingConfig": "ragforge.config",
    "Chunk": "ragforge.types",
    "Citation": "ragforge.types",
    "Document": "ragforge.types",
    "Hit": "ragforge.types",
    "Index": "ragforge.retrieval.index",
    "IndexConfig": "ragforge.config",
    "QueryConfig": "ragforge.query",
    "QueryEngine": "ragforge.query",
    "RagforgeError": "ragforge.errors",
    "SearchOptions": "ragforge.retrieval.search",
    "Section": "ragforge.types",
    "SyncReport": "ragforge.ingest",
    "WalkConfig": "ragforge.config",
    "Where": "ragforge.store",
    "make_embedder": "ragforge.embedding",
    "open_index": "ragforge.retrieval.index",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ragforge.config import ChunkingConfig, IndexConfig, WalkConfig
    from ragforge.embedding import make_embedder
    from ragforge.errors import RagforgeError
    from ragforge.ingest import SyncReport
    from ragforge.query import QueryConfig, QueryEngine
    from ragforge.retrieval.index import Index, open_index
    from ragforge.retrieval.search import SearchOptions
    from ragforge.store import Where
    from ragforge.types import Answer, Chunk, Citation, Document, Hit, Section


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, extra=("__version__",))
