"""``Index.watch`` in a thread of this process: files created, edited, renamed and deleted while it runs reach
the index within seconds; bursts become one or a few syncs; the walk's settings and the index's own folder are
honoured; a stop asked in the middle of a sync ends it before its commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ragforge.config import WalkConfig
from ragforge.errors import ConfigError
from ragforge.ingest import SyncReport
from ragforge.ingest.watch import ChangeFilter
from ragforge.retrieval.index import Index
from ragforge.store import Store

WAIT = 15.0  # seconds a change may take to reach the index (it takes well under one here)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


class Watching:
    """``index.watch(folder)`` running in a thread, with its reports."""

    def __init__(self, index: Index, folder: Path, **options: Any) -> None:
        self.index = index
        self.reports: list[SyncReport] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.syncs = -1
        options = {"debounce": 0.1, "max_delay": 1.0, "handle_signals": False, **options}

        def run() -> None:
            try:
                self.syncs = index.watch(folder, on_sync=self.reports.append, stop=self.stop, **options)
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                self.error = exc

        self.thread = threading.Thread(target=run, name="watch-test", daemon=True)
        self.thread.start()
        wait_for(lambda: self.reports or self.error, "the first sync")

    def sources(self) -> set[str]:
        return set(self.index.store.known_files())

    def close(self) -> None:
        self.stop.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the watch did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "keep.md").write_text("The lighthouse keeper logged the storm at midnight.\n")
    (docs / "sub" / "soil.txt").write_text("Tomatoes grow best in warm, well-drained soil.\n")
    return docs


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    with Index.open(tmp_path / "idx", model="hashing:256", create=True) as opened:
        yield opened


@pytest.fixture
def watching(index: Index, folder: Path) -> Iterator[Watching]:
    watch = Watching(index, folder)
    yield watch
    watch.close()


def top_source(index: Index, text: str) -> str | None:
    hits = index.search(text, k=1, mode="lexical")
    return hits[0].chunk.source if hits else None


def test_create_edit_rename_and_delete_each_reach_the_index(watching: Watching, folder: Path) -> None:
    index = watching.index
    assert watching.reports[0].added == 2 and watching.sources() == {"keep.md", "sub/soil.txt"}

    (folder / "new.md").write_text("Espresso needs a fine grind and hot water.\n")
    wait_for(lambda: top_source(index, "espresso grind") == "new.md", "a created file is searchable")

    (folder / "keep.md").write_text("The keeper now logs the fog at dawn.\n")
    wait_for(lambda: top_source(index, "fog dawn") == "keep.md", "an edit is searchable")
    assert top_source(index, "storm midnight") is None  # the old text left the index

    (folder / "new.md").rename(folder / "sub" / "coffee.md")
    renamed = wait_for(lambda: [r for r in watching.reports if r.renamed], "a rename's report")
    assert renamed[0].renamed == 1 and renamed[0].chunks_embedded == 0  # its vectors came from the cache
    assert "sub/coffee.md" in watching.sources() and "new.md" not in watching.sources()

    (folder / "keep.md").unlink()
    wait_for(lambda: "keep.md" not in watching.sources(), "a deletion")
    assert top_source(index, "fog dawn") is None

    (folder / "sub").rename(folder / "moved")  # one event for the folder, none for the files inside
    wait_for(lambda: watching.sources() == {"moved/soil.txt", "moved/coffee.md"}, "a folder rename")


def test_a_burst_of_500_files_is_one_or_a_few_syncs(watching: Watching, folder: Path) -> None:
    before = len(watching.reports)
    burst = folder / "burst"
    burst.mkdir()
    for i in range(500):
        (burst / f"note{i:03}.md").write_text(f"Note number {i} about item{i}.\n")
    wait_for(lambda: len(watching.sources()) == 502, "500 files indexed")
    time.sleep(0.5)  # a straggling batch would show up now
    later = watching.reports[before:]
    assert 1 <= len(later) <= 4, [r.added for r in later]
    assert sum(r.added for r in later) == 500


def test_ignored_changes_start_no_sync(index: Index, folder: Path, tmp_path: Path) -> None:
    """Hidden, excluded and unsupported files, and the index's own folder inside the watched one, are ignored;
    the settings of the walk hold for every sync."""
    inner = Index.open(folder / ".ragforge-index", model="hashing:256", create=True)
    watch = Watching(inner, folder, walk=WalkConfig(exclude=("drafts",)))
    try:
        wait_for(lambda: watch.sources() == {"keep.md", "sub/soil.txt"}, "the first sync")
        time.sleep(2.5)  # the catch-up sync, and the events of the index's own commits, have passed
        settled = len(watch.reports)
        (folder / ".hidden.md").write_text("hidden text\n")
        (folder / "drafts").mkdir()
        (folder / "drafts" / "draft.md").write_text("draft text\n")
        (folder / "image.png").write_bytes(b"\x89PNG not read")
        (folder / "notes.md~").write_text("an editor's backup\n")
        time.sleep(1.5)
        assert len(watch.reports) == settled, "an ignored change started a sync"
        (folder / "seen.md").write_text("seen text\n")
        wait_for(lambda: "seen.md" in watch.sources(), "a relevant change")
        assert watch.sources() == {"keep.md", "sub/soil.txt", "seen.md"}  # no hidden or excluded file came in
    finally:
        watch.close()
        inner.close()


def test_the_change_filter() -> None:
    root, index_dir = Path("/data/docs"), Path("/data/docs/.idx")
    relevant = ChangeFilter(root, index_dir, WalkConfig(include=("*.md", "notes/**"), exclude=("tmp",)))
    relevant.refresh(["notes/a/b.txt", "x.md"])
    added = type("Change", (), {"name": "added"})()
    for path, expected in [("/data/docs/x.md", True), ("/data/docs/deep/y.md", True),
                           ("/data/docs/x.txt", False),  # not included
                           ("/data/docs/notes/z.txt", True), ("/data/docs/tmp/x.md", False),
                           ("/data/docs/.git/HEAD", False), ("/data/docs/.x.md", False),
                           ("/data/docs/.idx/manifest.json", False), ("/data/docs/notes/a", True),  # held files
                           ("/data/docs", True), ("/elsewhere/x.md", True)]:
        assert relevant(added, path) is expected, path
    hidden = ChangeFilter(root, Path("/other"), WalkConfig(include_hidden=True))
    assert hidden(added, "/data/docs/.notes/a.md") and not hidden(added, "/data/docs/a.png")


def test_a_stop_in_the_middle_of_a_sync_ends_it_before_its_commit(index: Index, folder: Path) -> None:
    for i in range(20):
        (folder / f"f{i:02}.txt").write_text(f"file {i} text\n")
    stop = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int, source: str) -> None:
        seen.append(done)
        if done >= 5:
            stop.set()  # what Ctrl-C does

    reports: list[SyncReport] = []
    syncs = index.watch(folder, on_sync=reports.append, stop=stop, progress=progress, handle_signals=False)
    assert syncs == 0 and reports == [] and max(seen) < 22
    assert index.info().chunks == 0  # nothing half-written: the commit never started
    Store.open(index.path).close()  # and the index opens cleanly
    assert index.sync(folder).added == 22


def test_a_folder_that_is_not_there_is_a_clear_error(index: Index, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        index.watch(tmp_path / "missing", handle_signals=False)
    with pytest.raises(ConfigError, match="max_delay"):
        index.watch(tmp_path, debounce=2.0, max_delay=1.0, handle_signals=False)
