"""Fusing ranked lists: reciprocal rank fusion and weighted normalised-score fusion.

A ranking is a sequence of ``(item_id, score)`` pairs, best first. Both functions return one fused
ranking, best first, ties broken by item id ascending so the result is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Literal, TypeVar

from ..errors import ConfigError

T = TypeVar("T", bound=Hashable)
Ranking = Sequence[tuple[T, float]]
Normalisation = Literal["minmax", "zscore"]


def _weights(count: int, weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * count
    if len(weights) != count:
        raise ConfigError(f"{len(weights)} weights given for {count} rankings")
    if any(w < 0 for w in weights):
        raise ConfigError("fusion weights must be >= 0")
    return [float(w) for w in weights]


def _sorted(scores: dict[T, float]) -> list[tuple[T, float]]:
    return sorted(scores.items(), key=lambda item: (-item[1], str(item[0])))


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking], *, k: float = 60, weights: Sequence[float] | None = None
) -> list[tuple[T, float]]:
    """RRF: ``score(d) = sum_i w_i / (k + rank_i(d))`` with 1-based ranks (Cormack et al., 2009).

    An item absent from a ranking gets nothing from it. Input scores are ignored; only order counts.
    """
    if k < 0:
        raise ConfigError(f"rrf k must be >= 0, got {k}")
    fused: dict[T, float] = {}
    for weight, ranking in zip(_weights(len(rankings), weights), rankings, strict=True):
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return _sorted(fused)


def normalise(scores: Sequence[float], method: Normalisation = "minmax") -> list[float]:
    """Min-max to [0, 1] (all-equal scores map to 1.0) or z-score (all-equal map to 0.0)."""
    if not scores:
        return []
    if method == "minmax":
        low, high = min(scores), max(scores)
        span = high - low
        return [1.0 if span == 0 else (s - low) / span for s in scores]
    if method == "zscore":
        mu = sum(scores) / len(scores)
        sd = math.sqrt(sum((s - mu) ** 2 for s in scores) / len(scores))
        return [0.0 if sd == 0 else (s - mu) / sd for s in scores]
    raise ConfigError(f"unknown normalisation {method!r}; use 'minmax' or 'zscore'")


def weighted_fusion(
    rankings: Sequence[Ranking],
    *,
    weights: Sequence[float] | None = None,
    normalisation: Normalisation = "minmax",
) -> list[tuple[T, float]]:
    """``score(d) = sum_i w_i * norm_i(d)``; each ranking's scores are normalised over its own list.

    An item absent from a ranking is treated as no better than the worst candidate that ranking returned:
    it gets 0 under min-max, and under z-score the list's lowest z (or -1 when the list's scores are all
    equal, so that an absent item never ties with a returned one).
    """
    fused: dict[T, float] = {}
    floors: list[float] = []
    normed: list[dict[T, float]] = []
    for ranking in rankings:
        values = normalise([score for _, score in ranking], normalisation)
        normed.append({item: value for (item, _), value in zip(ranking, values, strict=True)})
        floors.append(_floor(values, normalisation))
    items = {item for table in normed for item in table}
    for item in items:
        fused[item] = sum(
            w * table.get(item, floor)
            for w, table, floor in zip(_weights(len(rankings), weights), normed, floors, strict=True)
        )
    return _sorted(fused)


def _floor(values: list[float], normalisation: Normalisation) -> float:
    if normalisation == "minmax" or not values:
        return 0.0
    low = min(values)
    return low if max(values) > low else -1.0
