"""``manifest.json``: what an index was built with. Written once, atomically; read on every open.

Its exact text is also recorded in SQLite (``meta.manifest``) in the transaction that creates the index;
a manifest that differs from that record was edited or damaged and is not used. New fields are welcome
(``extra="allow"``): write them through :func:`render` so the record and the file stay the same text.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragforge.errors import IndexCorruptError, IndexNotFoundError, IndexVersionError

FORMAT_VERSION = 2  # 2: checksums of the vector file and the manifest recorded in SQLite
MANIFEST = "manifest.json"


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    format_version: int
    model: str  # the spec given to make_embedder
    model_id: str
    dimension: int
    metric: str  # "ip" | "l2"
    chunking: dict[str, Any]
    batch_size: int = 32
    vectors: dict[str, Any] = Field(default_factory=lambda: {"kind": "flat"})  # a VectorConfig
    created_at: str
    ragforge_version: str
    precision: str | None = None  # as asked ("auto", "fp32", ...): later opens ask the same
    embedder: dict[str, Any] = Field(default_factory=dict)  # how it ran at creation: precision, CPU flags


def new_manifest(*, model: str, model_id: str, dimension: int, metric: str, chunking: dict[str, Any],
                 batch_size: int, embedder: dict[str, Any] | None = None,
                 vectors: dict[str, Any] | None = None) -> Manifest:
    from ragforge import __version__

    embedder = dict(embedder or {})
    return Manifest(format_version=FORMAT_VERSION, model=model, model_id=model_id, dimension=dimension,
                    metric=metric, chunking=chunking, batch_size=batch_size, embedder=embedder,
                    precision=embedder.get("requested_precision"),
                    vectors=vectors or {"kind": "flat"},
                    created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    ragforge_version=__version__)


def not_found(path: Path) -> IndexNotFoundError:
    return IndexNotFoundError(f"no index at {path}: run `ragforge index DIR --index {path}` first")


def _hint(path: Path) -> str:
    return f"rebuild the index with `ragforge index DIR --index {path} --rebuild`"


def read_manifest(path: Path, recorded: str | None = None) -> Manifest:
    """The manifest at ``path``; with ``recorded`` (the text SQLite holds), a manifest that differs is an
    IndexCorruptError."""
    file = path / MANIFEST
    try:
        text = file.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise not_found(path) from None
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{file} is unreadable ({type(exc).__name__}); {_hint(path)}") from exc
    version = data.get("format_version") if isinstance(data, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise IndexCorruptError(f"{file} has no valid format_version ({version!r}); {_hint(path)}")
    if version != FORMAT_VERSION:
        raise IndexVersionError(
            f"the index at {path} was built by ragforge index format {version}; this ragforge reads format "
            f"{FORMAT_VERSION}: {_hint(path)} (it keeps the model and the embedding cache)")
    if recorded is not None and text != recorded:
        raise IndexCorruptError(f"{file} differs from the copy recorded in the index database (edited or "
                                f"damaged); {_hint(path)}")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise IndexCorruptError(f"{file} is malformed ({exc.error_count()} errors); {_hint(path)}") from exc


def lenient_settings(path: Path) -> dict[str, Any]:
    """What can still be read from a manifest that may be old or damaged (for a rebuild); {} if nothing."""
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def render(manifest: Manifest) -> str:
    return json.dumps(manifest.model_dump(), indent=2)


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Write to a temporary name, fsync, rename: a reader sees the old manifest or the new one."""
    atomic_write(path / MANIFEST, render(manifest).encode("utf-8"))


def atomic_write(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    fsync_dir(target.parent)


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
