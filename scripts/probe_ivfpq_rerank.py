"""How many cells and re-scored candidates ivf-pq needs: Recall@10 against exact search over nprobe x rerank.

    nice .venv/bin/python scripts/probe_ivfpq_rerank.py --vectors 1000000
    nice .venv/bin/python scripts/probe_ivfpq_rerank.py --scifact-index DIR --nprobe 8,16,25,32,50

Vectors: the synthetic ones of ``scripts/bench_vectors.py`` (``--vectors``), or the real ones of an index of
SciFact documents (``--scifact-index``, e.g. the one ``bench_vectors.py --scifact-index`` keeps) with SciFact's
test queries embedded by that index's model. The FAISS index is the one ``ragforge.store.ann`` builds by
default (IndexIVFPQ, nlist = 2 sqrt(n), m = 48, trained on max(50 nlist, 10,000) vectors); ``--nprobe`` lists
the cells searched (``default`` = what ragforge picks); the rerank x 10 best by compressed codes are scored
again exactly (numpy, as the store does with the vectors of its embedding cache) and the best 10 kept. FAISS
and numpy only, no store, so it runs in minutes where the end-to-end benchmark needs a 12 GB index. Prints a
table (with the CPU milliseconds per query of the FAISS search, single-threaded), then one JSON object on the
last line.
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


def _scifact(index_dir: Path, data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from ragforge.eval.retrieval_loaders import load_beir
    from ragforge.retrieval.index import Index
    from ragforge.store import load

    with Index.open(index_dir) as index:
        store = index.store
        ids, vectors, _ = load.exact_rows(store._conn, store.manifest.model_id, store.manifest.dimension)
        queries = np.stack([index.embedder.embed_query(q.text) for q in load_beir(data).queries.values()])
    return ids.astype(np.int64), vectors.astype(np.float32), queries.astype(np.float32)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--scifact-index", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/scifact"))
    parser.add_argument("--nprobe", default="default")
    parser.add_argument("--rerank", default="10,50,200")
    args = parser.parse_args(argv)
    import faiss

    faiss.omp_set_num_threads(1)
    if args.scifact_index:
        ids, vectors, queries = _scifact(args.scifact_index, args.data)
        corpus = f"SciFact ({args.scifact_index.name})"
    else:
        vectors = synthetic_vectors(args.vectors, seed=1)
        queries = synthetic_vectors(args.queries, seed=2)
        ids = np.arange(len(vectors), dtype=np.int64)
        corpus = "synthetic"
    truth = exact_top(vectors, ids, queries)
    row_of = {int(i): r for r, i in enumerate(ids)}
    started = time.perf_counter()
    index = ann.build(vectors, ids, vectors.shape[1], "ip", VectorConfig(kind="ivf-pq", min_train=min(4096, len(ids))))
    build_s = time.perf_counter() - started
    default_nprobe = index.nprobe
    rows = []
    for probe in args.nprobe.split(","):
        index.nprobe = default_nprobe if probe == "default" else int(probe)
        for rerank in (int(r) for r in args.rerank.split(",")):
            cpu = time.process_time()
            _, found_ids = index.search(queries, 10 * rerank)
            cpu_ms = (time.process_time() - cpu) * 1000 / len(queries)
            hits = 0
            for query, candidates, want in zip(queries, found_ids, truth, strict=True):
                rows_ = np.array([row_of[int(c)] for c in candidates if c >= 0], dtype=np.int64)
                best = ids[rows_[np.argsort(-(vectors[rows_] @ query))[:10]]]
                hits += len(want & set(best.tolist()))
            rows.append({"nprobe": index.nprobe, "rerank": rerank, "candidates": 10 * rerank,
                         "recall@10": round(hits / sum(len(t) for t in truth), 4), "cpu_ms": round(cpu_ms, 3)})
    figures = {"corpus": corpus, "vectors": len(vectors), "queries": len(queries), "nlist": index.nlist,
               "m": index.pq.M, "default_nprobe": default_nprobe, "build_s": round(build_s, 1), "runs": rows}
    print(f"{corpus}: {figures['vectors']:,} vectors, {len(queries)} queries, nlist {index.nlist}, m {index.pq.M}, "
          f"default nprobe {default_nprobe}, built in {build_s:.0f} s")
    print(f"{'nprobe':>6} {'rerank':>6} {'candidates':>10} {'R@10':>6} {'CPU ms/query':>13}")
    for row in rows:
        print(f"{row['nprobe']:>6} {row['rerank']:>6} {row['candidates']:>10} {row['recall@10']:>6.3f} "
              f"{row['cpu_ms']:>13.2f}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
