"""Reading, chunking and embedding on a Ray cluster, with Ray Data (``pip install 'ragforge[ray]'``).

    index.sync(folder, executor=RayExecutor(address="auto", actors=4, cpus_per_actor=2, batch_size=32))
    ragforge index DIR --ray [ADDRESS] --actors 4 --cpus-per-actor 2 --ray-batch-size 32

The plan (walk, stat, hash against the index) and the one writer stay on the driver. The sources to read go
through one Ray Data pipeline: ``from_items`` over them, read + chunk in tasks (:func:`ray_tasks.read_and_chunk`),
embed in a stateful actor class (:class:`ray_tasks.EmbedActor`, one model load per actor) through
``map_batches(..., compute=ActorPoolStrategy(size=actors), batch_size=...)``; results stream back to the
driver, which commits them in windows through ``Store.apply``, the same crash-safe commit as a local sync.

The embedding cache is asked before anything is sent: :meth:`RayExecutor.start` takes the keys of every cached
text (8 bytes each) and the read tasks leave those texts out of what the actors embed.

Resources: read tasks take ``READ_CPUS`` each; actors x CPUs per actor must leave at least that much of the
cluster free, or Ray Data starts the actors first and no read task can ever run (ray-project/ray#44687).
Files are read by the workers at the driver's absolute paths: on a cluster, a drive mounted alike on every
node, and ragforge (with the model) installed on every node.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ragforge.embedding.base import Embedder
from ragforge.errors import ClusterError, ConfigError, RagforgeError
from ragforge.ingest.executor import ChunkSpec, Failed, Prepared, Window
from ragforge.ingest.plan import Todo
from ragforge.ingest.ray_tasks import EmbedActor, ModelSpec, read_and_chunk, worker_embedder

logger = logging.getLogger("ragforge.ingest")
READ_CPUS = 0.5  # logical CPUs of one read + chunk task
FILES_PER_TASK = 16  # sources per read task (a Ray Data block)
CONNECT_TIMEOUT = 5.0


class RayExecutor:
    """An :class:`ragforge.ingest.Executor` on a Ray cluster.

    ``address``: a running cluster (``"auto"``, ``"HOST:PORT"``, ``"ray://HOST:PORT"``); None starts a local
    one for the sync (or uses the Ray this process already joined). ``actors`` (embedding actors) and
    ``cpus_per_actor`` (logical CPUs each, fractional allowed) default to one single-threaded actor per
    whole CPU, sharing all but ``READ_CPUS`` of the largest node (2 CPUs: 2 actors x 0.75; 8 CPUs: 8 x
    0.9375): on 2 CPUs, 2 actors x 0.75 cost +6 % over the local path, 1 actor x 1.5 CPUs +27 %
    (``scripts/bench_ray.py``). ``batch_size`` is sources per actor call.
    """

    def __init__(self, address: str | None = None, *, actors: int | None = None,
                 cpus_per_actor: float | None = None, batch_size: int = 32) -> None:
        if actors is not None and actors < 1:
            raise ConfigError(f"actors must be at least 1, got {actors}")
        if cpus_per_actor is not None and cpus_per_actor <= 0:
            raise ConfigError(f"cpus_per_actor must be positive, got {cpus_per_actor}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.address = address
        self.actors = actors
        self.cpus_per_actor = cpus_per_actor
        self.batch_size = batch_size
        self._cached = np.zeros(0, dtype=np.uint64)
        self._cache_keys: Callable[[], np.ndarray] | None = None
        self._vectors: dict[str, np.ndarray] = {}
        self._started_ray = False

    # -- the driver's calls -----------------------------------------------------------------------------
    def start(self, store: Any) -> None:
        """Called by the driver under the write lock before :meth:`prepare`: where the cache's keys come from
        (read only when there is something to send)."""
        self._cache_keys = store.cache_keys
        self._vectors.clear()

    def prepare(self, todos: Iterable[Todo], spec: ChunkSpec, embedder: Embedder) -> Iterator[Prepared | Failed]:
        todos = list(todos)
        if not todos:
            return
        model = model_spec(embedder)
        self._cached = self._cache_keys() if self._cache_keys is not None else np.zeros(0, dtype=np.uint64)
        self._connect()
        try:
            yield from self._run(todos, spec, model)
        finally:
            self._disconnect()

    def embed(self, windows: Iterable[Window], embedder: Embedder) -> Iterator[tuple[Window, np.ndarray]]:
        """The vectors the actors made for each window's texts (the driver embeds any they lack)."""
        for window in windows:
            missing = [n for n, h in enumerate(window.hashes) if h not in self._vectors]
            if missing:  # a cache-key collision left a text out: embed it here
                extra = embedder.embed_documents([window.texts[n] for n in missing])
                self._vectors.update(zip((window.hashes[n] for n in missing), extra, strict=True))
            vectors = np.zeros((len(window.hashes), embedder.dimension), dtype=np.float32)
            for n, text_hash in enumerate(window.hashes):
                vectors[n] = self._vectors[text_hash]
            yield window, vectors
            for item in window.files:
                for text_hash in item.text_hashes:
                    self._vectors.pop(text_hash, None)

    # -- the pipeline -----------------------------------------------------------------------------------
    def _run(self, todos: list[Todo], spec: ChunkSpec, model: ModelSpec) -> Iterator[Prepared | Failed]:
        import ray
        from ray.data import ActorPoolStrategy

        actors, cpus = self.resources()
        rows = [{"i": n, "item": todo.item} for n, todo in enumerate(todos)]
        dataset: Any = ray.data.from_items(rows, override_num_blocks=max(1, math.ceil(len(rows) / FILES_PER_TASK)))
        dataset = dataset.map_batches(
            read_and_chunk, batch_format="numpy", batch_size=FILES_PER_TASK, num_cpus=READ_CPUS,
            fn_kwargs={"spec": spec, "model": model, "cached": self._cached})
        dataset = dataset.map_batches(
            EmbedActor, batch_format="numpy", batch_size=self.batch_size, num_cpus=cpus,
            compute=ActorPoolStrategy(size=actors),
            fn_constructor_kwargs={"model": model, "threads": max(1, math.ceil(cpus))})
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                for n, result, hashes, vectors in zip(batch["i"], batch["result"], batch["hashes"],
                                                      batch["vectors"], strict=True):
                    yield self._result(todos[int(n)], tuple(result), list(hashes), vectors)
        except ray.exceptions.RayError as exc:
            raise _translate(exc) from exc

    def _result(self, todo: Todo, result: tuple[Any, ...], hashes: list[str], vectors: bytes) -> Prepared | Failed:
        if len(result) == 2:
            return Failed(todo, *result)
        document, chunks, text_hashes = result
        if hashes:
            array = np.frombuffer(vectors, dtype=np.float32).reshape(len(hashes), -1)
            self._vectors.update(zip(hashes, array, strict=True))
        return Prepared(todo, document, chunks, text_hashes)

    def resources(self) -> tuple[int, float]:
        """(actors, CPUs per actor) on the cluster this process has joined, checked so that read tasks can
        always run."""
        import ray

        nodes = [float(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
        total, largest = sum(nodes), max(nodes, default=0.0)
        usable = largest - READ_CPUS
        cpus = self.cpus_per_actor or (max(READ_CPUS, usable / math.ceil(usable)) if usable > 0 else READ_CPUS)
        actors = self.actors or max(1, sum(int((node - READ_CPUS) / cpus + 1e-9) for node in nodes))
        if cpus > largest:
            raise ConfigError(f"an actor of {cpus:g} CPUs fits on no node of the Ray cluster (the largest has "
                              f"{largest:g}): lower --cpus-per-actor")
        if actors * cpus + READ_CPUS > total:
            raise ConfigError(
                f"{actors} actors x {cpus:g} CPUs would leave less than {READ_CPUS:g} of the cluster's {total:g} "
                f"CPUs to the read tasks, and Ray Data would hang (ray-project/ray#44687): lower --actors or "
                f"--cpus-per-actor (fractions are fine)")
        return actors, cpus

    # -- joining the cluster ------------------------------------------------------------------------------
    def _connect(self) -> None:
        if self.address not in (None, "", "auto"):
            check_reachable(self.address)
        import ray

        if ray.is_initialized():  # this process joined a cluster already (a notebook, a test)
            _quiet(ray)
            return
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # Ray's C++ core prints notices on stderr
        try:
            ray.init(address=self.address or None, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
        except Exception as exc:
            where = self.address or "a new local cluster"
            raise ClusterError(f"could not join the Ray cluster at {where} ({_first_line(exc)}): start it with "
                               f"`ray start --head`, or check the --ray address") from exc
        self._started_ray = True
        _quiet(ray)

    def _disconnect(self) -> None:
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False


def model_spec(embedder: Embedder) -> ModelSpec:
    """What workers make the embedder from; refused when that does not give this very embedder back."""
    spec = str(getattr(embedder, "spec", None) or embedder.model_id)
    model = ModelSpec(spec, int(getattr(embedder, "batch_size", 32)), embedder.model_id)
    try:
        worker_embedder(model)
    except RagforgeError as exc:
        raise ConfigError(f"the embedder {embedder.model_id} cannot be made again on Ray workers from its spec "
                          f"{spec!r} ({exc}); use a model spec make_embedder knows") from exc
    return model


def check_reachable(address: str) -> None:
    """A one-line ClusterError, in seconds, when nothing answers at ``address`` (HOST:PORT or ray://...)."""
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"bad Ray address {address!r}: use HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ClusterError(f"no Ray cluster answers at {address} ({exc.strerror or exc}): start it with "
                           f"`ray start --head`, or check the --ray address") from exc


def _translate(exc: Exception) -> RagforgeError:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, RagforgeError):
        return cause
    return ClusterError(f"the Ray cluster failed: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _quiet(ray: Any) -> None:
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
