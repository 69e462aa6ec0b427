"""Embedding: texts -> L2-normalised float32 vectors, documents and queries encoded separately.

    make_embedder("sentence-transformers/all-MiniLM-L6-v2" | "/path/to/model" | "hashing:256" | "ollama:NAME")

:class:`BaseEmbedder` does batching, prefixes, shape checks and normalisation around one method, ``_embed``.
Heavy libraries (torch, sentence-transformers) load on first use, never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragforge._lazy import lazy_exports
from ragforge.embedding.base import BaseEmbedder, Embedder
from ragforge.embedding.factory import make_embedder, register_embedder
from ragforge.embedding.hashing import HashingEmbedder
from ragforge.embedding.sentence_transformer import SentenceTransformerEmbedder

if TYPE_CHECKING:  # pragma: no cover
    from ragforge.embedding.ollama import OllamaEmbedder

__all__ = ["BaseEmbedder", "Embedder", "HashingEmbedder", "OllamaEmbedder", "SentenceTransformerEmbedder",
           "make_embedder", "register_embedder"]


# imported on demand: it pulls in the ollama client
__getattr__ = lazy_exports(__name__, {"OllamaEmbedder": "ragforge.embedding.ollama"})[0]
