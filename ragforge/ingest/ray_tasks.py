"""What runs on the workers of a Ray cluster: read + chunk (tasks) and embed (a stateful actor class).

Rows hold plain values: ``i`` (the source's place in the driver's list) and ``item`` (its
:class:`ragforge.ingest.plan.Item`). The read task adds ``result`` (``(document, chunks, text_hashes)`` or
``(reason, detail)``) and ``work`` (the distinct ``(hash, text)`` pairs of the source that the embedding cache
lacked when the sync started); the embed actor replaces ``work`` with ``hashes`` and ``vectors`` (float32
bytes). Ray carries the Python objects between processes (its own serialisation; nothing goes to a file).

Nothing here imports ray: the functions and the class are handed to Ray Data by :mod:`ray_executor`.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.ingest.executor import ChunkSpec, Prepared, prepare_one
from ragforge.ingest.plan import Todo
from ragforge.store.db import cache_key

KILL_ONCE = "RAGFORGE_TEST_RAY_KILL_ONCE"  # test hook: a marker path; the first embed call that finds it absent
# creates it and kills its worker process (a worker lost mid-run, which Ray retries)


@dataclass(frozen=True)
class ModelSpec:
    """How a worker makes the driver's embedder again, and what it must turn out to be."""

    spec: str
    batch_size: int
    model_id: str


@functools.lru_cache(maxsize=4)
def worker_embedder(model: ModelSpec) -> Any:
    """The embedder of this worker process (made once per process; its model loads on first use)."""
    from ragforge.errors import EmbeddingError
    from ragforge.store.layout import embedder_for

    embedder = embedder_for(model.spec, model.batch_size)
    if embedder.model_id != model.model_id:
        raise EmbeddingError(f"a Ray worker made {embedder.model_id} from {model.spec!r}, the index needs "
                             f"{model.model_id}: install the same ragforge and models on every node")
    return embedder


def in_filter(keys: np.ndarray, hashes: list[str]) -> np.ndarray:
    """Which ``hashes`` have their key in the sorted uint64 array ``keys`` (a false positive is possible,
    about one in 2**64 per pair; the driver embeds any vector it then lacks)."""
    if not len(keys) or not hashes:
        return np.zeros(len(hashes), dtype=bool)
    wanted = np.fromiter((cache_key(h) for h in hashes), dtype=np.uint64, count=len(hashes))
    place = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return keys[place] == wanted


def read_and_chunk(batch: dict[str, np.ndarray], *, spec: ChunkSpec, model: ModelSpec,
                   cached: np.ndarray) -> dict[str, np.ndarray]:
    """Ray Data task: read and chunk each source of the batch; list the texts the cache lacks."""
    embedder = worker_embedder(model)
    results: list[tuple[Any, ...]] = []
    work: list[list[tuple[str, str]]] = []
    for item in batch["item"]:
        got = prepare_one(Todo(item, "", "added"), spec, embedder.count_tokens)
        if isinstance(got, Prepared):
            results.append((got.document, got.chunks, got.text_hashes))
            pairs = dict(zip(got.text_hashes, (chunk.text for chunk in got.chunks), strict=True))
            hashes = list(pairs)
            known = in_filter(cached, hashes)
            work.append([(h, pairs[h]) for h, hit in zip(hashes, known, strict=True) if not hit])
        else:
            results.append((got.reason, got.detail))
            work.append([])
    return {"i": batch["i"], "result": _objects(results), "work": _objects(work)}


class EmbedActor:
    """Ray Data stateful actor: loads the model once, then embeds the texts of each batch of sources
    (each distinct text once per batch) and hands back every source's vectors."""

    def __init__(self, model: ModelSpec, threads: int) -> None:
        self.embedder = worker_embedder(model)
        self.embedder.embed_documents(["warm up"])  # load the model now; a model that fails fails here
        if "torch" in sys.modules:  # Ray gives an actor of fractional CPUs one thread: use what it reserved
            sys.modules["torch"].set_num_threads(threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        _test_kill_once()
        works = list(batch["work"])
        texts: dict[str, str] = {}
        for work in works:
            texts.update(work)
        order = list(texts)
        vectors = self.embedder.embed_documents([texts[h] for h in order])
        row_of = {h: n for n, h in enumerate(order)}
        hashes, blobs = [], []
        for work in works:
            mine = [h for h, _ in work]
            hashes.append(mine)
            picked = vectors[[row_of[h] for h in mine]] if mine else vectors[:0]
            blobs.append(np.ascontiguousarray(picked, dtype=np.float32).tobytes())
        return {"i": batch["i"], "result": batch["result"], "hashes": _objects(hashes),
                "vectors": _objects(blobs)}


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _test_kill_once() -> None:
    marker = os.environ.get(KILL_ONCE)
    if marker and not Path(marker).exists():
        Path(marker).touch()
        os._exit(1)
