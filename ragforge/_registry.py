"""A name -> factory registry that also loads Python entry points, shared by readers, embedders and chat
models (``register_reader``, ``register_embedder``, ``register_chat_model`` are thin wrappers over it).

Entry points are read once, lazily, on the first lookup, so a separate package adds a reader, an embedder
or a chat model by declaring, in its own ``pyproject.toml``::

    [project.entry-points."ragforge.readers"]
    rtf = "ragforge_rtf:read_rtf"          # the name is the suffix (".rtf") or the scheme ("mymodel:")

Names registered in code win over entry points of the same name; a broken entry point is logged and left
out, never fatal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from ragforge.errors import ConfigError

log = logging.getLogger("ragforge.plugins")
T = TypeVar("T")


class Registry(Generic[T]):
    """Names (lower-cased) to values, with the ``group`` entry points folded in on first use."""

    def __init__(self, group: str, what: str, normalise: Callable[[str], str] = str.lower) -> None:
        self.group = group
        self.what = what
        self._normalise = normalise
        self._items: dict[str, T] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def register(self, name: str, value: T, *, replace: bool = True) -> None:
        key = self._key(name)
        with self._lock:
            if not replace and key in self._items:
                raise ConfigError(f"a {self.what} is already registered for {key!r}")
            self._items[key] = value

    def unregister(self, name: str) -> None:
        with self._lock:
            self._items.pop(self._key(name), None)

    def get(self, name: str) -> T | None:
        self._load_entry_points()
        return self._items.get(self._normalise(name))

    def names(self) -> frozenset[str]:
        self._load_entry_points()
        return frozenset(self._items)

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.names()))

    def _key(self, name: str) -> str:
        key = self._normalise(name.strip()) if isinstance(name, str) else ""
        if not key:
            raise ConfigError(f"a {self.what} needs a non-empty name")
        return key

    def _load_entry_points(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            builtin = dict(self._items)
            for entry in _entry_points(self.group):
                try:
                    key = self._key(entry.name)
                except ConfigError:
                    continue
                if key in builtin:
                    continue  # code registrations win
                try:
                    self._items[key] = entry.load()
                except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break ragforge
                    log.warning("ignoring %s plug-in %r (%s): %s", self.what, entry.name, entry.value, exc)


def _entry_points(group: str) -> list:
    from importlib.metadata import entry_points

    try:
        return list(entry_points(group=group))
    except Exception as exc:  # noqa: BLE001 - damaged package metadata elsewhere in the environment
        log.warning("cannot read %s entry points: %s", group, exc)
        return []
