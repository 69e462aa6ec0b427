"""Keeping an index in step with a folder as it changes: :func:`watch_folder`.

    watch_folder(store, "~/notes", on_sync=print)   # blocks until Ctrl-C, SIGTERM or stop.set()

The first sync runs at once. Then ``watchfiles`` (inotify / FSEvents / ReadDirectoryChangesW through Rust's
``notify``) reports changes; a batch is synced once the folder has been quiet for ``debounce`` seconds (a
steady stream of changes is synced at least every ``max_delay`` seconds), so a ``git checkout`` of 500 files
costs one or a few syncs, not 500. Changes made while a sync runs are kept by the watcher and form the next
batch. Each sync is the ordinary :func:`~ragforge.ingest.sync_folder` (walk, plan, embed, ``Store.apply``),
so it honours the same include/exclude/hidden/symlink settings and takes the write lock only while it
writes: searches from other processes go on throughout. One more sync runs once the watcher is up, to catch
what changed between the first sync and the start of watching.

Only changes that can matter start a sync: files with a reader's suffix (and matching the include globs),
folders added or removed, and folders that held indexed files; hidden paths (unless ``include_hidden``),
excluded paths and the index's own folder are ignored.

Stopping: Ctrl-C (SIGINT) or SIGTERM in the main thread, or ``stop.set()`` from anywhere, stops the watch
between two commits, never in the middle of one: a sync under way stops at its next file, before its next
commit (what it already committed stays; the next sync picks up the rest). A sync that finds the index locked
by another writer is retried every ``retry_after`` seconds; any other error ends the watch.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ragforge.config import WalkConfig
from ragforge.errors import ConfigError, IndexLockedError, RagforgeError
from ragforge.ingest.executor import Executor
from ragforge.ingest.report import SyncReport
from ragforge.ingest.run import Progress
from ragforge.ingest.sync import sync_folder
from ragforge.readers.registry import supported_suffixes
from ragforge.readers.walk import display_name, glob_match
from ragforge.store import Store

logger = logging.getLogger("ragforge.ingest")
OnSync = Callable[[SyncReport], None]
OnError = Callable[[RagforgeError], None]


class _Stopped(Exception):
    """Raised from the progress callback of a sync when a stop was asked: the sync ends before its next
    commit (the store's write lock is released on the way out)."""


class ChangeFilter:
    """Which changed paths can change the index (``watchfiles``' ``watch_filter``: ``(change, path) -> bool``).

    ``folders`` holds every folder that contains an indexed file, so removing such a folder (one event, no
    suffix) is seen; :meth:`refresh` renews it after each sync.
    """

    def __init__(self, root: Path, index_dir: Path, walk: WalkConfig) -> None:
        self.root = root
        self.index_dir = index_dir.resolve()
        self.walk = walk
        self.suffixes = supported_suffixes()
        self.folders: set[str] = set()

    def refresh(self, sources: Iterable[str]) -> None:
        folders: set[str] = set()
        for source in sources:
            parts = source.split("/")[:-1]
            folders.update("/".join(parts[:k]) for k in range(1, len(parts) + 1))
        self.folders = folders

    def __call__(self, change: Any, path: str) -> bool:
        changed = Path(path)
        if changed == self.index_dir or self.index_dir in changed.parents:
            return False
        try:
            parts = [display_name(part) for part in changed.relative_to(self.root).parts]
        except ValueError:
            return True  # not under the folder as we know it: let a sync decide
        if not parts:
            return True  # the folder itself (moved or removed: the sync says so)
        if not self.walk.include_hidden and any(part.startswith(".") for part in parts):
            return False
        source = "/".join(parts)
        if any(glob_match(pattern, source) for pattern in self.walk.exclude):
            return False
        if changed.suffix.lower() in self.suffixes:
            return not self.walk.include or any(glob_match(pattern, source) for pattern in self.walk.include)
        if source in self.folders:
            return True  # a folder that held indexed files
        return getattr(change, "name", "") != "modified" and changed.is_dir()  # a folder added


@contextmanager
def stop_on_signals(stop: threading.Event, enabled: bool = True) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM set ``stop`` instead of interrupting (main thread only; elsewhere,
    and when not ``enabled``, nothing changes). The previous handlers come back on exit."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if not stop.is_set():
            logger.info("stopping the watch after the current commit (signal %d)", signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Watch:
    def __init__(self, store: Store, folder: Path, walk: WalkConfig, *, on_sync: OnSync | None,
                 on_error: OnError | None, progress: Progress | None, stop: threading.Event,
                 executor: Executor | None) -> None:
        self.store = store
        self.folder = folder
        self.walk = walk
        self.on_sync = on_sync
        self.on_error = on_error
        self.progress = progress
        self.stop = stop
        self.executor = executor
        self.filter = ChangeFilter(folder.resolve(), store.path, walk)
        self.syncs = 0

    def _progress(self, done: int, total: int, source: str) -> None:
        if self.stop.is_set() and done < total:
            raise _Stopped()
        if self.progress is not None:
            self.progress(done, total, source)

    def sync(self, *, retarget: bool = False, quiet_if_unchanged: bool = False) -> bool:
        """One sync; False when it must be tried again (the index was locked by another writer)."""
        try:
            report = sync_folder(self.store, self.folder, self.walk, self._progress, retarget=retarget,
                                 executor=self.executor)
        except _Stopped:
            return True
        except IndexLockedError as exc:
            if self.on_error is not None:
                self.on_error(exc)
            logger.warning("%s; trying again shortly", exc)
            return False
        self.syncs += 1
        self.filter.refresh(self.store.known_files())
        if self.on_sync is not None and not (quiet_if_unchanged and not report.changed_anything):
            self.on_sync(report)
        return True

    def run(self, retarget: bool, debounce: float, max_delay: float, retry_after: float) -> None:
        from watchfiles import watch

        self.sync(retarget=retarget)
        if self.stop.is_set():
            return
        pending, catch_up = True, True  # the catch-up sync, once the watcher runs
        batches = watch(self.filter.root, watch_filter=self.filter, debounce=int(max_delay * 1000),
                        step=int(debounce * 1000), stop_event=self.stop, rust_timeout=int(retry_after * 1000),
                        yield_on_timeout=True, raise_interrupt=False)
        try:
            while not self.stop.is_set():
                changes = self._next(batches)
                if changes is None or self.stop.is_set():
                    break
                catch_up = catch_up and not changes
                if pending or changes:
                    pending = not self.sync(quiet_if_unchanged=catch_up)
                    catch_up = catch_up and pending
        finally:
            batches.close()

    def _next(self, batches: Generator[set[Any], None, None]) -> set[Any] | None:
        """The next batch of relevant changes (empty after ``retry_after`` seconds without any), None when the
        watcher stopped; its errors as ConfigError."""
        try:
            return next(batches)
        except StopIteration:
            return None
        except (OSError, RuntimeError) as exc:  # RuntimeError: watchfiles' internal error
            if not self.folder.is_dir():
                raise ConfigError(f"{self.folder} is no longer a folder; the watch stopped") from exc
            raise ConfigError(watch_error(self.folder, exc)) from exc


def watch_error(folder: Path, exc: BaseException) -> str:
    text = f"cannot watch {folder}: {getattr(exc, 'strerror', None) or exc}"
    if "limit" in str(exc).lower() or getattr(exc, "errno", None) == 28:  # ENOSPC: inotify watches used up
        text += "; raise the limit (Linux: sysctl fs.inotify.max_user_watches=524288)"
    return text + " (WATCHFILES_FORCE_POLLING=1 polls instead, e.g. on network drives)"


def watch_folder(store: Store, folder: str | Path, walk: WalkConfig | None = None, *,
                 on_sync: OnSync | None = None, on_error: OnError | None = None,
                 progress: Progress | None = None, stop: threading.Event | None = None,
                 debounce: float = 0.3, max_delay: float = 2.0, retry_after: float = 2.0,
                 retarget: bool = False, executor: Executor | None = None, handle_signals: bool = True) -> int:
    """Sync ``folder`` into ``store``, then keep syncing it as it changes until stopped; returns the number of
    syncs run. ``on_sync`` receives the first sync's report and that of every later sync (the catch-up sync
    only when it changed something); ``on_error`` receives an IndexLockedError before its sync is retried.
    ``retarget`` applies to the first sync. How batches form and how stopping works: the module docstring.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    if debounce <= 0 or max_delay < debounce or retry_after <= 0:
        raise ConfigError(f"watch timings must be positive with max_delay >= debounce (got debounce={debounce}, "
                          f"max_delay={max_delay}, retry_after={retry_after})")
    stop = stop if stop is not None else threading.Event()
    watcher = _Watch(store, folder, walk or WalkConfig(), on_sync=on_sync, on_error=on_error, progress=progress,
                     stop=stop, executor=executor)
    with stop_on_signals(stop, handle_signals):
        watcher.run(retarget, debounce, max_delay, retry_after)
    return watcher.syncs
