"""What an index holds, read back for an agent that follows a citation: its sources, and the text at a
source's offsets or on one of its pages.

The index stores chunks, not whole files, so a document's text is put back together from its chunks at
their character offsets (the same offsets citations carry). Chunks cover every non-blank character of a
document; the whitespace between two chunks is not stored and comes back as spaces. Reads go through
their own SQLite connection and never write or lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from ragforge.errors import ConfigError, StoreError
from ragforge.store import db
from ragforge.types import Chunk

MAX_PASSAGE_CHARS = 20_000
MAX_DOCUMENT_CHARS = 50_000


class SourceInfo(BaseModel):
    """One indexed file: its title, type, chunk count and (for PDFs and slides) how many pages it has."""

    source: str
    title: str | None
    file_type: str
    chunks: int
    pages: int | None  # distinct pages (PDF pages, slides); None for files without pages
    chars: int  # length of the indexed text


class TextSpan(BaseModel):
    """Text of a source between two character offsets (``truncated`` when the span was cut at the cap)."""

    source: str
    title: str | None
    page: int | None
    start: int
    end: int
    text: str
    truncated: bool = False


class Catalog:
    """Read-only views of the index at ``path`` (sources, passages, pages)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = db.connect(self.path)
        try:
            yield conn
        except sqlite3.Error as exc:
            raise StoreError(f"reading the index at {self.path} failed ({exc})") from exc
        finally:
            conn.close()

    def sources(self, glob: str | None = None) -> list[SourceInfo]:
        """Every indexed source (optionally those matching ``glob``, the --path glob rules), sorted."""
        clause, params = db.where_clause(glob, None)
        sql = ("SELECT source, max(title), max(file_type), count(*), count(DISTINCT page), max(char_end) "
               f"FROM chunks WHERE {clause} GROUP BY source ORDER BY source")
        with self._conn() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [SourceInfo(source=s, title=t, file_type=f, chunks=n, pages=p or None, chars=c)
                for s, t, f, n, p, c in rows]

    def chunks(self, source: str) -> list[Chunk]:
        """The chunks of ``source`` in document order; an unknown source is a ConfigError."""
        with self._conn() as conn:
            rowids = [r[0] for r in conn.execute("SELECT rowid FROM chunks WHERE source = ? ORDER BY char_start, "
                                                 "ordinal", (source,))]
            found = db.chunks_by_rowid(conn, rowids)
        if not rowids:
            raise ConfigError(f"{source!r} is not in the index; list_sources names the indexed files")
        return [found[r] for r in rowids if r in found]

    def passage(self, source: str, start: int, end: int) -> TextSpan:
        """The text of ``source`` in ``[start, end)`` (at most MAX_PASSAGE_CHARS)."""
        if start < 0 or end <= start:
            raise ConfigError(f"bad span {start}..{end}: need 0 <= start < end")
        chunks = self.chunks(source)
        length = max(c.end for c in chunks)
        if start >= length:
            raise ConfigError(f"{source} has {length} characters; start {start} is past its end")
        stop = min(end, length, start + MAX_PASSAGE_CHARS)
        inside = [c for c in chunks if c.end > start and c.start < stop]
        return TextSpan(source=source, title=chunks[0].title, page=next((c.page for c in inside), None),
                        start=start, end=stop, text=assemble(inside, start, stop),
                        truncated=stop < min(end, length))

    def document(self, source: str, page: int | None = None) -> TextSpan:
        """The whole text of ``source``, or of one of its pages (at most MAX_DOCUMENT_CHARS)."""
        chunks = self.chunks(source)
        if page is not None:
            pages = sorted({c.page for c in chunks if c.page is not None})
            chunks = [c for c in chunks if c.page == page]
            if not chunks:
                have = f"its pages are {_ranges(pages)}" if pages else "it has no pages"
                raise ConfigError(f"{source} has no page {page}; {have}")
        start = 0 if page is None else min(c.start for c in chunks)
        end = max(c.end for c in chunks)
        stop = min(end, start + MAX_DOCUMENT_CHARS)
        return TextSpan(source=source, title=chunks[0].title, page=page, start=start, end=stop,
                        text=assemble(chunks, start, stop), truncated=stop < end)


def assemble(chunks: Iterable[Chunk], start: int, end: int) -> str:
    """The text in ``[start, end)`` from overlapping chunks; offsets no chunk covers become spaces."""
    parts: list[str] = []
    cursor = start
    for chunk in sorted(chunks, key=lambda c: c.start):
        if chunk.end <= cursor or chunk.start >= end:
            continue
        if chunk.start > cursor:
            parts.append(" " * (chunk.start - cursor))
            cursor = chunk.start
        stop = min(chunk.end, end)
        parts.append(chunk.text[cursor - chunk.start:stop - chunk.start])
        cursor = stop
    if cursor < end:
        parts.append(" " * (end - cursor))
    return "".join(parts)


def _ranges(pages: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3, 5"``."""
    runs: list[list[int]] = []
    for number in pages:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
