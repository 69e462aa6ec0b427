"""The executor seam: any executor that prepares and embeds (in any order) builds the same index, and the
embedding cache is asked on the driver before a window is sent out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ragforge.config import ChunkingConfig, IndexConfig
from ragforge.embedding.base import Embedder
from ragforge.embedding.hashing import HashingEmbedder
from ragforge.ingest import ChunkSpec, Failed, LocalExecutor, Prepared, Window, sync_folder
from ragforge.ingest.plan import Todo
from ragforge.store import ChangeSet, Store

CONFIG = IndexConfig(model="hashing:32", chunking=ChunkingConfig(max_tokens=12, overlap_tokens=0))


class ReversedExecutor:
    """Prepares everything first and hands results and windows back in reverse order, as a cluster might."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def prepare(self, todos: Iterable[Todo], spec: ChunkSpec, embedder: Embedder) -> Iterator[Prepared | Failed]:
        yield from reversed(list(LocalExecutor().prepare(todos, spec, embedder)))

    def embed(self, windows: Iterable[Window], embedder: Embedder) -> Iterator[tuple[Window, np.ndarray]]:
        every = list(windows)
        for window in reversed(every):
            self.sent += window.texts
            yield window, HashingEmbedder(embedder.dimension).embed_documents(window.texts) if window.texts \
                else np.zeros((0, embedder.dimension), dtype=np.float32)


def _folder(root: Path, n: int = 12) -> Path:
    root.mkdir()
    for i in range(n):
        (root / f"f{i:02d}.txt").write_text(f"file {i} talks about topic {i % 4}. " * (i % 5 + 1))
    return root


def _rows(store: Store) -> list[tuple]:
    return sorted(store._conn.execute("SELECT id, source, text FROM chunks").fetchall())


def test_an_executor_that_reorders_everything_builds_the_same_index(tmp_path) -> None:
    folder = _folder(tmp_path / "docs")
    local = Store.create(tmp_path / "a", CONFIG)
    sync_folder(local, folder)
    other = Store.create(tmp_path / "b", CONFIG)
    executor = ReversedExecutor()
    report = sync_folder(other, folder, executor=executor)
    assert report.added == 12 and _rows(other) == _rows(local)
    query = local.embedder.embed_query("topic 3")
    assert [c.id for c, _ in other.dense_search(query, 5)] == [c.id for c, _ in local.dense_search(query, 5)]

    (folder / "f00.txt").rename(folder / "moved.txt")  # every vector of a rename is in the cache
    (folder / "f01.txt").write_text("file 1 talks about topic 1. A new sentence about otters.")
    executor.sent.clear()
    report = sync_folder(other, folder, executor=executor)
    assert (report.renamed, report.changed) == (1, 1)
    assert executor.sent and all("otters" in text for text in executor.sent)  # cache hits never sent
    local.close()
    other.close()


def test_apply_is_the_one_write_and_takes_a_plain_value(tmp_path) -> None:
    store = Store.create(tmp_path / "idx", CONFIG)
    assert store.apply(ChangeSet()).chunks_added == 0
    sync_folder(store, _folder(tmp_path / "docs", 3))
    applied = store.apply(ChangeSet(deleted=["f01.txt"]))
    assert applied.chunks_removed >= 1 and applied.chunks_added == 0
    assert {s for (s,) in store._conn.execute("SELECT source FROM files")} == {"f00.txt", "f02.txt"}
    store.close()


def test_a_file_whose_name_is_not_utf8_is_indexed_under_its_escaped_name(tmp_path) -> None:
    import os

    folder = tmp_path / "docs"
    folder.mkdir()
    with open(os.fsencode(str(folder)) + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"cafe au lait with hot milk\n")
    store = Store.create(tmp_path / "idx", CONFIG)
    assert sync_folder(store, folder).added == 1
    [(chunk, _)] = store.lexical_search("lait", 3)
    assert chunk.source == "caf\\xe9.txt" and chunk.title == "caf\\xe9"
    assert sync_folder(store, folder).unchanged == 1
    store.close()
