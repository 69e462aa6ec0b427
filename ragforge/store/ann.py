"""The three vector-index forms (``flat``, ``ivf-pq``, ``hnsw``) and how each changes with a commit.

Forms on disk (FAISS's own format, one file per generation):
- ``flat`` and ``hnsw``: an ``IndexIDMap2`` around ``IndexFlat`` / ``IndexHNSWFlat``; ids are chunk rowids.
- ``ivf-pq``: a bare ``IndexIVFPQ`` whose inverted lists hold the chunk rowids (its own id map). An
  ``IndexIDMap`` around an IVF index renumbers wrongly when vectors are removed, so none is used.
  Before it holds ``min_train`` vectors an ivf-pq index is a flat one (exact, and small anyway).

Parameters chosen from the corpus size ``n`` at training time (each overridable in :class:`VectorConfig`):
``nlist = 2 sqrt(n)`` (at most n/39, FAISS's minimum of training points per cell), ``train_size =
max(50 nlist, 10000)`` (at most n), ``m`` = the largest divisor of the dimension up to dimension/8 (8
dimensions per byte), ``nprobe = nlist/8`` (at least 32, at most nlist): on SciFact's real MiniLM vectors
(nlist 100) nlist/16 = 8 cells gave Recall@10 0.852, 16 gave 0.934, 25 0.966, 32 0.978
(``scripts/probe_ivfpq_rerank.py --scifact-index``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragforge.config import VectorConfig

ExactRows = Callable[[], tuple[np.ndarray, np.ndarray]]  # (rowids, vectors) of every committed chunk, exact
SEED = 20240611


@dataclass(frozen=True)
class IvfParams:
    nlist: int
    m: int
    nprobe: int
    train_size: int


def ivf_params(n: int, dimension: int, config: VectorConfig) -> IvfParams:
    nlist = config.nlist or max(1, min(round(2 * math.sqrt(n)), n // 39))
    train = min(n, config.train_size or max(50 * nlist, 10_000))
    m = config.m or max(d for d in range(1, max(1, dimension // 8) + 1) if dimension % d == 0)
    return IvfParams(nlist, m, config.nprobe or default_nprobe(nlist), train)


def default_nprobe(nlist: int) -> int:
    return min(nlist, max(32, round(nlist / 8)))


def tune(index: Any, config: VectorConfig) -> None:
    """Search settings of a loaded index from the configuration (an index written before the default
    nprobe changed searches with the new one unless ``nprobe`` was set)."""
    import faiss

    if isinstance(index, faiss.IndexIVFPQ):
        index.nprobe = config.nprobe or default_nprobe(index.nlist)


def metric_of(metric: str) -> int:
    import faiss

    return faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2


def form(index: Any) -> str:
    """``flat``, ``ivf-pq`` or ``hnsw``: what ``index`` is."""
    import faiss

    if isinstance(index, faiss.IndexIVFPQ):
        return "ivf-pq"
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else None
    return "hnsw" if isinstance(inner, faiss.IndexHNSWFlat) else "flat"


def flat(dimension: int, metric: str) -> Any:
    import faiss

    inner = faiss.IndexFlatIP(dimension) if metric == "ip" else faiss.IndexFlatL2(dimension)
    return faiss.IndexIDMap2(inner)


def build(vectors: np.ndarray, ids: np.ndarray, dimension: int, metric: str, config: VectorConfig) -> Any:
    """An index of the configured form holding ``vectors`` under ``ids`` (ivf-pq: trained on a sample)."""
    import faiss

    n = len(ids)
    if config.kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dimension, config.hnsw_m, metric_of(metric))
        inner.hnsw.efSearch = config.ef_search
        index = faiss.IndexIDMap2(inner)
    elif config.kind == "ivf-pq" and n >= config.min_train:
        index = _trained_ivfpq(vectors, dimension, metric, ivf_params(n, dimension, config))
    else:
        index = flat(dimension, metric)
    add(index, vectors, ids)
    return index


def _trained_ivfpq(vectors: np.ndarray, dimension: int, metric: str, params: IvfParams) -> Any:
    import faiss

    quantizer = faiss.IndexFlatIP(dimension) if metric == "ip" else faiss.IndexFlatL2(dimension)
    index = faiss.IndexIVFPQ(quantizer, dimension, params.nlist, params.m, 8, metric_of(metric))
    index.cp.min_points_per_centroid = 16  # cells are trained on >= 39 points each: no FAISS warnings
    index.pq.cp.min_points_per_centroid = 16
    rng = np.random.default_rng(SEED)
    sample = rng.choice(len(vectors), size=params.train_size, replace=False) if params.train_size < len(vectors) \
        else np.arange(len(vectors))
    index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
    index.nprobe = params.nprobe
    return index


def add(index: Any, vectors: np.ndarray, ids: Any) -> None:
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))


def remove(index: Any, ids: list[int]) -> None:
    if ids:
        index.remove_ids(np.asarray(ids, dtype=np.int64))


def ids_of(index: Any) -> np.ndarray:
    """The chunk rowids an index holds."""
    import faiss

    if isinstance(index, faiss.IndexIVFPQ):
        lists = index.invlists
        assert lists is not None
        parts = [faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
                 for n in range(index.nlist) if lists.list_size(n)]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    return faiss.vector_to_array(index.id_map).astype(np.int64)


def stored(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """(rowids, vectors) of a flat or hnsw index, exactly as added."""
    ids = ids_of(index)
    vectors = index.index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)
    return ids, vectors


def next_index(current: Any, old_ids: list[int], vectors: np.ndarray | None, ids: list[int],
               config: VectorConfig, metric: str, exact: ExactRows, trained_for: int) -> tuple[Any, int | None]:
    """``current`` without ``old_ids`` and with ``vectors`` under ``ids``, in the configured form: trained (or
    trained again, from the exact vectors of ``exact``) when the corpus has outgrown its training
    (``trained_for`` vectors), the hnsw graph rebuilt after a deletion; otherwise a copy changed in place.
    Also returns the corpus size an ivf-pq index was (re)trained for, None when it was not."""
    import faiss

    dimension = current.d
    n = current.ntotal - len(old_ids) + len(ids)
    have = form(current)
    rebuild = (config.kind == "hnsw" and (have != "hnsw" or bool(old_ids))) or (
        config.kind == "ivf-pq" and n >= config.min_train and (
            have != "ivf-pq" or n >= (trained_for or current.ntotal) * config.retrain_factor))
    if config.kind == "flat" and have != "flat":
        rebuild = True
    if not rebuild:
        index = faiss.clone_index(current)
        remove(index, old_ids)
        if vectors is not None:
            add(index, vectors, ids)
        return index, None
    kept_ids, kept = exact() if have == "ivf-pq" else stored(current)
    keep = ~np.isin(kept_ids, np.asarray(old_ids, dtype=np.int64))
    all_ids = np.concatenate([kept_ids[keep], np.asarray(ids, dtype=np.int64)])
    parts = [kept[keep]] + ([vectors] if vectors is not None else [])
    all_vectors = np.concatenate(parts).astype(np.float32) if len(all_ids) else np.zeros((0, dimension), np.float32)
    index = build(all_vectors, all_ids, dimension, metric, config)
    return index, (len(all_ids) if form(index) == "ivf-pq" else None)
