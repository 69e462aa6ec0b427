"""The files of an index folder, and the checks that tie an index to its embedding model."""

from __future__ import annotations

from pathlib import Path

from ragforge.config import IndexConfig
from ragforge.embedding import make_embedder
from ragforge.embedding.base import Embedder
from ragforge.errors import ModelMismatchError
from ragforge.store import db, vectors
from ragforge.store.lock import LOCK_FILE
from ragforge.store.manifest import MANIFEST, Manifest, new_manifest, write_manifest


def embedder_for(spec: str, batch_size: int = 32) -> Embedder:
    kwargs = {} if spec.startswith("ollama:") else {"batch_size": batch_size}
    return make_embedder(spec, **kwargs)


def rebuild_hint(path: Path) -> str:
    return f"rebuild it with `ragforge index DIR --index {path} --rebuild`"


def initialise(path: Path, config: IndexConfig, embedder: Embedder, spec: str) -> None:
    """Write an empty index: SQLite schema and meta, an empty vector file, and the manifest last."""
    remove_index_files(path)
    conn = db.connect(path, create=True)
    try:
        name = vectors.vector_file_name(0)
        vectors.write(vectors.new_index(embedder.dimension, config.metric), path / name)
        with conn:
            for key, value in (("vectors_file", name), ("generation", 0), ("next_rowid", 1)):
                db.set_meta(conn, key, value)
    finally:
        conn.close()
    write_manifest(path, new_manifest(
        model=spec, model_id=embedder.model_id, dimension=embedder.dimension, metric=config.metric,
        chunking=config.chunking.model_dump(), batch_size=config.batch_size))


def check_model(path: Path, manifest: Manifest, embedder: Embedder) -> None:
    if embedder.model_id != manifest.model_id:
        raise ModelMismatchError(
            f"the index at {path} was built with {manifest.model_id} (dimension {manifest.dimension}), not "
            f"{embedder.model_id}: use --model {manifest.model} (or leave --model out), or "
            f"{rebuild_hint(path)} --model <model>")


def spec_of(embedder: Embedder, fallback: str) -> str:
    spec = getattr(embedder, "spec", None)
    if isinstance(spec, str) and spec:
        return spec
    try:
        if make_embedder(fallback).model_id == embedder.model_id:
            return fallback
    except Exception:  # noqa: BLE001 - any failure means the fallback is not this embedder
        pass
    return embedder.model_id


def remove_index_files(path: Path) -> None:
    """Remove ragforge's own files from ``path`` (the manifest first), never anything else."""
    (path / MANIFEST).unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        (path / f"{db.DB_FILE}{suffix}").unlink(missing_ok=True)
    for stray in vectors.stray_files(path, keep=""):
        stray.unlink(missing_ok=True)


def index_size(path: Path) -> int:
    total = 0
    for entry in path.iterdir():
        if entry.name != LOCK_FILE and entry.is_file():
            total += entry.stat().st_size
    return total
