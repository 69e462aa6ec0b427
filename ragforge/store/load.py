"""Loading the vector file that SQLite names, without writing anything.

The name of the current vector file and the chunk rowids are read in one SQLite read transaction; the file
is then read whole through one open handle, so a writer that deletes it a moment later does not disturb us.
A file that is gone (or fails its checks) while SQLite already names a newer one was replaced by a commit:
read the snapshot again. Only when SQLite still names it is the vector file damaged.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.config import VectorConfig
from ragforge.errors import IndexCorruptError
from ragforge.store import ann, db, vectors

ATTEMPTS = 20  # snapshots to try while writers keep committing


@dataclass
class Loaded:
    index: Any
    name: str


@dataclass
class Problem:
    """Why the vector file named by SQLite cannot be used as it is."""

    name: str
    text: str
    damaged_file: bool  # the file itself (missing, unreadable, checksum): rebuildable from the cache


def _snapshot(conn: sqlite3.Connection) -> tuple[str, str, np.ndarray]:
    conn.execute("BEGIN")
    try:
        name = db.get_meta(conn, "vectors_file") or ""
        digest = db.get_meta(conn, "vectors_sha256") or ""
        rowids = np.fromiter((r[0] for r in conn.execute("SELECT rowid FROM chunks")), np.int64)
    finally:
        conn.execute("COMMIT")
    return name, digest, rowids


def load(path: Path, conn: sqlite3.Connection, dimension: int) -> Loaded | Problem:
    """The index SQLite names, checked against the chunk rows, or the problem found."""
    found: Loaded | Problem = Problem("", "no vector file is named", True)
    for _ in range(ATTEMPTS):
        name, digest, rowids = _snapshot(conn)
        found = _load_named(path, name, digest, rowids, dimension)
        if isinstance(found, Loaded) or (db.get_meta(conn, "vectors_file") or "") == name:
            return found
    return found


def _load_named(path: Path, name: str, digest: str, rowids: np.ndarray, dimension: int) -> Loaded | Problem:
    if not name or not vectors.VECTOR_FILE.match(name):
        return Problem(name, f"the vector file name {name!r} recorded in {db.DB_FILE} is not valid", True)
    file = path / name
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return Problem(name, f"the vector file {name} named by {db.DB_FILE} is missing", True)
    except OSError as exc:
        return Problem(name, f"the vector file {name} cannot be read ({exc.strerror or exc})", True)
    if hashlib.sha256(data).hexdigest() != digest:
        return Problem(name, f"the vector file {name} does not match the checksum recorded with it", True)
    try:
        index = vectors.deserialize(data, dimension, file)
    except IndexCorruptError as exc:
        return Problem(name, str(exc), True)
    same_ids = np.array_equal(np.sort(vectors.ids_of(index)), np.sort(rowids))
    if index.ntotal != len(rowids) or not same_ids:  # a sound vector file: the chunk rows were altered
        return Problem(name, f"{name} holds {index.ntotal} vectors but the database has {len(rowids)} chunks",
                       False)
    return Loaded(index, name)


def exact_rows(conn: sqlite3.Connection, model_id: str, dimension: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(rowids, vectors) of every chunk row whose text the embedding cache holds, and how many it lacks."""
    rows = db.chunk_hashes(conn)
    cached = db.cached_vectors(conn, model_id, sorted({h for _, h in rows}), dimension)
    found = [(r, h) for r, h in rows if h in cached]
    ids = np.asarray([r for r, _ in found], dtype=np.int64)
    stacked = np.stack([cached[h] for _, h in found]) if found else np.zeros((0, dimension), np.float32)
    return ids, stacked, len(rows) - len(found)


def from_cache(conn: sqlite3.Connection, model_id: str, dimension: int, metric: str,
               config: VectorConfig) -> tuple[Any, int]:
    """A vector index of the configured form rebuilt from the embedding cache for every chunk row; and how
    many chunks lacked a cached vector (then the index is empty)."""
    ids, stacked, lacking = exact_rows(conn, model_id, dimension)
    if lacking:
        return vectors.new_index(dimension, metric, config), lacking
    return ann.build(stacked, ids, dimension, metric, config), 0
