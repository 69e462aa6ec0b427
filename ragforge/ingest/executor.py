"""Where reading, chunking and embedding run: the executor interface, and the local executor.

The driver (:mod:`ragforge.ingest.run`) keeps the plan and the one writer. It asks an executor for two things:

- ``prepare(todos, spec, embedder)``: read and chunk each planned source, yielding :class:`Prepared` (or
  :class:`Failed`) per source, in any order;
- ``embed(windows, embedder)``: the vectors of each :class:`Window`'s texts, yielding ``(window, vectors)``
  in any order. The driver has already taken every vector it could from the embedding cache, so a window
  holds only texts that must really be embedded.

An executor may also define ``start(store)``, called under the write lock before ``prepare``: the Ray executor
embeds next to its readers, so it takes the keys of the embedding cache there (``store.cache_keys()``).

:class:`LocalExecutor` does both in this process, lazily, so memory stays bounded by a window. An executor
that sends work to a cluster (Ray) implements the same two methods; what it receives and returns is plain,
picklable data (the embedder is rebuilt on workers from ``embedder.spec`` or ``model_id``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ragforge.chunking import chunk_document
from ragforge.embedding.base import Embedder
from ragforge.errors import ChunkingError, ReaderError
from ragforge.ingest.plan import Todo
from ragforge.readers.walk import display_name
from ragforge.types import Chunk, Document, content_hash


@dataclass(frozen=True)
class ChunkSpec:
    """How the index cuts documents (from its manifest)."""

    max_tokens: int
    overlap_tokens: int


@dataclass
class Prepared:
    """A source read and chunked, ready to embed and write."""

    todo: Todo
    document: Document
    chunks: list[Chunk]
    text_hashes: list[str]


@dataclass
class Failed:
    """A source that could not be read or chunked."""

    todo: Todo
    reason: str
    detail: str


@dataclass
class Window:
    """Prepared sources and the distinct texts of theirs that the embedding cache lacked (``hashes`` and
    ``texts``, to embed). ``cached`` holds the vectors the cache had: it stays on the driver, an executor that
    ships windows elsewhere sends only the texts."""

    files: list[Prepared] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    cached: dict[str, np.ndarray] = field(default_factory=dict)


class Executor(Protocol):
    def prepare(self, todos: Iterable[Todo], spec: ChunkSpec,
                embedder: Embedder) -> Iterator[Prepared | Failed]: ...

    def embed(self, windows: Iterable[Window], embedder: Embedder) -> Iterator[tuple[Window, np.ndarray]]: ...


def prepare_one(todo: Todo, spec: ChunkSpec, count_tokens: Callable[[str], int]) -> Prepared | Failed:
    """Read and chunk one source; a reader or chunking failure becomes :class:`Failed`."""
    try:
        document = todo.item.load()
        if document.title is not None and document.title != display_name(document.title):
            document = document.model_copy(update={"title": display_name(document.title)})  # a stem not in UTF-8
        chunks = chunk_document(document, max_tokens=spec.max_tokens, overlap_tokens=spec.overlap_tokens,
                                count_tokens=count_tokens)
    except (ReaderError, ChunkingError) as exc:
        reason = exc.reason if isinstance(exc, ReaderError) else "corrupt"
        return Failed(todo, reason, str(exc))
    return Prepared(todo, document, chunks, [content_hash(chunk.text) for chunk in chunks])


class LocalExecutor:
    """Everything in this process, one source and one window at a time."""

    def prepare(self, todos: Iterable[Todo], spec: ChunkSpec,
                embedder: Embedder) -> Iterator[Prepared | Failed]:
        for todo in todos:
            yield prepare_one(todo, spec, embedder.count_tokens)

    def embed(self, windows: Iterable[Window], embedder: Embedder) -> Iterator[tuple[Window, np.ndarray]]:
        for window in windows:
            if window.texts:
                yield window, embedder.embed_documents(window.texts)
            else:
                yield window, np.zeros((0, embedder.dimension), dtype=np.float32)
