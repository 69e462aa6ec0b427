"""The Embedder protocol and the base class that does batching and validation around one method."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


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
