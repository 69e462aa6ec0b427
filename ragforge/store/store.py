"""The on-disk index: manifest.json + ragforge.sqlite + vectors-<generation>.faiss in one folder.

Readers never lock: SQLite is in WAL mode and ``meta.vectors_file`` names the FAISS file that matches the
committed rows, so a reader opens the file named in its snapshot (retrying if a writer just swapped it).
Writers take ``write.lock`` (see :mod:`ragforge.store.lock`). On open, the vector file must hold exactly the
chunks' rowids; if it is missing or disagrees, the vectors are rebuilt from the embedding cache when every
chunk's vector is cached, else :class:`IndexCorruptError` says to rebuild.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.config import IndexConfig, WalkConfig
from ragforge.embedding.base import Embedder
from ragforge.errors import ConfigError, IndexCorruptError, ModelMismatchError, StoreError
from ragforge.readers import walk as walk_folder
from ragforge.store import db, vectors
from ragforge.store.lexical import match_expression
from ragforge.store.layout import (check_model, embedder_for, index_size, initialise, rebuild_hint,
                                   remove_index_files, spec_of)
from ragforge.store.lock import DEFAULT_LOCK_TIMEOUT, WriteLock
from ragforge.store.manifest import MANIFEST, Manifest, not_found, read_manifest
from ragforge.store.models import IndexInfo, SyncReport, Where
from ragforge.store.sync import Item, make_plan
from ragforge.store.writer import Progress, SyncRun
from ragforge.types import Chunk, Document

logger = logging.getLogger("ragforge.store")
WhereLike = Where | dict[str, Any] | None


def crash_point(name: str) -> None:
    """Test hook: exit at once when ``RAGFORGE_TEST_CRASH_AT`` names this point of the commit protocol
    (``after_vector_write``, ``before_commit``, ``after_commit_before_cleanup``)."""
    if os.environ.get("RAGFORGE_TEST_CRASH_AT") == name:
        os._exit(1)


class Store:
    """An open index. Use :meth:`create` or :meth:`open`; close it (or use ``with``)."""

    def __init__(self, path: Path, manifest: Manifest, embedder: Embedder, conn: sqlite3.Connection,
                 lock_timeout: float) -> None:
        self.path = path
        self.manifest = manifest
        self.embedder = embedder
        self.lock_timeout = lock_timeout
        self._conn = conn
        self._mutex = threading.RLock()
        self._lock = WriteLock(path, lock_timeout)
        self._index: Any = None
        self._vectors_file = ""

    # -- creating and opening ---------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, config: IndexConfig | None = None, embedder: Embedder | None = None, *,
               lock_timeout: float = DEFAULT_LOCK_TIMEOUT, exist_ok: bool = False) -> Store:
        """A new, empty index at ``path`` (a folder, created if needed).

        If an index is already there: open it when ``exist_ok`` (two processes creating at once both end up
        with the one index), else StoreError.
        """
        path = Path(path).expanduser()
        config = config or IndexConfig()
        embedder = embedder or embedder_for(config.model, config.batch_size)
        spec = spec_of(embedder, config.model)
        path.mkdir(parents=True, exist_ok=True)
        with WriteLock(path, lock_timeout):
            if (path / MANIFEST).exists():
                if not exist_ok:
                    raise StoreError(f"an index already exists at {path}: open it, or {rebuild_hint(path)}")
            else:
                initialise(path, config, embedder, spec)
        return cls.open(path, embedder, lock_timeout=lock_timeout)

    @classmethod
    def open(cls, path: str | Path, embedder: Embedder | None = None, *,
             lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Store:
        """Open an existing index; without ``embedder`` one is made from the manifest's model."""
        path = Path(path).expanduser()
        if not (path / MANIFEST).is_file():
            raise not_found(path)
        manifest = read_manifest(path)
        if embedder is None:
            embedder = embedder_for(manifest.model, manifest.batch_size)
        check_model(path, manifest, embedder)
        store = cls(path, manifest, embedder, db.connect(path), lock_timeout)
        try:
            store._load()
        except BaseException:
            store.close()
            raise
        return store

    @staticmethod
    def exists(path: str | Path) -> bool:
        return (Path(path).expanduser() / MANIFEST).is_file()

    @staticmethod
    def destroy(path: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        """Delete the index files at ``path`` (only ragforge's own files), holding the write lock."""
        path = Path(path).expanduser()
        if not path.is_dir():
            return
        with WriteLock(path, lock_timeout):
            remove_index_files(path)

    # -- loading vectors --------------------------------------------------------------------------------
    def _snapshot(self) -> tuple[str, np.ndarray]:
        """The vector file named by SQLite and the chunk rowids, read in one transaction."""
        with self._mutex:
            self._conn.execute("BEGIN")
            try:
                name = db.get_meta(self._conn, "vectors_file") or ""
                rowids = np.fromiter((r[0] for r in self._conn.execute("SELECT rowid FROM chunks")), np.int64)
            finally:
                self._conn.execute("COMMIT")
        return name, rowids

    def _try_load(self, attempts: int = 5) -> str | None:
        """Load the named vector file; the problem found, or None when loaded and consistent."""
        for attempt in range(attempts):
            name, rowids = self._snapshot()
            file = self.path / name
            if not name or not file.exists():
                if attempt + 1 < attempts:
                    time.sleep(0.02 * (attempt + 1))  # a writer may have just swapped files
                continue
            index = vectors.read(file, self.manifest.dimension)
            same_ids = np.array_equal(np.sort(vectors.ids_of(index)), np.sort(rowids))
            if index.ntotal != len(rowids) or not same_ids:
                return f"{file.name} holds {index.ntotal} vectors but SQLite has {len(rowids)} chunks"
            with self._mutex:
                self._index, self._vectors_file = index, name
            return None
        return f"the vector file {name or '(none)'} named by {db.DB_FILE} is missing"

    def _load(self) -> None:
        problem = self._try_load()
        if problem is not None:
            self._repair(problem)
        if self._lock.try_acquire():
            try:
                self._remove_strays()
            finally:
                self._lock.release()

    def _repair(self, problem: str) -> None:
        """Rebuild the vector file from the embedding cache, or raise IndexCorruptError."""
        with self._writing(check=False):
            if self._try_load(attempts=1) is None:
                return  # another writer repaired it meanwhile
            rows = db.chunk_hashes(self._conn)
            cached = db.cached_vectors(self._conn, self.manifest.model_id, sorted({h for _, h in rows}),
                                       self.manifest.dimension)
            lacking = sum(1 for _, h in rows if h not in cached)
            if lacking:
                raise IndexCorruptError(f"the index at {self.path} is inconsistent: {problem}, and {lacking} "
                                        f"chunks have no cached vector; {rebuild_hint(self.path)}")
            index = vectors.new_index(self.manifest.dimension, self.manifest.metric)
            if rows:
                vectors.add(index, np.stack([cached[h] for _, h in rows]), [r for r, _ in rows])
            self._switch(index, lambda conn: None)
            logger.warning("%s: %s; rebuilt the vectors from the embedding cache", self.path, problem)

    def _remove_strays(self) -> None:
        for stray in vectors.stray_files(self.path, self._vectors_file):
            stray.unlink(missing_ok=True)

    def _refresh(self) -> None:
        """Reload the vectors if another process committed a new generation since we loaded."""
        with self._mutex:
            name = db.get_meta(self._conn, "vectors_file")
            if name != self._vectors_file:
                problem = self._try_load()
                if problem is not None:
                    raise IndexCorruptError(f"{problem}; reopen the index")

    # -- writing ----------------------------------------------------------------------------------------
    @contextmanager
    def _writing(self, *, check: bool = True) -> Iterator[None]:
        with self._mutex:
            self._lock.acquire()
            try:
                if check and db.get_meta(self._conn, "vectors_file") != self._vectors_file:
                    problem = self._try_load()
                    if problem is not None:
                        raise IndexCorruptError(f"{problem}; {rebuild_hint(self.path)}")
                self._remove_strays()
                yield
            finally:
                self._lock.release()

    def _switch(self, index: Any, write_rows: Callable[[sqlite3.Connection], None]) -> None:
        """The commit protocol: new vector file beside the old, one transaction names it, then cleanup."""
        conn, old = self._conn, self._vectors_file
        name = ""
        if index is not None:
            generation = int(db.get_meta(conn, "generation", "0") or 0) + 1
            name = vectors.vector_file_name(generation)
            vectors.write(index, self.path / name)
            crash_point("after_vector_write")
        try:
            conn.execute("BEGIN IMMEDIATE")
            write_rows(conn)
            if index is not None:
                db.set_meta(conn, "vectors_file", name)
                db.set_meta(conn, "generation", generation)
            crash_point("before_commit")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if name:
                (self.path / name).unlink(missing_ok=True)
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"could not write the index at {self.path}: {exc}") from exc
            raise
        crash_point("after_commit_before_cleanup")
        if index is not None:
            self._index, self._vectors_file = index, name
            if old and old != name:
                (self.path / old).unlink(missing_ok=True)

    def _apply(self, *, old_ids: list[int], ids: list[int], vecs: list[np.ndarray], replaced: list[str],
               files: list[tuple], rows: list[tuple], new_vectors: list[tuple[str, np.ndarray]],
               stats: list[tuple[int, int, str]], next_rowid: int) -> None:
        index = None
        if old_ids or ids:
            index = vectors.clone(self._index)
            vectors.remove(index, old_ids)
            if ids:
                vectors.add(index, np.stack(vecs), ids)

        def write_rows(conn: sqlite3.Connection) -> None:
            db.delete_sources(conn, replaced)
            db.upsert_files(conn, files)
            db.insert_chunks(conn, rows)
            db.cache_vectors(conn, self.manifest.model_id, new_vectors)
            db.update_stats(conn, stats)
            db.set_meta(conn, "next_rowid", next_rowid)

        self._switch(index, write_rows)

    def _cached(self, hashes: list[str]) -> dict[str, np.ndarray]:
        if not hashes:
            return {}
        return db.cached_vectors(self._conn, self.manifest.model_id, hashes, self.manifest.dimension)

    @property
    def chunk_tokens(self) -> int:
        return int(self.manifest.chunking.get("max_tokens") or self.embedder.max_tokens)

    @property
    def overlap_tokens(self) -> int:
        return min(int(self.manifest.chunking.get("overlap_tokens", 0)), self.chunk_tokens // 2)

    # -- syncing ----------------------------------------------------------------------------------------
    def sync_folder(self, folder: str | Path, walk: WalkConfig | None = None,
                    progress: Progress | None = None, *, retarget: bool = False) -> SyncReport:
        """Bring the index in step with ``folder``: add new files, re-embed changed ones, drop gone ones.

        An index mirrors one folder. Syncing another one would remove every file indexed from the first, so
        it raises :class:`ConfigError` unless ``retarget`` says the folder moved or should replace the old one.
        """
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a folder")
        root = str(folder.resolve())
        with self._writing():
            indexed = db.files(self._conn)
            known = db.get_meta(self._conn, "root")
            if known and known != root and indexed and not retarget:
                raise ConfigError(
                    f"the index at {self.path} mirrors {known} ({len(indexed)} files); syncing {root} would "
                    f"remove them from it. Give this folder its own index (--index PATH), or pass --retarget "
                    f"(Python: retarget=True) if the folder moved or should replace the old one: unchanged "
                    f"text takes its embeddings from the cache")
            found = walk_folder(folder, walk or WalkConfig())
            items = [Item(e.source, e.size, e.mtime_ns, path=e.path) for e in found.files]
            protected = frozenset(s.source for s in found.skipped if s.reason != "vanished")
            plan = make_plan(items, indexed, protected=protected)
            report = SyncRun(self, plan, len(items), progress, walk_skipped=found.skipped).run()
            if known != root:
                db.set_meta(self._conn, "root", root)  # autocommit, after the sync's own commit
            return report

    def sync_documents(self, docs: Iterable[Document], *, delete_missing: bool = True,
                       progress: Progress | None = None) -> SyncReport:
        """The same for in-memory documents keyed by ``Document.source`` (e.g. a BEIR corpus)."""
        by_source = {doc.source: doc for doc in docs}
        items = [Item(doc.source, len(doc.text), 0, document=doc) for doc in by_source.values()]
        with self._writing():
            plan = make_plan(items, db.files(self._conn), delete_missing=delete_missing)
            return SyncRun(self, plan, len(items), progress).run()

    # -- reading ----------------------------------------------------------------------------------------
    def dense_search(self, vector: np.ndarray, k: int, where: WhereLike = None) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks nearest ``vector`` (score: inner product, or minus the L2 distance)."""
        where = Where.coerce(where)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.manifest.dimension:
            raise ModelMismatchError(f"a query vector of dimension {vector.shape[0]} for an index of "
                                     f"dimension {self.manifest.dimension} ({self.manifest.model_id})")
        if k <= 0:
            return []
        with self._mutex:
            self._refresh()
            allowed = None
            if where is not None:
                allowed = db.filtered_rowids(self._conn, where.path, where.file_type)
                if not allowed:
                    return []
            if self._index.ntotal == 0:
                return []
            scores, ids = vectors.search(self._index, vector, k, allowed)
            pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
            chunks = db.chunks_by_rowid(self._conn, [i for i, _ in pairs])
        sign = 1.0 if self.manifest.metric == "ip" else -1.0
        return [(chunks[i], sign * s) for i, s in pairs if i in chunks]

    def lexical_search(self, text: str, k: int, where: WhereLike = None) -> list[tuple[Chunk, float]]:
        """FTS5 BM25 over chunk text; score is ``-bm25`` (higher is better). Query syntax is never parsed."""
        where = Where.coerce(where)
        match = match_expression(text)
        if match is None or k <= 0:
            return []
        with self._mutex:
            ranked = db.lexical(self._conn, match, k, where.path if where else None,
                                where.file_type if where else None)
            chunks = db.chunks_by_rowid(self._conn, [i for i, _ in ranked])
        return [(chunks[i], s) for i, s in ranked if i in chunks]

    def get_chunks(self, ids: Iterable[str]) -> list[Chunk]:
        """Chunks by id, in the order asked; unknown ids are left out."""
        wanted = list(ids)
        with self._mutex:
            found = db.chunks_by_id(self._conn, wanted)
        return [found[i] for i in wanted if i in found]

    def info(self) -> IndexInfo:
        with self._mutex:
            files, chunks = db.counts(self._conn)
        m = self.manifest
        return IndexInfo(path=str(self.path), model=m.model, model_id=m.model_id, dimension=m.dimension,
                         metric=m.metric, files=files, chunks=chunks, size_bytes=index_size(self.path),
                         format_version=m.format_version, created_at=m.created_at,
                         ragforge_version=m.ragforge_version, chunking=m.chunking)

    @property
    def vector_count(self) -> int:
        return int(self._index.ntotal) if self._index is not None else 0

    def close(self) -> None:
        with self._mutex:
            self._lock.release()
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Store", "crash_point"]
