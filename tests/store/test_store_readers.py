"""Readers during writes: reader processes query in a loop while syncs commit, with 0 failed queries; and a
reader never removes or rewrites a file of the index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragforge.config import ChunkingConfig, IndexConfig
from ragforge.ingest import sync_folder
from ragforge.store import Store

ROOT = Path(__file__).resolve().parents[2]
CONFIG = IndexConfig(model="hashing:64", chunking=ChunkingConfig(max_tokens=16, overlap_tokens=0))
READER = """
import json, sys, time
from ragforge.retrieval.index import open_index
index_dir, seconds = sys.argv[1], float(sys.argv[2])
queries, failures, kept = 0, [], open_index(index_dir)
modes = ("dense", "lexical", "hybrid")
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    mode = modes[queries % 3]
    try:
        if queries % 2:
            with open_index(index_dir) as index:  # what `ragforge query` does: open, search, close
                hits = index.search("otter walrus round", k=5, mode=mode)
        else:
            hits = kept.search("heron badger file", k=5, mode=mode)  # a long-lived reader
        assert all(hit.chunk.text for hit in hits)
    except Exception as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
    queries += 1
kept.close()
print(json.dumps({"queries": queries, "failures": failures[:5], "failed": len(failures)}))
"""


def _files(folder: Path, round_: int) -> None:
    for i in range(30):
        path = folder / f"f{i:02d}.txt"
        if (i + round_) % 7 == 0:
            path.unlink(missing_ok=True)
        else:
            words = ["otter", "walrus", "heron", "badger"][(i + round_) % 4]
            path.write_text(f"round {round_} file {i} {words} " * (1 + (i * round_) % 9))


def _listing(folder: Path) -> list[tuple[str, int, int]]:
    return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir())


@pytest.mark.slow
def test_readers_never_fail_while_syncs_commit(tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    _files(folder, 0)
    store = Store.create(tmp_path / "idx", CONFIG)
    sync_folder(store, folder)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(tmp_path / "idx"), "6"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    syncs = 0
    started = time.monotonic()
    while time.monotonic() - started < 5 or syncs < 8:
        syncs += 1
        _files(folder, syncs)
        assert sync_folder(store, folder).changed_anything
    reports = []
    for proc in readers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    store.close()
    assert syncs >= 8
    assert sum(r["failed"] for r in reports) == 0, reports
    assert all(r["queries"] >= 20 for r in reports), reports


def test_readers_remove_and_rewrite_nothing(tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    _files(folder, 1)
    store = Store.create(tmp_path / "idx", CONFIG)
    sync_folder(store, folder)
    store.close()
    idx = tmp_path / "idx"
    (idx / "vectors-999999.faiss").write_bytes(b"a stray")  # what a crashed writer may leave
    current = next(p for p in idx.glob("vectors-*.faiss") if p.name != "vectors-999999.faiss")
    current.write_bytes(current.read_bytes()[:100])  # damaged: readers rebuild it in memory only
    before = _listing(idx)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", READER, str(idx), "1"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert json.loads(out.stdout.strip().splitlines()[-1])["failed"] == 0, out.stderr
    assert _listing(idx) == before
