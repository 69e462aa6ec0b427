"""ONNX exports of local models, cached under ``$RAGFORGE_HOME/onnx/``, keyed by the model files' hashes.

    onnx/<key>/export.json      what was exported: pooling, inputs, each file's size/mtime/sha256, per variant
                                the vector of a probe text, recorded when it was made
    onnx/<key>/model.onnx       the fp32 transformer;  model-int8.onnx  made on first use of precision int8
    onnx/<key>/tokenizer.json   the model's own fast tokenizer
    onnx/<key>.failed           why this model cannot be exported (its queries stay on torch); delete to retry
    onnx/file-hashes.json       (path, size, mtime) -> sha256 of the model's files: a cold start stats them

``<key>`` hashes the model's files (weights, configs, tokenizer, module folders), so a changed file means a new
export. Loading checks every file against ``export.json`` (its size, and its sha256 when the mtime moved) and
re-encodes the probe text: a missing, truncated or altered export is rebuilt, never used silently. Exports are
built in a temporary folder and renamed into place, so two processes never see half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.config import data_dir
from ragforge.embedding.onnx_encoder import NotExportable, OnnxEncoder, pipeline_of
from ragforge.embedding.onnx_export import AGREEMENT, PROBES, agreement
from ragforge.types import content_hash

logger = logging.getLogger("ragforge.embedding")

EXPORT_FORMAT = 1
_SKIPPED_SUFFIXES = {".md", ".onnx", ".ort", ".h5", ".msgpack", ".ot", ".tflite"}  # docs and other runtimes


class ExportMissing(Exception):
    """No export (or not this variant) yet."""


class ExportCorrupt(Exception):
    """An export is there but does not match what was recorded when it was made."""


def cache_root() -> Path:
    return data_dir() / "onnx"


def model_files(folder: Path) -> list[Path]:
    """The files that define a sentence-transformers model: top-level files and its module folders."""
    files = [p for p in folder.iterdir()
             if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in _SKIPPED_SUFFIXES]
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        modules = []
    for module in modules if isinstance(modules, list) else []:
        sub = folder / str(module.get("path", "")) if isinstance(module, dict) else folder
        if sub != folder and sub.is_dir():
            files += [p for p in sub.rglob("*") if p.is_file()]
    return sorted(files)


def fingerprint(folder: Path, root: Path) -> str:
    """A key for the model in ``folder``: a hash of its files' hashes (memoised by path, size and mtime)."""
    memo_file = root / "file-hashes.json"
    memo = _read_json(memo_file)
    memo = memo if isinstance(memo, dict) else {}
    parts, dirty = [], False
    for file in model_files(folder):
        stat = file.stat()
        entry = memo.get(str(file))
        if isinstance(entry, list) and entry[:2] == [stat.st_size, stat.st_mtime_ns]:
            digest = entry[2]
        else:
            digest = _sha256(file)
            memo[str(file)] = [stat.st_size, stat.st_mtime_ns, digest]
            dirty = True
        parts.append(f"{file.relative_to(folder).as_posix()}\0{digest}")
    if dirty:
        with contextlib.suppress(OSError):  # only a memo: the next start hashes again
            _write_json(memo_file, memo)
    return content_hash(f"ragforge-onnx-{EXPORT_FORMAT}\n" + "\n".join(parts))[:20]


def open_encoder(folder: Path, variant: str, torch_model: Callable[[], Any], *, label: str,
                 root: Path | None = None) -> OnnxEncoder:
    """The ``variant`` ("fp32" or "int8") encoder of the model in ``folder``, exported or rebuilt first if needed.

    ``torch_model()`` gives the loaded sentence-transformers model, called only to export. Raises
    :class:`NotExportable` when the model cannot run on ONNX Runtime (remembered in ``<key>.failed``).
    """
    root = root or cache_root()
    key = fingerprint(folder, root)
    final, failed = root / key, root / f"{key}.failed"
    if failed.is_file():
        reason = (_read_json(failed) or {}).get("reason", "unknown reason")
        raise NotExportable(f"{reason}; delete {failed} to try again")
    try:
        return load(final, variant)
    except ExportMissing:
        pass
    except ExportCorrupt as exc:
        logger.warning("ragforge: the ONNX export of %s in %s is damaged (%s); rebuilding it", label, final, exc)
        _discard(final)
    try:
        if not (final / "export.json").is_file():
            try:
                pipeline_of(folder)  # refuse from the config files, before loading any weights
                logger.warning("ragforge: exporting %s to ONNX for torch-free queries (once; cached in %s)",
                               label, final)
                _export(torch_model(), folder, root, key)
            except NotExportable as exc:  # the model itself cannot be exported: do not try on every start
                _write_json(failed, {"reason": str(exc), "model": str(folder)})
                raise
        if variant != "fp32":
            _add_variant(final, variant)
    except OSError as exc:
        raise NotExportable(f"the export could not be written under {root} ({exc})") from exc
    return load(final, variant)


def load(folder: Path, variant: str) -> OnnxEncoder:
    """The encoder saved in ``folder``, after checking its files and its probe vector against export.json."""
    if not folder.is_dir():
        raise ExportMissing(str(folder))
    meta = _read_json(folder / "export.json")
    if not isinstance(meta, dict) or meta.get("format") != EXPORT_FORMAT:
        raise ExportCorrupt("export.json is missing, unreadable or of another format")
    try:
        record = meta["variants"].get(variant)
        if record is None:
            raise ExportMissing(f"{folder}: no {variant} variant")
        for name in [*record["files"], "tokenizer.json"]:
            _check_file(folder / name, meta["files"][name])
        expected = np.asarray([record["probe"]], dtype=np.float32)
        pipeline = meta["pipeline"]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ExportCorrupt(f"export.json is malformed ({type(exc).__name__}: {exc})") from exc
    try:
        encoder = OnnxEncoder(folder / record["model"], folder / "tokenizer.json", pipeline,
                              optimised=bool(record.get("optimised")), per_text=bool(record.get("per_text")))
        probe = encoder.encode([PROBES[0]])
    except Exception as exc:
        raise ExportCorrupt(f"it does not load ({type(exc).__name__}: {exc})") from exc
    if agreement(probe, expected) < AGREEMENT:
        raise ExportCorrupt("its probe vector changed")
    return encoder


def _export(model: Any, folder: Path, root: Path, key: str) -> None:
    from ragforge.embedding.onnx_export import export_fp32

    tmp = root / f".tmp-{key}-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        meta = export_fp32(model, folder, tmp)
        meta.update(format=EXPORT_FORMAT, key=key, source=str(folder), versions=_versions(),
                    created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    files={name: _file_record(tmp / name)
                           for name in [*meta["variants"]["fp32"]["files"], "tokenizer.json"]})
        _write_json(tmp / "export.json", meta)
        try:
            os.rename(tmp, root / key)
        except OSError:
            if not (root / key / "export.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already unless another process published first


def _add_variant(folder: Path, variant: str) -> None:
    from ragforge.embedding.onnx_export import quantise_int8

    if variant != "int8":
        raise NotExportable(f"no ONNX variant {variant!r}")
    meta = _read_json(folder / "export.json")
    name = "model-int8.onnx"
    tmp = folder / f".{name}.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        record = quantise_int8(folder, meta, tmp)
        os.replace(tmp, folder / name)
    finally:
        tmp.unlink(missing_ok=True)
    meta["variants"][variant] = {"model": name, "files": [name], **record}
    meta["files"][name] = _file_record(folder / name)
    _write_json(folder / "export.json", meta)


def _check_file(file: Path, recorded: dict[str, Any]) -> None:
    try:
        stat = file.stat()
    except OSError:
        raise ExportCorrupt(f"{file.name} is missing") from None
    if stat.st_size != recorded["size"]:
        raise ExportCorrupt(f"{file.name} has {stat.st_size} bytes, {recorded['size']} were written")
    if stat.st_mtime_ns != recorded["mtime_ns"] and _sha256(file) != recorded["sha256"]:
        raise ExportCorrupt(f"{file.name} changed since it was written")


def _file_record(file: Path) -> dict[str, Any]:
    stat = file.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": _sha256(file)}


def _discard(folder: Path) -> None:
    trash = folder.with_name(f".trash-{folder.name}-{os.getpid()}-{threading.get_ident()}")
    try:
        os.rename(folder, trash)
    except OSError:
        return  # already gone (another process is rebuilding it)
    shutil.rmtree(trash, ignore_errors=True)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("torch", "transformers", "sentence-transformers", "onnxruntime", "onnx", "tokenizers"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(file: Path, data: Any) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, file)
