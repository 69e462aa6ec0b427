"""CompiledGraph: the run loop (supersteps, merging, routing, interrupts, checkpoints, traces).

The loop (``_loop``) is a generator that yields GraphEvents, and ``_Exec`` requests when a step's nodes must
run; a sync driver (threads, a private event loop for async nodes) or an async driver (the caller's event loop)
answers those requests. Everything else is shared.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ragforge.errors import CheckpointError, GraphRunError, GraphStepLimitError

from .context import RunContext
from .executor import STATE, Outcome, Task, run_coro, run_step_async
from .nodes import END, START, Branch, Send
from .results import GraphEvent, Interrupt, RunResult, Snapshot
from .runnable import Runnable
from .runstate import OnEvent, RunState, limit_message, load_state, node_error
from .trace import NodeRecord, StepRecord, Trace

if TYPE_CHECKING:
    from .builder import StateGraph
    from .checkpoint import Checkpointer
    from .validate import Topology

__all__ = ["CompiledGraph"]

class _Unset:
    def __repr__(self) -> str:
        return "<no resume>"


_UNSET: Any = _Unset()


class _Exec:
    """A request from the loop to its driver: run these jobs, send back their Outcomes."""

    __slots__ = ("jobs",)

    def __init__(self, jobs: list[Any]) -> None:
        self.jobs = jobs


class CompiledGraph(Runnable):
    """A validated graph, ready to run. Make it with ``StateGraph.compile()``; it is a Runnable.

    ``invoke`` returns the final state (or the state at a pause), ``run`` a RunResult, ``stream`` yields
    GraphEvents, ``resume`` continues a paused thread; ``ainvoke``/``arun``/``astream`` do the same inside
    the caller's event loop. Every call keyword-accepts ``deps`` (handed to nodes as ``ctx.deps``),
    ``thread_id`` (checkpoints are saved under it), ``step_limit`` (default 25 supersteps), ``resume``,
    ``update`` and ``on_event`` (called with every node record and nested event). Safe to run from several
    threads at once. Used as a node of another graph, its final state is merged as that node's update.
    """

    def __init__(self, builder: StateGraph, topology: Topology, *, checkpointer: Checkpointer | None,
                 interrupt_before: frozenset[str], interrupt_after: frozenset[str], max_workers: int,
                 name: str) -> None:
        self.name = name
        self.schema = builder.schema
        self.nodes = dict(builder.nodes)
        self.topology = topology
        self.checkpointer = checkpointer
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- public API: sync ------------------------------------------------------------------------------
    def invoke(self, input: Any = None, *, deps: Any = None, thread_id: str | None = None,  # noqa: A002
               step_limit: int = 25, resume: Any = _UNSET, update: dict[str, Any] | None = None,
               on_event: OnEvent | None = None) -> Any:
        """Run to the end (or to a pause) and return the state. Raises GraphRunError subclasses."""
        return self.run(input, deps=deps, thread_id=thread_id, step_limit=step_limit, resume=resume,
                        update=update, on_event=on_event).raise_for_error().state

    def run(self, input: Any = None, *, deps: Any = None, thread_id: str | None = None,  # noqa: A002
            step_limit: int = 25, resume: Any = _UNSET, update: dict[str, Any] | None = None,
            on_event: OnEvent | None = None) -> RunResult:
        """Run and return a RunResult; a failing run gives ``status="failed"`` and ``error`` instead of raising.

        ``resume=value`` continues the thread's checkpoint (``value`` answers a pending ``interrupt()``);
        ``update`` is merged into the resumed state first (e.g. a human's edit).
        """
        run = self._prepare(input, deps, thread_id, resume, update, on_event)
        try:
            for _ in self._drive(run, step_limit, events=False):
                pass
        except GraphRunError as exc:
            run.error = exc
        finally:
            run.finish()
        return self._result(run)

    def stream(self, input: Any = None, *, deps: Any = None, thread_id: str | None = None,  # noqa: A002
               step_limit: int = 25, resume: Any = _UNSET, update: dict[str, Any] | None = None,
               on_event: OnEvent | None = None) -> Iterator[GraphEvent]:
        """Yield GraphEvents as steps finish: "node" per node, "update" per step, then "interrupt" or "end"."""
        run = self._prepare(input, deps, thread_id, resume, update, on_event)
        try:
            yield from self._drive(run, step_limit)
        except GraphRunError as exc:
            run.error = exc
            raise
        finally:
            run.finish()

    def resume(self, thread_id: str, value: Any = None, **kwargs: Any) -> Any:
        """Continue a paused thread from its checkpoint; ``value`` answers the pending ``interrupt()``."""
        return self.invoke(None, thread_id=thread_id, resume=value, **kwargs)

    # -- public API: async -----------------------------------------------------------------------------
    async def ainvoke(self, input: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        """``invoke`` in the caller's event loop (sync nodes run on worker threads)."""
        return (await self.arun(input, **kwargs)).raise_for_error().state

    async def arun(self, input: Any = None, *, deps: Any = None, thread_id: str | None = None,  # noqa: A002
                   step_limit: int = 25, resume: Any = _UNSET, update: dict[str, Any] | None = None,
                   on_event: OnEvent | None = None) -> RunResult:
        """``run`` in the caller's event loop."""
        run = self._prepare(input, deps, thread_id, resume, update, on_event)
        try:
            async for _ in self._adrive(run, step_limit, events=False):
                pass
        except GraphRunError as exc:
            run.error = exc
        finally:
            run.finish()
        return self._result(run)

    async def astream(self, input: Any = None, *, deps: Any = None, thread_id: str | None = None,  # noqa: A002
                      step_limit: int = 25, resume: Any = _UNSET, update: dict[str, Any] | None = None,
                      on_event: OnEvent | None = None) -> AsyncIterator[GraphEvent]:
        """``stream`` in the caller's event loop."""
        run = self._prepare(input, deps, thread_id, resume, update, on_event)
        try:
            async for event in self._adrive(run, step_limit):
                yield event
        except GraphRunError as exc:
            run.error = exc
            raise
        finally:
            run.finish()

    async def aresume(self, thread_id: str, value: Any = None, **kwargs: Any) -> Any:
        """``resume`` in the caller's event loop."""
        return await self.ainvoke(None, thread_id=thread_id, resume=value, **kwargs)

    # -- public API: inspection ------------------------------------------------------------------------
    def get_state(self, thread_id: str) -> Snapshot | None:
        """The latest checkpoint of a thread, or None."""
        ck = self._checkpointer().get(thread_id)
        if ck is None:
            return None
        intr = Interrupt.from_dict(ck["interrupt"]) if ck.get("interrupt") else None
        return Snapshot(self.schema.output(load_state(self, ck)), tuple(t["node"] for t in ck["tasks"]), ck["step"],
                        ck["status"], intr, ck)

    def to_mermaid(self, trace: Trace | None = None) -> str:
        """The graph as a Mermaid flowchart; with a trace, the nodes the run visited are highlighted."""
        from .mermaid import render

        return render(self, trace)

    def close(self) -> None:
        """Shut down the worker threads (a later run makes new ones)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None

    def __repr__(self) -> str:
        return f"CompiledGraph({self.name!r}, nodes={list(self.nodes)})"

    # -- drivers ---------------------------------------------------------------------------------------
    def _drive(self, run: RunState, step_limit: int, events: bool = True) -> Iterator[GraphEvent]:
        loop = self._loop(run, step_limit, events)
        reply: Any = None
        while True:
            try:
                item = loop.send(reply)
            except StopIteration:
                return
            if isinstance(item, _Exec):
                reply = run.runner.run(item.jobs, run.t0)
            else:
                reply = None
                yield item

    async def _adrive(self, run: RunState, step_limit: int, events: bool = True) -> AsyncIterator[GraphEvent]:
        loop = self._loop(run, step_limit, events)
        reply: Any = None
        while True:
            try:
                item = loop.send(reply)
            except StopIteration:
                return
            if isinstance(item, _Exec):
                reply = await run_step_async(run.runner, item.jobs, run.t0)
            else:
                reply = None
                yield item

    # -- the run loop ----------------------------------------------------------------------------------
    def _get_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix=f"graph-{self.name}")
            return self._pool

    def _prepare(self, input: Any, deps: Any, thread_id: str | None, resume: Any,  # noqa: A002
                 update: dict[str, Any] | None, on_event: OnEvent | None) -> RunState:
        if resume is not _UNSET:
            if thread_id is None:
                raise CheckpointError("resuming needs the thread_id the run was started with")
            ck = self._checkpointer().get(thread_id)
            if ck is None:
                raise CheckpointError(f"no checkpoint for thread {thread_id!r}")
            run = RunState.restore(self, ck, resume, deps, on_event)
            if update:
                run.state, run.last_diff = self.schema.apply(run.state, [("<resume update>", update)])
            return run
        if update is not None:
            raise GraphRunError("update= is only for resuming a thread (pass resume=...)")
        state = self.schema.initial(input)
        run = RunState(self, state, deps, thread_id, on_event)
        if isinstance(input, dict):
            run.last_diff = {k: self.schema.get(state, k) for k in input}
        elif input is not None:
            run.last_diff = {k: self.schema.get(state, k) for k in self.schema.fields}
        run.tasks = self._next([START], run)
        return run

    def _loop(self, run: RunState, step_limit: int, events: bool) -> Iterator[Any]:
        """Yields _Exec requests, and GraphEvents (node/update ones only when ``events``)."""
        while run.tasks:
            if run.step >= step_limit:
                raise GraphStepLimitError(limit_message(run, step_limit))
            if not run.skip_before and self.interrupt_before:
                hit = next((t.node for t in run.tasks if t.node in self.interrupt_before), None)
                if hit is not None:
                    yield self._pause(run, Interrupt(hit, None, "before", run.step))
                    return
            run.skip_before = False
            executed = run.tasks
            start = perf_counter() - run.t0
            index, jobs = self._jobs(run)
            outcomes = dict(zip(index, (yield _Exec(jobs))))
            step_rec = self._record(run, outcomes, start)
            failed = next(((i, o) for i, o in outcomes.items() if o.error is not None), None)
            if failed is not None:
                self._save(run, "failed")
                raise node_error(executed[failed[0]].node, failed[1].error, run, self.schema)
            paused = next(((i, o) for i, o in outcomes.items() if o.interrupt is not None), None)
            if paused is not None:
                run.pending.update({i: o.update for i, o in outcomes.items() if o.update is not None})
                node = executed[paused[0]].node
                yield self._pause(run, Interrupt(node, paused[1].interrupt.value, "interrupt", run.step, paused[0]))
                return
            writes = [(t.node, run.pending[i] if i in run.pending else outcomes[i].update)
                      for i, t in enumerate(executed)]
            try:
                run.state, diff = self.schema.apply(run.state, writes)  # type: ignore[arg-type]
            except GraphRunError:
                self._save(run, "failed")  # invalid or conflicting updates: the step can be retried
                raise
            step_rec.update = diff
            run.last_diff, run.pending, run.resume = diff, {}, {}
            run.path.append([t.node for t in executed])
            run.tasks = self._next([t.node for t in executed], run)
            step, run.step = run.step, run.step + 1
            step_rec.duration = perf_counter() - run.t0 - step_rec.start
            if events:
                for rec in step_rec.nodes:
                    yield GraphEvent("node", step, rec.node, rec.update)
                yield GraphEvent("update", step, None, diff)
            if self.interrupt_after and run.tasks:  # pausing after the last node would change nothing
                hit = next((t.node for t in executed if t.node in self.interrupt_after), None)
                if hit is not None:
                    yield self._pause(run, Interrupt(hit, None, "after", step))
                    return
            self._save(run, "running")
        self._save(run, "done")
        yield GraphEvent("end", run.step, None, self.schema.output(run.state))

    def _jobs(self, run: RunState) -> tuple[list[int], list[Any]]:
        jobs, index = [], []
        for i, task in enumerate(run.tasks):
            if i in run.pending:  # finished before an interrupt in the same step: not run again
                continue
            ctx = RunContext(run.deps, task.node, run.step, run.thread_id, run.run_id, run.t0, run.on_event,
                             run.resume.get(i))
            arg = self.schema.view(run.state) if task.arg is STATE else task.arg
            jobs.append((self.nodes[task.node], arg, ctx))
            index.append(i)
        return index, jobs

    def _record(self, run: RunState, outcomes: dict[int, Outcome], start: float) -> StepRecord:
        records = []
        for i, out in outcomes.items():
            task = run.tasks[i]
            rec = NodeRecord(run.step, task.node, out.start, out.duration, out.update,
                             None if out.error is None else f"{type(out.error).__name__}: {out.error}",
                             out.retries, out.failures, out.ctx.events, None if task.arg is STATE else task.arg,
                             out.interrupt is not None)
            records.append(rec)
            if run.on_event is not None:
                run.on_event(rec.to_dict())
        step_rec = StepRecord(run.step, start, perf_counter() - run.t0 - start, run.last_diff, records)
        run.trace.steps.append(step_rec)
        return step_rec

    def _next(self, sources: list[str], run: RunState) -> list[Task]:
        topo = self.topology
        triggered: set[str] = set()
        sends: list[Task] = []
        for source in dict.fromkeys(sources):
            triggered.update(topo.static.get(source, ()))
            for branch in topo.branches.get(source, ()):
                self._route(branch, run, triggered, sends)
            for j in topo.joins_from.get(source, ()):
                waiting, target = topo.joins[j]
                seen = run.joins[j]
                seen.add(source)
                if seen >= waiting:
                    triggered.add(target)
                    seen.clear()
        triggered.discard(END)
        order = topo.order
        return [Task(n) for n in sorted(triggered, key=order.__getitem__)] + sends

    def _route(self, branch: Branch, run: RunState, triggered: set[str], sends: list[Task]) -> None:
        view = self.schema.view(run.state)
        try:
            if branch.ctx_mode == 0:
                result = branch.router(view)
            else:
                ctx = RunContext(run.deps, branch.source, run.step, run.thread_id, run.run_id, run.t0, None, None)
                result = branch.router(view, ctx) if branch.ctx_mode == 1 else branch.router(
                    view, **{branch.ctx_name: ctx})
            if inspect.isawaitable(result):
                result = run_coro(result)  # type: ignore[arg-type]
        except Exception as exc:
            raise GraphRunError(f"the router after {branch.source!r} raised {type(exc).__name__}: {exc}") from exc
        for item in result if isinstance(result, (list, tuple)) else (result,):
            if isinstance(item, Send):
                if item.node not in branch.targets or item.node == END:
                    raise GraphRunError(f"the router after {branch.source!r} sent to {item.node!r}, which is not "
                                        f"among its targets {list(branch.targets)}")
                sends.append(Task(item.node, item.arg))
                continue
            try:
                triggered.add(branch.mapping[item])
            except (KeyError, TypeError):
                raise GraphRunError(f"the router after {branch.source!r} returned {item!r}, which is not in its "
                                    f"mapping {list(branch.mapping)}") from None

    # -- pausing and saving ----------------------------------------------------------------------------
    def _pause(self, run: RunState, intr: Interrupt) -> GraphEvent:
        run.interrupt = intr
        if intr.kind == "before":
            run.skip_before = True
        self._save(run, "interrupted")
        return GraphEvent("interrupt", intr.step, intr.node, intr)

    def _save(self, run: RunState, status: str) -> None:
        if self.checkpointer is not None and run.thread_id is not None:
            self.checkpointer.put(run.thread_id, run.checkpoint(self, status))

    def _checkpointer(self) -> Checkpointer:
        if self.checkpointer is None:
            raise CheckpointError("this graph has no checkpointer; compile(checkpointer=...) to pause and resume")
        return self.checkpointer

    def _result(self, run: RunState) -> RunResult:
        status = "failed" if run.error else ("interrupted" if run.interrupt else "done")
        return RunResult(self.schema.output(run.state), run.trace, status, run.interrupt, run.error,  # type: ignore[arg-type]
                         run.thread_id)
