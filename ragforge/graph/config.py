"""RunConfig: the options of one run, as one value.

    config = RunConfig(deps=my_deps, step_limit=50, on_event=print)
    graph.run({"question": "why?"}, config)                       # the same as the keywords below
    graph.run({"question": "why?"}, deps=my_deps, step_limit=50, on_event=print)
    graph.run({"question": "why?"}, config, thread_id="t1")       # keywords override the config's fields

Every run entry point (``invoke``, ``run``, ``stream``, ``ainvoke``, ``arun``, ``astream``, ``resume``) takes a
``config`` and/or the same fields as keyword shortcuts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict

__all__ = ["DEFAULT", "UNSET", "OnEvent", "ResumeOptions", "RunConfig", "RunOptions"]

OnEvent = Callable[[dict[str, Any]], None]


class _Unset:
    """The ``resume`` of a run that starts afresh (``resume=None`` is a real answer)."""

    def __repr__(self) -> str:
        return "<no resume>"


UNSET: Final[Any] = _Unset()


class ResumeOptions(TypedDict, total=False):
    """The keyword shortcuts of ``resume``/``aresume`` (which take the thread and the answer as arguments)."""

    deps: Any
    step_limit: int
    update: dict[str, Any] | None
    on_event: OnEvent | None


class RunOptions(ResumeOptions, total=False):
    """The keyword shortcuts of the run methods: the fields of RunConfig."""

    thread_id: str | None
    resume: Any


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How to run a graph once.

    ``deps``: handed to nodes as ``ctx.deps``; ``thread_id``: checkpoints are saved under it (and resumed from
    it); ``step_limit``: supersteps before GraphStepLimitError (a runaway cycle); ``on_event``: called with every
    node record and nested event (dicts); ``resume``: continue the thread's checkpoint, the value answering its
    pending ``interrupt()``; ``update``: merged into the resumed state first (e.g. a human's edit).
    """

    deps: Any = None
    thread_id: str | None = None
    step_limit: int = 25
    resume: Any = UNSET
    update: dict[str, Any] | None = None
    on_event: OnEvent | None = None

    @property
    def resuming(self) -> bool:
        return self.resume is not UNSET

    @classmethod
    def of(cls, config: RunConfig | None, options: Mapping[str, Any]) -> RunConfig:
        """``config`` (or the defaults) with the keyword shortcuts ``options`` laid over it."""
        base = DEFAULT if config is None else config
        if not options:
            return base
        unknown = sorted(set(options) - _FIELDS)
        if unknown:
            raise TypeError(f"unknown run option(s) {unknown}; the options are {sorted(_FIELDS)} (see RunConfig)")
        return dataclasses.replace(base, **options)


DEFAULT: Final = RunConfig()
_FIELDS: Final = frozenset(f.name for f in dataclasses.fields(RunConfig))
