"""Checkpointers: where a paused (or running) thread's checkpoint is kept. JSON only, never pickle.

A checkpoint is a JSON object: ``{"v": 1, "thread_id", "run_id", "step", "status", "state", "tasks",
"joins", "interrupt", "pending_writes", "resume", "path", "graph"}``. Any object with ``put``, ``get``,
``history`` and ``delete`` (the :class:`Checkpointer` protocol) can be passed to ``compile(checkpointer=...)``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ragforge.errors import CheckpointError

__all__ = ["Checkpointer", "MemoryCheckpointer", "SqliteCheckpointer"]


@runtime_checkable
class Checkpointer(Protocol):
    """Stores checkpoints (JSON-ready dicts) per thread id; the latest one is what ``resume`` uses."""

    def put(self, thread_id: str, checkpoint: dict[str, Any]) -> None: ...

    def get(self, thread_id: str) -> dict[str, Any] | None: ...

    def history(self, thread_id: str) -> list[dict[str, Any]]: ...

    def delete(self, thread_id: str) -> None: ...


def _encode(checkpoint: dict[str, Any]) -> str:
    try:
        return json.dumps(checkpoint, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint is not JSON-serialisable: {exc}") from exc


def _decode(text: str, thread_id: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"checkpoint of thread {thread_id!r} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("v") != 1:
        raise CheckpointError(f"checkpoint of thread {thread_id!r} has an unknown format")
    return data


class MemoryCheckpointer:
    """Keeps checkpoints in this process, encoded as JSON (so it behaves like the SQLite one)."""

    def __init__(self) -> None:
        self._data: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def put(self, thread_id: str, checkpoint: dict[str, Any]) -> None:
        text = _encode(checkpoint)
        with self._lock:
            self._data.setdefault(thread_id, []).append(text)

    def get(self, thread_id: str) -> dict[str, Any] | None:
        with self._lock:
            rows = self._data.get(thread_id)
            text = rows[-1] if rows else None
        return None if text is None else _decode(text, thread_id)

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = list(self._data.get(thread_id, ()))
        return [_decode(t, thread_id) for t in rows]

    def delete(self, thread_id: str) -> None:
        with self._lock:
            self._data.pop(thread_id, None)


class SqliteCheckpointer:
    """Checkpoints in one SQLite file; safe across threads and processes (a connection per call)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("CREATE TABLE IF NOT EXISTS checkpoints (thread_id TEXT NOT NULL, "
                           "seq INTEGER PRIMARY KEY AUTOINCREMENT, saved_at REAL NOT NULL, data TEXT NOT NULL)")
                db.execute("CREATE INDEX IF NOT EXISTS checkpoints_thread ON checkpoints (thread_id, seq)")
        except (OSError, sqlite3.Error) as exc:
            raise CheckpointError(f"cannot open checkpoint database {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def _run(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            db = self._connect()
            try:
                with db:
                    return db.execute(sql, params).fetchall()
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise CheckpointError(f"checkpoint database {self.path}: {exc}") from exc

    def put(self, thread_id: str, checkpoint: dict[str, Any]) -> None:
        self._run("INSERT INTO checkpoints (thread_id, saved_at, data) VALUES (?, ?, ?)",
                  (thread_id, time.time(), _encode(checkpoint)))

    def get(self, thread_id: str) -> dict[str, Any] | None:
        rows = self._run("SELECT data FROM checkpoints WHERE thread_id = ? ORDER BY seq DESC LIMIT 1",
                         (thread_id,))
        return _decode(rows[0][0], thread_id) if rows else None

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        rows = self._run("SELECT data FROM checkpoints WHERE thread_id = ? ORDER BY seq", (thread_id,))
        return [_decode(r[0], thread_id) for r in rows]

    def delete(self, thread_id: str) -> None:
        self._run("DELETE FROM checkpoints WHERE thread_id = ?", (thread_id,))
