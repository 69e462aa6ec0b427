"""Syncing a folder or in-memory documents into a store: plan under the write lock, run, report."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from ragforge.config import WalkConfig
from ragforge.errors import ConfigError
from ragforge.ingest.executor import Executor
from ragforge.ingest.plan import Item, make_plan
from ragforge.ingest.report import SyncReport
from ragforge.ingest.run import IngestRun, Progress
from ragforge.readers import walk as walk_folder
from ragforge.store import Store
from ragforge.types import Document


def sync_folder(store: Store, folder: str | Path, walk: WalkConfig | None = None,
                progress: Progress | None = None, *, retarget: bool = False,
                executor: Executor | None = None) -> SyncReport:
    """Bring the index in step with ``folder``: add new files, re-embed changed ones, drop gone ones.

    An index mirrors one folder. Syncing another one would remove every file indexed from the first, so
    it raises :class:`ConfigError` unless ``retarget`` says the folder moved or should replace the old one.
    """
    started = time.perf_counter()
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    root = str(folder.resolve())
    if store.path.resolve() == folder.resolve():
        raise ConfigError(f"the index {store.path} would be the folder it indexes; put it elsewhere")
    with store.writing():
        indexed = store.known_files()
        known = store.root
        if known and known != root and indexed and not retarget:
            raise ConfigError(
                f"the index at {store.path} mirrors {known} ({len(indexed)} files); syncing {root} would "
                f"remove them from it. Give this folder its own index (--index PATH), or pass --retarget "
                f"(Python: retarget=True) if the folder moved or should replace the old one: unchanged "
                f"text takes its embeddings from the cache")
        walked_at = time.time_ns()
        found = walk_folder(folder, walk or WalkConfig())
        items = [Item(e.source, e.size, e.mtime_ns, path=e.path) for e in found.files]
        plan = make_plan(items, indexed)
        plan.dropped += [s.source for s in found.skipped if s.source in indexed and s.reason != "vanished"]
        return IngestRun(store, plan, len(items), progress, executor=executor, walk_skipped=found.skipped,
                         root=root if known != root else None, started=started, walked_at=walked_at).run()


def sync_documents(store: Store, docs: Iterable[Document], *, delete_missing: bool = True,
                   progress: Progress | None = None, executor: Executor | None = None,
                   retarget: bool = False) -> SyncReport:
    """The same for in-memory documents keyed by ``Document.source`` (e.g. a BEIR corpus).

    Into an index that mirrors a folder this would remove the folder's files, so with ``delete_missing``
    it raises :class:`ConfigError` unless ``retarget`` (the documents then replace the folder).
    """
    started = time.perf_counter()
    by_source = {doc.source: doc for doc in docs}
    items = [Item(doc.source, len(doc.text), 0, document=doc) for doc in by_source.values()]
    with store.writing():
        indexed = store.known_files()
        root = store.root
        if root and indexed and delete_missing and not retarget:
            raise ConfigError(
                f"the index at {store.path} mirrors the folder {root} ({len(indexed)} files); syncing these "
                f"documents would remove them from it. Use another index (--index PATH, or none for a "
                f"temporary one), or pass retarget=True to replace the folder's files")
        plan = make_plan(items, indexed, delete_missing=delete_missing)
        return IngestRun(store, plan, len(items), progress, executor=executor, started=started,
                         root="" if root and delete_missing else None).run()
