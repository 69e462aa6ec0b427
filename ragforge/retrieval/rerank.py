"""Rerankers: re-score the top of a hit list with a slower, better model.

``Reranker`` is the protocol (``rerank(query, hits, top_n) -> list[Hit]``). ``CrossEncoderReranker``
scores (query, chunk text) pairs with sentence-transformers' ``CrossEncoder`` for any model name or local
path; the model loads on first use. No reranker is used by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigError, RetrievalError
from ..types import Hit

NO_RERANK = ("", "none", "off", "false")


@runtime_checkable
class Reranker(Protocol):
    def rerank(self, query: str, hits: Sequence[Hit], top_n: int) -> list[Hit]:
        """The first ``top_n`` hits re-ordered by the reranker, then the rest in their old order.

        Reranked hits carry ``scores["rerank"]`` and ``score`` = rerank score; ranks are renumbered 1..n.
        """


def apply_scores(hits: Sequence[Hit], scores: Sequence[float], top_n: int) -> list[Hit]:
    """Re-order ``hits[:top_n]`` by ``scores`` (descending, stable), keep the tail, renumber ranks."""
    head, tail = list(hits[:top_n]), list(hits[top_n:])
    if len(scores) != len(head):
        raise RetrievalError(f"reranker returned {len(scores)} scores for {len(head)} hits")
    order = sorted(range(len(head)), key=lambda i: -scores[i])
    reranked = [
        head[i].model_copy(
            update={"score": float(scores[i]), "scores": {**head[i].scores, "rerank": float(scores[i])}})
        for i in order
    ]
    return [hit.model_copy(update={"rank": rank}) for rank, hit in enumerate(reranked + tail, start=1)]


class CrossEncoderReranker:
    """Cross-encoder reranking through ``sentence_transformers.CrossEncoder(model)``.

    ``model`` is a Hugging Face name or a local directory saved with ``save_pretrained``.
    """

    def __init__(
        self, model: str, *, device: str = "cpu", batch_size: int = 32, max_length: int | None = None
    ) -> None:
        if not model or not model.strip():
            raise ConfigError("a cross-encoder model name or path is required")
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self._encoder: Any = None

    def __repr__(self) -> str:
        return f"CrossEncoderReranker({self.model!r})"

    def _load(self) -> Any:
        if self._encoder is None:
            try:
                from sentence_transformers import CrossEncoder

                kwargs: dict[str, Any] = {"device": self.device}
                if self.max_length is not None:
                    kwargs["max_length"] = self.max_length
                self._encoder = CrossEncoder(self.model, **kwargs)
            except Exception as exc:  # any load failure becomes ours
                raise RetrievalError(
                    f"could not load cross-encoder {self.model!r}: {exc}. Give a local path or a model "
                    "name available offline."
                ) from exc
        return self._encoder

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        encoder = self._load()
        try:
            raw = encoder.predict(
                [(query, text) for text in texts], batch_size=self.batch_size, show_progress_bar=False
            )
        except Exception as exc:
            raise RetrievalError(f"cross-encoder {self.model!r} failed: {exc}") from exc
        return [float(x) for x in list(raw)]

    def rerank(self, query: str, hits: Sequence[Hit], top_n: int) -> list[Hit]:
        head = list(hits[: max(top_n, 0)])
        return apply_scores(hits, self.score(query, [h.chunk.text for h in head]), len(head))


def resolve_reranker(rerank: Reranker | str | None) -> Reranker | None:
    """None / "none" -> no reranking; a string -> CrossEncoderReranker(string); a Reranker as is."""
    if rerank is None:
        return None
    if isinstance(rerank, str):
        return None if rerank.strip().lower() in NO_RERANK else _cross_encoder(rerank.strip())
    if isinstance(rerank, Reranker):
        return rerank
    raise ConfigError(f"rerank must be None, a model name/path or a Reranker, not {type(rerank).__name__}")


@lru_cache(maxsize=4)
def _cross_encoder(model: str) -> CrossEncoderReranker:
    """One reranker per model name in a process, so a model given by name loads once."""
    return CrossEncoderReranker(model)
