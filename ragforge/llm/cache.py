"""A response cache keyed by a hash of the canonical request, in memory or in SQLite on disk.

The key is the SHA-256 of the request as canonical JSON (sorted keys, no whitespace): model, messages,
options, tools and format. Two requests that differ only in dict ordering share a key.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ragforge.errors import ConfigError
from ragforge.llm.types import (
    ChatModel,
    ChatResult,
    Format,
    MessageLike,
    StreamResult,
    as_messages,
    tool_schemas,
)


def request_key(
    model: str,
    messages: Sequence[MessageLike],
    *,
    tools: Sequence[Any] | None = None,
    format: Format = None,
    options: Mapping[str, Any] | None = None,
) -> str:
    """The cache key of a request: SHA-256 hex of its canonical JSON."""
    canonical = {
        "model": model,
        "messages": [m.to_ollama() for m in as_messages(messages)],
        "tools": tool_schemas(tools),
        "format": format,
        "options": dict(options or {}),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@runtime_checkable
class ResponseCache(Protocol):
    """Stores serialised :class:`ChatResult` JSON under a request key."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class MemoryCache:
    """An in-process LRU cache of at most ``max_entries`` replies. Thread-safe."""

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ConfigError("max_entries must be >= 1")
        self.max_entries = max_entries
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def set(self, key: str, value: str) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class SqliteCache:
    """A cache in one SQLite file (folder created); survives restarts, shareable between processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10)
        with self._conn:
            self._conn.execute("CREATE TABLE IF NOT EXISTS llm_cache "
                               "(key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL)")

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM llm_cache WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        with self._lock, self._conn:
            self._conn.execute("INSERT OR REPLACE INTO llm_cache (key, value, created) VALUES (?, ?, ?)",
                               (key, value, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0]

    def close(self) -> None:
        self._conn.close()


class CachedChat:
    """Answers repeated requests from ``cache``; ``chat(..., cache=False)`` bypasses it (no read, no write).

    A hit returns the stored result with ``cached=True``, ``retries=0``, no fallback reason and this call's
    own latency.
    Only successful replies are stored. Streams read and fill the same cache.
    """

    def __init__(self, inner: ChatModel, cache: ResponseCache | None = None, *, bypass: bool = False) -> None:
        self.inner = inner
        self.cache = cache if cache is not None else MemoryCache()
        self.bypass = bypass
        self.model = inner.model

    def key(self, messages, *, tools=None, format: Format = None, options=None) -> str:
        return request_key(self.model, messages, tools=tools, format=format, options=options)

    def lookup(self, key: str, started: float) -> ChatResult | None:
        raw = self.cache.get(key)
        if raw is None:
            return None
        try:
            result = ChatResult.model_validate_json(raw)
        except ValueError:  # an unreadable entry is a miss
            return None
        latency = time.perf_counter() - started
        update = {"cached": True, "retries": 0, "fallback_reason": None, "latency_s": latency}
        return result.model_copy(update=update)

    def chat(self, messages, *, tools=None, format: Format = None, options=None, cache: bool = True
             ) -> ChatResult:
        use = cache and not self.bypass
        started = time.perf_counter()
        key = self.key(messages, tools=tools, format=format, options=options)
        if use and (hit := self.lookup(key, started)) is not None:
            return hit
        result = self.inner.chat(messages, tools=tools, format=format, options=options)
        if use:
            self.cache.set(key, result.model_dump_json())
        return result

    def stream(self, messages, *, format: Format = None, options=None, cache: bool = True) -> StreamResult:
        return StreamResult(self._stream(messages, format, options, cache and not self.bypass))

    def _stream(self, messages, format, options, use: bool) -> Generator[str, None, ChatResult]:
        started = time.perf_counter()
        key = self.key(messages, format=format, options=options)
        if use and (hit := self.lookup(key, started)) is not None:
            if hit.text:
                yield hit.text
            return hit
        inner = self.inner.stream(messages, format=format, options=options)
        yield from inner
        if use:
            self.cache.set(key, inner.result.model_dump_json())
        return inner.result
