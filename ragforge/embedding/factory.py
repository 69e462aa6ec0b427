"""``make_embedder(spec)``: one string names any embedder ragforge knows."""

from __future__ import annotations

from typing import Any

from ragforge.config import DEFAULT_MODEL
from ragforge.embedding.base import Embedder
from ragforge.errors import ConfigError


def make_embedder(model: str = DEFAULT_MODEL, **kwargs: Any) -> Embedder:
    """An embedder from its spec.

    - ``"hashing"`` or ``"hashing:DIM"``: :class:`HashingEmbedder` (no model, deterministic)
    - ``"ollama:NAME"``: :class:`OllamaEmbedder` served by a local Ollama (``kwargs`` go to it, e.g. ``host``)
    - anything else: a sentence-transformers model name or a local model folder
    """
    spec = (model or "").strip()
    if not spec:
        raise ConfigError("no embedding model given: pass a sentence-transformers name or path, "
                          "'hashing:DIM' or 'ollama:NAME'")
    if spec == "hashing" or spec.startswith("hashing:") or spec.startswith("hashing-"):
        return _hashing(spec, kwargs)
    if spec.startswith("ollama:"):
        name = spec.removeprefix("ollama:").strip()
        if not name:
            raise ConfigError("'ollama:' needs a model name, e.g. 'ollama:nomic-embed-text'")
        from ragforge.embedding.ollama import OllamaEmbedder

        return OllamaEmbedder(name, **kwargs)
    from ragforge.embedding.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(spec, **kwargs)


def _hashing(spec: str, kwargs: dict[str, Any]) -> Embedder:
    from ragforge.embedding.hashing import HashingEmbedder

    size = spec[len("hashing") + 1:] if spec != "hashing" else "256"
    try:
        dimension = int(size)
    except ValueError:
        raise ConfigError(f"bad hashing embedder spec {spec!r}: use 'hashing:DIM', e.g. 'hashing:256'") \
            from None
    return HashingEmbedder(dimension, **kwargs)
