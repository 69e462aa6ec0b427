"""What runs hand back: RunResult, Interrupt, GraphEvent (streamed), Snapshot (a saved thread)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ragforge.errors import GraphRunError

from .trace import Trace

__all__ = ["GraphEvent", "Interrupt", "RunResult", "Snapshot"]


@dataclass(frozen=True)
class Interrupt:
    """Why a run paused. ``kind``: "interrupt" (``interrupt(value)`` in a node), "before" or "after"."""

    node: str
    value: Any
    kind: Literal["interrupt", "before", "after"]
    step: int
    task: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "value": self.value, "kind": self.kind, "step": self.step, "task": self.task}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Interrupt:
        return cls(data["node"], data.get("value"), data["kind"], data["step"], data.get("task"))


@dataclass
class RunResult:
    """Everything about one run. ``status`` is "done", "interrupted" or "failed" (then ``error`` is set and
    ``state`` is the state before the failing step)."""

    state: Any
    trace: Trace
    status: Literal["done", "interrupted", "failed"]
    interrupted: Interrupt | None = None
    error: GraphRunError | None = None
    thread_id: str | None = None

    def raise_for_error(self) -> RunResult:
        """Raise ``error`` if the run failed; returns self otherwise."""
        if self.error is not None:
            raise self.error
        return self


@dataclass(slots=True)
class GraphEvent:
    """A streamed event. ``kind``: "node" (a node finished; ``data`` is its update), "update" (a step's
    merged update), "interrupt" (``data`` is the Interrupt) or "end" (``data`` is the final state)."""

    kind: Literal["node", "update", "interrupt", "end"]
    step: int
    node: str | None = None
    data: Any = None


@dataclass(frozen=True)
class Snapshot:
    """A thread's latest checkpoint: its state, the nodes that run next, and any pending interrupt."""

    state: Any
    next: tuple[str, ...]
    step: int
    status: str
    interrupt: Interrupt | None = None
    checkpoint: dict[str, Any] = field(default_factory=dict, repr=False)
