"""Folder (or documents) -> ChangeSet -> the store.

    sync_folder(store, folder, walk, progress, retarget=False, executor=None) -> SyncReport
    sync_documents(store, docs, delete_missing=True, progress=None, executor=None) -> SyncReport

The plan (walk, stat, hash against the index) runs on the driver under the store's write lock; reading,
chunking and embedding run through an :class:`Executor` (``LocalExecutor`` by default) after the embedding
cache has been asked; each commit is one :class:`ragforge.store.ChangeSet` given to ``Store.apply``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragforge._lazy import lazy_exports
from ragforge.ingest.executor import ChunkSpec, Executor, Failed, LocalExecutor, Prepared, Window
from ragforge.ingest.report import SyncReport
from ragforge.ingest.run import Progress
from ragforge.ingest.sync import sync_documents, sync_folder

if TYPE_CHECKING:  # pragma: no cover
    from ragforge.ingest.ray_executor import RayExecutor, check_reachable

__all__ = ["ChunkSpec", "Executor", "Failed", "LocalExecutor", "Prepared", "Progress", "RayExecutor", "SyncReport",
           "Window", "check_reachable", "sync_documents", "sync_folder"]

# imported on demand (Ray itself loads only when a RayExecutor runs): the `ray` extra
__getattr__ = lazy_exports(__name__, {"RayExecutor": "ragforge.ingest.ray_executor",
                                      "check_reachable": "ragforge.ingest.ray_executor"})[0]
