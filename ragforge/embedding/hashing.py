"""A deterministic embedder with no model: signed feature hashing of words and word pairs.

Good enough to make lexical overlap visible to dense search, and fast; for tests, demos and CI.
Stable across processes and machines: the hash is BLAKE2b, never Python's salted ``hash()``.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from itertools import pairwise

import numpy as np

from ragforge.embedding.base import BaseEmbedder
from ragforge.errors import ConfigError

_WORD = re.compile(r"\w+")


@lru_cache(maxsize=200_000)
def _slot(feature: str, dimension: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimension, (1.0 if (value >> 63) & 1 else -1.0)


class HashingEmbedder(BaseEmbedder):
    """Lower-cased word unigrams (weight 1) and bigrams (0.5) hashed into ``dimension`` signed slots."""

    def __init__(self, dimension: int = 256, *, batch_size: int = 256, query_prefix: str = "",
                 document_prefix: str = "") -> None:
        if dimension < 2:
            raise ConfigError(f"hashing embedder dimension must be at least 2, got {dimension}")
        super().__init__(batch_size=batch_size, query_prefix=query_prefix, document_prefix=document_prefix)
        self._dimension = dimension

    @property
    def model_id(self) -> str:
        return f"hashing-{self._dimension}"

    @property
    def spec(self) -> str:
        return f"hashing:{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return 256

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for word in words:
                slot, sign = _slot(word, self._dimension)
                out[row, slot] += sign
            for first, second in pairwise(words):
                slot, sign = _slot(f"{first} {second}", self._dimension)
                out[row, slot] += 0.5 * sign
        return out
