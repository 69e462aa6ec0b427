"""One sync run: read and chunk, embed what the cache lacks, and commit crash-safely.

Commit protocol (see ``Store`` docs): the new FAISS index is built in memory from a copy of the current one,
written to ``vectors-<generation+1>.faiss`` (temporary name, fsync, rename); then ONE SQLite transaction
deletes and inserts rows (FTS follows by trigger), caches new vectors and sets ``meta.vectors_file``; only
after the commit is the old vector file deleted. A crash at any point leaves the previous state or the new
one loadable; stray vector files are removed by the next writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np

from ragforge.chunking import chunk_document
from ragforge.errors import ModelMismatchError
from ragforge.store import db
from ragforge.readers import Skipped
from ragforge.store.models import SyncReport
from ragforge.store.sync import Plan, Prepared, prepare
from ragforge.types import Chunk, Document

if TYPE_CHECKING:
    from ragforge.store.store import Store

Progress = Callable[[int, int, str], None]
EMBED_WINDOW = 256  # texts per embed_documents call: big enough to sort by length, small enough for progress
COMMIT_EVERY = 50_000  # chunks per commit: a huge first sync commits (crash-safely) in parts


@dataclass
class _Batch:
    prepared: list[Prepared] = field(default_factory=list)
    new_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # text_hash -> vector, to cache
    pending: dict[str, str] = field(default_factory=dict)  # text_hash -> text, not embedded yet
    waiting: list[Prepared] = field(default_factory=list)  # files whose texts are not all embedded yet
    chunks: int = 0


class SyncRun:
    def __init__(self, store: Store, plan: Plan, total: int, progress: Progress | None,
                 walk_skipped: list[Skipped] | None = None) -> None:
        self.store = store
        self.plan = plan
        self.walk_skipped = list(walk_skipped or [])
        self.total = total
        self.progress = progress
        self.report = SyncReport(unchanged=plan.unchanged, kept_on_error=list(plan.kept))
        self.done = plan.unchanged + len(plan.skipped)
        self.vectors: dict[str, np.ndarray] = {}  # every vector this batch needs, by text hash
        self.first_commit = True

    def run(self) -> SyncReport:
        started = time.perf_counter()
        self._tick("")
        batch = _Batch()
        for todo in self.plan.todo:
            item = prepare(todo, self.plan, self._chunk)
            self.done += item is None
            if item is not None:
                self._add(batch, item)
            if len(batch.pending) >= EMBED_WINDOW:
                self._embed(batch)
            if batch.chunks >= COMMIT_EVERY:
                self._embed(batch)
                self._commit(batch)
                batch = _Batch()
        self._embed(batch)
        self._commit(batch)
        self.report.skipped = self.walk_skipped + list(self.plan.skipped)
        self.report.kept_on_error = list(self.plan.kept)
        self.report.removed = len(set(self.plan.gone) - self.plan.renamed_away)
        self.report.seconds = time.perf_counter() - started
        self._tick("")
        return self.report

    def _tick(self, source: str) -> None:
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total, source)

    def _chunk(self, doc: Document) -> list[Chunk]:
        store = self.store
        return chunk_document(doc, max_tokens=store.chunk_tokens, overlap_tokens=store.overlap_tokens,
                              count_tokens=store.embedder.count_tokens)

    def _add(self, batch: _Batch, item: Prepared) -> None:
        batch.prepared.append(item)
        batch.chunks += len(item.chunks)
        missing = [h for h in set(item.text_hashes) if h not in self.vectors and h not in batch.pending]
        cached = self.store._cached(missing)
        self.vectors.update(cached)
        absent = set(missing) - set(cached)
        fresh = {h: c.text for h, c in zip(item.text_hashes, item.chunks) if h in absent}
        batch.pending.update(fresh)
        self.report.chunks_from_cache += sum(1 for h in item.text_hashes if h not in fresh)
        self.report.chunks_embedded += len(fresh)
        if fresh:
            batch.waiting.append(item)
        else:
            self._finished(item)

    def _finished(self, item: Prepared) -> None:
        self.done += 1
        self._tick(item.todo.item.source)

    def _embed(self, batch: _Batch) -> None:
        if not batch.pending:
            return
        hashes = list(batch.pending)
        out = self.store.embedder.embed_documents([batch.pending[h] for h in hashes])
        if out.shape != (len(hashes), self.store.manifest.dimension):
            raise ModelMismatchError(
                f"{self.store.embedder.model_id} returned vectors of shape {out.shape}; the index at "
                f"{self.store.path} holds dimension {self.store.manifest.dimension}")
        for text_hash, vector in zip(hashes, out):
            self.vectors[text_hash] = vector
            batch.new_vectors[text_hash] = vector
        batch.pending.clear()
        for item in batch.waiting:
            self._finished(item)
        batch.waiting.clear()

    def _commit(self, batch: _Batch) -> None:
        plan, report = self.plan, self.report
        gone = plan.gone if self.first_commit else []
        stats = plan.stats if self.first_commit else []
        if not (batch.prepared or gone or stats):
            return
        replaced = [p.todo.item.source for p in batch.prepared] + gone
        conn = self.store._conn
        old_ids = db.rowids_of_sources(conn, replaced)
        next_rowid = int(db.get_meta(conn, "next_rowid", "1") or 1)
        rows, ids, vecs = [], [], []
        for item in batch.prepared:
            for chunk, text_hash in zip(item.chunks, item.text_hashes):
                rows.append((next_rowid, chunk, text_hash))
                ids.append(next_rowid)
                vecs.append(self.vectors[text_hash])
                next_rowid += 1
        files = [_file_row(p) for p in batch.prepared]
        self.store._apply(old_ids=old_ids, ids=ids, vecs=vecs, replaced=replaced, files=files, rows=rows,
                          new_vectors=list(batch.new_vectors.items()), stats=stats, next_rowid=next_rowid)
        for item in batch.prepared:
            kind = item.todo.kind
            setattr(report, kind, getattr(report, kind) + 1)
        report.chunks_added += len(rows)
        report.chunks_removed += len(old_ids)
        self.first_commit = False
        for item in batch.prepared:  # free what the next batch will not need
            for text_hash in item.text_hashes:
                self.vectors.pop(text_hash, None)


def _file_row(item: Prepared) -> tuple:
    entry = item.todo.item
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (entry.source, entry.size, entry.mtime_ns, item.todo.content_hash, item.document.file_type,
            item.document.title, now)
