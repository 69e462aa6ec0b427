"""The on-disk index: FAISS vectors + SQLite (chunks, file hashes, FTS5, embedding cache) + a manifest.

    Store.create(path, IndexConfig, embedder) / Store.open(path, embedder=None)
    store.sync_folder(folder, walk) / store.sync_documents(docs) -> SyncReport
    store.dense_search(vector, k, where) / store.lexical_search(text, k, where) -> [(Chunk, score)]

Layout of an index folder: ``manifest.json``, ``ragforge.sqlite`` (+ WAL), ``vectors-<generation>.faiss``,
``write.lock``. Commits are crash-safe; see :mod:`ragforge.store.store` and :mod:`ragforge.store.writer`.
"""

from __future__ import annotations

from ragforge.store.lexical import match_expression, query_terms
from ragforge.store.lock import DEFAULT_LOCK_TIMEOUT
from ragforge.store.manifest import FORMAT_VERSION
from ragforge.store.models import IndexInfo, SyncReport, Where
from ragforge.store.store import Store

__all__ = ["DEFAULT_LOCK_TIMEOUT", "FORMAT_VERSION", "IndexInfo", "Store", "SyncReport", "Where",
           "match_expression", "query_terms"]
