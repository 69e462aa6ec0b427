"""Two writers: the second waits up to lock_timeout, then fails with a message naming the holder."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ragforge.errors import IndexLockedError
from ragforge.ingest import sync_documents, sync_folder
from ragforge.store import Store
from ragforge.store.lock import WriteLock
from ragforge.types import Document

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from ragforge.store.lock import WriteLock
lock = WriteLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
lock.release()
"""


def _doc() -> list[Document]:
    return [Document(source="a", text="some text", file_type="text")]


def test_second_writer_in_another_process_fails_within_the_timeout(make_store, tmp_path) -> None:
    store = make_store()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "idx"), "30"], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store.lock_timeout = 0.5
        store._lock.timeout = 0.5
        started = time.monotonic()
        with pytest.raises(IndexLockedError) as info:
            sync_documents(store, _doc())
        waited = time.monotonic() - started
        assert 0.4 <= waited < 3.0
        assert f"pid {holder.pid}" in str(info.value) and "writing" in str(info.value)
        # readers are not blocked
        assert store.lexical_search("text", 3) == [] and store.info().chunks == 0
    finally:
        holder.kill()
        holder.wait()
    assert sync_documents(store, _doc()).added == 1  # the lock died with its holder


def test_second_writer_waits_for_a_short_holder(make_store, tmp_path) -> None:
    store = make_store()
    lock = WriteLock(tmp_path / "idx")
    lock.acquire()
    timer = threading.Timer(0.3, lock.release)
    timer.start()
    started = time.monotonic()
    assert sync_documents(store, _doc()).added == 1
    assert time.monotonic() - started >= 0.25
    timer.join()


def test_lock_is_released_after_a_failed_sync(make_store, tmp_path) -> None:
    store = make_store()
    with pytest.raises(Exception):  # noqa: B017 - any failure inside the sync
        sync_folder(store, tmp_path / "missing-folder")
    lock = WriteLock(tmp_path / "idx", timeout=0)
    assert lock.try_acquire()
    lock.release()


def test_open_of_a_locked_index_still_works(make_store, tmp_path) -> None:
    make_store().close()
    lock = WriteLock(tmp_path / "idx")
    lock.acquire()
    try:
        with Store.open(tmp_path / "idx") as store:
            assert store.info().files == 0
    finally:
        lock.release()


def test_the_store_imports_without_fcntl() -> None:
    code = "import sys\nsys.modules['fcntl'] = None\nimport ragforge.store, ragforge.ingest\nprint('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.stdout.strip() == "ok", out.stderr
