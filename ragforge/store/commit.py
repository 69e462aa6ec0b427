"""The commit protocol, and turning a ChangeSet into rows and vectors.

A new FAISS index is built in memory from a copy of the current one and written to
``vectors-<generation+1>.faiss`` (temporary name, fsync, rename); then ONE SQLite transaction deletes and
inserts rows (FTS5 follows by trigger), caches new vectors and names the new vector file; only after the commit
is the old vector file deleted. A crash at any point leaves the previous state or the new one loadable; stray
vector files are removed by the next writer (never by a reader).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.config import VectorConfig
from ragforge.errors import StoreError
from ragforge.store import ann, db, vectors
from ragforge.store.changeset import ChangeSet

WriteRows = Callable[[sqlite3.Connection], None]


def crash_point(name: str) -> None:
    """Test hook: exit at once when ``RAGFORGE_TEST_CRASH_AT`` names this point of the commit protocol
    (``after_vector_write``, ``before_commit``, ``after_commit_before_cleanup``)."""
    if os.environ.get("RAGFORGE_TEST_CRASH_AT") == name:
        os._exit(1)


def switch(path: Path, conn: sqlite3.Connection, index: Any, write_rows: WriteRows) -> str | None:
    """Write ``index`` (if any) as the next generation and commit ``write_rows`` naming it; its file name."""
    name, digest = "", ""
    generation = 0
    if index is not None:
        generation = int(db.get_meta(conn, "generation", "0") or 0) + 1
        name = vectors.vector_file_name(generation)
        digest = vectors.write(index, path / name)
        crash_point("after_vector_write")
    try:
        conn.execute("BEGIN IMMEDIATE")
        write_rows(conn)
        if index is not None:
            db.set_meta(conn, "vectors_file", name)
            db.set_meta(conn, "vectors_sha256", digest)
            db.set_meta(conn, "generation", generation)
        crash_point("before_commit")
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if name:
            (path / name).unlink(missing_ok=True)
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"could not write the index at {path}: {exc}") from exc
        raise
    crash_point("after_commit_before_cleanup")
    return name or None


@dataclass
class Rows:
    """A ChangeSet resolved against the database: the rows to delete and to insert, and their vectors."""

    replaced: list[str]
    old_ids: list[int]
    rows: list[tuple[int, Any, str]]
    vectors: np.ndarray | None
    next_rowid: int

    @property
    def ids(self) -> list[int]:
        return [rowid for rowid, _, _ in self.rows]


def resolve(conn: sqlite3.Connection, changes: ChangeSet, model_id: str, dimension: int) -> Rows:
    """Assign rowids to the new chunks and find every vector they need (from the change set, else the cache)."""
    replaced = [f.source for f in changes.files] + list(changes.deleted)
    needed = {h for f in changes.files for h in f.text_hashes}
    known = {h: v for h, v in changes.vectors.items() if h in needed}
    missing = sorted(needed - set(known))
    if missing:
        known.update(db.cached_vectors(conn, model_id, missing, dimension))
    lacking = needed - set(known)
    if lacking:
        raise StoreError(f"{len(lacking)} chunk texts have no vector in the change set or the embedding cache")
    bad = [h for h in needed if np.shape(known[h]) != (dimension,)]
    if bad:
        raise StoreError(f"{len(bad)} vectors of the change set are not of dimension {dimension}")
    next_rowid = int(db.get_meta(conn, "next_rowid", "1") or 1)
    rows, vecs = [], []
    for change in changes.files:
        for chunk, text_hash in zip(change.chunks, change.text_hashes, strict=True):
            rows.append((next_rowid, chunk, text_hash))
            vecs.append(known[text_hash])
            next_rowid += 1
    stacked = np.stack(vecs).astype(np.float32) if vecs else None
    return Rows(replaced, db.rowids_of_sources(conn, replaced), rows, stacked, next_rowid)


def next_index(current: Any, rows: Rows, config: VectorConfig, metric: str, exact: ann.ExactRows,
               trained_for: int) -> tuple[Any, int | None]:
    """``current`` with the replaced rows' vectors removed and the new ones added, in the configured form (None:
    no change); and the corpus size an ivf-pq index was trained for, when it was (see :mod:`ragforge.store.ann`)."""
    if not (rows.old_ids or rows.rows):
        return None, None
    return ann.next_index(current, rows.old_ids, rows.vectors, rows.ids, config, metric, exact, trained_for)


def row_writer(changes: ChangeSet, rows: Rows, model_id: str, trained_for: int | None = None) -> WriteRows:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    files = [(f.source, f.size, f.mtime_ns, f.content_hash, f.file_type, f.title, now) for f in changes.files]
    fresh = [(h, v) for h, v in changes.vectors.items() if h in changes.fresh]

    def write_rows(conn: sqlite3.Connection) -> None:
        db.delete_sources(conn, rows.replaced)
        db.upsert_files(conn, files)
        db.insert_chunks(conn, rows.rows)
        db.cache_vectors(conn, model_id, fresh)
        db.update_stats(conn, [(t.size, t.mtime_ns, t.source) for t in changes.touched])
        db.set_meta(conn, "next_rowid", rows.next_rowid)
        if changes.root is not None:
            db.set_meta(conn, "root", changes.root)
        if trained_for is not None:
            db.set_meta(conn, "vectors_trained_on", trained_for)

    return write_rows
