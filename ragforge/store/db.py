"""``ragforge.sqlite``: the schema and every query. WAL mode; commits with synchronous=FULL.

Tables: ``files`` (one row per source), ``chunks`` (rowid = FAISS id), ``chunks_fts`` (FTS5, external content
on ``chunks``, kept in step by triggers inside the same transaction), ``embeddings`` (the cache, keyed by
model id and chunk-text hash) and ``meta`` (``vectors_file`` and its ``vectors_sha256``, ``generation``,
``next_rowid``, ``root``, and ``manifest``: the exact text of manifest.json, written in the same transaction
that creates the index, so a manifest edited or damaged on disk is detected on open).

Every sqlite3 error a damaged file can cause is translated by :func:`translate` into one of ours.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.errors import IndexCorruptError, IndexLockedError, StoreError
from ragforge.readers import glob_match
from ragforge.types import Chunk, content_hash

DB_FILE = "ragforge.sqlite"
_BATCH = 500  # ids per IN (...) list
QUICK_CHECK_MAX_BYTES = 256 * 1024 * 1024  # quick_check on open below this size (0.3 s per 100 MB)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, content_hash TEXT NOT NULL,
    file_type TEXT, title TEXT, indexed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, ordinal INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, page INTEGER, heading_path TEXT NOT NULL,
    file_type TEXT NOT NULL, title TEXT, text TEXT NOT NULL, text_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_hash)) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
"""

CHUNK_COLUMNS = ("rowid, id, source, ordinal, char_start, char_end, page, heading_path, file_type, title, text, "
                 "text_hash")
TABLES = ("meta", "files", "chunks", "embeddings", "chunks_fts")


class ChunkMismatch(IndexCorruptError):
    """A chunk row whose text is not the text its hash was made from (the Store adds which index)."""


def rebuild_hint(path: Path) -> str:
    return f"rebuild it with `ragforge index DIR --index {path} --rebuild`"


def translate(exc: sqlite3.Error, path: Path) -> StoreError:
    """One of our errors for a sqlite3 error: busy -> IndexLockedError, anything else -> IndexCorruptError."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return IndexLockedError(f"the index database at {path} is busy ({text}); try again, or pass a longer "
                                f"--lock-timeout")
    return IndexCorruptError(f"the index database {path / DB_FILE} is damaged ({text}); {rebuild_hint(path)}")


@dataclass(frozen=True)
class FileRow:
    source: str
    size: int
    mtime_ns: int
    content_hash: str


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """A connection; opening for reading writes nothing (WAL mode is a property of the file)."""
    file = path / DB_FILE
    if not create and not file.is_file():
        raise IndexCorruptError(f"{file} is missing; {rebuild_hint(path)}")
    conn = None
    try:
        conn = sqlite3.connect(file, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA synchronous=FULL")
        conn.create_function("rf_glob", 2, _glob, deterministic=True)
        if create:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise translate(exc, path) from exc
    return conn


def check(conn: sqlite3.Connection, path: Path) -> None:
    """Raise IndexCorruptError unless every table is there and (when the file is small enough to make it
    cheap) ``PRAGMA quick_check`` passes."""
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
        missing = [t for t in TABLES if t not in names]
        if missing:
            raise IndexCorruptError(f"the index database {path / DB_FILE} lacks the table(s) {', '.join(missing)}; "
                                    f"{rebuild_hint(path)}")
        if (path / DB_FILE).stat().st_size <= QUICK_CHECK_MAX_BYTES:
            result = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
            if result != ["ok"]:
                raise IndexCorruptError(f"the index database {path / DB_FILE} fails its integrity check "
                                        f"({'; '.join(result)[:200]}); {rebuild_hint(path)}")
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc

def reset(conn: sqlite3.Connection) -> None:
    """Drop every table but the embedding cache, then create the schema again (a rebuild keeps the cache)."""
    conn.executescript("""
        DROP TRIGGER IF EXISTS chunks_fts_insert; DROP TRIGGER IF EXISTS chunks_fts_delete;
        DROP TABLE IF EXISTS chunks_fts; DROP TABLE IF EXISTS chunks; DROP TABLE IF EXISTS files;
        DROP TABLE IF EXISTS meta;
    """)
    conn.executescript(SCHEMA)


def _glob(pattern: str | None, source: str | None) -> bool:
    return bool(pattern and source is not None and glob_match(pattern, source))


def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: str | int) -> None:
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))


def files(conn: sqlite3.Connection) -> dict[str, FileRow]:
    rows = conn.execute("SELECT source, size, mtime_ns, content_hash FROM files")
    return {row[0]: FileRow(*row) for row in rows}


def counts(conn: sqlite3.Connection) -> tuple[int, int]:
    files_n = conn.execute("SELECT count(*) FROM files").fetchone()[0]
    chunks_n = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    return files_n, chunks_n


def _batches(items: Sequence, size: int = _BATCH) -> Iterator[Sequence]:
    for begin in range(0, len(items), size):
        yield items[begin:begin + size]


def rowids_of_sources(conn: sqlite3.Connection, sources: Sequence[str]) -> list[int]:
    out: list[int] = []
    for part in _batches(list(sources)):
        marks = ",".join("?" * len(part))
        out += [r[0] for r in conn.execute(f"SELECT rowid FROM chunks WHERE source IN ({marks})", part)]
    return out


def delete_sources(conn: sqlite3.Connection, sources: Sequence[str]) -> None:
    """Drop the files' rows and their chunks (the FTS rows go with them, by trigger)."""
    for part in _batches(list(sources)):
        marks = ",".join("?" * len(part))
        conn.execute(f"DELETE FROM chunks WHERE source IN ({marks})", part)
        conn.execute(f"DELETE FROM files WHERE source IN ({marks})", part)


def upsert_files(conn: sqlite3.Connection, rows: Iterable[tuple]) -> None:
    """Rows of (source, size, mtime_ns, content_hash, file_type, title, indexed_at)."""
    conn.executemany("INSERT OR REPLACE INTO files(source, size, mtime_ns, content_hash, file_type, title, "
                     "indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def update_stats(conn: sqlite3.Connection, rows: Iterable[tuple[int, int, str]]) -> None:
    """Rows of (size, mtime_ns, source): a touched file whose content did not change."""
    conn.executemany("UPDATE files SET size = ?, mtime_ns = ? WHERE source = ?", rows)


def insert_chunks(conn: sqlite3.Connection, rows: list[tuple[int, Chunk, str]]) -> None:
    """Rows of (rowid, chunk, text_hash)."""
    conn.executemany(
        "INSERT INTO chunks(rowid, id, source, ordinal, char_start, char_end, page, heading_path, file_type, "
        "title, text, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(rowid, c.id, c.source, c.ordinal, c.start, c.end, c.page, json.dumps(list(c.heading_path)),
          c.file_type, c.title, c.text, text_hash) for rowid, c, text_hash in rows])


def cached_vectors(conn: sqlite3.Connection, model_id: str, hashes: Sequence[str],
                   dimension: int) -> dict[str, np.ndarray]:
    return _vectors_where(conn, "SELECT text_hash, vector FROM embeddings WHERE model_id = ? AND text_hash IN "
                          "({marks})", model_id, list(hashes), dimension)


def _vectors_where(conn: sqlite3.Connection, query: str, model_id: str, keys: list[Any],
                   dimension: int) -> dict[Any, np.ndarray]:
    """``{key: vector}`` from ``query`` (its ``{marks}`` filled with one ``?`` per key, in batches) for the
    stored vectors of ``dimension`` (a vector of another size is left out)."""
    found: dict[Any, np.ndarray] = {}
    for part in _batches(keys):
        for key, blob in conn.execute(query.format(marks=",".join("?" * len(part))), (model_id, *part)):
            vector = np.frombuffer(blob, dtype=np.float32)
            if vector.shape == (dimension,):
                found[key] = vector
    return found


def cache_key(text_hash: str) -> int:
    """The first 64 bits of a chunk-text hash (a compact key for membership filters)."""
    return int(text_hash[:16], 16)


def cache_keys(conn: sqlite3.Connection, model_id: str) -> np.ndarray:
    rows = conn.execute("SELECT text_hash FROM embeddings WHERE model_id = ?", (model_id,))
    return np.sort(np.fromiter((cache_key(h) for (h,) in rows), dtype=np.uint64))


def cache_vectors(conn: sqlite3.Connection, model_id: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
    conn.executemany("INSERT OR IGNORE INTO embeddings(model_id, text_hash, vector) VALUES (?, ?, ?)",
                     [(model_id, h, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for h, v in items])


def vectors_by_rowid(conn: sqlite3.Connection, model_id: str, rowids: Sequence[int],
                     dimension: int) -> dict[int, np.ndarray]:
    """The cached (exact) vectors of these chunk rows."""
    return _vectors_where(conn, "SELECT c.rowid, e.vector FROM chunks c JOIN embeddings e ON e.model_id = ? AND "
                          "e.text_hash = c.text_hash WHERE c.rowid IN ({marks})", model_id, list(rowids), dimension)


def chunk_hashes(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return conn.execute("SELECT rowid, text_hash FROM chunks ORDER BY rowid").fetchall()


def _row_to_chunk(row: tuple) -> Chunk:
    _, cid, source, ordinal, start, end, page, heading, file_type, title, text, text_hash = row
    if content_hash(text) != text_hash:
        raise ChunkMismatch(f"the text of chunk {cid} ({source}) does not match its recorded hash: the index "
                            f"database was altered or damaged")
    return Chunk(id=cid, source=source, text=text, start=start, end=end, ordinal=ordinal, page=page,
                 heading_path=tuple(json.loads(heading)), file_type=file_type, title=title)


def chunks_by_rowid(conn: sqlite3.Connection, rowids: Sequence[int]) -> dict[int, Chunk]:
    out: dict[int, Chunk] = {}
    for part in _batches([int(r) for r in rowids]):
        marks = ",".join("?" * len(part))
        for row in conn.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE rowid IN ({marks})", part):
            out[row[0]] = _row_to_chunk(row)
    return out


def chunks_by_id(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Chunk]:
    out: dict[str, Chunk] = {}
    for part in _batches(list(ids)):
        marks = ",".join("?" * len(part))
        for row in conn.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", part):
            out[row[1]] = _row_to_chunk(row)
    return out


def where_clause(path_glob: str | None, file_type: str | None, alias: str = "chunks") -> tuple[str, list]:
    """SQL conditions (joined with AND, or "1") for a Where filter; paths use readers' glob rules."""
    parts, params = [], []
    if path_glob:
        parts.append(f"rf_glob(?, {alias}.source)")
        params.append(path_glob)
    if file_type:
        parts.append(f"{alias}.file_type = ?")
        params.append(file_type)
    return (" AND ".join(parts) or "1"), params


def filtered_rowids(conn: sqlite3.Connection, path_glob: str | None, file_type: str | None) -> list[int]:
    clause, params = where_clause(path_glob, file_type)
    return [r[0] for r in conn.execute(f"SELECT rowid FROM chunks WHERE {clause}", params)]


def lexical(conn: sqlite3.Connection, match: str, k: int, path_glob: str | None,
            file_type: str | None) -> list[tuple[int, float]]:
    clause, params = where_clause(path_glob, file_type, alias="c")
    sql = ("SELECT c.rowid, bm25(chunks_fts) AS rank FROM chunks_fts "
           "JOIN chunks AS c ON c.rowid = chunks_fts.rowid "
           f"WHERE chunks_fts MATCH ? AND {clause} ORDER BY rank LIMIT ?")
    try:
        rows = conn.execute(sql, (match, *params, k)).fetchall()
    except sqlite3.OperationalError as exc:
        raise StoreError(f"full-text search failed: {exc}") from exc
    return [(rowid, -float(score)) for rowid, score in rows]


def fts_rows(conn: sqlite3.Connection) -> int:
    """Rows in the FTS index (its docsize shadow table), for consistency checks."""
    return conn.execute("SELECT count(*) FROM chunks_fts_docsize").fetchone()[0]
