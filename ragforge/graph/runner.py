"""The run loop: supersteps (run the step's nodes, merge their updates, route), interrupts, checkpoints, traces.

One loop serves sync and async runs. ``Execution.steps`` is a generator that yields an :class:`Exec` request
whenever a step's nodes must run (and GraphEvents when streaming) and is sent back their Outcomes. The sync
front end (``events``) answers an Exec with ``StepRunner.run``, the async one (``aevents``) with ``await
StepRunner.arun``; preparing, routing, merging, pausing, saving, error handling and the result are shared.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Generator, Iterator
from time import perf_counter
from typing import Any, final

from ragforge.errors import CheckpointError, GraphRunError, GraphStepLimitError

from .checkpoint import Checkpointer
from .config import RunConfig
from .context import GraphInterrupt, RunContext
from .executor import STATE, Job, Outcome, StepRunner, Task, WorkerPool, run_coro
from .nodes import END, START, Branch, Send
from .results import GraphEvent, Interrupt, RunResult
from .runstate import RunState, limit_message, load_state, node_error
from .spec import GraphSpec
from .trace import NodeRecord, StepRecord

__all__ = ["Exec", "Execution", "start"]


@final
class Exec:
    """A request from the loop to its front end: run these jobs, send back their Outcomes in order."""

    __slots__ = ("jobs",)

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs


Steps = Generator[Exec | GraphEvent, list[Outcome] | None, None]


def start(spec: GraphSpec, checkpointer: Checkpointer | None, input: Any, config: RunConfig) -> RunState:
    """The RunState a run begins with: fresh from ``input``, or restored from the thread's checkpoint."""
    schema = spec.schema
    if config.resuming:
        if config.thread_id is None:
            raise CheckpointError("resuming needs the thread_id the run was started with")
        ck = need_checkpointer(checkpointer).get(config.thread_id)
        if ck is None:
            raise CheckpointError(f"no checkpoint for thread {config.thread_id!r}")
        run = RunState.restore(spec, ck, config)
        if config.update:
            run.state, run.last_diff = schema.apply(run.state, [("<resume update>", config.update)])
        return run
    if config.update is not None:
        raise GraphRunError("update= is only for resuming a thread (pass resume=...)")
    state = schema.initial(input)
    run = RunState(spec, state, config)
    if isinstance(input, dict):
        run.last_diff = {k: schema.get(state, k) for k in input}
    elif input is not None:
        run.last_diff = {k: schema.get(state, k) for k in schema.fields}
    run.tasks = next_tasks(spec, [START], run)
    return run


def need_checkpointer(checkpointer: Checkpointer | None) -> Checkpointer:
    if checkpointer is None:
        raise CheckpointError("this graph has no checkpointer; compile(checkpointer=...) to pause and resume")
    return checkpointer


def snapshot_state(spec: GraphSpec, ck: dict[str, Any]) -> Any:
    """The state of a checkpoint as callers see it."""
    return spec.schema.output(load_state(spec.schema, ck))


class Execution:
    """One run from its first step to its end: the loop, both front ends, and the RunResult."""

    def __init__(self, spec: GraphSpec, run: RunState, config: RunConfig, checkpointer: Checkpointer | None,
                 pool: WorkerPool, *, events: bool) -> None:
        self.spec = spec
        self.run = run
        self.step_limit = config.step_limit
        self.checkpointer = checkpointer
        self.runner = StepRunner(pool)
        self.events_wanted = events

    # -- front ends --------------------------------------------------------------------------------------
    def events(self) -> Iterator[GraphEvent]:
        """Drive the loop from sync code; a GraphRunError is recorded in the run, then raised."""
        steps = self.steps()
        send, run_step, t0 = steps.send, self.runner.run, self.run.t0
        try:
            item = send(None)
            while True:
                if type(item) is Exec:
                    item = send(run_step(item.jobs, t0))
                else:
                    yield item
                    item = send(None)
        except StopIteration:
            pass
        except GraphRunError as exc:
            self.run.error = exc
            raise
        finally:
            self._close(steps)

    async def aevents(self) -> AsyncIterator[GraphEvent]:
        """Drive the loop inside the caller's event loop; errors as in ``events``."""
        steps = self.steps()
        send, run_step, t0 = steps.send, self.runner.arun, self.run.t0
        try:
            item = send(None)
            while True:
                if type(item) is Exec:
                    item = send(await run_step(item.jobs, t0))
                else:
                    yield item
                    item = send(None)
        except StopIteration:
            pass
        except GraphRunError as exc:
            self.run.error = exc
            raise
        finally:
            self._close(steps)

    def _close(self, steps: Steps) -> None:
        steps.close()
        self.runner.close()
        self.run.finish()

    def result(self) -> RunResult:
        run = self.run
        return RunResult(self.spec.schema.output(run.state), run.trace, run.status, run.interrupt, run.error,
                         run.thread_id)

    # -- the loop ----------------------------------------------------------------------------------------
    def steps(self) -> Steps:
        """Yields Exec requests, and GraphEvents (node/update ones only when events are wanted)."""
        spec, run, limit = self.spec, self.run, self.step_limit
        schema, before, after = spec.schema, spec.interrupt_before, spec.interrupt_after
        while run.tasks:
            if run.step >= limit:
                raise GraphStepLimitError(limit_message(run, limit))
            if before and not run.skip_before:
                hit = next((t.node for t in run.tasks if t.node in before), None)
                if hit is not None:
                    yield self._pause(Interrupt(hit, None, "before", run.step))
                    return
            run.skip_before = False
            executed = run.tasks
            start_t = perf_counter() - run.t0
            index, jobs = self._jobs()
            replies = yield Exec(jobs)
            outcomes = dict(zip(index, replies or (), strict=True))
            step_rec = self._record(outcomes, start_t)
            paused: tuple[int, GraphInterrupt] | None = None
            for i, out in outcomes.items():
                if out.error is not None:
                    self._save("failed")
                    raise node_error(executed[i].node, out.error, run, schema)
                if paused is None and out.interrupt is not None:
                    paused = i, out.interrupt
            if paused is not None:
                i, intr = paused
                run.pending.update({j: o.update for j, o in outcomes.items() if o.update is not None})
                yield self._pause(Interrupt(executed[i].node, intr.value, "interrupt", run.step, i))
                return
            diff = self._merge(executed, outcomes)
            step_rec.update = diff
            run.last_diff, run.pending, run.resume = diff, {}, {}
            names = [t.node for t in executed]
            run.path.append(names)
            run.tasks = next_tasks(spec, names, run)
            step, run.step = run.step, run.step + 1
            step_rec.duration = perf_counter() - run.t0 - step_rec.start
            if self.events_wanted:
                for rec in step_rec.nodes:
                    yield GraphEvent("node", step, rec.node, rec.update)
                yield GraphEvent("update", step, None, diff)
            if after and run.tasks:  # pausing after the last node would change nothing
                hit = next((t.node for t in executed if t.node in after), None)
                if hit is not None:
                    yield self._pause(Interrupt(hit, None, "after", step))
                    return
            self._save("running")
        self._save("done")
        yield GraphEvent("end", run.step, None, schema.output(run.state))

    def _merge(self, executed: list[Task], outcomes: dict[int, Outcome]) -> dict[str, Any]:
        run = self.run
        pending = run.pending
        writes = [(t.node, pending[i] if i in pending else outcomes[i].update or {}) for i, t in enumerate(executed)]
        try:
            run.state, diff = self.spec.schema.apply(run.state, writes)
        except GraphRunError:
            self._save("failed")  # invalid or conflicting updates: the step can be retried
            raise
        return diff

    def _jobs(self) -> tuple[list[int], list[Job]]:
        run, nodes, schema = self.run, self.spec.nodes, self.spec.schema
        jobs: list[Job] = []
        index: list[int] = []
        pending, resume = run.pending, run.resume
        for i, task in enumerate(run.tasks):
            if pending and i in pending:  # finished before an interrupt in the same step: not run again
                continue
            ctx = RunContext(run.deps, task.node, run.step, run.thread_id, run.run_id, run.t0, run.on_event,
                             resume.get(i) if resume else None)
            arg = schema.view(run.state) if task.arg is STATE else task.arg
            jobs.append((nodes[task.node], arg, ctx))
            index.append(i)
        return index, jobs

    def _record(self, outcomes: dict[int, Outcome], start: float) -> StepRecord:
        run = self.run
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

    def _pause(self, intr: Interrupt) -> GraphEvent:
        self.run.interrupt = intr
        if intr.kind == "before":
            self.run.skip_before = True
        self._save("interrupted")
        return GraphEvent("interrupt", intr.step, intr.node, intr)

    def _save(self, status: str) -> None:
        if self.checkpointer is not None and self.run.thread_id is not None:
            self.checkpointer.put(self.run.thread_id, self.run.checkpoint(self.spec, status))


# -- routing ---------------------------------------------------------------------------------------------
def next_tasks(spec: GraphSpec, sources: list[str], run: RunState) -> list[Task]:
    """The tasks of the next step: plain-edge targets, routed branches, completed joins, then Sends."""
    topo = spec.topology
    if len(sources) == 1 and sources[0] in topo.plain:  # only plain edges: the targets are known
        return [Task(n) for n in topo.plain[sources[0]]]
    triggered: set[str] = set()
    sends: list[Task] = []
    for source in dict.fromkeys(sources):
        triggered.update(topo.static.get(source, ()))
        for branch in topo.branches.get(source, ()):
            _route(spec, branch, run, triggered, sends)
        for j in topo.joins_from.get(source, ()):
            waiting, target = topo.joins[j]
            seen = run.joins[j]
            seen.add(source)
            if seen >= waiting:
                triggered.add(target)
                seen.clear()
    triggered.discard(END)
    return [Task(n) for n in sorted(triggered, key=topo.order.__getitem__)] + sends


def _route(spec: GraphSpec, branch: Branch, run: RunState, triggered: set[str], sends: list[Task]) -> None:
    view = spec.schema.view(run.state)
    try:
        ctx = RunContext(run.deps, branch.source, run.step, run.thread_id, run.run_id, run.t0, None, None) \
            if branch.convention.wants_context else None
        result = branch.call(view, ctx)
        if inspect.isawaitable(result):
            result = run_coro(result)
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
