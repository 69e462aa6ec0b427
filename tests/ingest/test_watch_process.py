"""``ragforge index --watch`` as a real process: JSON reports line by line, queries from other processes while
it syncs, and Ctrl-C / SIGTERM that stop it cleanly, never in the middle of a commit."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ragforge.retrieval.index import Index

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
CLI = [sys.executable, "-m", "ragforge.cli"]
WAIT = 30.0

SIGNAL_IN_COMMIT = """
import json, os, signal, sys, time
from ragforge.retrieval.index import Index
from ragforge.store import Store

real_apply = Store.apply
commits = []

def apply(self, changes):
    if not commits:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives while the commit is under way
        time.sleep(0.3)  # ... and its handler runs here, inside the commit
    applied = real_apply(self, changes)
    commits.append(len(changes.files))
    return applied

Store.apply = apply
with Index.open(sys.argv[2], model="hashing:256", create=True) as index:
    reports = []
    syncs = index.watch(sys.argv[1], on_sync=reports.append)
    print(json.dumps({"syncs": syncs, "commits": commits, "added": [r.added for r in reports],
                      "files": index.info().files}))
"""


class Lines:
    """A process's stdout lines, read in a thread so a wait can be bounded."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.queue.put(line)

    def next_json(self, timeout: float = WAIT) -> dict[str, Any]:
        return json.loads(self.queue.get(timeout=timeout))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keep.md").write_text("The lighthouse keeper logged the storm at midnight.\n")
    (docs / "soil.txt").write_text("Tomatoes grow best in warm, well-drained soil.\n")
    return docs


def _watch(folder: Path, index: Path) -> subprocess.Popen:
    return subprocess.Popen([*CLI, "index", str(folder), "--index", str(index), "--model", "hashing:256",
                             "--watch", "--json", "--debounce", "0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _query(index: Path, text: str) -> list[dict[str, Any]]:
    done = subprocess.run([*CLI, "query", text, "--index", str(index), "--json", "--mode", "lexical"],
                          capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_cli_reports_each_sync_and_stops_cleanly(folder: Path, tmp_path: Path, sig: int) -> None:
    index = tmp_path / "idx"
    process = _watch(folder, index)
    try:
        lines = Lines(process)
        assert lines.next_json()["added"] == 2
        assert _query(index, "storm")[0]["source"] == "keep.md"  # another process reads meanwhile
        (folder / "new.md").write_text("Espresso needs a fine grind.\n")
        report = lines.next_json()
        assert (report["added"], report["unchanged"]) == (1, 2)
        assert _query(index, "espresso")[0]["source"] == "new.md"
        process.send_signal(sig)
        _, err = process.communicate(timeout=WAIT)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert "stopped watching" in err and "Traceback" not in err
    with Index.open(index) as opened:
        assert opened.info().files == 3


def test_queries_from_other_processes_work_while_a_burst_is_synced(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    process = _watch(folder, index)
    try:
        lines = Lines(process)
        lines.next_json()
        for i in range(300):
            (folder / f"note{i:03}.md").write_text(f"Note {i}: the kestrel number {i} flew over the dunes.\n")
        answered = 0
        added = 0
        deadline = time.monotonic() + WAIT
        while added < 300 and time.monotonic() < deadline:
            assert _query(index, "lighthouse storm")[0]["source"] == "keep.md"  # never blocked, never broken
            answered += 1
            while not lines.queue.empty():
                added += lines.next_json()["added"]
        assert added == 300 and answered >= 1
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=WAIT)
        assert process.returncode == 0
    finally:
        process.kill()
        process.wait()


def test_a_signal_during_a_commit_lets_the_commit_finish(folder: Path, tmp_path: Path) -> None:
    for i in range(30):
        (folder / f"f{i:02}.txt").write_text(f"file {i} text\n")
    done = subprocess.run([sys.executable, "-c", SIGNAL_IN_COMMIT, str(folder), str(tmp_path / "idx")],
                          capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    assert "KeyboardInterrupt" not in done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # the one commit finished, the watch then stopped instead of starting to watch
    assert result == {"syncs": 1, "commits": [32], "added": [32], "files": 32}
