"""One sync run on the driver: prepare through an executor, resolve the embedding cache, embed the rest in
windows, and hand the store one :class:`ChangeSet` per commit (a huge first sync commits in parts).

The store's commit is crash-safe (see :mod:`ragforge.store.store`); a run killed between two commits leaves
the last one, and the next sync picks up what is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ragforge.errors import ModelMismatchError
from ragforge.ingest.executor import ChunkSpec, Executor, Failed, LocalExecutor, Prepared, Window
from ragforge.ingest.plan import Plan, failed
from ragforge.ingest.report import SyncReport
from ragforge.readers import Skipped
from ragforge.store import ChangeSet, FileChange, Store, Touched

Progress = Callable[[int, int, str], None]
EMBED_WINDOW = 256  # texts per embed call: big enough to sort by length, small enough for progress
WINDOW_FILES = 256  # sources per window when every vector came from the cache
COMMIT_EVERY = 50_000  # chunks per commit
RACY_NS = 2_000_000_000  # a file modified this close to the walk may change again within its mtime tick


@dataclass
class _Batch:
    files: list[Prepared] = field(default_factory=list)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    fresh: set[str] = field(default_factory=set)
    chunks: int = 0


class IngestRun:
    def __init__(self, store: Store, plan: Plan, total: int, progress: Progress | None, *,
                 executor: Executor | None = None, walk_skipped: Iterable[Skipped] = (),
                 root: str | None = None, started: float | None = None, walked_at: int = 0) -> None:
        self.store = store
        self.plan = plan
        self.executor = executor or LocalExecutor()
        self.walk_skipped = list(walk_skipped)
        self.total = total
        self.progress = progress
        self.root = root
        self.started = time.perf_counter() if started is None else started
        self.report = SyncReport(unchanged=plan.unchanged)
        self.done = plan.unchanged + len(plan.skipped)
        self.first_commit = True
        self.deletes = list(plan.gone)  # sources to remove in the next commit
        self.racy_after = walked_at - RACY_NS if walked_at else None

    def run(self) -> SyncReport:
        self._tick("")
        store = self.store
        spec = chunk_spec(store)
        start = getattr(self.executor, "start", None)
        if start is not None:  # an executor that embeds beside its readers takes the cache's keys first (Ray)
            start(store)
        prepared = self.executor.prepare(self.plan.todo, spec, store.embedder)
        batch = _Batch()
        for window, vectors in self.executor.embed(self._windows(prepared), store.embedder):
            self._take(batch, window, vectors)
            if batch.chunks >= COMMIT_EVERY:
                self._commit(batch)
                batch = _Batch()
        self._commit(batch)
        self.report.skipped = sorted(self.walk_skipped + list(self.plan.skipped), key=lambda s: s.source)
        self.report.dropped = sorted(set(self.plan.dropped))
        self.report.removed = len(set(self.plan.gone) - self.plan.renamed_away - set(self.plan.dropped))
        self.report.seconds = time.perf_counter() - self.started
        self._tick("")
        return self.report

    def _tick(self, source: str) -> None:
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total, source)

    def _windows(self, results: Iterator[Prepared | Failed]) -> Iterator[Window]:
        """Group prepared sources into windows; texts the cache holds are not sent to be embedded."""
        window, wanted = Window(), set()
        for result in results:
            if isinstance(result, Failed):
                source = result.todo.item.source
                failed(self.plan, source, result.reason, result.detail, indexed=result.todo.kind == "changed")
                if result.todo.kind == "changed":
                    self.deletes.append(source)
                self.done += 1
                self._tick(result.todo.item.source)
                continue
            window.files.append(result)
            for text_hash, chunk in zip(result.text_hashes, result.chunks, strict=True):
                if text_hash not in wanted:
                    wanted.add(text_hash)
                    window.hashes.append(text_hash)
                    window.texts.append(chunk.text)
            if len(window.texts) >= EMBED_WINDOW or len(window.files) >= WINDOW_FILES:
                yield self._uncached(window)
                window, wanted = Window(), set()
        if window.files:
            yield self._uncached(window)

    def _uncached(self, window: Window) -> Window:
        window.cached = cached = self.store.cached_vectors(window.hashes)
        keep = [i for i, h in enumerate(window.hashes) if h not in cached]
        window.hashes = [window.hashes[i] for i in keep]
        window.texts = [window.texts[i] for i in keep]
        return window

    def _take(self, batch: _Batch, window: Window, vectors: np.ndarray) -> None:
        store = self.store
        if vectors.shape != (len(window.hashes), store.manifest.dimension):
            raise ModelMismatchError(
                f"{store.embedder.model_id} returned vectors of shape {vectors.shape}; the index at "
                f"{store.path} holds dimension {store.manifest.dimension}")
        batch.vectors.update(window.cached)
        batch.vectors.update(zip(window.hashes, vectors, strict=True))
        batch.fresh.update(window.hashes)
        embedded = set(window.hashes)
        for item in window.files:
            batch.files.append(item)
            batch.chunks += len(item.chunks)
            fresh = sum(1 for h in item.text_hashes if h in embedded)
            self.report.chunks_embedded += fresh
            self.report.chunks_from_cache += len(item.text_hashes) - fresh
            self.done += 1
            self._tick(item.todo.item.source)

    def _commit(self, batch: _Batch) -> None:
        plan, first = self.plan, self.first_commit
        changes = ChangeSet(
            files=[self._file_change(p) for p in batch.files], deleted=self.deletes,
            touched=[Touched(source, size, self._mtime(mtime)) for size, mtime, source in plan.stats]
            if first else [],
            vectors=batch.vectors, fresh=batch.fresh, root=self.root if first else None)
        if changes.is_empty():
            return
        applied = self.store.apply(changes)
        self.deletes = []
        for item in batch.files:
            kind = item.todo.kind
            setattr(self.report, kind, getattr(self.report, kind) + 1)
        self.report.chunks_added += applied.chunks_added
        self.report.chunks_removed += applied.chunks_removed
        self.first_commit = False

    def _mtime(self, mtime_ns: int) -> int:
        """The mtime to record: -1 for a file modified so close to the walk that a later write in the same
        mtime tick would go unseen (the next sync then hashes it again)."""
        racy = self.racy_after is not None and mtime_ns >= self.racy_after
        return -1 if racy else mtime_ns

    def _file_change(self, item: Prepared) -> FileChange:
        entry, doc = item.todo.item, item.document
        return FileChange(source=entry.source, size=entry.size, mtime_ns=self._mtime(entry.mtime_ns),
                          content_hash=item.todo.content_hash, file_type=doc.file_type, title=doc.title,
                          chunks=tuple(item.chunks), text_hashes=tuple(item.text_hashes))


def chunk_spec(store: Store) -> ChunkSpec:
    chunking = store.manifest.chunking
    size = int(chunking.get("max_tokens") or store.embedder.max_tokens)
    return ChunkSpec(max_tokens=size, overlap_tokens=min(int(chunking.get("overlap_tokens", 0)), size // 2))



