"""CompiledGraph: a frozen GraphSpec plus what running it needs (a checkpointer, worker threads).

Every run method takes a :class:`RunConfig` and/or its fields as keywords, starts a RunState from the input
or a checkpoint (``runner.start``) and drives one :class:`~ragforge.graph.runner.Execution`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ragforge.errors import GraphRunError

from .checkpoint import Checkpointer
from .config import ResumeOptions, RunConfig, RunOptions
from .executor import WorkerPool
from .mermaid import render
from .nodes import NodeSpec
from .results import GraphEvent, Interrupt, RunResult, Snapshot
from .runnable import Runnable
from .runner import Execution, need_checkpointer, snapshot_state, start
from .spec import GraphSpec
from .trace import Trace

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["CompiledGraph"]


class CompiledGraph(Runnable):
    """A validated graph, ready to run. Make it with ``StateGraph.compile()``; it is a Runnable.

    ``invoke`` returns the final state (or the state at a pause), ``run`` a RunResult, ``stream`` yields
    GraphEvents, ``resume`` continues a paused thread; ``ainvoke``/``arun``/``astream``/``aresume`` do the same
    inside the caller's event loop. Each takes a ``config`` (:class:`RunConfig`: ``deps``, ``thread_id``,
    ``step_limit`` (default 25 supersteps), ``on_event``, ``resume``, ``update``) and/or those fields as
    keywords. Safe to run from several threads at once. Used as a node of another graph, its final state is
    merged as that node's update. ``spec`` is the frozen definition (nodes, wiring, schema).
    """

    def __init__(self, spec: GraphSpec, *, checkpointer: Checkpointer | None = None, max_workers: int = 16) -> None:
        self.spec = spec
        self.name = spec.name
        self.checkpointer = checkpointer
        self._pool = WorkerPool(max_workers, spec.name)

    @property
    def nodes(self) -> Mapping[str, NodeSpec]:
        return self.spec.nodes

    # -- sync --------------------------------------------------------------------------------------------
    def invoke(self, input: Any = None, config: RunConfig | None = None,
               **options: Unpack[RunOptions]) -> Any:
        """Run to the end (or to a pause) and return the state. Raises GraphRunError subclasses."""
        return self.run(input, config, **options).raise_for_error().state

    def run(self, input: Any = None, config: RunConfig | None = None,
            **options: Unpack[RunOptions]) -> RunResult:
        """Run and return a RunResult; a failing run gives ``status="failed"`` and ``error`` instead of raising.

        ``resume=value`` continues the thread's checkpoint (``value`` answers a pending ``interrupt()``);
        ``update`` is merged into the resumed state first (e.g. a human's edit).
        """
        execution = self._execution(input, RunConfig.of(config, options), events=False)
        try:
            for _ in execution.events():
                pass
        except GraphRunError:
            pass  # recorded in the result
        return execution.result()

    def stream(self, input: Any = None, config: RunConfig | None = None,
               **options: Unpack[RunOptions]) -> Iterator[GraphEvent]:
        """Yield GraphEvents as steps finish: "node" per node, "update" per step, then "interrupt" or "end"."""
        yield from self._execution(input, RunConfig.of(config, options), events=True).events()

    def resume(self, thread_id: str, value: Any = None, config: RunConfig | None = None,
               **options: Unpack[ResumeOptions]) -> Any:
        """Continue a paused thread from its checkpoint; ``value`` answers the pending ``interrupt()``."""
        return self.invoke(None, _resuming(config, options, thread_id, value))

    # -- async -------------------------------------------------------------------------------------------
    async def ainvoke(self, input: Any = None, config: RunConfig | None = None,
                      **options: Unpack[RunOptions]) -> Any:
        """``invoke`` in the caller's event loop (sync nodes run on worker threads)."""
        return (await self.arun(input, config, **options)).raise_for_error().state

    async def arun(self, input: Any = None, config: RunConfig | None = None,
                   **options: Unpack[RunOptions]) -> RunResult:
        """``run`` in the caller's event loop."""
        execution = self._execution(input, RunConfig.of(config, options), events=False)
        try:
            async for _ in execution.aevents():
                pass
        except GraphRunError:
            pass  # recorded in the result
        return execution.result()

    async def astream(self, input: Any = None, config: RunConfig | None = None,
                      **options: Unpack[RunOptions]) -> AsyncIterator[GraphEvent]:
        """``stream`` in the caller's event loop."""
        async for event in self._execution(input, RunConfig.of(config, options), events=True).aevents():
            yield event

    async def aresume(self, thread_id: str, value: Any = None, config: RunConfig | None = None,
                      **options: Unpack[ResumeOptions]) -> Any:
        """``resume`` in the caller's event loop."""
        return await self.ainvoke(None, _resuming(config, options, thread_id, value))

    # -- inspection --------------------------------------------------------------------------------------
    def get_state(self, thread_id: str) -> Snapshot | None:
        """The latest checkpoint of a thread, or None."""
        ck = need_checkpointer(self.checkpointer).get(thread_id)
        if ck is None:
            return None
        intr = Interrupt.from_dict(ck["interrupt"]) if ck.get("interrupt") else None
        return Snapshot(snapshot_state(self.spec, ck), tuple(t["node"] for t in ck["tasks"]), ck["step"],
                        ck["status"], intr, ck)

    def to_mermaid(self, trace: Trace | None = None) -> str:
        """The graph as a Mermaid flowchart; with a trace, the nodes the run visited are highlighted."""
        return render(self.spec, trace)

    def close(self) -> None:
        """Shut down the worker threads (a later run makes new ones)."""
        self._pool.close()

    def __repr__(self) -> str:
        return f"CompiledGraph({self.name!r}, nodes={list(self.spec.nodes)})"

    def _execution(self, input: Any, config: RunConfig, *, events: bool) -> Execution:
        run = start(self.spec, self.checkpointer, input, config)
        return Execution(self.spec, run, config, self.checkpointer, self._pool, events=events)


def _resuming(config: RunConfig | None, options: Mapping[str, Any], thread_id: str, value: Any) -> RunConfig:
    return RunConfig.of(config, {**options, "thread_id": thread_id, "resume": value})
