"""Convergence: after any sequence of edits, deletions, truncations, binary overwrites, FIFOs and renames,
some made in the middle of a sync (between its plan and its reading), one more sync leaves the index equal to
a clean build of the same folder. Property-tested with hypothesis."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragforge.config import ChunkingConfig, IndexConfig
from ragforge.embedding.base import Embedder
from ragforge.ingest import ChunkSpec, Failed, LocalExecutor, Prepared, sync_folder
from ragforge.ingest.plan import Todo
from ragforge.store import Store
from ragforge.store import vectors as vector_files

CONFIG = IndexConfig(model="hashing:16", chunking=ChunkingConfig(max_tokens=10, overlap_tokens=0))
NAMES = ["a.txt", "b.md", "sub/c.txt", "sub/d.html", "e.txt"]
WORDS = ["otter", "kestrel", "walrus", "beaver", "lemur", "heron", "badger", "marten"]

text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join)
operation = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(NAMES), text),
    st.tuples(st.just("empty"), st.sampled_from(NAMES), st.just("")),
    st.tuples(st.just("binary"), st.sampled_from(NAMES), st.just("")),
    st.tuples(st.just("delete"), st.sampled_from(NAMES), st.just("")),
    st.tuples(st.just("fifo"), st.sampled_from(NAMES), st.just("")),
    st.tuples(st.just("rename"), st.sampled_from(NAMES), st.sampled_from(NAMES)),
)
step = st.one_of(st.tuples(st.just("op"), operation), st.tuples(st.just("sync"), st.lists(operation, max_size=3)))


def _apply(folder: Path, op: tuple[str, str, str]) -> None:
    kind, name, arg = op
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "rename":
        if path.is_file() and not path.is_symlink() and name != arg:
            target = folder / arg
            target.parent.mkdir(parents=True, exist_ok=True)  # "a.txt" -> "sub/c.txt" before sub/ exists
            if target.exists() or target.is_symlink():
                target.unlink()
            path.rename(target)
        return
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "write":
        path.write_text(f"{arg}\n" if not name.endswith(".html") else f"<p>{arg}</p>")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "binary":
        path.write_bytes(b"\x00\x01\x02\x03 binary " * 20)
    elif kind == "fifo":
        os.mkfifo(path)


class MeddlingExecutor(LocalExecutor):
    """Applies edits to the folder after the plan was made and before the first file is read."""

    def __init__(self, folder: Path, ops: list) -> None:
        self.folder, self.ops = folder, ops

    def prepare(self, todos: Iterable[Todo], spec: ChunkSpec, embedder: Embedder) -> Iterator[Prepared | Failed]:
        for op in self.ops:
            _apply(self.folder, op)
        yield from super().prepare(todos, spec, embedder)


def _state(store: Store) -> tuple:
    conn = store._conn
    chunks = sorted(conn.execute("SELECT id, source, ordinal, text, file_type FROM chunks").fetchall())
    files = sorted(conn.execute("SELECT source, content_hash FROM files").fetchall())
    rowids = sorted(r[0] for r in conn.execute("SELECT rowid FROM chunks"))
    assert sorted(vector_files.ids_of(store._index).tolist()) == rowids
    query = store.embedder.embed_query("otter walrus heron")
    hits = [(c.id, round(s, 5)) for c, s in store.dense_search(query, 50)]
    return chunks, files, sorted(hits)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=st.lists(st.tuples(st.sampled_from(NAMES), text), min_size=1, max_size=5),
       steps=st.lists(step, max_size=8))
def test_one_more_sync_equals_a_clean_build(initial, steps) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for name, words in initial:
            _apply(folder, ("write", name, words))
        store = Store.create(Path(tmp) / "idx", CONFIG)
        sync_folder(store, folder)
        for kind, payload in steps:
            if kind == "op":
                _apply(folder, payload)
            else:
                sync_folder(store, folder, executor=MeddlingExecutor(folder, payload))
        sync_folder(store, folder)
        clean = Store.create(Path(tmp) / "clean", CONFIG)
        sync_folder(clean, folder)
        assert _state(store) == _state(clean)
        again = sync_folder(store, folder)
        assert not again.changed_anything and again.chunks_added == 0
        store.close()
        clean.close()


def test_an_edit_in_the_same_mtime_tick_as_the_walk_is_caught_by_the_next_sync(tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("otter otter otter\n")
    stat = (folder / "a.txt").stat()

    class SameTick(LocalExecutor):  # same size, same mtime: only the bytes differ
        def prepare(self, todos, spec, embedder):
            (folder / "a.txt").write_text("heron heron heron\n")
            os.utime(folder / "a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
            yield from super().prepare(todos, spec, embedder)

    store = Store.create(tmp_path / "idx", CONFIG)
    sync_folder(store, folder, executor=SameTick())
    (folder / "a.txt").write_text("lemur lemur lemur\n")
    os.utime(folder / "a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert sync_folder(store, folder).changed == 1
    assert [c.text for c, _ in store.lexical_search("lemur", 3)] == ["lemur lemur lemur"]
    store.close()
