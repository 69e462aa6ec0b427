"""``lazy_exports``: a package's public names, each imported from its module on first use.

    _EXPORTS = {"Index": "ragforge.retrieval.index", ...}
    __all__ = sorted(_EXPORTS)
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

So ``import ragforge`` (and ``ragforge --help``) loads neither torch nor FAISS until a name that needs them is
used. A name, once loaded, is stored in the package so later look-ups are plain attribute reads.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str],
                 extra: tuple[str, ...] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose names ``exports`` maps to their modules; ``__dir__``
    lists them with ``extra`` (names the package defines itself, such as ``__version__``)."""
    names = sorted([*exports, *extra])

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__
