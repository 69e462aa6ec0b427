"""The Embedder protocol and the base class that does batching and validation around one method."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ragforge.errors import ConfigError, EmbeddingError


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors. Documents and queries are encoded separately (e5/bge prefixes)."""

    @property
    def model_id(self) -> str:
        """Stable identifier recorded in the index manifest and in embedding-cache keys."""

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """Longest input, in the model's tokens, that the model reads without truncating."""

    def count_tokens(self, text: str) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), rows L2-normalised."""

    def embed_query(self, text: str) -> np.ndarray:
        """float32 array of shape (dimension,), L2-normalised."""


class BaseEmbedder(ABC):
    """Batching, prefixes, float32 conversion, shape checks and L2 normalisation around one method.

    Subclasses implement :meth:`_embed` (a list of texts -> an array of shape ``(len(texts), dimension)``)
    and the ``model_id``, ``dimension``, ``max_tokens`` and ``count_tokens`` members.
    Texts are sorted by length before batching (as sentence-transformers does) so a batch holds texts of
    similar length and little padding; the output keeps the input order.
    """

    def __init__(self, *, batch_size: int = 32, query_prefix: str = "", document_prefix: str = "") -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix

    @property
    @abstractmethod
    def model_id(self) -> str: ...

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    @property
    @abstractmethod
    def max_tokens(self) -> int: ...

    @abstractmethod
    def count_tokens(self, text: str) -> int: ...

    @property
    def spec(self) -> str:
        """What :func:`make_embedder` takes to make this embedder again (recorded in index manifests)."""
        return self.model_id

    @property
    def settings(self) -> dict[str, Any]:
        """How this embedder runs (not what it is: that is ``model_id``); index manifests record it."""
        return {}

    def prepare_queries(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Get ready to embed queries quickly in a later, fresh process (default: nothing to do)."""

    @abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for at most ``batch_size`` texts, shape ``(len(texts), dimension)``, any norm."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.document_prefix + text for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text])[0]

    def _encode(self, texts: list[str], embed: Callable[[list[str]], np.ndarray] | None = None) -> np.ndarray:
        """Batched, checked, normalised vectors of ``texts`` from ``embed`` (default :meth:`_embed`)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: np.ndarray | None = None
        for begin in range(0, len(order), self.batch_size):
            rows = order[begin:begin + self.batch_size]
            vectors = self._checked([texts[i] for i in rows], embed or self._embed)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        assert out is not None
        return normalize(out)

    def _checked(self, batch: list[str], embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        vectors = np.asarray(embed(batch), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(batch):
            raise EmbeddingError(
                f"{self.model_id}: expected {len(batch)} vectors, got an array of shape {vectors.shape}")
        if vectors.shape[1] != self.dimension:
            raise EmbeddingError(
                f"{self.model_id}: expected vectors of dimension {self.dimension}, got {vectors.shape[1]}")
        if not np.isfinite(vectors).all():
            raise EmbeddingError(f"{self.model_id}: the model returned NaN or infinite values")
        return vectors

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, as float32; all-zero rows stay zero."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms
