"""The files of an index folder, and the checks that tie an index to its embedding model."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ragforge.config import ChunkingConfig, IndexConfig, VectorConfig
from ragforge.embedding import make_embedder
from ragforge.embedding.base import Embedder
from ragforge.errors import IndexCorruptError, ModelMismatchError, StoreError
from ragforge.store import db, vectors
from ragforge.store.db import rebuild_hint
from ragforge.store.lock import LOCK_FILE, OWNER_FILE
from ragforge.store.manifest import MANIFEST, Manifest, atomic_write, lenient_settings, new_manifest, render


def embedder_for(spec: str, batch_size: int = 32, precision: str | None = None) -> Embedder:
    kwargs = {} if spec.startswith("ollama:") else {"batch_size": batch_size}
    return make_embedder(spec, precision=precision, **kwargs)


def initialise(path: Path, config: IndexConfig, embedder: Embedder, spec: str, *,
               keep_cache: bool = False) -> None:
    """Write an empty index: SQLite schema and meta (with the manifest's text and the vector file's checksum,
    in one transaction), an empty vector file, and the manifest last. With ``keep_cache`` the database
    already there keeps its embedding cache (a rebuild)."""
    remove_index_files(path, keep_database=keep_cache)
    conn = db.connect(path, create=True)
    try:
        if keep_cache:
            db.reset(conn)
        name = vectors.vector_file_name(0)
        digest = vectors.write(vectors.new_index(embedder.dimension, config.metric, config.vectors), path / name)
        text = render(new_manifest(
            model=spec, model_id=embedder.model_id, dimension=embedder.dimension, metric=config.metric,
            chunking=config.chunking.model_dump(), batch_size=config.batch_size,
            embedder=getattr(embedder, "settings", None), vectors=config.vectors.model_dump()))
        conn.execute("BEGIN IMMEDIATE")
        for key, value in (("vectors_file", name), ("vectors_sha256", digest), ("generation", 0),
                           ("next_rowid", 1), ("manifest", text)):
            db.set_meta(conn, key, value)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise db.translate(exc, path) from exc
    finally:
        conn.close()
    atomic_write(path / MANIFEST, text.encode("utf-8"))


def rebuild_settings(path: Path, model: str | None, precision: str | None = None) -> IndexConfig:
    """The settings an index at ``path`` was built with, as far as they can be read (the copy in SQLite,
    else manifest.json), with ``model`` instead of its model when given; defaults for what is unreadable."""
    data = _recorded_manifest(path) or lenient_settings(path)
    fields: dict[str, Any] = {}
    for key in ("model", "metric", "batch_size", "precision"):
        if data.get(key) is not None:
            fields[key] = data[key]
    with contextlib.suppress(Exception):  # missing or malformed: the default chunking
        fields["chunking"] = ChunkingConfig(**data["chunking"])
    with contextlib.suppress(Exception):  # missing (older indexes: flat) or malformed: the default
        fields["vectors"] = VectorConfig(**data["vectors"])
    if model is not None:  # another model: the recorded precision was chosen for the old one
        fields["model"] = model
        fields.pop("precision", None)
    if precision is not None:
        fields["precision"] = precision
    try:
        return IndexConfig(**fields)
    except ValidationError:
        return IndexConfig(**({"model": model} if model else {}))


def _recorded_manifest(path: Path) -> dict[str, Any]:
    try:
        conn = db.connect(path)
    except StoreError:
        return {}
    try:
        return json.loads(db.get_meta(conn, "manifest") or "{}")
    except (sqlite3.Error, ValueError):
        return {}
    finally:
        conn.close()


def vector_config(path: Path, manifest: Manifest) -> VectorConfig:
    """The manifest's vector-index settings (an index without them is flat)."""
    try:
        return VectorConfig(**manifest.vectors)
    except (TypeError, ValidationError) as exc:
        raise IndexCorruptError(f"{path / MANIFEST} has malformed vector-index settings; "
                                f"{rebuild_hint(path)}") from exc


def cache_is_usable(path: Path) -> bool:
    """Whether the database at ``path`` is sound enough to keep its embedding cache through a rebuild."""
    try:
        conn = db.connect(path)
    except StoreError:
        return False
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return "embeddings" in names and [r[0] for r in conn.execute("PRAGMA quick_check(1)")] == ["ok"]
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def check_model(path: Path, manifest: Manifest, embedder: Embedder) -> None:
    if embedder.model_id != manifest.model_id and embedder.model_id.removesuffix("+int8") == \
            manifest.model_id.removesuffix("+int8"):  # int8 is a model of its own
        raise ModelMismatchError(
            f"the index at {path} was built with precision {manifest.precision or 'auto'} ({manifest.model_id}), "
            f"not {embedder.model_id}: leave --precision out, or {rebuild_hint(path)} --precision <precision>")
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


def remove_index_files(path: Path, *, keep_database: bool = False) -> None:
    """Remove ragforge's own files from ``path`` (the manifest first), never anything else."""
    vectors.remove_file(path / MANIFEST)
    for suffix in () if keep_database else ("", "-wal", "-shm", "-journal"):
        vectors.remove_file(path / f"{db.DB_FILE}{suffix}")
    for stray in vectors.stray_files(path, keep=""):
        vectors.remove_file(stray)


def index_size(path: Path) -> int:
    total = 0
    for entry in path.iterdir():
        if entry.name not in (LOCK_FILE, OWNER_FILE) and entry.is_file():
            total += entry.stat().st_size
    return total
