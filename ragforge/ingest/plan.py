"""The plan of a sync: which sources are unchanged, touched, new, changed, renamed or gone.

A file whose (size, mtime_ns) match its record costs one stat. A file whose stat moved is hashed (SHA-256 of
its bytes); the same hash means only the stat is updated. New, changed and renamed sources are read, chunked
and embedded by an executor (:mod:`ragforge.ingest.executor`); the plan always stays with the driver.

Decisions (the index converges on a clean build of the same folder):
- a file that was indexed before and can no longer be indexed (now empty, binary, unreadable, too large, a
  FIFO, ...) loses its chunks, like a deleted file; it is reported in ``dropped`` and with its reason in
  ``skipped``, and indexed again once it can be read;
- a new source whose content hash equals a gone source's is a rename: it is read and chunked again (chunk ids
  name their source) but every vector comes from the embedding cache.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ragforge.errors import ReaderError
from ragforge.readers import Skipped, read_file
from ragforge.readers._io import open_regular
from ragforge.store import FileRow
from ragforge.types import Document, content_hash

logger = logging.getLogger("ragforge.ingest")


@dataclass(frozen=True)
class Item:
    """One source to consider: a file on disk (``path``) or an in-memory document (``document``)."""

    source: str
    size: int
    mtime_ns: int
    path: Path | None = None
    document: Document | None = None

    def content_hash(self) -> str:
        if self.document is not None:
            return document_hash(self.document)
        assert self.path is not None
        return file_hash(self.path, self.source)

    def load(self) -> Document:
        if self.document is not None:
            return self.document
        assert self.path is not None
        return read_file(self.path, self.source)


@dataclass
class Todo:
    item: Item
    content_hash: str
    kind: str  # "added" | "changed" | "renamed"


@dataclass
class Plan:
    unchanged: int = 0
    stats: list[tuple[int, int, str]] = field(default_factory=list)  # (size, mtime_ns, source)
    todo: list[Todo] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # sources to delete (renamed-away ones included)
    renamed_away: set[str] = field(default_factory=set)
    skipped: list[Skipped] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # indexed before, cannot be indexed now


def document_hash(doc: Document) -> str:
    return content_hash(f"{doc.file_type}\x00{doc.title or ''}\x00{doc.text}")


def file_hash(path: Path, source: str) -> str:
    """SHA-256 of a regular file's bytes (a FIFO or device is a ReaderError, never a hang)."""
    digest = hashlib.sha256()
    with open_regular(path, source) as handle:
        try:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        except OSError as exc:
            raise ReaderError(f"{source}: cannot be read ({exc.strerror or exc})", path=source,
                              reason="unreadable") from exc
    return digest.hexdigest()


def make_plan(items: list[Item], known: dict[str, FileRow], *, delete_missing: bool = True) -> Plan:
    plan = Plan()
    seen: set[str] = set()
    for item in items:
        if item.source in seen:
            continue
        seen.add(item.source)
        _plan_item(plan, item, known.get(item.source))
    plan.gone = sorted(((set(known) - seen) if delete_missing else set()) | set(plan.dropped))
    _pair_renames(plan, known)
    return plan


def _plan_item(plan: Plan, item: Item, row: FileRow | None) -> None:
    if row is not None and item.document is None and (row.size, row.mtime_ns) == (item.size, item.mtime_ns):
        plan.unchanged += 1
        return
    try:
        digest = item.content_hash()
    except ReaderError as exc:
        failed(plan, item.source, exc.reason, str(exc), indexed=row is not None)
        return
    if row is not None and row.content_hash == digest:
        plan.unchanged += 1
        if (row.size, row.mtime_ns) != (item.size, item.mtime_ns):
            plan.stats.append((item.size, item.mtime_ns, item.source))
        return
    plan.todo.append(Todo(item, digest, "changed" if row is not None else "added"))


def failed(plan: Plan, source: str, reason: str, detail: str, *, indexed: bool) -> None:
    plan.skipped.append(Skipped(source=source, reason=reason, detail=detail))
    if indexed:
        plan.dropped.append(source)
        logger.info("%s can no longer be indexed (%s); its chunks leave the index", source, detail)


def _pair_renames(plan: Plan, known: dict[str, FileRow]) -> None:
    gone_by_hash: dict[str, list[str]] = {}
    for source in plan.gone:
        gone_by_hash.setdefault(known[source].content_hash, []).append(source)
    for todo in plan.todo:
        candidates = gone_by_hash.get(todo.content_hash)
        if todo.kind == "added" and candidates:
            plan.renamed_away.add(candidates.pop())
            todo.kind = "renamed"
