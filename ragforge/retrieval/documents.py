"""From chunk hits to document scores: a document often spans several chunks.

``max``: a document scores as its best chunk (the usual choice, and the default).
``sum_top``: the sum of its ``top`` best chunk scores, which rewards documents that match in several
places; it only makes sense for scores that are comparable across chunks and not negative (fused or
dense cosine scores).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from ..errors import ConfigError
from ..types import Chunk, Hit

DocScoring = Literal["max", "sum_top"]


def document_scores(
    hits: Iterable[Hit],
    *,
    method: DocScoring = "max",
    top: int = 3,
    doc_id: Callable[[Chunk], str] | None = None,
) -> dict[str, float]:
    """``{document id: score}`` from chunk hits; the id is ``chunk.source`` unless ``doc_id`` says so."""
    if method not in ("max", "sum_top"):
        raise ConfigError(f"unknown document scoring {method!r}; use 'max' or 'sum_top'")
    if top < 1:
        raise ConfigError("top must be >= 1")
    key = doc_id or (lambda chunk: chunk.source)
    per_doc: dict[str, list[float]] = {}
    for hit in hits:
        per_doc.setdefault(key(hit.chunk), []).append(hit.score)
    if method == "max":
        return {doc: max(scores) for doc, scores in per_doc.items()}
    return {doc: sum(sorted(scores, reverse=True)[:top]) for doc, scores in per_doc.items()}


def rank_documents(scores: dict[str, float], k: int | None = None) -> list[tuple[str, float]]:
    """Documents by score descending, then id ascending (the metrics' tie order)."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return ranked if k is None else ranked[:k]
