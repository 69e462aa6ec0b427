"""Shared helpers for the store tests: a counting embedder and a consistency check."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

from ragforge.config import ChunkingConfig, IndexConfig
from ragforge.embedding.hashing import HashingEmbedder
from ragforge.store import Store, db, vectors


class CountingEmbedder(HashingEmbedder):
    """A hashing embedder that records every batch it is asked to embed."""

    def __init__(self, dimension: int = 64) -> None:
        super().__init__(dimension)
        self.calls = 0
        self.texts: list[str] = []

    def _embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts += texts
        return super()._embed(texts)


def check_consistent(store: Store) -> set[str]:
    """FAISS, chunks and FTS hold the same rows; returns the indexed sources."""
    conn = store._conn
    rowids = sorted(r[0] for r in conn.execute("SELECT rowid FROM chunks"))
    assert store._index.ntotal == len(rowids)
    assert sorted(vectors.ids_of(store._index).tolist()) == rowids
    assert db.fts_rows(conn) == len(rowids)
    conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('integrity-check')")
    assert db.get_meta(conn, "vectors_file") == store._vectors_file
    assert (store.path / store._vectors_file).exists()
    files = {r[0] for r in conn.execute("SELECT source FROM files")}
    chunk_sources = {r[0] for r in conn.execute("SELECT DISTINCT source FROM chunks")}
    assert chunk_sources <= files
    return files


SMALL_CHUNKS = IndexConfig(model="hashing:64", chunking=ChunkingConfig(max_tokens=20, overlap_tokens=0))


@pytest.fixture()
def counting() -> CountingEmbedder:
    return CountingEmbedder(64)


@pytest.fixture()
def make_store(tmp_path: Path, counting: CountingEmbedder):
    opened: list[Store] = []

    def make(config: IndexConfig = SMALL_CHUNKS, embedder=None, path: Path | None = None) -> Store:
        store = Store.create(path or tmp_path / "idx", config, embedder or counting)
        opened.append(store)
        return store

    yield make
    for store in opened:
        with contextlib.suppress(Exception):  # already closed
            store.close()


@pytest.fixture()
def consistent():
    return check_consistent


@pytest.fixture()
def counting_cls():
    return CountingEmbedder
