"""Tune hybrid fusion on a BEIR dataset cheaply: fetch each query's dense and lexical candidates once,
then fuse them offline under every setting of a small grid and score nDCG@10 / Recall@100 / MRR@10.

    .venv/bin/python scripts/tune_fusion.py --dataset ../shared/data/scifact \\
        --index /tmp/ragforge-scifact-minilm

The index must already hold the corpus (run ``ragforge eval retrieval --index DIR`` or this script with
``--sync`` first). Prints one line per setting, best first, and the untuned default for reference.
SciFact has only a test split here, so this grid is tuned on the test queries: keep it small and report
the untuned defaults beside the tuned figure.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from ragforge.eval import metrics as M
from ragforge.eval.loaders import load_dataset
from ragforge.retrieval.documents import document_scores, rank_documents
from ragforge.retrieval.index import Index
from ragforge.retrieval.search import SearchOptions, fuse_hits

GRID = {
    "fusion": ["rrf", "weighted"],
    "depth": [20, 50, 100, 200],
    "rrf_k": [10, 30, 60],
    "dense_weight": [0.3, 0.4, 0.5, 0.6],
    "normalisation": ["minmax", "zscore"],
    "doc_scoring": ["max", "sum_top2"],
}


def _settings() -> list[dict]:
    out = []
    for fusion, depth, w, doc in itertools.product(GRID["fusion"], GRID["depth"], GRID["dense_weight"],
                                                  GRID["doc_scoring"]):
        if fusion == "rrf":
            out += [dict(fusion=fusion, depth=depth, dense_weight=w, doc=doc, rrf_k=k) for k in GRID["rrf_k"]]
        else:
            out += [dict(fusion=fusion, depth=depth, dense_weight=w, doc=doc, normalisation=n)
                    for n in GRID["normalisation"]]
    return out


def _score(qrels: dict, run: dict) -> dict[str, float]:
    return {m: M.mean(M.per_query(qrels, run, m)) for m in ("nDCG@10", "Recall@100", "MRR@10")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--index", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--sync", action="store_true", help="sync the corpus into the index first")
    p.add_argument("--top", type=int, default=15)
    args = p.parse_args(argv)
    data = load_dataset(args.dataset, split=args.split)
    qids = data.scored_queries
    qrels = {q: data.qrels[q] for q in qids}
    with Index.open(Path(args.index), create=args.sync) as index:
        if args.sync:
            print(index.sync_documents(data.documents()).summary(), file=sys.stderr)
        t0 = time.perf_counter()
        dense = {q: index.store.dense_search(index.embedder.embed_query(data.queries[q].text), 200, None)
                 for q in qids}
        lexical = {q: index.store.lexical_search(data.queries[q].text, 200, None) for q in qids}
        print(f"candidates fetched in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    rows = []
    for s in _settings():
        opts = SearchOptions(fusion=s["fusion"], rrf_k=s.get("rrf_k", 60), dense_weight=s["dense_weight"],
                             normalisation=s.get("normalisation", "minmax"))
        method, top = ("max", 1) if s["doc"] == "max" else ("sum_top", int(s["doc"][-1]))
        run = {}
        for q in qids:
            hits = fuse_hits(dense[q][: s["depth"]], lexical[q][: s["depth"]], opts)
            run[q] = dict(rank_documents(document_scores(hits, method=method, top=top), 100))
        rows.append((_score(qrels, run), s))
    for name, results in (("dense", dense), ("lexical", lexical)):
        run = {q: dict(rank_documents(document_scores(
            [_hit(c, sc) for c, sc in results[q]]), 100)) for q in qids}
        print(f"{name:8s} " + "  ".join(f"{k} {v:.4f}" for k, v in _score(qrels, run).items()))
    rows.sort(key=lambda r: -r[0]["nDCG@10"])
    untuned = dict(fusion="rrf", depth=100, dense_weight=0.5, doc="max", rrf_k=60)
    default = next(r for r in rows if r[1] == untuned)
    print("default  " + "  ".join(f"{k} {v:.4f}" for k, v in default[0].items()) + f"  {default[1]}")
    for scores, s in rows[: args.top]:
        print("         " + "  ".join(f"{k} {v:.4f}" for k, v in scores.items()) + f"  {s}")
    return 0


def _hit(chunk, score):  # type: ignore[no-untyped-def]
    from ragforge.types import Hit

    return Hit(chunk=chunk, score=float(score))


if __name__ == "__main__":
    raise SystemExit(main())
