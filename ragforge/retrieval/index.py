"""``Index``: the handle users hold. Opens or creates an index, syncs folders or documents, searches.

    with open_index("my-index", create=True) as index:
        index.sync("~/notes")
        hits = index.search("how do I rotate the keys?", k=5)

Searching delegates to :func:`ragforge.retrieval.search.run_search`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ragforge.config import DEFAULT_MODEL, IndexConfig, VectorConfig, WalkConfig
from ragforge.embedding.base import Embedder
from ragforge.errors import ConfigError
from ragforge.ingest import Executor, Progress, SyncReport, sync_documents, sync_folder
from ragforge.store import DEFAULT_LOCK_TIMEOUT, IndexInfo, Store, Where
from ragforge.store.layout import check_model, embedder_for
from ragforge.store.manifest import read_manifest
from ragforge.types import Document, Hit


class Index:
    """An open index: a :class:`Store` and the embedder that built it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, path: str | Path, *, model: str | None = None, embedder: Embedder | None = None,
             create: bool = False, config: IndexConfig | None = None,
             lock_timeout: float = DEFAULT_LOCK_TIMEOUT, precision: str | None = None) -> Index:
        """Open the index at ``path``; with ``create=True`` make it first if there is none.

        The embedder is ``embedder``, else made from ``model``, else from the index's manifest (or, for a new
        index, from ``config.model``). One that differs from the index's model raises ModelMismatchError.
        ``config`` applies only when the index is created; an existing index keeps its manifest's settings.
        ``precision`` (sentence-transformers models: "auto", "fp32", "bf16", "int8") overrides the one the
        index was created with, for this handle; int8 is a model of its own (another model id).
        """
        path = Path(path).expanduser()
        if config is not None and model is not None and config.model != model:
            config = config.model_copy(update={"model": model})
        if config is not None and precision is not None:
            config = config.model_copy(update={"precision": precision})
        if Store.exists(path):
            if embedder is None and (model is not None or precision is not None):
                manifest = read_manifest(path)
                embedder = embedder_for(model or manifest.model, manifest.batch_size, precision)
                check_model(path, manifest, embedder)
            return cls(Store.open(path, embedder, lock_timeout=lock_timeout))
        if not create:
            return cls(Store.open(path, embedder, lock_timeout=lock_timeout))  # raises IndexNotFoundError
        config = config or IndexConfig(model=model or DEFAULT_MODEL, precision=precision)
        return cls(Store.create(path, config, embedder, lock_timeout=lock_timeout, exist_ok=True))

    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def embedder(self) -> Embedder:
        return self.store.embedder

    def sync(self, folder: str | Path, *, include: Iterable[str] = (), exclude: Iterable[str] = (),
             walk: WalkConfig | None = None, progress: Progress | None = None,
             retarget: bool = False, executor: Executor | None = None) -> SyncReport:
        """Index ``folder``: add new files, re-embed changed ones, drop deleted ones.

        An index mirrors one folder; ``retarget=True`` lets it follow a folder that moved (or replace it).
        ``executor`` runs reading, chunking and embedding (default: in this process).
        """
        return sync_folder(self.store, folder, _walk(walk, include, exclude), progress, retarget=retarget,
                           executor=executor)

    def watch(self, folder: str | Path, *, include: Iterable[str] = (), exclude: Iterable[str] = (),
              walk: WalkConfig | None = None, on_sync: Callable[[SyncReport], None] | None = None,
              stop: threading.Event | None = None, progress: Progress | None = None, debounce: float = 0.3,
              max_delay: float = 2.0, retarget: bool = False, executor: Executor | None = None,
              handle_signals: bool = True) -> int:
        """Sync ``folder``, then keep the index in step with it until Ctrl-C / SIGTERM (in the main thread) or
        ``stop.set()``; returns the number of syncs. ``on_sync`` receives each sync's report. Changes are
        batched (``debounce`` seconds of quiet, at most ``max_delay`` of waiting) and each batch is one
        ordinary sync; stopping happens between commits. Details: :mod:`ragforge.ingest.watch`.
        """
        from ragforge.ingest.watch import watch_folder

        return watch_folder(self.store, folder, _walk(walk, include, exclude), on_sync=on_sync, progress=progress,
                            stop=stop, debounce=debounce, max_delay=max_delay, retarget=retarget,
                            executor=executor, handle_signals=handle_signals)

    def sync_documents(self, docs: Iterable[Document], *, delete_missing: bool = True,
                       progress: Progress | None = None, retarget: bool = False) -> SyncReport:
        """Index in-memory documents keyed by ``Document.source`` (refused, unless ``retarget``, when that
        would remove the files of the folder this index mirrors)."""
        return sync_documents(self.store, docs, delete_missing=delete_missing, progress=progress,
                              retarget=retarget)

    def search(self, query: str, k: int = 5, *, where: Where | dict[str, Any] | None = None,
               mode: str = "hybrid", rerank: Any = None, options: Any = None) -> list[Hit]:
        """The top ``k`` hits: ``mode`` is "dense", "lexical" or "hybrid"; ``where`` filters by path/type."""
        from ragforge.retrieval.search import run_search

        query = clean_text(query)
        return run_search(self.store, self.store.embedder, query, k, Where.coerce(where), mode, rerank,
                          options)

    def info(self) -> IndexInfo:
        return self.store.info()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r}, model={self.store.manifest.model_id!r})"


open_index = Index.open


def _walk(walk: WalkConfig | None, include: Iterable[str], exclude: Iterable[str]) -> WalkConfig:
    include, exclude = tuple(include), tuple(exclude)
    if walk is None:
        return WalkConfig(include=include, exclude=exclude)
    if include or exclude:
        return walk.model_copy(update={"include": walk.include + include, "exclude": walk.exclude + exclude})
    return walk


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: bytes that were not UTF-8 (lone surrogates, e.g. from the command line)
    become U+FFFD, so tokenizers and SQLite never see them."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def check_index_outside(folder: Path, index_path: Path) -> None:
    """An index may not be the folder it indexes (it would index nothing, and later syncs of the folder would
    find nothing either); one inside a subfolder is skipped by the walk and reported."""
    if folder.resolve() == index_path.resolve():
        raise ConfigError(f"the index {index_path} would be the folder it indexes; put it elsewhere "
                          f"(--index PATH outside {folder})")
    if index_path.resolve() in folder.resolve().parents:
        raise ConfigError(f"the folder {folder} is inside the index {index_path}; put the index elsewhere")


def build_index(folder: str | Path, index_path: str | Path, *, model: str | None = None,
                walk: WalkConfig | None = None, rebuild: bool = False, progress: Progress | None = None,
                lock_timeout: float = DEFAULT_LOCK_TIMEOUT, retarget: bool = False,
                precision: str | None = None, executor: Executor | None = None,
                vectors: VectorConfig | None = None) -> SyncReport:
    """What ``ragforge index`` does: create or open the index (rebuilding it if asked) and sync ``folder``.

    Without ``model`` an existing index keeps its own model; a new one uses the default model. ``rebuild``
    empties the index first but keeps its model (unless ``model`` is given), its chunking and its embedding
    cache, so unchanged text is not embedded again. ``precision`` as for :meth:`Index.open`. ``executor`` runs
    reading, chunking and embedding (e.g. :class:`ragforge.ingest.ray_executor.RayExecutor`). ``vectors`` sets a
    new (or rebuilt) index's vector index; an existing index with another one raises ConfigError.
    Afterwards the embedder prepares for later queries (the model's ONNX export, made once while torch is
    loaded anyway), so a cold ``ragforge query`` need not import torch.
    """
    with _open_for(folder, index_path, model, rebuild, lock_timeout, precision, vectors) as index:
        report = index.sync(folder, walk=walk, progress=progress, retarget=retarget, executor=executor)
        _prepare_queries(index)
        return report


def watch_index(folder: str | Path, index_path: str | Path, *, on_sync: Callable[[SyncReport], None],
                model: str | None = None, walk: WalkConfig | None = None, rebuild: bool = False,
                progress: Progress | None = None, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                retarget: bool = False, debounce: float = 0.3, precision: str | None = None,
                vectors: VectorConfig | None = None) -> int:
    """What ``ragforge index --watch`` does: :func:`build_index`'s first sync, then :meth:`Index.watch` until
    Ctrl-C; ``on_sync`` receives every report. Returns the number of syncs."""
    with _open_for(folder, index_path, model, rebuild, lock_timeout, precision, vectors) as index:
        _prepare_queries(index)
        return index.watch(folder, walk=walk, on_sync=on_sync, progress=progress, retarget=retarget,
                           debounce=debounce, max_delay=max(2.0, debounce))


def _open_for(folder: str | Path, index_path: str | Path, model: str | None, rebuild: bool,
              lock_timeout: float, precision: str | None = None, vectors: VectorConfig | None = None) -> Index:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    check_index_outside(folder, Path(index_path).expanduser())
    if rebuild:
        Store.rebuild(index_path, model=model, lock_timeout=lock_timeout, precision=precision, vectors=vectors)
    config = IndexConfig(model=model or DEFAULT_MODEL, precision=precision, vectors=vectors) \
        if vectors is not None else None
    index = Index.open(index_path, model=model, create=True, config=config, lock_timeout=lock_timeout,
                       precision=precision)
    have = index.store.vector_config
    if vectors is not None and have != vectors:
        index.close()
        raise ConfigError(f"the index at {index.path} keeps its vectors as {have.kind} with other settings; add "
                          f"--rebuild to rebuild it with --vectors {vectors.kind} (the embedding cache is kept)")
    return index


def _prepare_queries(index: Index) -> None:
    """Let the embedder get ready for queries in later processes (the ONNX export, made once, now that torch
    is loaded anyway), so a cold ``ragforge query`` need not import torch."""
    prepare = getattr(index.embedder, "prepare_queries", None)
    if prepare is not None:
        prepare()
