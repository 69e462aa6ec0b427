"""The retrieval layer's seams: what a search reads, and what the query layer searches.

    ChunkSource   dense_search / lexical_search   the Store is one; run_search reads any of them
    Searcher      search(query, k, where=, mode=, options=)   the Index is one; QueryEngine and PlainRAG
                  search any of them

Structural protocols: an object with these methods is one, whatever its class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover - annotations only
    import numpy as np

    from ragforge.retrieval.search import SearchOptions
    from ragforge.store.store import WhereLike
    from ragforge.types import Chunk, Hit


class ChunkSource(Protocol):
    """Candidates for a search: the ``k`` chunks nearest a vector, and the ``k`` best lexical matches, each
    with its score (higher is better), both filtered by ``where``."""

    def dense_search(self, vector: np.ndarray, k: int, where: WhereLike = None) -> list[tuple[Chunk, float]]: ...

    def lexical_search(self, text: str, k: int, where: WhereLike = None) -> list[tuple[Chunk, float]]: ...


class Searcher(Protocol):
    """Ranked hits for a query: what the query layer needs of an index."""

    def search(self, query: str, k: int = 5, *, where: WhereLike = None, mode: str = "hybrid",
               options: SearchOptions | dict[str, Any] | None = None) -> list[Hit]: ...
