"""StateGraph: the builder. Add nodes and edges, then ``compile()`` validates and returns a CompiledGraph."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any

from ragforge.errors import GraphBuildError
from ragforge.retry import RetryPolicy

from .checkpoint import Checkpointer
from .compiled import CompiledGraph
from .nodes import END, START, Branch, NodeSpec
from .state import StateSchema
from .validate import Draft, compile_spec

__all__ = ["StateGraph"]


class StateGraph:
    """Build a graph over a state schema (a pydantic model or a TypedDict).

    Nodes are functions ``(state) -> dict`` or ``(state, ctx) -> dict`` (sync or async) returning a partial
    update, or Runnables. Every method returns the builder, so calls chain.
    """

    def __init__(self, state_schema: type, *, name: str = "graph") -> None:
        self.schema = StateSchema(state_schema)
        self.name = name
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: list[tuple[str, str]] = []
        self.joins: list[tuple[tuple[str, ...], str]] = []
        self.branches: list[Branch] = []

    def add_node(self, node: str | Callable[..., Any], fn: Any = None, *, retry: RetryPolicy | None = None,
                 timeout: float | None = None, writes: Iterable[str] | None = None,
                 join: bool = False) -> StateGraph:
        """Add a node. ``add_node(fn)`` names it after the function.

        ``retry``: a RetryPolicy; ``timeout``: seconds per attempt (raises NodeTimeoutError);
        ``writes``: the fields the node may write (else read from a TypedDict/model return annotation), used by
        compile() to find conflicting concurrent writes; ``join=True``: the node waits until every node with a
        plain edge into it has run (a barrier), instead of running after any one of them.
        """
        name: Any = node
        if fn is None:
            if isinstance(node, str):
                raise GraphBuildError(f"add_node({node!r}) needs a function or a Runnable")
            fn, name = node, getattr(node, "__name__", None) or getattr(node, "name", None)
        if not isinstance(name, str) or not name:
            raise GraphBuildError(f"node name must be a non-empty string, got {name!r}")
        if name in (START, END):
            raise GraphBuildError(f"{name!r} is reserved; use START/END only in edges")
        if name in self.nodes:
            raise GraphBuildError(f"node {name!r} is already in the graph")
        self.nodes[name] = NodeSpec.make(name, fn, retry=retry, timeout=timeout, writes=writes, join=join)
        return self

    def add_edge(self, source: str | Sequence[str], target: str) -> StateGraph:
        """``target`` runs after ``source``. A list of sources makes ``target`` wait for all of them (a join)."""
        if isinstance(source, str):
            self.edges.append((source, target))
        else:
            sources = tuple(source)
            if not sources:
                raise GraphBuildError(f"add_edge([], {target!r}): give at least one source")
            self.joins.append((sources, target))
        return self

    def add_conditional_edges(self, source: str, router: Callable[..., Any],
                              mapping: dict[Any, str] | Sequence[str] | None = None) -> StateGraph:
        """After ``source``, ``router(state)`` picks where to go.

        The router returns a key of ``mapping`` (or a list of keys to run several branches at once), or
        ``Send(node, arg)`` objects to fan out over a list. ``mapping`` may be a list of node names (keys are the
        names). Without a mapping the router's return annotation must be ``Literal[...]``.
        """
        self.branches.append(Branch.make(source, router, mapping))
        return self

    def set_entry_point(self, node: str) -> StateGraph:
        """Same as ``add_edge(START, node)``."""
        return self.add_edge(START, node)

    def set_finish_point(self, node: str) -> StateGraph:
        """Same as ``add_edge(node, END)``."""
        return self.add_edge(node, END)

    def add_sequence(self, *nodes: str | Callable[..., Any]) -> StateGraph:
        """Add functions as nodes and chain them with edges, in order (names from ``__name__``)."""
        names: list[str] = []
        for item in nodes:
            if isinstance(item, str):
                names.append(item)
            else:
                self.add_node(item)
                names.append(next(reversed(self.nodes)))
        for left, right in pairwise(names):
            self.add_edge(left, right)
        return self

    def compile(self, *, checkpointer: Checkpointer | None = None, interrupt_before: Iterable[str] = (),
                interrupt_after: Iterable[str] = (), max_workers: int = 16,
                name: str | None = None) -> CompiledGraph:
        """Validate the graph (GraphBuildError on any problem) and return a runnable CompiledGraph.

        The CompiledGraph holds a frozen :class:`GraphSpec` (``.spec``): later changes to this builder do not
        reach it.
        """
        draft = Draft(name or self.name, self.schema, dict(self.nodes), tuple(self.edges), tuple(self.joins),
                      tuple(self.branches))
        spec = compile_spec(draft, interrupt_before, interrupt_after)
        return CompiledGraph(spec, checkpointer=checkpointer, max_workers=max_workers)
