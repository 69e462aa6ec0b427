"""FAISS vector files: ``vectors-<generation>.faiss``, an ``IndexIDMap2`` whose ids are ``chunks.rowid``.

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

from ragforge.errors import IndexCorruptError, StoreError
from ragforge.store.manifest import fsync_dir

VECTOR_FILE = re.compile(r"^vectors-(\d+)\.faiss$")


def vector_file_name(generation: int) -> str:
    return f"vectors-{generation:06d}.faiss"


def new_index(dimension: int, metric: str) -> Any:
    import faiss

    flat = faiss.IndexFlatIP(dimension) if metric == "ip" else faiss.IndexFlatL2(dimension)
    return faiss.IndexIDMap2(flat)


def clone(index: Any) -> Any:
    import faiss

    return faiss.clone_index(index)


def remove(index: Any, ids: list[int]) -> None:
    if ids:
        index.remove_ids(np.asarray(ids, dtype=np.int64))


def add(index: Any, vectors: np.ndarray, ids: list[int]) -> None:
    if ids:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))


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
    if not isinstance(index, faiss.IndexIDMap2):
        raise IndexCorruptError(f"{file.name} is a FAISS index of another kind ({type(index).__name__})")
    if index.d != dimension:
        raise IndexCorruptError(f"{file.name} holds vectors of dimension {index.d}, the manifest says {dimension}")
    return index


def ids_of(index: Any) -> np.ndarray:
    """The external ids (chunk rowids) stored in an IndexIDMap2."""
    import faiss

    return faiss.vector_to_array(index.id_map).astype(np.int64)


def search(index: Any, vectors: np.ndarray, k: int, allowed: list[int] | None = None) -> tuple[Any, Any]:
    """FAISS search; with ``allowed``, only those ids are considered (an IDSelectorBatch)."""
    import faiss

    query = np.ascontiguousarray(vectors.reshape(1, -1), dtype=np.float32)
    k = min(k, index.ntotal)
    if allowed is None:
        return index.search(query, k)
    selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
    params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]  # the stub omits SWIG's keywords
    return index.search(query, min(k, len(allowed)), params=params)


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
