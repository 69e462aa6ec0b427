"""The on-disk index: FAISS vectors + SQLite (chunks, file hashes, FTS5, embedding cache) + a manifest.

    Store.create(path, IndexConfig, embedder) / Store.open(path, embedder=None)      the read path
    store.dense_search(vector, k, where) / store.lexical_search(text, k, where) -> [(Chunk, score)]
    with store.writing(): ... store.apply(ChangeSet) -> Applied                        the one writer

Layout of an index folder: ``manifest.json``, ``ragforge.sqlite`` (+ WAL), ``vectors-<generation>.faiss``,
``write.lock``. Commits are crash-safe; see :mod:`ragforge.store.store` and :mod:`ragforge.store.commit`.
The store knows nothing of folders or readers: :mod:`ragforge.ingest` builds the change sets.
"""

from __future__ import annotations

from ragforge.store.changeset import Applied, ChangeSet, FileChange, Touched
from ragforge.store.db import FileRow
from ragforge.store.lexical import match_expression, query_terms
from ragforge.store.lock import DEFAULT_LOCK_TIMEOUT
from ragforge.store.manifest import FORMAT_VERSION
from ragforge.store.models import IndexInfo, Where
from ragforge.store.store import Store

__all__ = ["DEFAULT_LOCK_TIMEOUT", "FORMAT_VERSION", "Applied", "ChangeSet", "FileChange", "FileRow", "IndexInfo",
           "Store", "Touched", "Where", "match_expression", "query_terms"]
