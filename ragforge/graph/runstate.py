"""The mutable state of one run, its checkpoint form (JSON), and the run loop's error messages.

A RunState reads the run's GraphSpec (schema, topology, node names) and its RunConfig; it never runs nodes.
"""

from __future__ import annotations

import time
import uuid
from time import perf_counter
from typing import Any, Literal

from ragforge.errors import CheckpointError, GraphRunError, NodeError, NodeTimeoutError

from .config import OnEvent, RunConfig
from .executor import STATE, Task
from .results import Interrupt
from .spec import GraphSpec
from .state import StateSchema, jsonable
from .trace import Trace

__all__ = ["RunState", "limit_message", "load_state", "node_error"]


class RunState:
    """One run (or one resumed stretch of a thread): the state, the next tasks, joins, pending writes."""

    def __init__(self, spec: GraphSpec, state: Any, config: RunConfig) -> None:
        self.state = state
        self.deps: Any = config.deps
        self.thread_id = config.thread_id
        self.on_event: OnEvent | None = config.on_event
        self.run_id = uuid.uuid4().hex
        self.t0 = perf_counter()
        self.step = 0
        self.tasks: list[Task] = []
        self.joins: list[set[str]] = [set() for _ in spec.topology.joins]
        self.pending: dict[int, dict[str, Any]] = {}
        self.resume: dict[int, list[Any]] = {}
        self.skip_before = False
        self.path: list[list[str]] = []
        self.last_diff: dict[str, Any] = {}
        self.interrupt: Interrupt | None = None
        self.error: GraphRunError | None = None
        self.trace = Trace(self.run_id, spec.name, self.thread_id, time.time())

    @property
    def status(self) -> Literal["done", "interrupted", "failed"]:
        return "failed" if self.error else ("interrupted" if self.interrupt else "done")

    def checkpoint(self, spec: GraphSpec, status: str) -> dict[str, Any]:
        """The JSON-ready checkpoint of this run."""
        tasks = [{"node": t.node} if t.arg is STATE else {"node": t.node, "arg": jsonable(t.arg)}
                 for t in self.tasks]
        return {
            "v": 1, "thread_id": self.thread_id, "run_id": self.run_id, "graph": spec.name, "step": self.step,
            "status": status, "state": spec.schema.dump(self.state), "tasks": tasks,
            "joins": [sorted(s) for s in self.joins],
            "interrupt": self.interrupt.to_dict() if status == "interrupted" and self.interrupt else None,
            "pending_writes": {str(i): jsonable(u) for i, u in self.pending.items()},
            "resume": {str(i): jsonable(v) for i, v in self.resume.items()}, "path": self.path,
            "saved_at": time.time()}

    @classmethod
    def restore(cls, spec: GraphSpec, ck: dict[str, Any], config: RunConfig) -> RunState:
        """Rebuild a run from a checkpoint; ``config.resume`` answers its pending ``interrupt()``."""
        thread_id = ck.get("thread_id")
        if ck["status"] == "done":
            raise CheckpointError(f"thread {thread_id!r} has finished; there is nothing to resume")
        unknown = [t["node"] for t in ck["tasks"] if t["node"] not in spec.nodes]
        if unknown or len(ck["joins"]) != len(spec.topology.joins):
            raise CheckpointError(f"the checkpoint of {thread_id!r} was made by another graph (nodes {unknown})")
        run = cls(spec, load_state(spec.schema, ck), config)
        run.step, run.path = ck["step"], ck["path"]
        run.tasks = [Task(t["node"], t.get("arg", STATE)) for t in ck["tasks"]]
        run.joins = [set(s) for s in ck["joins"]]
        run.pending = {int(k): v for k, v in ck["pending_writes"].items()}
        run.resume = {int(k): list(v) for k, v in ck["resume"].items()}
        intr = ck.get("interrupt")
        if intr and intr["kind"] == "interrupt":
            run.resume.setdefault(intr["task"], []).append(config.resume)
        run.skip_before = bool(intr and intr["kind"] == "before")
        return run

    def finish(self) -> None:
        """Close the trace (duration, status, error) and tell ``on_event``."""
        trace = self.trace
        trace.duration = perf_counter() - self.t0
        trace.status = self.status
        if self.error is not None:
            trace.error = f"{type(self.error).__name__}: {self.error}"
        if self.on_event is not None:
            self.on_event({"type": "end", "status": trace.status, "duration": trace.duration})


def load_state(schema: StateSchema, ck: dict[str, Any]) -> Any:
    """A checkpoint's state, revalidated against the graph's schema."""
    try:
        return schema.load(ck["state"])
    except (GraphRunError, KeyError, TypeError) as exc:
        raise CheckpointError(f"the checkpoint's state does not fit the schema: {exc}") from exc


def node_error(node: str, exc: BaseException | None, run: RunState, schema: StateSchema) -> NodeError:
    """The NodeError (or NodeTimeoutError) for a failed node, holding the state before its step."""
    state = schema.output(run.state)
    if isinstance(exc, NodeTimeoutError):
        err: NodeError = NodeTimeoutError(str(exc), node=node, state=state)
    else:
        err = NodeError(f"node {node!r} failed at step {run.step}: {type(exc).__name__}: {exc}", node=node,
                        state=state)
    err.__cause__ = exc
    return err


def limit_message(run: RunState, limit: int) -> str:
    """Name the cycle the run was caught in, from the nodes of its last steps."""
    path = [" + ".join(names) for names in run.path]
    cycle: list[str] = []
    for period in range(1, len(path) // 2 + 1):
        if path[-period:] == path[-2 * period:-period]:
            loop = path[-period:]
            first = min(range(period), key=lambda j: path.index(loop[j]))  # start where the cycle was entered
            cycle = loop[first:] + loop[:first] + [loop[first]]
            break
    where = f"cycling through {' -> '.join(cycle)}" if cycle else f"last nodes {' -> '.join(path[-5:])}"
    nxt = ", ".join(t.node for t in run.tasks)
    return (f"step limit of {limit} reached (the run was {where}; next: {nxt}); "
            f"raise step_limit= or make the router reach END")
