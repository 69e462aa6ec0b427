"""Indexing and query benchmark: ragforge at each precision against the bare model, bare FAISS, cold starts.

    .venv/bin/python scripts/bench_index.py --data ../shared/data/scifact [--limit N] [--no-int8]

One process, one machine load for all sides: the corpus goes in ``--slices`` parts and each part is indexed by
every side in turn (the order rotates from slice to slice), each into its own fresh index:
  (a) ragforge ``precision="auto"`` (bf16 autocast on a CPU with AMX or AVX512-BF16, else fp32), ragforge
      ``precision="fp32"``, ragforge ``precision="int8"`` (ONNX Runtime), and the bare fp32
      ``SentenceTransformer.encode`` of exactly the chunk texts ragforge stored; wall and CPU seconds, and the
      peak resident memory while each side runs (sampled every 20 ms);
  (b) re-sync of the unchanged corpus (auto index), as a fraction of its index time;
  (c) warm query latency p50/p95 of ``Index.search(mode="dense")`` on a fresh handle, whose queries go through
      the ONNX export as in a new process, against the bound: the same query encoder + a bare FAISS search;
      the torch query path's p50 beside it;
  (d) nDCG@10 and Recall@100 per side (documents scored by their best chunk);
  (e) cold start on the sample corpus's index: ``ragforge query``, median of --cold-runs fresh processes, with
      the ONNX query path and with the torch one (RAGFORGE_QUERY_BACKEND=torch); ``ragforge --help``.
The CPU's flags and the load average are printed: the cores may be shared. A table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ragforge.config import DEFAULT_MODEL, IndexConfig
from ragforge.embedding import SentenceTransformerEmbedder
from ragforge.embedding.precision import cpu_flags, reported_flags
from ragforge.eval.retrieval_loaders import iter_beir_corpus, load_beir
from ragforge.eval.retrieval_metrics import mean, ndcg_at_k, recall_at_k
from ragforge.retrieval.index import Index

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("auto", "fp32", "int8")  # ragforge precisions; the bare fp32 encode is the fourth side
COLD_QUERY = "How do I descale the Kettlewick kettle, and how often?"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--limit", type=int, default=None, help="index only the first N documents")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--slices", type=int, default=8, help="parts of the corpus; every side indexes each "
                        "part in turn, so all of them see the same machine load")
    parser.add_argument("--no-int8", action="store_true", help="leave the int8 side out")
    parser.add_argument("--latency-queries", type=int, default=200, help="queries timed for latency")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes per cold-start figure")
    return parser.parse_args(argv)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


class PeakRss:
    """The largest resident set seen while each labelled block runs (a thread reads /proc/self/statm)."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self._label: str | None = None
        self._page = os.sysconf("SC_PAGE_SIZE")
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            label = self._label
            if label is not None:
                with open("/proc/self/statm") as statm:
                    mb = int(statm.read().split()[1]) * self._page / 2**20
                self.peaks[label] = max(self.peaks.get(label, 0.0), mb)
            time.sleep(0.02)

    @contextmanager
    def during(self, label: str):
        self._label = label
        try:
            yield
        finally:
            self._label = None


def bench_indexing(docs, embedders: dict, work: Path, batch_size: int, slices: int, rss: PeakRss) -> dict:
    """Index ``docs`` in ``slices`` parts; every side takes each part in turn, in a rotating order.

    The bare side encodes the chunk texts that the first ragforge side of the slice stored, with the fp32
    side's model object (same weights, batch size and threads)."""
    indexes = {side: Index.open(work / f"idx-{side}", embedder=embedder, create=True,
                                config=IndexConfig(model=embedder.spec, batch_size=batch_size))
               for side, embedder in embedders.items()}
    bare = embedders["fp32"].model
    sides = [*indexes, "bare"]
    wall = dict.fromkeys(sides, 0.0)
    cpu = dict.fromkeys(sides, 0.0)
    last_rowid = dict.fromkeys(indexes, 0)
    size = -(-len(docs) // max(1, slices))
    chunks = 0
    for number, begin in enumerate(range(0, len(docs), size)):
        part = docs[begin:begin + size]
        order = sides[number % len(sides):] + sides[:number % len(sides)]
        if order[0] == "bare":  # the bare side encodes what a ragforge side stored: never first
            order = order[1:] + order[:1]
        texts: list[str] | None = None
        for side in order:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            with rss.during(side):
                if side == "bare":
                    bare.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
                else:
                    indexes[side].sync_documents(part, delete_missing=False)
            wall[side] += time.perf_counter() - wall0
            cpu[side] += time.process_time() - cpu0
            if side != "bare":
                rows = indexes[side].store._conn.execute(
                    "SELECT rowid, text FROM chunks WHERE rowid > ? ORDER BY rowid", (last_rowid[side],)).fetchall()
                last_rowid[side] = rows[-1][0] if rows else last_rowid[side]
                if texts is None:
                    texts = [text for _, text in rows]
                    chunks += len(texts)
    counts = {side: index.info().chunks for side, index in indexes.items()}
    assert set(counts.values()) == {chunks}, counts  # every side stored the same chunks
    started = time.perf_counter()
    again = indexes["auto"].sync_documents(docs)
    resync_s = time.perf_counter() - started
    assert again.unchanged == len(docs) and again.chunks_added == 0, again.summary()
    sizes = {side: index.info().size_bytes for side, index in indexes.items()}
    for index in indexes.values():
        index.close()
    return {"docs": len(docs), "chunks": chunks, "wall": wall, "cpu": cpu, "resync_s": resync_s,
            "index_bytes": sizes["auto"]}


def bench_queries(index: Index, queries: list[str], k: int = 10) -> dict:
    """``Index.search`` against the bound: the index's own query encoder + a bare FAISS search, alternated."""
    embedder = index.embedder
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
        faiss_index.search(embedder.embed_query(text).reshape(1, -1), k)
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


def _ragforge(*args: str, env: dict[str, str] | None = None) -> float:
    """Seconds for one fresh ``ragforge`` process (the console script, as a user runs it)."""
    script = Path(sys.executable).with_name("ragforge")
    command = [str(script)] if script.exists() else [sys.executable, "-c",
                                                     "from ragforge.cli import main; main()"]
    started = time.perf_counter()
    out = subprocess.run([*command, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"ragforge {' '.join(args)} failed: {out.stderr[-2000:]}")
    return seconds


def bench_cold(work: Path, runs: int) -> dict:
    """Cold starts on the sample corpus's index: ONNX and torch query paths alternated, then --help."""
    index_dir = work / "sample-index"
    with Index.open(index_dir, create=True) as index:
        index.sync(ROOT / "corpora" / "sample")
        index.embedder.prepare_queries()  # what `ragforge index` does: the export exists before any query
    query = ("query", "--index", str(index_dir), "-k", "3", COLD_QUERY)
    _ragforge(*query)  # one untimed run each: file caches warm, as for any command run twice
    _ragforge(*query, env={"RAGFORGE_QUERY_BACKEND": "torch"})
    onnx, torch_path, helps = [], [], []
    for _ in range(runs):
        onnx.append(_ragforge(*query))
        torch_path.append(_ragforge(*query, env={"RAGFORGE_QUERY_BACKEND": "torch"}))
        helps.append(_ragforge("--help"))
    return {"cold_query_s": statistics.median(onnx), "cold_query_torch_s": statistics.median(torch_path),
            "help_s": statistics.median(helps), "cold_runs": runs}


def main(argv: list[str] | None = None) -> dict:
    args = _args(argv)
    import torch

    load_before = os.getloadavg()[0]
    flags = cpu_flags()
    dataset = load_beir(args.data)
    docs = list(iter_beir_corpus(args.data / "corpus.jsonl", limit=args.limit))
    rss = PeakRss()
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        work = Path(tmp)
        os.environ["RAGFORGE_HOME"] = str(work / "home")  # the ONNX export is made (and timed) here
        embedders = {side: SentenceTransformerEmbedder(args.model, batch_size=args.batch_size, precision=side)
                     for side in SIDES if not (side == "int8" and args.no_int8)}
        for side in ("auto", "fp32"):
            embedders[side].embed_documents(["warm up the model"] * 64)
        started = time.perf_counter()
        embedders["auto"].prepare_queries()
        export_s = time.perf_counter() - started
        started = time.perf_counter()
        if "int8" in embedders:
            embedders["int8"].prepare_queries()
            embedders["int8"].embed_documents(["warm up the model"] * 8)
        quantise_s = time.perf_counter() - started
        ix = bench_indexing(docs, embedders, work, args.batch_size, args.slices, rss)
        doc_ids = {d.source for d in docs}
        query_texts = [dataset.queries[q].text for q in sorted(dataset.queries)[: args.latency_queries]]
        quality, latency = {}, {}
        fresh = SentenceTransformerEmbedder(args.model, precision="auto")  # no torch model: ONNX queries
        for side, embedder in {**embedders, "auto": fresh}.items():
            with Index.open(work / f"idx-{side}", embedder=embedder) as index:
                if side == "auto":
                    latency = bench_queries(index, query_texts)
                    with Index.open(work / "idx-auto", embedder=embedders["fp32"]) as on_torch:
                        latency["torch_p50_ms"] = bench_queries(on_torch, query_texts)["p50_ms"]
                quality[side] = bench_quality(index, dataset, doc_ids)
        assert fresh._model is None, "the auto side's queries were meant to go through the ONNX export"
        cold = bench_cold(work, args.cold_runs)
    figures = _figures(args, ix, latency, quality, cold, rss.peaks, torch.get_num_threads(), flags)
    figures.update(export_s=round(export_s, 1), int8_quantise_s=round(quantise_s, 1),
                   auto_precision=embedders["auto"].precision, load_avg_start=round(load_before, 2),
                   load_avg_end=round(os.getloadavg()[0], 2))
    _print_table(figures)
    print(json.dumps(figures))
    return figures


def _figures(args, ix: dict, lat: dict, quality: dict, cold: dict, peaks: dict, threads: int, flags) -> dict:
    wall, cpu = ix["wall"], ix["cpu"]
    f: dict = {"corpus": args.data.name, "docs": ix["docs"], "chunks": ix["chunks"], "model": args.model,
               "batch_size": args.batch_size, "torch_threads": threads, "slices": args.slices,
               "cpu_flags": reported_flags(flags)}
    for side in wall:
        f[f"{side}_s"] = round(wall[side], 2)
        f[f"{side}_cpu_s"] = round(cpu[side], 2)
        f[f"{side}_docs_per_s"] = round(ix["docs"] / wall[side], 2)
        f[f"{side}_peak_rss_mb"] = round(peaks.get(side, 0.0))
        if side != "bare":
            f[f"{side}_vs_bare"] = round(wall["bare"] / wall[side], 3)
            f[f"{side}_vs_bare_cpu"] = round(cpu["bare"] / cpu[side], 3)
    for side, q in quality.items():
        f[f"{side}_ndcg@10"] = round(q["ndcg@10"], 4)
        f[f"{side}_recall@100"] = round(q["recall@100"], 4)
    f["quality_queries"] = quality["auto"]["queries"]
    f.update(resync_s=round(ix["resync_s"], 4), resync_fraction=round(ix["resync_s"] / wall["auto"], 5),
             query_p50_ms=round(lat["p50_ms"], 2), query_p95_ms=round(lat["p95_ms"], 2),
             bound_p50_ms=round(lat["bound_p50_ms"], 2), bound_p95_ms=round(lat["bound_p95_ms"], 2),
             query_vs_bound_p50=round(lat["p50_ms"] / lat["bound_p50_ms"], 3),
             torch_query_p50_ms=round(lat["torch_p50_ms"], 2),
             cold_query_s=round(cold["cold_query_s"], 2), cold_query_torch_s=round(cold["cold_query_torch_s"], 2),
             help_s=round(cold["help_s"], 3), cold_runs=cold["cold_runs"], index_bytes=ix["index_bytes"],
             peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    return f


def _print_table(f: dict) -> None:
    rows = [
        ("corpus / docs / chunks", f"{f['corpus']} / {f['docs']} / {f['chunks']}"),
        ("model, batch, threads", f"{f['model']}, {f['batch_size']}, {f['torch_threads']}"),
        ("CPU flags", f"{' '.join(f['cpu_flags']) or 'none of note'} -> auto = {f['auto_precision']}"),
        ("load average start / end", f"{f['load_avg_start']} / {f['load_avg_end']} (2 cores, shared)"),
        ("ONNX export / int8 quantise", f"{f['export_s']} s / {f['int8_quantise_s']} s (once per model)"),
    ]
    for side in ("auto", "fp32", "int8", "bare"):
        if f"{side}_s" not in f:
            continue
        ratio = (f"  = {f[f'{side}_vs_bare']:.3f}x bare wall, {f[f'{side}_vs_bare_cpu']:.3f}x CPU"
                 if side != "bare" else "")
        quality = f", nDCG@10 {f[f'{side}_ndcg@10']:.4f}" if f"{side}_ndcg@10" in f else ""
        rows.append((f"(a) {side}", f"{f[f'{side}_s']:.1f} s = {f[f'{side}_docs_per_s']:.1f} docs/s{ratio}, "
                                    f"peak RSS {f[f'{side}_peak_rss_mb']} MB{quality}"))
    rows += [
        ("(b) re-sync unchanged", f"{f['resync_s'] * 1e3:.1f} ms = {f['resync_fraction'] * 100:.3f} % (< 1 %)"),
        ("(c) dense query p50 / p95", f"{f['query_p50_ms']:.2f} / {f['query_p95_ms']:.2f} ms (ONNX queries)"),
        ("    bound p50 / p95", f"{f['bound_p50_ms']:.2f} / {f['bound_p95_ms']:.2f} ms"),
        ("    p50 ratio (<= 1.2)", f"{f['query_vs_bound_p50']:.3f}; torch query path p50 "
                                  f"{f['torch_query_p50_ms']:.2f} ms"),
        ("(d) Recall@100 auto / fp32", f"{f['auto_recall@100']:.4f} / {f['fp32_recall@100']:.4f} "
                                       f"({f['quality_queries']} queries)"),
        ("(e) cold `ragforge query`", f"{f['cold_query_s']:.2f} s ONNX (< 1.5 s), {f['cold_query_torch_s']:.2f} s "
                                      f"torch (median of {f['cold_runs']})"),
        ("    `ragforge --help`", f"{f['help_s']:.3f} s (< 0.3 s)"),
        ("peak RSS (process)", f"{f['peak_rss_mb']:.0f} MB; auto index on disk {f['index_bytes'] / 1e6:.1f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
