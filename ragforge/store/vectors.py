"""FAISS vector files: ``vectors-<generation>.faiss``, an index whose ids are ``chunks.rowid`` (its forms:
:mod:`ragforge.store.ann`).

Only FAISS's own format is read and written (``faiss.write_index`` / ``faiss.read_index``); never pickle.
A new generation is written beside the old one (temporary name, fsync, rename); SQLite then names it.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.config import VectorConfig
from ragforge.errors import IndexCorruptError, StoreError
from ragforge.store import ann
from ragforge.store.manifest import fsync_dir

VECTOR_FILE = re.compile(r"^vectors-(\d+)\.faiss$")


def vector_file_name(generation: int) -> str:
    return f"vectors-{generation:06d}.faiss"


def new_index(dimension: int, metric: str, config: VectorConfig | None = None) -> Any:
    """An empty index of the configured form (ivf-pq starts flat: it is trained once it has vectors)."""
    return ann.build(np.zeros((0, dimension), np.float32), np.zeros(0, np.int64), dimension, metric,
                     config or VectorConfig())


def write(index: Any, target: Path) -> str:
    """Write ``index`` to ``target`` atomically (a temporary name, fsync, rename, fsync of the folder);
    the SHA-256 of the bytes written."""
    import faiss

    data = faiss.serialize_index(index).tobytes()
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"could not write {target}: {exc.strerror or exc}") from exc
    fsync_dir(target.parent)
    return hashlib.sha256(data).hexdigest()


def deserialize(data: bytes, dimension: int, file: Path) -> Any:
    """A FAISS index from the bytes of ``file`` (FAISS's own format); IndexCorruptError if it is not one."""
    import faiss

    try:
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    except (RuntimeError, ValueError) as exc:
        raise IndexCorruptError(f"{file.name} is not a readable FAISS index (FAISS cannot parse it)") from exc
    if not isinstance(index, (faiss.IndexIDMap2, faiss.IndexIVFPQ)):
        raise IndexCorruptError(f"{file.name} is a FAISS index of another kind ({type(index).__name__})")
    if index.d != dimension:
        raise IndexCorruptError(f"{file.name} holds vectors of dimension {index.d}, the manifest says {dimension}")
    return index


def ids_of(index: Any) -> np.ndarray:
    """The external ids (chunk rowids) an index holds."""
    return ann.ids_of(index)


def search(index: Any, vectors: np.ndarray, k: int, allowed: list[int] | None = None,
           nprobe: int | None = None) -> tuple[Any, Any]:
    """FAISS search; with ``allowed``, only those ids are considered (an IDSelectorBatch); ``nprobe``
    overrides an ivf-pq index's own."""
    import faiss

    lib: Any = faiss  # SearchParameters take keyword arguments at run time; the stubs do not say so
    query = np.ascontiguousarray(vectors.reshape(1, -1), dtype=np.float32)
    k = min(k, index.ntotal)
    selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)) if allowed is not None else None
    if isinstance(index, faiss.IndexIVFPQ):
        params = lib.SearchParametersIVF(sel=selector, nprobe=nprobe or index.nprobe)
    elif selector is None:
        return index.search(query, k)
    else:
        params = lib.SearchParameters(sel=selector)
    if allowed is not None:
        k = min(k, len(allowed))
    return index.search(query, k, params=params)


def rescore(pairs: list[tuple[int, float]], exact: dict[int, np.ndarray], vector: np.ndarray,
            metric: str) -> list[tuple[int, float]]:
    """Search results (id, FAISS score) scored again with exact vectors where known, best first."""
    scored = []
    for rowid, approximate in pairs:
        stored = exact.get(rowid)
        if stored is None:
            scored.append((rowid, approximate))
        elif metric == "ip":
            scored.append((rowid, float(stored @ vector)))
        else:
            scored.append((rowid, float(((stored - vector) ** 2).sum())))
    return sorted(scored, key=lambda pair: -pair[1] if metric == "ip" else pair[1])


def remove_file(file: Path) -> None:
    """Remove one of ragforge's own files; an (empty) folder standing in its place goes too."""
    try:
        file.unlink(missing_ok=True)
    except (IsADirectoryError, PermissionError) as exc:
        if not file.is_dir() or file.is_symlink():
            raise StoreError(f"cannot remove {file}: {exc.strerror or exc}") from exc
        try:
            file.rmdir()
        except OSError as inner:
            raise StoreError(f"{file} is a folder where ragforge keeps a file, and it is not empty: move it "
                             f"away") from inner


def stray_files(folder: Path, keep: str) -> list[Path]:
    """Vector files (and temporary files of interrupted writes) other than ``keep``."""
    strays = []
    for entry in folder.iterdir():
        name = entry.name
        if name == keep:
            continue
        if VECTOR_FILE.match(name) or (name.startswith(".vectors-") and ".faiss.tmp-" in name):
            strays.append(entry)
    return strays
