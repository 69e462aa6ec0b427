"""Confidence intervals and significance over queries: numpy only, seeded, reproducible.

* ``bootstrap_ci``: percentile bootstrap interval of a mean (queries resampled with replacement).
* ``paired_bootstrap_ci``: the same for the mean of per-query differences ``b - a``; ``paired_difference``
  gives both means, the difference and that interval in one dict.
* ``randomization_test``: two-sided paired randomisation (sign-flip) test of the mean difference; the
  p-value counts the observed assignment, so it is never 0 (``(hits + 1) / (resamples + 1)``).
* ``compare``: both of the above on two runs' per-query values; a run is only called better when
  the difference is significant (p < alpha) and the interval excludes 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0


def _array(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError("expected a flat sequence of per-query values")
    return arr


def bootstrap_ci(
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean. A single value (or none) gives a zero-width interval."""
    arr = _array(values)
    if arr.size == 0:
        return (0.0, 0.0)
    if arr.size == 1:
        return (float(arr[0]), float(arr[0]))
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 500):  # chunks keep memory small for large query sets
        stop = min(start + 500, resamples)
        idx = rng.integers(0, arr.size, size=(stop - start, arr.size))
        means[start:stop] = arr[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(low), float(high))


def paired_bootstrap_ci(
    a: Sequence[float], b: Sequence[float], **kwargs: float
) -> tuple[float, float]:
    """Bootstrap interval of ``mean(b - a)`` resampling queries (pairs stay together)."""
    diff = _paired(a, b)
    return bootstrap_ci(diff, **kwargs)  # type: ignore[arg-type]


def paired_difference(a: Sequence[float], b: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES,
                      seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """``mean(a)`` (``mean_a``), ``mean(b)``, ``mean(b - a)`` with its paired bootstrap 95% interval, and ``n``."""
    diff = _paired(a, b)
    low, high = paired_bootstrap_ci(a, b, resamples=resamples, seed=seed)
    return {"mean_a": float(np.mean(_array(a))), "mean_b": float(np.mean(_array(b))), "difference": float(diff.mean()),
            "ci": [low, high], "n": int(diff.size)}


def randomization_test(
    a: Sequence[float], b: Sequence[float], *, resamples: int = 10000, seed: int = DEFAULT_SEED
) -> float:
    """Two-sided p-value of ``mean(b - a) != 0`` by randomly swapping each query's pair."""
    diff = _paired(a, b)
    if diff.size == 0 or not np.any(diff):
        return 1.0
    observed = abs(diff.mean())
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, resamples, 1000):
        n = min(1000, resamples - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(n, diff.size))
        hits += int(np.sum(np.abs((signs * diff).mean(axis=1)) >= observed - 1e-12))
    return (hits + 1) / (resamples + 1)


def _paired(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    arr_a, arr_b = _array(a), _array(b)
    if arr_a.shape != arr_b.shape:
        raise ValueError(f"paired values differ in length: {arr_a.size} vs {arr_b.size}")
    return arr_b - arr_a


class Comparison(BaseModel):
    """Run ``b`` against run ``a`` on one metric over the same queries."""

    model_config = ConfigDict(frozen=True)

    metric: str
    a: str
    b: str
    mean_a: float
    mean_b: float
    difference: float  # mean_b - mean_a
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool
    queries: int
    higher_is_better: bool = True  # False for costs and error rates (seconds, false refusals)

    @property
    def verdict(self) -> str:
        if not self.significant:
            return f"{self.b} vs {self.a}: no significant difference (p={self.p_value:.3f})"
        better = self.b if (self.difference > 0) == self.higher_is_better else self.a
        return f"{better} is better (p={self.p_value:.3f})"


def compare(
    per_query_a: Mapping[str, float],
    per_query_b: Mapping[str, float],
    *,
    metric: str = "nDCG@10",
    names: tuple[str, str] = ("a", "b"),
    alpha: float = 0.05,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    higher_is_better: bool = True,
) -> Comparison:
    """Paired comparison on the queries both runs scored (missing queries are not invented);
    ``higher_is_better=False`` for a cost or an error rate (it decides which run the verdict names)."""
    qids = sorted(set(per_query_a) & set(per_query_b))
    a = [per_query_a[q] for q in qids]
    b = [per_query_b[q] for q in qids]
    low, high = paired_bootstrap_ci(a, b, resamples=resamples, seed=seed)
    p_value = randomization_test(a, b, resamples=max(resamples, 1000), seed=seed)
    diff = float(np.mean(b) - np.mean(a)) if qids else 0.0
    significant = p_value < alpha and (low > 0 or high < 0)
    return Comparison(
        metric=metric, a=names[0], b=names[1], mean_a=float(np.mean(a)) if qids else 0.0,
        mean_b=float(np.mean(b)) if qids else 0.0, difference=diff, ci_low=low, ci_high=high,
        p_value=p_value, significant=significant, queries=len(qids), higher_is_better=higher_is_better,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation; 0.0 for no values."""
    arr = _array(values)
    return float(np.percentile(arr, q)) if arr.size else 0.0
