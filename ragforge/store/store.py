"""The on-disk index: manifest.json + ragforge.sqlite + vectors-<generation>.faiss in one folder.

Two paths. The read path (:meth:`Store.open`, the searches, :meth:`info`) never writes, never deletes a file
and never takes the write lock: SQLite is in WAL mode and ``meta.vectors_file`` names the FAISS file that
matches the committed rows, so a reader loads the file its snapshot names (see :mod:`ragforge.store.load`).
A reader that finds the vector file damaged uses vectors rebuilt in memory from the embedding cache.

The write path is :meth:`Store.writing` (the lock, then repair on disk and stray cleanup) and
:meth:`Store.apply`, the one atomic commit of a :class:`ChangeSet` (protocol in :mod:`ragforge.store.commit`).
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.config import IndexConfig, VectorConfig
from ragforge.embedding.base import Embedder
from ragforge.errors import IndexCorruptError, ModelMismatchError, StoreError
from ragforge.store import ann, commit, db, load, vectors
from ragforge.store.changeset import Applied, ChangeSet
from ragforge.store.layout import (
    cache_is_usable,
    check_model,
    embedder_for,
    index_size,
    initialise,
    rebuild_hint,
    rebuild_settings,
    spec_of,
    vector_config,
)
from ragforge.store.lexical import match_expression
from ragforge.store.lock import DEFAULT_LOCK_TIMEOUT, WriteLock
from ragforge.store.manifest import MANIFEST, Manifest, not_found, read_manifest
from ragforge.store.models import IndexInfo, Where
from ragforge.types import Chunk

logger = logging.getLogger("ragforge.store")
WhereLike = Where | dict[str, Any] | None


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """sqlite3 errors (a damaged database) become IndexCorruptError / IndexLockedError."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise db.translate(exc, self.path) from exc
        except db.ChunkMismatch as exc:
            raise IndexCorruptError(f"{exc}; {rebuild_hint(self.path)}") from exc

    return wrapper


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
        self.vector_config = vector_config(path, manifest)
        self._index: Any = None
        self._vectors_file = ""
        self._depth = 0  # nesting of writing()

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
        embedder = embedder or embedder_for(config.model, config.batch_size, config.precision)
        spec = spec_of(embedder, config.model)
        path.mkdir(parents=True, exist_ok=True)
        with WriteLock(path, lock_timeout):
            if cls.exists(path):
                if not exist_ok:
                    raise StoreError(f"an index already exists at {path}: open it, or {rebuild_hint(path)}")
            else:
                initialise(path, config, embedder, spec)
        return cls.open(path, embedder, lock_timeout=lock_timeout)

    @classmethod
    def open(cls, path: str | Path, embedder: Embedder | None = None, *,
             lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Store:
        """Open an existing index for reading (and for :meth:`writing`); without ``embedder`` one is made from
        the manifest's model. Checks the database (tables, ``quick_check`` when cheap), the manifest against
        the copy SQLite holds, and the vector file against its recorded checksum. Writes nothing."""
        path = Path(path).expanduser()
        if not cls.exists(path):
            raise not_found(path)
        if not (path / MANIFEST).is_file():
            raise IndexCorruptError(f"{path / MANIFEST} is missing; {rebuild_hint(path)}")
        conn = db.connect(path)
        try:
            db.check(conn, path)
            recorded = db.get_meta(conn, "manifest")
            manifest = read_manifest(path, recorded)
            if recorded is None:
                raise IndexCorruptError(f"the index database at {path} has no record of its manifest; "
                                        f"{rebuild_hint(path)}")
            if embedder is None:
                embedder = embedder_for(manifest.model, manifest.batch_size, manifest.precision)
            check_model(path, manifest, embedder)
            store = cls(path, manifest, embedder, conn, lock_timeout)
            store._load_for_reading()
        except sqlite3.Error as exc:
            conn.close()
            raise db.translate(exc, path) from exc
        except BaseException:
            conn.close()
            raise
        return store

    @staticmethod
    def exists(path: str | Path) -> bool:
        """Whether ``path`` holds an index (or what is left of one: its manifest or its database)."""
        path = Path(path).expanduser()
        return (path / MANIFEST).is_file() or (path / db.DB_FILE).exists()

    @staticmethod
    def rebuild(path: str | Path, *, model: str | None = None, embedder: Embedder | None = None,
                lock_timeout: float = DEFAULT_LOCK_TIMEOUT, precision: str | None = None,
                vectors: VectorConfig | None = None) -> IndexConfig:
        """Make the index at ``path`` empty again, keeping its settings (model, metric, chunking, precision,
        vector index; ``model``, ``precision`` and ``vectors`` replace theirs) and its embedding cache when the
        database is sound. Works on a damaged or older-format index too. Returns the settings used."""
        path = Path(path).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        with WriteLock(path, lock_timeout):
            config = rebuild_settings(path, model, precision)
            if vectors is not None:
                config = config.model_copy(update={"vectors": vectors})
            embedder = embedder or embedder_for(config.model, config.batch_size, config.precision)
            keep = cache_is_usable(path)
            if not keep and (path / db.DB_FILE).exists():
                logger.warning("%s: the database is damaged; its embedding cache cannot be kept", path)
            initialise(path, config, embedder, spec_of(embedder, config.model), keep_cache=keep)
        return config

    # -- the read path: never writes, deletes or locks --------------------------------------------------
    def _load_for_reading(self) -> None:
        got = load.load(self.path, self._conn, self.manifest.dimension)
        if isinstance(got, load.Problem):
            index = self._from_cache(got)
            logger.warning("%s: %s; searching vectors rebuilt in memory from the embedding cache (the next "
                           "`ragforge index` writes them to disk)", self.path, got.text)
            got = load.Loaded(index, got.name)
        ann.tune(got.index, self.vector_config)
        with self._mutex:
            self._index, self._vectors_file = got.index, got.name

    def _from_cache(self, problem: load.Problem) -> Any:
        if not problem.damaged_file:
            raise IndexCorruptError(f"the index at {self.path} is damaged: {problem.text}; "
                                    f"{rebuild_hint(self.path)}")
        m = self.manifest
        index, lacking = load.from_cache(self._conn, m.model_id, m.dimension, m.metric, self.vector_config)
        if lacking:
            raise IndexCorruptError(f"the index at {self.path} is damaged: {problem.text}, and {lacking} "
                                    f"chunks have no cached vector; {rebuild_hint(self.path)}")
        return index

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One SQLite read transaction whose snapshot names the vector file loaded in memory."""
        with self._mutex:
            conn = self._conn
            for _ in range(load.ATTEMPTS):
                if (db.get_meta(conn, "vectors_file") or "") != self._vectors_file:
                    self._load_for_reading()
                conn.execute("BEGIN")
                if (db.get_meta(conn, "vectors_file") or "") == self._vectors_file:
                    break
                conn.execute("COMMIT")  # a writer committed in between: load its file and try again
            else:
                conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    # -- the write path ---------------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock (waiting up to ``lock_timeout``) for a sync: plan, then :meth:`apply`.

        On entry the vector file is checked against SQLite; a damaged one is rebuilt on disk from the
        embedding cache (else IndexCorruptError), and stray files of interrupted writes are removed.
        Nested use in one thread is fine.
        """
        with self._mutex:
            if self._depth == 0:
                self._lock.acquire()
                try:
                    self._settle()
                except BaseException:
                    self._lock.release()
                    raise
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._lock.release()

    @_guarded
    def _settle(self) -> None:
        got = load.load(self.path, self._conn, self.manifest.dimension)
        if isinstance(got, load.Problem):
            index = self._from_cache(got)
            self._vectors_file = got.name
            self._commit(index, lambda conn: None)
            logger.warning("%s: %s; rebuilt the vectors from the embedding cache", self.path, got.text)
        else:
            self._index, self._vectors_file = got.index, got.name
        for stray in vectors.stray_files(self.path, self._vectors_file):
            vectors.remove_file(stray)

    def _commit(self, index: Any, write_rows: commit.WriteRows) -> None:
        old = self._vectors_file
        name = commit.switch(self.path, self._conn, index, write_rows)
        if name is not None:
            self._index, self._vectors_file = index, name
            if old and old != name:
                vectors.remove_file(self.path / old)

    @_guarded
    def apply(self, changes: ChangeSet) -> Applied:
        """Write ``changes`` in one crash-safe commit (taking the write lock if this store does not hold it)."""
        if changes.is_empty():
            return Applied()
        m = self.manifest
        with self.writing():
            rows = commit.resolve(self._conn, changes, m.model_id, m.dimension)
            trained_for = int(db.get_meta(self._conn, "vectors_trained_on", "0") or 0)
            index, trained = commit.next_index(self._index, rows, self.vector_config, m.metric, self._exact_rows,
                                               trained_for)
            self._commit(index, commit.row_writer(changes, rows, m.model_id, trained))
        return Applied(chunks_added=len(rows.rows), chunks_removed=len(rows.old_ids))

    def _exact_rows(self) -> tuple[np.ndarray, np.ndarray]:
        ids, stacked, lacking = load.exact_rows(self._conn, self.manifest.model_id, self.manifest.dimension)
        if lacking:
            raise IndexCorruptError(f"{lacking} chunks of the index at {self.path} have no cached vector to train "
                                    f"the ivf-pq index on; {rebuild_hint(self.path)}")
        return ids, stacked

    @_guarded
    def known_files(self) -> dict[str, db.FileRow]:
        """The indexed files' records (source -> size, mtime, content hash)."""
        with self._mutex:
            return db.files(self._conn)

    @property
    @_guarded
    def root(self) -> str | None:
        """The folder this index mirrors (absolute), if it was synced from one."""
        with self._mutex:
            return db.get_meta(self._conn, "root")

    @_guarded
    def cached_vectors(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors of the embedding cache for these chunk-text hashes (this index's model)."""
        wanted = list(hashes)
        if not wanted:
            return {}
        with self._mutex:
            return db.cached_vectors(self._conn, self.manifest.model_id, wanted, self.manifest.dimension)

    @_guarded
    def cache_keys(self) -> np.ndarray:
        """The embedding cache of this index's model as sorted uint64 keys (:func:`db.cache_key` of each
        chunk-text hash, 8 bytes a text): a membership filter small enough to ship to workers."""
        with self._mutex:
            return db.cache_keys(self._conn, self.manifest.model_id)

    # -- reading ----------------------------------------------------------------------------------------
    @_guarded
    def dense_search(self, vector: np.ndarray, k: int, where: WhereLike = None) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks nearest ``vector`` (score: inner product, or minus the L2 distance)."""
        where = Where.coerce(where)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.manifest.dimension:
            raise ModelMismatchError(f"a query vector of dimension {vector.shape[0]} for an index of "
                                     f"dimension {self.manifest.dimension} ({self.manifest.model_id})")
        if k <= 0:
            return []
        with self._reading() as conn:
            allowed = None
            if where is not None:
                allowed = db.filtered_rowids(conn, where.path, where.file_type)
                if not allowed:
                    return []
            if self._index.ntotal == 0:
                return []
            approximate = ann.form(self._index) == "ivf-pq"
            fetch = k * self.vector_config.rerank if approximate else k
            scores, ids = vectors.search(self._index, vector, fetch, allowed)
            pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
            if approximate:  # scored again with the exact vectors of the cache (on disk)
                m = self.manifest
                exact = db.vectors_by_rowid(conn, m.model_id, [i for i, _ in pairs], m.dimension)
                pairs = vectors.rescore(pairs, exact, vector, m.metric)[:k]
            chunks = db.chunks_by_rowid(conn, [i for i, _ in pairs])
        sign = 1.0 if self.manifest.metric == "ip" else -1.0
        return [(chunks[i], sign * s) for i, s in pairs if i in chunks]

    @_guarded
    def lexical_search(self, text: str, k: int, where: WhereLike = None) -> list[tuple[Chunk, float]]:
        """FTS5 BM25 over chunk text; score is ``-bm25`` (higher is better). Query syntax is never parsed."""
        where = Where.coerce(where)
        match = match_expression(text)
        if match is None or k <= 0:
            return []
        with self._mutex:
            self._conn.execute("BEGIN")
            try:
                ranked = db.lexical(self._conn, match, k, where.path if where else None,
                                    where.file_type if where else None)
                chunks = db.chunks_by_rowid(self._conn, [i for i, _ in ranked])
            finally:
                self._conn.execute("COMMIT")
        return [(chunks[i], s) for i, s in ranked if i in chunks]

    @_guarded
    def get_chunks(self, ids: Iterable[str]) -> list[Chunk]:
        """Chunks by id, in the order asked; unknown ids are left out."""
        wanted = list(ids)
        with self._mutex:
            found = db.chunks_by_id(self._conn, wanted)
        return [found[i] for i in wanted if i in found]

    @_guarded
    def info(self) -> IndexInfo:
        with self._mutex:
            files, chunks = db.counts(self._conn)
            root = db.get_meta(self._conn, "root")
            vector_info = self._vector_info()
        m = self.manifest
        return IndexInfo(path=str(self.path), root=root, model=m.model, model_id=m.model_id, dimension=m.dimension,
                         metric=m.metric, files=files, chunks=chunks, size_bytes=index_size(self.path),
                         format_version=m.format_version, created_at=m.created_at,
                         ragforge_version=m.ragforge_version, chunking=m.chunking, embedder=m.embedder,
                         vectors=vector_info)

    def _vector_info(self) -> dict[str, Any]:
        index, config = self._index, self.vector_config
        now: dict[str, Any] = {"kind": config.kind, "form": ann.form(index)}
        if now["form"] == "ivf-pq":
            now.update(nlist=index.nlist, m=index.pq.M, nprobe=index.nprobe,
                       trained_for=int(db.get_meta(self._conn, "vectors_trained_on", "0") or 0))
        return now

    def close(self) -> None:
        with self._mutex:
            self._depth = 0
            self._lock.release()
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Store"]
