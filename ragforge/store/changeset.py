"""The value a sync hands the store: everything one atomic commit writes.

A :class:`ChangeSet` is built by the ingest layer (plan, read, chunk, embed) and applied by
:meth:`ragforge.store.Store.apply` in one crash-safe commit. It carries no database ids: the store assigns
chunk rowids, finds the rows a source replaces, and keeps FAISS, SQLite and FTS5 in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ragforge.types import Chunk


@dataclass(frozen=True)
class FileChange:
    """One source's new content: its file record and every chunk (with each chunk's text hash)."""

    source: str
    size: int
    mtime_ns: int
    content_hash: str
    file_type: str
    title: str | None
    chunks: tuple[Chunk, ...]
    text_hashes: tuple[str, ...]


@dataclass(frozen=True)
class Touched:
    """A file whose stat moved but whose content did not: only its record's size and mtime change."""

    source: str
    size: int
    mtime_ns: int


@dataclass
class ChangeSet:
    """What one commit writes.

    ``files`` replace whatever those sources had (their old chunks leave FAISS, SQLite and FTS5);
    ``deleted`` sources are dropped; ``vectors`` maps chunk-text hash -> vector for the chunks of ``files``
    (hashes it lacks are taken from the embedding cache), and the ones named in ``fresh`` are added to the
    cache; ``root`` (when not None) records the folder the index mirrors ("" for none), in the same
    transaction.
    """

    files: list[FileChange] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    touched: list[Touched] = field(default_factory=list)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    fresh: set[str] = field(default_factory=set)
    root: str | None = None

    @property
    def chunk_count(self) -> int:
        return sum(len(f.chunks) for f in self.files)

    def is_empty(self) -> bool:
        return not (self.files or self.deleted or self.touched) and self.root is None


@dataclass(frozen=True)
class Applied:
    """What :meth:`Store.apply` did: chunk rows added and removed."""

    chunks_added: int = 0
    chunks_removed: int = 0
