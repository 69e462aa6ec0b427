"""Retrieval metrics as pure functions on BEIR's shapes.

* ``qrels``: ``{query_id: {doc_id: grade}}``; a document is *relevant* when its grade is > 0.
* ``run``:   ``{query_id: {doc_id: score}}``; higher scores rank first.

Conventions (the same as BEIR's ``pytrec_eval`` cut measures, except the tie order):

* **Ties** are broken deterministically: score descending, then doc id ascending (``rank_documents``).
* Only queries of ``qrels`` with at least one relevant document are scored. A scored query that is missing
  from the run scores 0. Queries of the run that are not in ``qrels`` are ignored.
* nDCG@k uses the graded gain ``grade`` (not ``2**grade - 1``) and the discount ``1 / log2(rank + 1)``;
  the ideal ranking is the judged grades sorted descending.
* Recall@k = relevant in the top k / all relevant; Precision@k = relevant in the top k / k (k, not the
  length of the list); MRR@k = 1 / rank of the first relevant document in the top k (0 if none);
  MAP@k = sum of precision at each relevant rank within k / all relevant (trec_eval's ``map_cut``).

Every metric function returns the per-query values ``{query_id: value}``; ``mean`` averages them and
``evaluate`` returns ``{"nDCG@10": mean, ...}`` for several metrics and cut-offs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]
PerQuery = dict[str, float]

METRIC_NAMES = ("nDCG", "Recall", "MRR", "MAP", "P")


def rank_documents(scores: Mapping[str, float], k: int | None = None) -> list[str]:
    """Doc ids by score descending, then doc id ascending; the first ``k`` when ``k`` is given."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    ids = [doc for doc, _ in ranked]
    return ids if k is None else ids[:k]


def _relevant(judged: Mapping[str, int]) -> dict[str, int]:
    return {doc: grade for doc, grade in judged.items() if grade > 0}


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _per_query(
    qrels: Qrels, run: Run, k: int, score: Callable[[list[str], dict[str, int], int], float]
) -> PerQuery:
    _check_k(k)
    values: PerQuery = {}
    for qid, judged in qrels.items():
        relevant = _relevant(judged)
        if not relevant:
            continue
        ranked = rank_documents(run.get(qid, {}), k)
        values[qid] = score(ranked, relevant, k)
    return values


def _dcg(gains: Iterable[float]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def _ndcg(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    ideal = _dcg(sorted(relevant.values(), reverse=True)[:k])
    return _dcg(relevant.get(doc, 0) for doc in ranked) / ideal


def _recall(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    return sum(doc in relevant for doc in ranked) / len(relevant)


def _precision(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    return sum(doc in relevant for doc in ranked) / k


def _mrr(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    for rank, doc in enumerate(ranked, start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def _average_precision(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    found, total = 0, 0.0
    for rank, doc in enumerate(ranked, start=1):
        if doc in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


def ndcg_at_k(qrels: Qrels, run: Run, k: int) -> PerQuery:
    """Graded nDCG@k per query."""
    return _per_query(qrels, run, k, _ndcg)


def recall_at_k(qrels: Qrels, run: Run, k: int) -> PerQuery:
    return _per_query(qrels, run, k, _recall)


def precision_at_k(qrels: Qrels, run: Run, k: int) -> PerQuery:
    return _per_query(qrels, run, k, _precision)


def mrr_at_k(qrels: Qrels, run: Run, k: int) -> PerQuery:
    return _per_query(qrels, run, k, _mrr)


def map_at_k(qrels: Qrels, run: Run, k: int) -> PerQuery:
    return _per_query(qrels, run, k, _average_precision)


METRICS: dict[str, Callable[[Qrels, Run, int], PerQuery]] = {
    "nDCG": ndcg_at_k,
    "Recall": recall_at_k,
    "MRR": mrr_at_k,
    "MAP": map_at_k,
    "P": precision_at_k,
}


def mean(values: Mapping[str, float]) -> float:
    """Mean over queries; 0.0 when there are none."""
    return sum(values.values()) / len(values) if values else 0.0


def per_query(qrels: Qrels, run: Run, metric: str) -> PerQuery:
    """Per-query values of a metric named like ``"nDCG@10"``."""
    name, k = parse_metric(metric)
    return METRICS[name](qrels, run, k)


def parse_metric(metric: str) -> tuple[str, int]:
    """``"nDCG@10"`` -> ``("nDCG", 10)``; raises ValueError on an unknown name."""
    name, _, cut = metric.partition("@")
    if name not in METRICS or not cut.isdigit():
        raise ValueError(f"unknown metric {metric!r}; use one of {METRIC_NAMES} with @k, e.g. 'nDCG@10'")
    return name, int(cut)


def evaluate(
    qrels: Qrels,
    run: Run,
    k_values: Iterable[int] = (1, 3, 5, 10, 100),
    metrics: Iterable[str] = METRIC_NAMES,
) -> dict[str, float]:
    """Mean of every metric at every cut-off: ``{"nDCG@1": ..., "nDCG@3": ..., "Recall@1": ...}``."""
    out: dict[str, float] = {}
    for name in metrics:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; use one of {METRIC_NAMES}")
        for k in k_values:
            out[f"{name}@{k}"] = mean(METRICS[name](qrels, run, k))
    return out
