"""The retrieval evaluation harness: index a gold set through the normal store, search, score, report.

Corpora go through the real path: BEIR documents (title + text) through ``Index.sync_documents``, a folder
corpus through ``Index.sync``. Chunk hits are mapped back to document ids (``chunk.source``) by their best
chunk (``doc_scoring="max"``) or the sum of their top chunks (``"sum_top"``). An existing ``index_dir`` is
reused: syncing unchanged documents costs a hash each, so re-runs only pay for searching.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import DEFAULT_MODEL, IndexConfig
from ..errors import ConfigError
from ..retrieval.documents import DocScoring, document_scores, rank_documents
from ..retrieval.index import Index
from ..retrieval.search import MODES, SearchOptions, search_all
from . import retrieval_metrics as M
from .common import EvalIndex, Progress, command_line, versions
from .retrieval_loaders import RetrievalDataset, load_dataset
from .retrieval_report import HEADLINE, ModeResult, RetrievalEvalResult
from .stats import bootstrap_ci, compare, percentile


def run_retrieval_eval(
    dataset: RetrievalDataset | Path | str,
    *,
    index_dir: Path | str | None = None,
    model: str = DEFAULT_MODEL,
    modes: Sequence[str] = ("dense", "lexical", "hybrid"),
    rerank: Any = None,
    split: str = "test",
    k_values: Sequence[int] = (1, 3, 5, 10, 100),
    out_dir: Path | str | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
    options: SearchOptions | dict[str, Any] | None = None,
    doc_scoring: DocScoring = "max",
    chunk_depth: int | None = None,
    index_config: IndexConfig | None = None,
    resamples: int = 2000,
) -> RetrievalEvalResult:
    """Evaluate each search mode on a BEIR folder or JSONL gold file; write reports when ``out_dir`` is given.

    ``limit`` keeps the first N scored queries (sorted by id). ``chunk_depth`` is how many chunk hits dense
    and lexical fetch per query before mapping to documents (default: twice the largest k); hybrid maps its
    whole fused list. ``settings["index"]`` records what the index really holds (model, chunking, chunks).
    """
    started = time.perf_counter()
    opts = options if isinstance(options, SearchOptions) else SearchOptions(**(options or {}))
    _check_args(modes, k_values, limit)
    data = dataset if isinstance(dataset, RetrievalDataset) else load_dataset(dataset, split=split)
    loaded = time.perf_counter()
    qids = data.scored_queries[:limit] if limit else data.scored_queries
    depth = chunk_depth or 2 * max(k_values)
    with EvalIndex(index_dir, model, index_config) as (index, where):
        documents, index_seconds, sync_summary, index_info = _sync(index, data, progress)
        results = {
            mode: _run_mode(index, data, qids, mode, rerank, opts, k_values, depth, doc_scoring, progress,
                            resamples)
            for mode in modes
        }
    comparisons = _comparisons(results, resamples)
    result = RetrievalEvalResult(
        dataset=str(dataset if not isinstance(dataset, RetrievalDataset) else data.name), name=data.name,
        split=data.split, documents=documents, queries=len(qids), k_values=tuple(sorted(k_values)),
        settings={"model": model, "modes": list(modes), "rerank": _describe(rerank),
                  "options": opts.model_dump(),
                  "doc_scoring": doc_scoring, "chunk_depth": depth, "limit": limit, "index_dir": where,
                  "index": index_info, "sync": sync_summary},
        versions=versions(),
        timings={"load": loaded - started, "index": index_seconds, "total": time.perf_counter() - started},
        modes=results, comparisons=comparisons,
        command=_command(dataset, split, modes, rerank, out_dir, limit, index_dir, model)
        if opts == SearchOptions() and doc_scoring == "max" and chunk_depth is None and index_config is None
        else _python_call(dataset, index_dir, modes, opts, doc_scoring, chunk_depth, out_dir),
    )
    if out_dir is not None:
        result.write(out_dir)
    return result


def _check_args(modes: Sequence[str], k_values: Sequence[int], limit: int | None) -> None:
    if not modes:
        raise ConfigError("give at least one search mode")
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ConfigError(f"unknown search mode(s) {bad}; use {', '.join(MODES)}")
    if not k_values or any(k < 1 for k in k_values):
        raise ConfigError("k_values must be positive integers")
    if limit is not None and limit < 1:
        raise ConfigError("limit must be >= 1")


def _sync(
    index: Index, data: RetrievalDataset, progress: Progress | None
) -> tuple[int, float, str, dict[str, Any]]:
    start = time.perf_counter()
    if data.corpus_folder is None:
        report = index.sync_documents(data.documents(), progress=progress)
    else:
        report = index.sync(data.corpus_folder, exclude=data.exclude, progress=progress)
    info = index.info()
    seconds = time.perf_counter() - start
    described = {"model_id": info.model_id, "dimension": info.dimension, "chunking": info.chunking,
                 "files": info.files, "chunks": info.chunks}
    return int(info.files), seconds, report.summary(), described


def _search_fn(index: Index, mode: str, chunk_depth: int, max_k: int) -> Callable[..., list]:
    """The whole candidate list of one query (timed per stage): ``chunk_depth`` chunks for dense and
    lexical; for hybrid the full fused list of its dense and lexical candidates (each at least ``max_k``
    deep), so hybrid is judged on the candidates its own depths give, not on inflated ones."""
    depth = max_k if mode == "hybrid" else chunk_depth
    return lambda query, rerank, options, timings: search_all(
        index.store, index.embedder, query, depth, None, mode, rerank, options, timings=timings)


def _run_mode(
    index: Index, data: RetrievalDataset, qids: list[str], mode: str, rerank: Any, opts: SearchOptions,
    k_values: Sequence[int], depth: int, doc_scoring: DocScoring, progress: Progress | None, resamples: int,
) -> ModeResult:
    max_k = max(k_values)
    search = _search_fn(index, mode, depth, max_k)
    run: dict[str, dict[str, float]] = {}
    latencies: list[float] = []
    stages: dict[str, float] = {}
    for done, qid in enumerate(qids, start=1):
        t0 = time.perf_counter()
        hits = search(data.queries[qid].text, rerank, opts, stages)
        latencies.append((time.perf_counter() - t0) * 1000.0)
        run[qid] = dict(rank_documents(document_scores(hits, method=doc_scoring), max_k))
        if progress is not None:
            progress(done, len(qids), f"{mode}: query {qid}")
    qrels = {q: data.qrels[q] for q in qids}
    means = M.evaluate(qrels, run, k_values)
    per_query = {m: M.per_query(qrels, run, m) for m in means}
    return ModeResult(
        mode=mode, metrics=means,
        ci={m: bootstrap_ci(list(v.values()), resamples=resamples) for m, v in per_query.items()},
        per_query={m: v for m, v in per_query.items() if m in HEADLINE},
        latency_ms={"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                    "mean": sum(latencies) / len(latencies) if latencies else 0.0},
        stage_seconds=stages, queries=len(qids),
    )


def _comparisons(results: dict[str, ModeResult], resamples: int) -> list:
    names = list(results)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for metric in ("nDCG@10",):
                pa, pb = results[a].per_query.get(metric), results[b].per_query.get(metric)
                if pa is not None and pb is not None:
                    out.append(compare(pa, pb, metric=metric, names=(a, b), resamples=resamples))
    return out


def _describe(rerank: Any) -> str | None:
    if rerank is None or isinstance(rerank, str):
        return rerank
    return getattr(rerank, "model", None) or type(rerank).__name__


def _command(dataset: Any, split: str, modes: Sequence[str], rerank: Any, out_dir: Any, limit: int | None,
             index_dir: Any, model: str) -> str:
    parts = ["ragforge", "eval", "retrieval", "--dataset", str(dataset), "--split", split]
    for mode in modes:
        parts += ["--mode", mode]
    if isinstance(rerank, str):
        parts += ["--rerank", rerank]
    return command_line(parts, model=model, index_dir=index_dir, limit=limit, out_dir=out_dir)


def _python_call(dataset: Any, index_dir: Any, modes: Sequence[str], opts: SearchOptions, doc_scoring: str,
                 chunk_depth: int | None, out_dir: Any) -> str:
    """Settings the CLI cannot express are recorded as the Python call that made the run."""
    changed = {k: v for k, v in opts.model_dump().items() if v != getattr(SearchOptions(), k)}
    return (f"run_retrieval_eval({str(dataset)!r}, index_dir={str(index_dir) if index_dir else None!r}, "
            f"modes={tuple(modes)!r}, options={changed!r}, doc_scoring={doc_scoring!r}, "
            f"chunk_depth={chunk_depth!r}, out_dir={str(out_dir) if out_dir else None!r})")
