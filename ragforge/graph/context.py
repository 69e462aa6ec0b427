"""RunContext (what a node gets as its second argument) and ``interrupt()``."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from time import perf_counter
from typing import Any

from ragforge.errors import GraphRunError

__all__ = ["GraphInterrupt", "RunContext", "interrupt"]

# The RunContext of the node running in this thread / asyncio task; the executor sets it around each node call.
CURRENT: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar("ragforge_graph_ctx", default=None)


class GraphInterrupt(Exception):  # control flow, not an error
    """Raised by ``interrupt(value)`` to pause the run. Do not catch it in a node (or re-raise it)."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


class RunContext:
    """Handed to a node that accepts a second parameter (or one named ``context``/``ctx``).

    ``deps``: the dependencies given to ``invoke(..., deps=...)``; ``node``, ``step``, ``thread_id``,
    ``run_id``; ``emit(event)`` adds a nested event to this node's trace record (pass ``ctx.emit`` as the
    ``on_event`` hook of the LLM layer).
    """

    __slots__ = ("deps", "node", "step", "thread_id", "run_id", "events", "_on_event", "_t0", "_resume",
                 "_resume_i")

    def __init__(self, deps: Any, node: str, step: int, thread_id: str | None, run_id: str, t0: float,
                 on_event: Callable[[dict[str, Any]], None] | None, resume: list[Any] | None) -> None:
        self.deps = deps
        self.node = node
        self.step = step
        self.thread_id = thread_id
        self.run_id = run_id
        self.events: list[dict[str, Any]] = []
        self._on_event = on_event
        self._t0 = t0
        self._resume = resume or []
        self._resume_i = 0

    def start_attempt(self) -> None:
        """A node (re)starts: its ``interrupt()`` calls are answered from the first resume value again."""
        self._resume_i = 0

    def emit(self, event: dict[str, Any]) -> None:
        """Record a nested event (a shallow copy gets ``t``: seconds since the run started)."""
        record = dict(event)
        record.setdefault("t", perf_counter() - self._t0)
        self.events.append(record)
        if self._on_event is not None:
            self._on_event({**record, "node": self.node, "step": self.step})

    def __repr__(self) -> str:
        return f"RunContext(node={self.node!r}, step={self.step}, thread_id={self.thread_id!r})"


def interrupt(value: Any = None) -> Any:
    """Pause the run from inside a node and hand ``value`` to the caller.

    The run stops and saves a checkpoint; ``resume(thread_id, answer)`` re-runs the node from its start and
    this call then returns ``answer``. A node may call it several times; each call is answered in turn.
    Needs a checkpointer and a thread_id to be resumable.
    """
    ctx = CURRENT.get()
    if ctx is None:
        raise GraphRunError("interrupt() was called outside a running graph node")
    index = ctx._resume_i
    ctx._resume_i += 1
    if index < len(ctx._resume):
        return ctx._resume[index]
    raise GraphInterrupt(value)


def current_context() -> RunContext | None:
    """The RunContext of the node running in this thread/task, if any."""
    return CURRENT.get()

