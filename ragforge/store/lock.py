"""The write lock: ``fcntl.flock`` on ``<index>/write.lock``. Readers never take it."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from ragforge.errors import IndexLockedError, StoreError

LOCK_FILE = "write.lock"
DEFAULT_LOCK_TIMEOUT = 10.0


class WriteLock:
    """Exclusive across processes. ``acquire`` waits up to ``timeout`` seconds, then raises IndexLockedError.

    Not re-entrant: flock locks belong to an open file, so taking it twice in one process waits on itself.
    """

    def __init__(self, index_dir: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.file = Path(index_dir) / LOCK_FILE
        self.timeout = timeout
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float | None = None) -> None:
        if self._fd is not None:
            return
        wait = self.timeout if timeout is None else timeout
        try:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open the index's lock file {self.file}: {exc.strerror or exc}") from exc
        deadline = time.monotonic() + max(0.0, wait)
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    os.close(fd)
                    raise IndexLockedError(
                        f"another process{f' (pid {holder})' if holder else ''} is writing the index at "
                        f"{self.file.parent}; waited {wait:g} s. Wait for it to finish and try again "
                        "(or pass a longer lock_timeout)") from None
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def try_acquire(self) -> bool:
        """Take the lock only if it is free right now."""
        try:
            self.acquire(timeout=0)
        except (IndexLockedError, StoreError):
            return False
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
