"""``manifest.json``: what an index was built with. Written once, atomically; read on every open."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ragforge.errors import IndexCorruptError, IndexNotFoundError, IndexVersionError

FORMAT_VERSION = 1
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
    created_at: str
    ragforge_version: str


def new_manifest(*, model: str, model_id: str, dimension: int, metric: str, chunking: dict[str, Any],
                 batch_size: int) -> Manifest:
    from ragforge import __version__

    return Manifest(format_version=FORMAT_VERSION, model=model, model_id=model_id, dimension=dimension,
                    metric=metric, chunking=chunking, batch_size=batch_size,
                    created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    ragforge_version=__version__)


def not_found(path: Path) -> IndexNotFoundError:
    return IndexNotFoundError(f"no index at {path}: run `ragforge index DIR --index {path}` first")


def read_manifest(path: Path) -> Manifest:
    file = path / MANIFEST
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise not_found(path) from None
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{file} is unreadable ({exc}): rebuild the index with "
                                f"`ragforge index DIR --index {path} --rebuild`") from exc
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise IndexVersionError(
            f"the index at {path} was built by format {version}, "
            f"this ragforge reads format {FORMAT_VERSION}: "
            f"rebuild it with `ragforge index DIR --index {path} --rebuild`")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise IndexCorruptError(f"{file} is malformed ({exc.error_count()} errors): rebuild the index with "
                                f"`ragforge index DIR --index {path} --rebuild`") from exc


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Write to a temporary name, fsync, rename: a reader sees the old manifest or the new one."""
    atomic_write(path / MANIFEST, json.dumps(manifest.model_dump(), indent=2).encode("utf-8"))


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
