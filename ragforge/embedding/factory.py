"""``make_embedder(spec)``: one string names any embedder ragforge knows; ``register_embedder`` adds more.

A spec is ``SCHEME:REST`` when ``SCHEME`` is a registered scheme (``hashing:256``, ``ollama:nomic-embed-text``,
``openai:NAME@URL``), else a sentence-transformers model name or a local model folder. A separate package can
add a scheme through the ``ragforge.embedders`` entry-point group (name = the scheme, value = the factory).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ragforge._registry import Registry
from ragforge.config import DEFAULT_MODEL
from ragforge.embedding.base import Embedder
from ragforge.errors import ConfigError

EmbedderFactory = Callable[..., Embedder]  # factory(rest_of_spec: str, **kwargs) -> Embedder

_EMBEDDERS: Registry[EmbedderFactory] = Registry("ragforge.embedders", "embedder")


def register_embedder(scheme: str, factory: EmbedderFactory) -> None:
    """Make ``make_embedder("SCHEME:REST", **kw)`` call ``factory("REST", **kw)``."""
    if not callable(factory):
        raise ConfigError("an embedder factory must be callable as factory(rest, **kwargs)")
    _EMBEDDERS.register(scheme, factory)


def split_spec(spec: str, registry: Registry[Any]) -> tuple[str | None, str]:
    """``("scheme", "rest")`` when ``spec`` starts with a registered ``scheme:``, else ``(None, spec)``."""
    head, sep, rest = spec.partition(":")
    if sep and head.strip() and registry.get(head.strip()) is not None:
        return head.strip().lower(), rest.strip()
    return None, spec


def make_embedder(model: str = DEFAULT_MODEL, **kwargs: Any) -> Embedder:
    """An embedder from its spec.

    - ``"hashing"`` or ``"hashing:DIM"``: :class:`HashingEmbedder` (no model, deterministic)
    - ``"ollama:NAME"``: :class:`OllamaEmbedder` served by a local Ollama (``kwargs`` go to it, e.g. ``host``)
    - ``"openai:NAME@URL"``: :class:`OpenAIEmbedder` on any OpenAI-compatible ``/v1/embeddings`` server
    - ``"SCHEME:REST"`` for any scheme added with :func:`register_embedder` or a plug-in
    - anything else: a sentence-transformers model name or a local model folder

    ``precision`` ("auto", "fp32", "bf16", "int8"; see ``precision.py``) applies to sentence-transformers
    models; ``None`` or "auto" suits every embedder, another value on an embedder without precisions is an error.
    """
    precision = kwargs.pop("precision", None)
    spec = (model or "").strip()
    if not spec:
        raise ConfigError("no embedding model given: pass a sentence-transformers name or path, "
                          "'hashing:DIM' or 'ollama:NAME'")
    scheme, rest = split_spec(spec, _EMBEDDERS)
    if spec == "hashing" or spec.startswith("hashing-"):  # older spellings of "hashing:DIM"
        scheme, rest = "hashing", spec[len("hashing") + 1:] or "256"
    if scheme is None:
        from ragforge.embedding.sentence_transformer import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec, precision=precision or "auto", **kwargs)
    if precision not in (None, "auto"):
        raise ConfigError(f"precision {precision!r} applies to sentence-transformers models, not to {spec!r}: "
                          "leave the precision out")
    factory = _EMBEDDERS.get(scheme)
    assert factory is not None
    return factory(rest, **kwargs)


def _hashing(size: str, **kwargs: Any) -> Embedder:
    from ragforge.embedding.hashing import HashingEmbedder

    try:
        dimension = int(size or "256")
    except ValueError:
        raise ConfigError(f"bad hashing embedder spec 'hashing:{size}': use 'hashing:DIM', e.g. 'hashing:256'") \
            from None
    return HashingEmbedder(dimension, **kwargs)


def _ollama(name: str, **kwargs: Any) -> Embedder:
    if not name:
        raise ConfigError("'ollama:' needs a model name, e.g. 'ollama:nomic-embed-text'")
    from ragforge.embedding.ollama import OllamaEmbedder

    return OllamaEmbedder(name, **kwargs)


def _openai(rest: str, **kwargs: Any) -> Embedder:
    from ragforge._http import parse_openai_spec
    from ragforge.embedding.openai import OpenAIEmbedder

    name, url = parse_openai_spec(rest)
    return OpenAIEmbedder(name, url, **kwargs)


register_embedder("hashing", _hashing)
register_embedder("ollama", _ollama)
register_embedder("openai", _openai)
