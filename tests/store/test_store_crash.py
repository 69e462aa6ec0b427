"""Crash safety: a sync killed at any point leaves the previous or the new state, never a mix."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragforge.ingest import sync_folder
from ragforge.store import Store

ROOT = Path(__file__).resolve().parents[2]

SYNC_ONCE = """
import sys
from ragforge.ingest import sync_folder
from ragforge.store import Store
store = Store.open(sys.argv[1])
sync_folder(store, sys.argv[2])
store.close()
"""

SYNC_FOREVER = """
import sys, pathlib
from ragforge.ingest import sync_folder
from ragforge.store import Store
store = Store.open(sys.argv[1])
folder = pathlib.Path(sys.argv[2])
n = 0
while True:
    n += 1
    for i in range(0, 40, 3):
        (folder / f"f{i}.txt").write_text(f"round {n} file {i} " + "words " * (n % 7 + i))
    sync_folder(store, folder)
    print("synced", flush=True)
"""


def _run(code: str, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if crash_at:
        env["RAGFORGE_TEST_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          timeout=120)


def _state(folder: Path, version: str) -> None:
    for old in folder.glob("*.txt"):
        old.unlink()
    if version == "A":
        files = {"keep.txt": "unchanging text about kestrels", "edit.txt": "first edition about otters",
                 "drop.txt": "soon deleted text about lemurs"}
    else:
        files = {"keep.txt": "unchanging text about kestrels", "edit.txt": "second edition about beavers",
                 "new.txt": "freshly added text about walruses"}
    for name, text in files.items():
        (folder / name).write_text(text + "\n")


def _sources(store: Store, word: str) -> set[str]:
    return {chunk.source for chunk, _ in store.lexical_search(word, 10)}


@pytest.mark.parametrize(("point", "expected"), [
    ("after_vector_write", "A"), ("before_commit", "A"), ("after_commit_before_cleanup", "B"),
])
def test_crash_at_each_point_of_the_commit_protocol(make_store, tmp_path, consistent, point,
                                                    expected) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    _state(folder, "A")
    store = make_store()
    sync_folder(store, folder)
    store.close()
    _state(folder, "B")
    result = _run(SYNC_ONCE, str(tmp_path / "idx"), str(folder), crash_at=point)
    assert result.returncode == 1, result.stderr
    assert len(list((tmp_path / "idx").glob("vectors-*.faiss"))) == 2  # the crash left a second file

    reopened = Store.open(tmp_path / "idx")
    sources = consistent(reopened)
    if expected == "A":
        assert sources == {"keep.txt", "edit.txt", "drop.txt"}
        assert _sources(reopened, "otters lemurs") == {"edit.txt", "drop.txt"}
    else:
        assert sources == {"keep.txt", "edit.txt", "new.txt"}
        assert _sources(reopened, "beavers walruses otters lemurs") == {"edit.txt", "new.txt"}
    assert len(list((tmp_path / "idx").glob("vectors-*.faiss"))) == 2  # a reader removes nothing
    report = sync_folder(reopened, folder)
    assert len(list((tmp_path / "idx").glob("vectors-*.faiss"))) == 1  # the next writer removed the stray
    assert consistent(reopened) == {"keep.txt", "edit.txt", "new.txt"}
    assert report.changed_anything == (expected == "A")
    reopened.close()


def test_sigkill_at_random_moments(make_store, tmp_path, consistent) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(40):
        (folder / f"f{i}.txt").write_text(f"file {i} starts with some words\n")
    store = make_store()
    sync_folder(store, folder)
    store.close()
    rng = random.Random(1234)
    for _ in range(4):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen([sys.executable, "-c", SYNC_FOREVER, str(tmp_path / "idx"), str(folder)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "synced", proc.stderr.read() if proc.stderr else ""
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        reopened = Store.open(tmp_path / "idx")
        assert len(consistent(reopened)) == 40
        assert len(reopened.dense_search(reopened.embedder.embed_query("round file words"), 5)) == 5
        reopened.close()
    for i in range(0, 40, 3):  # a kill may have cut the child's own write of a file short
        (folder / f"f{i}.txt").write_text(f"final file {i} " + "words " * i)
    final = Store.open(tmp_path / "idx")
    sync_folder(final, folder)
    consistent(final)
    conn = final._conn
    for i in range(40):
        source = f"f{i}.txt"
        text = (folder / source).read_text()
        digest = conn.execute("SELECT content_hash FROM files WHERE source = ?", (source,)).fetchone()[0]
        assert digest == hashlib.sha256(text.encode()).hexdigest()
        chunks = [row[0] for row in conn.execute("SELECT text FROM chunks WHERE source = ?", (source,))]
        assert chunks and all(chunk in text for chunk in chunks)
    final.close()
