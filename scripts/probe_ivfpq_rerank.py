"""How many re-scored candidates ivf-pq needs: Recall@10 against exact search for rerank 10, 50 and 200.

    nice .venv/bin/python scripts/probe_ivfpq_rerank.py --vectors 1000000

The same synthetic vectors as ``scripts/bench_vectors.py`` and the same FAISS index as
``ragforge.store.ann`` builds by default (IndexIVFPQ, nlist = 2 sqrt(n), m = 48, nprobe = nlist / 16, trained
on max(50 nlist, 10,000) vectors); the rerank x 10 best by compressed codes are scored again exactly (numpy,
as the store does with the vectors of its embedding cache) and the best 10 kept. FAISS and numpy only: no
store, so it runs in minutes where the end-to-end benchmark needs a 12 GB index. Prints a table, then one
JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vectors import exact_top, synthetic_vectors

from ragforge.config import VectorConfig
from ragforge.store import ann


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rerank", default="10,50,200")
    args = parser.parse_args(argv)
    vectors = synthetic_vectors(args.vectors, seed=1)
    queries = synthetic_vectors(args.queries, seed=2)
    ids = np.arange(len(vectors), dtype=np.int64)
    truth = exact_top(vectors, ids, queries)
    started = time.perf_counter()
    index = ann.build(vectors, ids, vectors.shape[1], "ip", VectorConfig(kind="ivf-pq"))
    build_s = time.perf_counter() - started
    rows = []
    for rerank in (int(r) for r in args.rerank.split(",")):
        _, found_ids = index.search(queries, 10 * rerank)
        hits = 0
        for query, candidates, want in zip(queries, found_ids, truth, strict=True):
            candidates = candidates[candidates >= 0]
            best = candidates[np.argsort(-(vectors[candidates] @ query))[:10]]
            hits += len(want & set(best.tolist()))
        rows.append({"rerank": rerank, "candidates": 10 * rerank,
                     "recall@10": round(hits / sum(len(t) for t in truth), 4)})
    figures = {"vectors": len(vectors), "queries": len(queries), "nlist": index.nlist, "m": index.pq.M,
               "nprobe": index.nprobe, "build_s": round(build_s, 1), "runs": rows}
    print(f"{figures['vectors']:,} vectors, nlist {index.nlist}, m {index.pq.M}, nprobe {index.nprobe}, "
          f"built in {build_s:.0f} s")
    for row in rows:
        print(f"rerank {row['rerank']:>4} ({row['candidates']:>5} candidates): Recall@10 {row['recall@10']:.3f}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
