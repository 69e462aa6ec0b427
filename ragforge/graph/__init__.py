"""ragforge.graph: small typed state graphs (build -> compile -> run), with `|` pipes. Knows nothing of RAG.

    from typing import Annotated, TypedDict
    from ragforge.graph import END, START, StateGraph, append

    class State(TypedDict):
        question: str
        notes: Annotated[list[str], append]       # reducer: updates are appended

    def think(state: State) -> dict:
        return {"notes": [f"thinking about {state['question']}"]}

    graph = StateGraph(State).add_node(think).add_edge(START, "think").add_edge("think", END).compile()
    print(graph.invoke({"question": "why?"}))   # {'question': 'why?', 'notes': ['thinking about why?']}

Pieces: StateGraph (add_node, add_edge, add_conditional_edges with Send fan-out and joins) and compile(), which
validates and returns a CompiledGraph holding a frozen GraphSpec (invoke / run -> RunResult / stream ->
GraphEvent / resume, and ainvoke / arun / astream / aresume in the caller's event loop; each takes a RunConfig
and/or its fields as keywords: deps, thread_id, step_limit, on_event, resume, update).
Nodes are ``f(state)`` or ``f(state, ctx)`` (sync or async) returning a partial update; ``ctx`` is a
RunContext (``deps``, ``emit``). ``interrupt(value)`` pauses; checkpoints (MemoryCheckpointer,
SqliteCheckpointer) are JSON. Every run records a Trace (JSON Lines, tree(), to_mermaid()).
Errors: GraphBuildError from compile(); GraphRunError and its subclasses while running (ragforge.errors).

Modules, each importing only those before it: context, nodes, state, spec, validate (-> GraphSpec);
config, trace, results, executor, runstate, runner, mermaid, runnable, compiled, builder.
"""

from __future__ import annotations

from ragforge.retry import RetryPolicy

from .builder import StateGraph
from .checkpoint import Checkpointer, MemoryCheckpointer, SqliteCheckpointer
from .compiled import CompiledGraph
from .config import RunConfig
from .context import GraphInterrupt, RunContext, interrupt
from .nodes import END, START, CallStyle, Send
from .results import GraphEvent, Interrupt, RunResult, Snapshot
from .runnable import Runnable, RunnableLambda, RunnableParallel, RunnableSequence, SupportsInvoke, as_runnable
from .spec import GraphSpec
from .state import Reducer, add, append, merge_dict, replace
from .trace import NodeRecord, StepRecord, Trace

__all__ = [
    "CallStyle",
    "Checkpointer",
    "CompiledGraph",
    "END",
    "GraphEvent",
    "GraphInterrupt",
    "GraphSpec",
    "Interrupt",
    "MemoryCheckpointer",
    "NodeRecord",
    "Reducer",
    "RetryPolicy",
    "RunConfig",
    "RunContext",
    "RunResult",
    "Runnable",
    "RunnableLambda",
    "RunnableParallel",
    "RunnableSequence",
    "START",
    "Send",
    "Snapshot",
    "SqliteCheckpointer",
    "StateGraph",
    "StepRecord",
    "SupportsInvoke",
    "Trace",
    "add",
    "append",
    "as_runnable",
    "interrupt",
    "merge_dict",
    "replace",
]
