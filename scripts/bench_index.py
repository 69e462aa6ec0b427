"""Indexing and query benchmark for ragforge's store, against the bare model and bare FAISS.

    .venv/bin/python scripts/bench_index.py --data ../shared/data/scifact [--limit N] [--batch-size 32]

In one process, with the same model, batch size and torch threads:
  (a) index throughput: ragforge ``sync_documents`` of the corpus (title + text) into a fresh index, vs a bare
      ``SentenceTransformer.encode`` of exactly the chunk texts ragforge produced (model warmed first); the
      corpus goes in ``--slices`` parts, each indexed then bare-encoded, so both see the same machine load;
  (b) re-sync of the unchanged corpus, as a fraction of the full index time;
  (c) warm query latency p50/p95 of ``Index.search(mode="dense")`` vs the bound ``embed_query`` + bare FAISS;
  (d) nDCG@10 and Recall@100 on the test queries (documents scored by their best chunk);
  (e) peak RSS.
Prints a table, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ragforge.config import DEFAULT_MODEL, IndexConfig
from ragforge.embedding import SentenceTransformerEmbedder
from ragforge.eval.retrieval_loaders import iter_beir_corpus, load_beir
from ragforge.eval.retrieval_metrics import mean, ndcg_at_k, recall_at_k
from ragforge.retrieval.index import Index


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/scifact"), help="a BEIR folder")
    parser.add_argument("--limit", type=int, default=None, help="index only the first N documents")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--slices", type=int, default=8, help="index in N parts, each timed against a bare "
                        "encode of its chunks (so both see the same load)")
    parser.add_argument("--latency-queries", type=int, default=200, help="queries timed for latency")
    parser.add_argument("--index-dir", type=Path, default=None, help="where to build (default: a temp dir)")
    return parser.parse_args(argv)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def bench_indexing(docs, embedder, index_dir: Path, batch_size: int, slices: int) -> dict:
    """Index in ``slices`` parts, each followed by a bare encode of the chunks that part produced.

    Alternating the two keeps them under the same machine load (the cores may be shared); wall and CPU
    (process) seconds are both summed.
    """
    embedder.model.encode(["warm up the model"] * 64, batch_size=batch_size)  # load and warm
    config = IndexConfig(model=embedder.spec, batch_size=batch_size)
    index = Index.open(index_dir, embedder=embedder, create=True, config=config)
    conn = index.store._conn
    wall = {"index": 0.0, "bare": 0.0}
    cpu = {"index": 0.0, "bare": 0.0}
    size = -(-len(docs) // max(1, slices))
    chunks, last_rowid = 0, 0
    for begin in range(0, len(docs), size):
        part = docs[begin:begin + size]
        wall0, cpu0 = time.perf_counter(), time.process_time()
        index.sync_documents(part, delete_missing=False)
        wall["index"] += time.perf_counter() - wall0
        cpu["index"] += time.process_time() - cpu0
        rows = conn.execute("SELECT rowid, text FROM chunks WHERE rowid > ? ORDER BY rowid", (last_rowid,))
        rows = rows.fetchall()
        last_rowid = rows[-1][0] if rows else last_rowid
        texts = [text for _, text in rows]
        chunks += len(texts)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        embedder.model.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
        wall["bare"] += time.perf_counter() - wall0
        cpu["bare"] += time.process_time() - cpu0
    assert chunks == index.info().chunks
    started = time.perf_counter()
    again = index.sync_documents(docs)
    resync_s = time.perf_counter() - started
    assert again.unchanged == len(docs) and again.chunks_added == 0, again.summary()
    return {"index": index, "docs": len(docs), "chunks": chunks, "index_s": wall["index"],
            "bare_s": wall["bare"], "index_cpu_s": cpu["index"], "bare_cpu_s": cpu["bare"],
            "resync_s": resync_s}


def bench_queries(index: Index, embedder, queries: list[str], k: int = 10) -> dict:
    for text in queries[:10]:  # warm both paths
        index.search(text, k=k, mode="dense")
        embedder.embed_query(text)
    faiss_index = index.store._index
    ours, bound = [], []
    for text in queries:
        started = time.perf_counter()
        index.search(text, k=k, mode="dense")
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        vector = embedder.embed_query(text)
        faiss_index.search(vector.reshape(1, -1), k)
        bound.append(time.perf_counter() - started)
    return {"p50_ms": _percentile(ours, 50) * 1e3, "p95_ms": _percentile(ours, 95) * 1e3,
            "bound_p50_ms": _percentile(bound, 50) * 1e3, "bound_p95_ms": _percentile(bound, 95) * 1e3}


def bench_quality(index: Index, dataset, doc_ids: set[str]) -> dict:
    qrels = {q: {d: g for d, g in judged.items() if d in doc_ids} for q, judged in dataset.qrels.items()}
    qrels = {q: judged for q, judged in qrels.items()
             if any(g > 0 for g in judged.values()) and q in dataset.queries}
    run: dict[str, dict[str, float]] = {}
    for qid in qrels:
        scores: dict[str, float] = {}
        for hit in index.search(dataset.queries[qid].text, k=300, mode="dense"):
            scores[hit.source] = max(scores.get(hit.source, -1e9), hit.score)
        run[qid] = scores
    return {"queries": len(qrels), "ndcg@10": mean(ndcg_at_k(qrels, run, 10)),
            "recall@100": mean(recall_at_k(qrels, run, 100))}


def main(argv: list[str] | None = None) -> dict:
    args = _args(argv)
    import torch

    dataset = load_beir(args.data)
    docs = list(iter_beir_corpus(args.data / "corpus.jsonl", limit=args.limit))
    embedder = SentenceTransformerEmbedder(args.model, batch_size=args.batch_size)
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        index_dir = args.index_dir or Path(tmp) / "idx"
        ix = bench_indexing(docs, embedder, index_dir, args.batch_size, args.slices)
        index = ix["index"]
        query_ids = sorted(dataset.queries)[: args.latency_queries]
        lat = bench_queries(index, embedder, [dataset.queries[q].text for q in query_ids])
        quality = bench_quality(index, dataset, {d.source for d in docs})
        size = index.info().size_bytes
        index.close()
    figures = {
        "corpus": args.data.name, "docs": ix["docs"], "chunks": ix["chunks"], "model": embedder.model_id,
        "batch_size": args.batch_size, "torch_threads": torch.get_num_threads(),
        "index_s": round(ix["index_s"], 3), "bare_encode_s": round(ix["bare_s"], 3),
        "index_docs_per_s": round(ix["docs"] / ix["index_s"], 2),
        "bare_docs_per_s": round(ix["docs"] / ix["bare_s"], 2),
        "index_vs_bare_ratio": round(ix["bare_s"] / ix["index_s"], 3),
        "index_cpu_s": round(ix["index_cpu_s"], 3), "bare_encode_cpu_s": round(ix["bare_cpu_s"], 3),
        "index_vs_bare_cpu_ratio": round(ix["bare_cpu_s"] / ix["index_cpu_s"], 3), "slices": args.slices,
        "resync_s": round(ix["resync_s"], 4), "resync_fraction": round(ix["resync_s"] / ix["index_s"], 5),
        "query_p50_ms": round(lat["p50_ms"], 2), "query_p95_ms": round(lat["p95_ms"], 2),
        "bound_p50_ms": round(lat["bound_p50_ms"], 2), "bound_p95_ms": round(lat["bound_p95_ms"], 2),
        "query_vs_bound_p50": round(lat["p50_ms"] / lat["bound_p50_ms"], 3),
        "quality_queries": quality["queries"], "ndcg@10": round(quality["ndcg@10"], 4),
        "recall@100": round(quality["recall@100"], 4), "index_bytes": size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    _print_table(figures)
    print(json.dumps(figures))
    return figures


def _print_table(f: dict) -> None:
    rows = [
        ("corpus / docs / chunks", f"{f['corpus']} / {f['docs']} / {f['chunks']}"),
        ("model, batch, threads", f"{f['model']}, {f['batch_size']}, {f['torch_threads']}"),
        ("(a) ragforge index", f"{f['index_s']:.2f} s = {f['index_docs_per_s']:.1f} docs/s"),
        ("    bare encode of its chunks", f"{f['bare_encode_s']:.2f} s = {f['bare_docs_per_s']:.1f} docs/s"),
        ("    ratio (target >= 0.9)", f"{f['index_vs_bare_ratio']:.3f} wall, "
                                     f"{f['index_vs_bare_cpu_ratio']:.3f} CPU ({f['slices']} alternating slices)"),
        ("(b) re-sync unchanged",
         f"{f['resync_s'] * 1e3:.1f} ms = {f['resync_fraction'] * 100:.3f} % (target < 1 %)"),
        ("(c) dense query p50 / p95", f"{f['query_p50_ms']:.2f} / {f['query_p95_ms']:.2f} ms"),
        ("    bound p50 / p95", f"{f['bound_p50_ms']:.2f} / {f['bound_p95_ms']:.2f} ms"),
        ("    p50 ratio (target <= 1.2)", f"{f['query_vs_bound_p50']:.3f}"),
        ("(d) nDCG@10 / Recall@100",
         f"{f['ndcg@10']:.4f} / {f['recall@100']:.4f} ({f['quality_queries']} queries)"),
        ("(e) peak RSS", f"{f['peak_rss_mb']:.0f} MB; index on disk {f['index_bytes'] / 1e6:.1f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
