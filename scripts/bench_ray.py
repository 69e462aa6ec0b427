"""The same files through the local path and through Ray Data with 1 and 2 embedding actors, on this machine.

    nice .venv/bin/python scripts/bench_ray.py --data ../shared/data/scifact --files 2000

Writes the first ``--files`` documents of a BEIR corpus as small text files, then indexes them three times into
fresh indexes with the same model: (a) the local path (``index.sync(folder)``), (b) ``RayExecutor`` with one
actor of 1.5 CPUs (2 torch threads), (c) two actors of 0.75 CPUs (1 thread each: the default on a 2-CPU node;
actors x CPUs leave 0.5 CPU to the read tasks, see ray-project/ray#44687). The Ray cluster is started once
before the timings (``ray.init(num_cpus=2)``; its start is reported apart), as a user's running cluster would be.
Each Ray index is compared with the local one: same chunk ids, vectors within float rounding.

Prints a table (overhead of each Ray run over the local one; per-actor throughput, which is what a cluster
multiplies) and one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.config import DEFAULT_MODEL, IndexConfig
from ragforge.eval.retrieval_loaders import iter_beir_corpus
from ragforge.retrieval.index import Index


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/scifact"), help="a BEIR folder")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--batch-size", type=int, default=32, help="files per actor call")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--address", default=None, help="join this Ray cluster instead of starting one")
    parser.add_argument("--keep-local", type=Path, default=None, help="copy the local path's index here")
    return parser.parse_args(argv)


def write_files(data: Path, folder: Path, n: int) -> int:
    folder.mkdir(parents=True)
    count = 0
    for doc in iter_beir_corpus(data / "corpus.jsonl", limit=n):
        (folder / f"{doc.source}.txt").write_text(f"{doc.title or ''}\n\n{doc.text}\n", encoding="utf-8")
        count += 1
    return count


def start_cluster(ray: Any, cpus: int, address: str | None) -> None:
    """Join ``address``, or start a local cluster of ``cpus`` CPUs. Ray gives a new raylet 30 s to start, which
    a loaded machine under ``nice`` can miss: then start one apart (``ray start --head --num-cpus 2``, at the
    same niceness, with ``RAY_worker_niceness=0``) and pass ``--address auto``."""
    if address:
        ray.init(address=address, log_to_driver=False, logging_level="error")
    else:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level="error")


def run(folder: Path, index_dir: Path, model: str, executor: object | None) -> dict:
    config = IndexConfig(model=model)
    with Index.open(index_dir, create=True, config=config) as index:
        started = time.perf_counter()
        report = index.sync(folder, executor=executor)
        seconds = time.perf_counter() - started
        store = index.store
        rows = sorted(store._conn.execute("SELECT id, text_hash FROM chunks").fetchall())
        vectors = store.cached_vectors({h for _, h in rows})
    return {"seconds": seconds, "files": report.added, "chunks": report.chunks_added, "rows": rows,
            "vectors": vectors}


def compare(local: dict, other: dict) -> dict:
    same_ids = [i for i, _ in local["rows"]] == [i for i, _ in other["rows"]]
    worst = max((float(np.abs(local["vectors"][h] - other["vectors"][h]).max()) for h in local["vectors"]),
                default=0.0)
    return {"same_chunk_ids": same_ids, "max_vector_diff": worst}


def main(argv: list[str] | None = None) -> dict:
    args = _args(argv)
    import ray

    from ragforge.ingest.ray_executor import RayExecutor

    load_start = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        folder = Path(tmp) / "files"
        files = write_files(args.data, folder, args.files)
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # no C++ notices in the table
        os.environ.setdefault("RAY_worker_niceness", "0")  # Ray runs workers at nice +15 by default: on a shared
        # machine that starves the Ray path against the local one; the same niceness as this process instead
        started = time.perf_counter()
        start_cluster(ray, args.cpus, args.address)
        init_s = time.perf_counter() - started
        local = run(folder, Path(tmp) / "local", args.model, None)
        if args.keep_local:
            shutil.copytree(Path(tmp) / "local", args.keep_local, dirs_exist_ok=True)
        runs = {}
        for actors, cpus in ((1, 1.5), (2, 0.75)):
            executor = RayExecutor(actors=actors, cpus_per_actor=cpus, batch_size=args.batch_size)
            got = run(folder, Path(tmp) / f"ray{actors}", args.model, executor)
            runs[actors] = {"cpus_per_actor": cpus, "seconds": round(got["seconds"], 2),
                            "overhead": round(got["seconds"] / local["seconds"] - 1, 3),
                            "chunks_per_s": round(got["chunks"] / got["seconds"], 2),
                            "chunks_per_s_per_actor": round(got["chunks"] / got["seconds"] / actors, 2),
                            **compare(local, got)}
        ray.shutdown()
    figures = {"load_average_start": load_start, "load_average_end": [round(x, 2) for x in os.getloadavg()],
               "corpus": args.data.name, "files": files, "chunks": local["chunks"], "model": args.model,
               "cluster_cpus": args.cpus, "ray_init_s": round(init_s, 2), "local_s": round(local["seconds"], 2),
               "local_chunks_per_s": round(local["chunks"] / local["seconds"], 2),
               "ray_1_actor": runs[1], "ray_2_actors": runs[2]}
    _print_table(figures)
    print(json.dumps(figures))
    return figures


def _print_table(f: dict) -> None:
    print(f"{f['files']} files ({f['corpus']}), {f['chunks']} chunks, {f['model']}; Ray cluster of "
          f"{f['cluster_cpus']} CPUs started in {f['ray_init_s']:.1f} s (not in the timings)")
    header = f"{'path':<28} {'seconds':>8} {'chunks/s':>9} {'per actor':>10} {'overhead':>9} {'same ids':>9} " \
             f"{'max |dv|':>9}"
    print(header)
    print("-" * len(header))
    print(f"{'local (this process)':<28} {f['local_s']:>8.1f} {f['local_chunks_per_s']:>9.1f} {'':>10} {'':>9}")
    for name, key in (("Ray, 1 actor x 1.5 CPU", "ray_1_actor"), ("Ray, 2 actors x 0.75 CPU", "ray_2_actors")):
        r = f[key]
        print(f"{name:<28} {r['seconds']:>8.1f} {r['chunks_per_s']:>9.1f} {r['chunks_per_s_per_actor']:>10.1f} "
              f"{r['overhead'] * 100:>8.1f}% {str(r['same_chunk_ids']):>9} {r['max_vector_diff']:>9.1e}")
    print(f"load average {f['load_average_start']} at the start, {f['load_average_end']} at the end (2 cores shared "
          f"with other jobs)")


if __name__ == "__main__":
    main(sys.argv[1:])
