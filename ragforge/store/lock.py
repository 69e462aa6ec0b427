"""The write lock: ``<index>/write.lock`` through the ``filelock`` package (flock on POSIX, msvcrt on
Windows, so importing the store works everywhere). Readers never take it.

The holder writes its pid to ``write.owner`` so a writer that gives up can say which process holds the lock.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from ragforge.errors import IndexLockedError, StoreError

LOCK_FILE = "write.lock"
OWNER_FILE = "write.owner"
DEFAULT_LOCK_TIMEOUT = 10.0


class WriteLock:
    """Exclusive across processes (and across WriteLock objects in one process). ``acquire`` waits up to
    ``timeout`` seconds, then raises IndexLockedError. Acquiring a lock this object already holds is a no-op.
    """

    def __init__(self, index_dir: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.file = Path(index_dir) / LOCK_FILE
        self.timeout = timeout
        self._lock: Any = None  # a filelock.FileLock while held

    @property
    def held(self) -> bool:
        return self._lock is not None

    def acquire(self, timeout: float | None = None) -> None:
        from filelock import FileLock, Timeout

        if self._lock is not None:
            return
        wait = max(0.0, self.timeout if timeout is None else timeout)
        lock = FileLock(str(self.file), timeout=wait, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            holder = _holder(self.file.with_name(OWNER_FILE))
            raise IndexLockedError(
                f"another process{f' (pid {holder})' if holder else ''} is writing the index at "
                f"{self.file.parent}; waited {wait:g} s. Wait for it to finish and try again "
                "(or pass a longer --lock-timeout; Python: lock_timeout=)") from None
        except OSError as exc:
            raise StoreError(f"cannot use the index's lock file {self.file}: {exc.strerror or exc}") from exc
        self._lock = lock
        with contextlib.suppress(OSError):  # only the message of a waiting writer loses the pid
            self.file.with_name(OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")

    def try_acquire(self) -> bool:
        """Take the lock only if it is free right now."""
        try:
            self.acquire(timeout=0)
        except (IndexLockedError, StoreError):
            return False
        return True

    def release(self) -> None:
        if self._lock is None:
            return
        lock, self._lock = self._lock, None
        with contextlib.suppress(OSError):
            self.file.with_name(OWNER_FILE).unlink(missing_ok=True)
        lock.release()

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _holder(file: Path) -> str:
    try:
        text = file.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""
