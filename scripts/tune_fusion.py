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

from ragforge.eval import retrieval_metrics as M
from ragforge.eval.retrieval_loaders import load_dataset
from ragforge.retrieval.documents import rank_documents
from ragforge.retrieval.fusion import reciprocal_rank_fusion, weighted_fusion
from ragforge.retrieval.index import Index

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
    source = {c.id: c.source for lists in (dense, lexical) for q in qids for c, _ in lists[q]}
    ids = {name: {q: [(c.id, float(sc)) for c, sc in lists[q]] for q in qids}
           for name, lists in (("dense", dense), ("lexical", lexical))}
    rows = []
    for s in _settings():
        w = s["dense_weight"]
        method, top = ("max", 1) if s["doc"] == "max" else ("sum_top", int(s["doc"][-1]))
        run = {}
        for q in qids:
            lists = [ids["dense"][q][: s["depth"]], ids["lexical"][q][: s["depth"]]]
            if s["fusion"] == "rrf":
                fused = reciprocal_rank_fusion(lists, k=s["rrf_k"], weights=[2 * w, 2 * (1 - w)])
            else:
                fused = weighted_fusion(lists, weights=[w, 1 - w], normalisation=s["normalisation"])
            run[q] = _doc_run(fused, source, method, top)
        rows.append((_score(qrels, run), s))
    first = {c.id for lists in (dense, lexical) for q in qids for c, _ in lists[q] if c.ordinal == 0}
    for name in ("dense", "lexical"):
        for label, method, top, only_first in (("max", "max", 1, False), ("sum_top2", "sum_top", 2, False),
                                               ("first chunk only", "max", 1, True)):
            run = {q: _doc_run([(c, s) for c, s in ids[name][q] if not only_first or c in first], source,
                               method, top) for q in qids}
            scores = "  ".join(f"{k} {v:.4f}" for k, v in _score(qrels, run).items())
            print(f"{name:8s} {scores}  (document = {label})")
    rows.sort(key=lambda r: -r[0]["nDCG@10"])
    untuned = dict(fusion="rrf", depth=100, dense_weight=0.5, doc="max", rrf_k=60)
    default = next(r for r in rows if r[1] == untuned)
    print("untuned  " + "  ".join(f"{k} {v:.4f}" for k, v in default[0].items()) + f"  {default[1]}")
    best_rrf = [r for r in rows if r[1]["fusion"] == "rrf"][:5]
    for scores, s in rows[: args.top] + [(None, None)] + best_rrf:
        if scores is None:
            print("best RRF settings:")
            continue
        print("         " + "  ".join(f"{k} {v:.4f}" for k, v in scores.items()) + f"  {s}")
    return 0


def _doc_run(fused: list[tuple[str, float]], source: dict[str, str], method: str,
             top: int) -> dict[str, float]:
    per_doc: dict[str, list[float]] = {}
    for cid, score in fused:
        per_doc.setdefault(source[cid], []).append(score)
    scores = {d: max(v) if method == "max" else sum(sorted(v, reverse=True)[:top])
              for d, v in per_doc.items()}
    return dict(rank_documents(scores, 100))


if __name__ == "__main__":
    raise SystemExit(main())
