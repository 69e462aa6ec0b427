"""Vector-index forms (flat, ivf-pq, hnsw) on SciFact and on a synthetic corpus of 1M vectors; FTS5 at 1M chunks.

    nice .venv/bin/python scripts/bench_vectors.py --data ../shared/data/scifact --synthetic 1000000

For each corpus and form, in one process:
  - build time: ``ragforge.store.ann.build`` over every vector (ivf-pq: sampling, training and adding);
  - memory per vector: the FAISS index's serialized bytes / vectors (what it takes in RAM, near enough);
  - query p50 / p95 of ``Store.dense_search(vector, k=10)`` (the query vector given: no model in the timing;
    ivf-pq includes re-scoring its rerank x k candidates with exact vectors read from SQLite);
  - Recall@10 against exact search (brute force over the same vectors); for ivf-pq also at nprobe / 2 and x 2.
Each form is installed into one real index (the store's own commit names the new vector file) so the timings go
through the same code as ``ragforge query``.

SciFact: its test queries and corpus embedded with all-MiniLM-L6-v2 (``--scifact-index`` keeps that index for
re-runs). Synthetic: ``N`` vectors of 384 dimensions drawn around 2,000 random unit centres (noise of norm
0.75: cosine ~0.8 to the centre), the queries new points around the same centres, stored with chunk texts of
three SciFact sentences (plus a unique token) so FTS5 query p50 over 1M chunks is measured with SciFact's
test queries.

Prints a table, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.config import DEFAULT_MODEL, IndexConfig, VectorConfig
from ragforge.eval.retrieval_loaders import iter_beir_corpus, load_beir
from ragforge.retrieval.index import Index
from ragforge.store import Store, ann, db, load
from ragforge.types import Chunk, content_hash

FORMS = ("flat", "ivf-pq", "hnsw")


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/scifact"), help="a BEIR folder")
    parser.add_argument("--scifact-index", type=Path, default=None, help="keep the SciFact index here")
    parser.add_argument("--parts", default="scifact,synthetic", help="which parts to run")
    parser.add_argument("--limit", type=int, default=None, help="index only the first N SciFact documents")
    parser.add_argument("--scifact-as-is", action="store_true", help="use --scifact-index as it is when it holds "
                        "chunks (no sync)")
    parser.add_argument("--synthetic", type=int, default=1_000_000, help="vectors of the synthetic set (0: none)")
    parser.add_argument("--forms", default=",".join(FORMS))
    parser.add_argument("--synthetic-forms", default=None, help="forms for the synthetic set (default: --forms)")
    parser.add_argument("--queries", type=int, default=200, help="synthetic queries")
    return parser.parse_args(argv)


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)) * 1e3, 3)


def exact_top(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int = 10) -> list[set[int]]:
    out = []
    for begin in range(0, len(queries), 50):
        scores = queries[begin:begin + 50] @ vectors.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        out += [set(ids[row].tolist()) for row in top]
    return out


def measure(store: Store, form: str, vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray,
            truth: list[set[int]]) -> dict[str, Any]:
    import faiss

    config = VectorConfig(kind=form, min_train=min(4096, len(ids)))
    started = time.perf_counter()
    index = ann.build(vectors, ids, store.manifest.dimension, store.manifest.metric, config)
    build_s = time.perf_counter() - started
    size = len(faiss.serialize_index(index))
    with store.writing():  # install it: the store's own commit writes and names the file
        store._commit(index, lambda conn: db.set_meta(conn, "vectors_trained_on", len(ids)))
    figures = {"form": ann.form(store._index), "build_s": round(build_s, 2),
               "bytes_per_vector": round(size / len(ids), 1)}
    rowid_of = {cid: r for r, cid in store._conn.execute("SELECT rowid, id FROM chunks")}
    figures.update(_queries(store, queries, truth, rowid_of))
    if figures["form"] == "ivf-pq":
        default = store._index.nprobe
        figures.update(nlist=store._index.nlist, m=store._index.pq.M, nprobe=default)
        for name, nprobe in (("half", max(1, default // 2)), ("double", default * 2)):
            store._index.nprobe = nprobe
            figures[f"nprobe_{name}"] = {"nprobe": nprobe, **_queries(store, queries, truth, rowid_of)}
        store._index.nprobe = default
    return figures


def _queries(store: Store, queries: np.ndarray, truth: list[set[int]], rowid_of: dict[str, int]) -> dict:
    for vector in queries[:5]:
        store.dense_search(vector, 10)
    times, cpu, found = [], [], 0
    for vector, want in zip(queries, truth, strict=True):
        started, cpu0 = time.perf_counter(), time.process_time()
        hits = store.dense_search(vector, 10)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu0)
        found += len(want & {rowid_of[c.id] for c, _ in hits})
    return {"p50_ms": _pct(times, 50), "p95_ms": _pct(times, 95), "cpu_p50_ms": _pct(cpu, 50),
            "recall@10": round(found / sum(len(t) for t in truth), 4)}


def scifact(args: argparse.Namespace, workdir: Path, forms: list[str]) -> dict[str, Any]:
    dataset = load_beir(args.data)
    path = args.scifact_index or workdir / "scifact"
    with Index.open(path, create=True, config=IndexConfig(model=DEFAULT_MODEL)) as index:
        if args.scifact_as_is and index.info().chunks:
            pass  # an index of SciFact documents made before (e.g. by bench_ray.py --keep-local): used as it is
        else:
            docs = list(iter_beir_corpus(args.data / "corpus.jsonl", limit=args.limit))
            for begin in range(0, len(docs), 500):  # commits as it goes: a run cut short keeps its embeddings
                index.sync_documents(docs[begin:begin + 500], delete_missing=False)
        store = index.store
        ids, vectors, _ = load.exact_rows(store._conn, store.manifest.model_id, store.manifest.dimension)
        queries = np.stack([index.embedder.embed_query(q.text) for q in dataset.queries.values()])
        truth = exact_top(vectors, ids, queries)
        results = {form: measure(store, form, vectors, ids, queries, truth) for form in forms}
    return {"vectors": len(ids), "dimension": int(vectors.shape[1]), "queries": len(queries), "forms": results}


def synthetic_vectors(n: int, seed: int, dimension: int = 384, centres: int = 2000, noise: float = 0.75) -> np.ndarray:
    """``n`` unit vectors around the same ``centres`` random unit centres (whatever ``seed`` draws the points):
    noise of norm ``noise``, so cosine ~0.8 to the centre and ~0.64 between two points of one centre."""
    middle = np.random.default_rng(7).standard_normal((centres, dimension)).astype(np.float32)
    middle /= np.linalg.norm(middle, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dimension), dtype=np.float32)
    for begin in range(0, n, 100_000):
        size = min(100_000, n - begin)
        part = middle[rng.integers(0, centres, size)] + noise * rng.standard_normal((size, dimension), np.float32) \
            / np.sqrt(dimension)
        out[begin:begin + size] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return out


def bulk_store(path: Path, vectors: np.ndarray, sentences: list[str]) -> Store:
    """An index of ``len(vectors)`` chunks written straight into SQLite in one commit of the store's protocol
    (with a flat vector file): chunk texts of three SciFact sentences, the vectors in the embedding cache."""
    store = Store.create(path, IndexConfig(model=f"hashing:{vectors.shape[1]}"))
    rng = np.random.default_rng(11)
    model_id = store.manifest.model_id
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)

    def write_rows(conn: Any) -> None:
        for begin in range(0, len(vectors), 50_000):
            rows, cache = [], []
            for n in range(begin, min(begin + 50_000, len(vectors))):
                text = " ".join(sentences[i] for i in rng.integers(0, len(sentences), 3)) + f" c{n}"
                source = f"doc{n // 4:07d}.txt"
                chunk = Chunk(id=Chunk.make_id(source, 0, len(text), text), source=source, text=text, start=0,
                              end=len(text), ordinal=n % 4)
                rows.append((int(ids[n]), chunk, content_hash(text)))
                cache.append((rows[-1][2], vectors[n]))
            db.insert_chunks(conn, rows)
            db.cache_vectors(conn, model_id, cache)
        db.set_meta(conn, "next_rowid", len(vectors) + 1)

    with store.writing():
        store._commit(ann.build(vectors, ids, vectors.shape[1], "ip", VectorConfig()), write_rows)
    return store


def synthetic(args: argparse.Namespace, workdir: Path, forms: list[str]) -> dict[str, Any]:
    dataset = load_beir(args.data)
    sentences = [s.strip() + "." for doc in iter_beir_corpus(args.data / "corpus.jsonl")
                 for s in doc.text.split(". ") if len(s) > 20]
    started = time.perf_counter()
    vectors = synthetic_vectors(args.synthetic, seed=1)
    queries = synthetic_vectors(args.queries, seed=2)  # new points around the same centres
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)
    truth = exact_top(vectors, ids, queries)
    store = bulk_store(workdir / "synthetic", vectors, sentences)
    load_s = time.perf_counter() - started
    lexical, lexical_cpu = [], []
    texts = [q.text for q in dataset.queries.values()]
    for text in texts[:5]:
        store.lexical_search(text, 10)
    for text in texts:
        began, cpu0 = time.perf_counter(), time.process_time()
        store.lexical_search(text, 10)
        lexical.append(time.perf_counter() - began)
        lexical_cpu.append(time.process_time() - cpu0)
    results = {form: measure(store, form, vectors, ids, queries, truth) for form in forms}
    size = sum(f.stat().st_size for f in (workdir / "synthetic").iterdir() if f.is_file())
    store.close()
    return {"vectors": len(vectors), "dimension": int(vectors.shape[1]), "queries": len(queries),
            "load_s": round(load_s, 1), "fts5_queries": len(texts), "fts5_p50_ms": _pct(lexical, 50),
            "fts5_p95_ms": _pct(lexical, 95), "fts5_cpu_p50_ms": _pct(lexical_cpu, 50), "index_dir_bytes": size,
            "forms": results}


def main(argv: list[str] | None = None) -> dict:
    args = _args(argv)
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    load_start = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-vectors-") as tmp:
        figures: dict[str, Any] = {"load_average_start": load_start}
        if "scifact" in args.parts:
            figures["scifact"] = scifact(args, Path(tmp), forms)
        if args.synthetic and "synthetic" in args.parts:
            other = [f.strip() for f in (args.synthetic_forms or args.forms).split(",") if f.strip()]
            figures["synthetic"] = synthetic(args, Path(tmp), other)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    _print_table(figures)
    print(json.dumps(figures))
    return figures


def _print_table(f: dict) -> None:
    header = (f"{'corpus':<22} {'form':<8} {'build s':>8} {'B/vector':>9} {'p50 ms':>7} {'p95 ms':>7} "
              f"{'CPU p50':>7} {'R@10':>6}  notes")
    print(header)
    print("-" * len(header))
    for name in ("scifact", "synthetic"):
        if name not in f:
            continue
        part = f[name]
        label = f"{name} ({part['vectors']:,})"
        for form, r in part["forms"].items():
            notes = ""
            if r["form"] == "ivf-pq":
                half, double = r["nprobe_half"], r["nprobe_double"]
                notes = (f"nlist {r['nlist']}, m {r['m']}, nprobe {r['nprobe']}; R@10 {half['recall@10']} at "
                         f"nprobe {half['nprobe']}, {double['recall@10']} at {double['nprobe']}")
            print(f"{label:<22} {form:<8} {r['build_s']:>8.1f} {r['bytes_per_vector']:>9.1f} {r['p50_ms']:>7.2f} "
                  f"{r['p95_ms']:>7.2f} {r['cpu_p50_ms']:>7.2f} {r['recall@10']:>6.3f}  {notes}")
    if "synthetic" in f:
        s = f["synthetic"]
        print(f"FTS5 BM25 over {s['vectors']:,} chunks: p50 {s['fts5_p50_ms']:.1f} ms "
              f"(CPU {s['fts5_cpu_p50_ms']:.1f}), p95 {s['fts5_p95_ms']:.1f} ms ({s['fts5_queries']} SciFact "
              f"queries); index folder "
              f"{s['index_dir_bytes'] / 1e9:.2f} GB; bulk load {s['load_s']:.0f} s")
    print(f"peak RSS {f['peak_rss_mb']:.0f} MB; load average {f['load_average_start']} at the start, "
          f"{f['load_average_end']} at the end (2 cores shared with other jobs)")


if __name__ == "__main__":
    main(sys.argv[1:])
