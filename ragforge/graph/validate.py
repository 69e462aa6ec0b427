"""compile()'s checks: everything that can be known about a graph before any node runs.

``compile_spec(draft, ...)`` checks what the builder collected (a :class:`Draft`) and returns the frozen
:class:`~ragforge.graph.spec.GraphSpec` the runner reads, or raises GraphBuildError.
"""

from __future__ import annotations

import types
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ragforge.errors import GraphBuildError

from .nodes import END, START, Branch, NodeSpec
from .spec import GraphSpec, Join, Topology
from .state import StateSchema

__all__ = ["Draft", "compile_spec"]


@dataclass(frozen=True)
class Draft:
    """What the builder collected, unchecked."""

    name: str
    schema: StateSchema
    nodes: Mapping[str, NodeSpec]
    edges: Sequence[tuple[str, str]]
    joins: Sequence[tuple[tuple[str, ...], str]]
    branches: Sequence[Branch]


def compile_spec(draft: Draft, before: Iterable[str] = (), after: Iterable[str] = ()) -> GraphSpec:
    """Check the draft (GraphBuildError on any problem) and freeze it into a GraphSpec."""
    interrupt_before, interrupt_after = frozenset(before), frozenset(after)
    topology = _topology(draft, interrupt_before | interrupt_after)
    return GraphSpec(draft.name, draft.schema, types.MappingProxyType(dict(draft.nodes)), topology,
                     interrupt_before, interrupt_after)


def _topology(graph: Draft, interrupts: frozenset[str]) -> Topology:
    nodes = graph.nodes
    _check_names(graph, interrupts)
    static: dict[str, list[str]] = defaultdict(list)
    joins: list[Join] = [(frozenset(s), t) for s, t in graph.joins]
    join_nodes = {n for n, spec in nodes.items() if spec.join}
    join_sources: dict[str, list[str]] = defaultdict(list)
    for source, target in graph.edges:
        if target in join_nodes:
            join_sources[target].append(source)
        elif target not in static[source]:
            static[source].append(target)
    for target in sorted(join_nodes, key=list(nodes).index):
        if not join_sources[target]:
            raise GraphBuildError(f"join node {target!r} has no plain edges into it")
        joins.append((frozenset(join_sources[target]), target))
    for branch in graph.branches:
        bad = [t for t in branch.targets if t in join_nodes]
        if bad:
            raise GraphBuildError(f"join node {bad[0]!r} waits for plain edges; a conditional edge from "
                                  f"{branch.source!r} cannot lead to it")
    for sources, target in joins:
        if START in sources:
            raise GraphBuildError(f"a join into {target!r} cannot wait for START")
    succ: dict[str, set[str]] = defaultdict(set)
    for source, targets in static.items():
        succ[source].update(targets)
    for branch in graph.branches:
        succ[branch.source].update(branch.targets)
    for sources, target in joins:
        for source in sources:
            succ[source].add(target)
    _check_paths(graph, succ)
    _check_writes(graph, static, joins)
    return _freeze(nodes, static, graph.branches, joins, succ)


def _freeze(nodes: Mapping[str, NodeSpec], static: dict[str, list[str]], branches: Sequence[Branch],
            joins: list[Join], succ: dict[str, set[str]]) -> Topology:
    joins_from: dict[str, list[int]] = defaultdict(list)
    for index, (sources, _) in enumerate(joins):
        for source in sources:
            joins_from[source].append(index)
    by_source: dict[str, list[Branch]] = defaultdict(list)
    for branch in branches:
        by_source[branch.source].append(branch)
    order = {name: i for i, name in enumerate(nodes)}
    plain = {source: tuple(sorted((t for t in static.get(source, ()) if t != END), key=order.__getitem__))
             for source in [START, *nodes] if source not in by_source and source not in joins_from}
    proxy = types.MappingProxyType
    return Topology(
        order=proxy(order),
        static=proxy({k: tuple(v) for k, v in static.items() if v}),
        branches=proxy({k: tuple(v) for k, v in by_source.items()}),
        joins=tuple(joins),
        joins_from=proxy({k: tuple(v) for k, v in joins_from.items()}),
        successors=proxy({k: frozenset(v) for k, v in succ.items()}),
        plain=proxy(plain))


def _check_names(graph: Draft, interrupts: frozenset[str]) -> None:
    known = set(graph.nodes)
    if not known:
        raise GraphBuildError("the graph has no nodes")

    def check(name: str, where: str, allow: str) -> None:
        if name not in known and name != allow:
            hint = f"; known nodes: {sorted(known)}"
            raise GraphBuildError(f"{where} refers to unknown node {name!r}{hint}")

    for source, target in graph.edges:
        if source == END or target == START:
            raise GraphBuildError(f"edge {source!r} -> {target!r}: END has no successors, START no predecessors")
        check(source, f"edge {source!r} -> {target!r}", START)
        check(target, f"edge {source!r} -> {target!r}", END)
    for sources, target in graph.joins:
        for source in sources:
            check(source, f"join {list(sources)} -> {target!r}", "")
        check(target, f"join {list(sources)} -> {target!r}", "")
    for branch in graph.branches:
        check(branch.source, f"conditional edge from {branch.source!r}", START)
        for key, target in branch.mapping.items():
            check(target, f"conditional edge from {branch.source!r} (key {key!r})", END)
        if branch.literal_keys is not None:
            missing = [k for k in branch.literal_keys if k not in branch.mapping]
            if missing:
                raise GraphBuildError(f"router {getattr(branch.router, '__name__', '?')!r} of {branch.source!r} "
                                      f"can return {missing!r}, which is not in its mapping {list(branch.mapping)}")
    for unknown in sorted(interrupts - known):
        raise GraphBuildError(f"interrupt_before/after names unknown node {unknown!r}")
    for spec in graph.nodes.values():
        extra = sorted((spec.writes or frozenset()) - graph.schema.field_set)
        if extra:
            raise GraphBuildError(f"node {spec.name!r} declares writes to unknown state fields {extra}")


def _reach(start: str, succ: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in succ.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _check_paths(graph: Draft, succ: dict[str, set[str]]) -> None:
    if not succ.get(START):
        raise GraphBuildError("no entry point: add_edge(START, <node>) or a conditional edge from START")
    reachable = _reach(START, succ)
    unreachable = [n for n in graph.nodes if n not in reachable]
    if unreachable:
        raise GraphBuildError(f"unreachable nodes (no path from START): {unreachable}")
    for name in graph.nodes:
        if not succ.get(name):
            raise GraphBuildError(f"node {name!r} has no outgoing edge; add_edge({name!r}, END) if it ends the run")
    pred: dict[str, set[str]] = defaultdict(set)
    for source, targets in succ.items():
        for target in targets:
            pred[target].add(source)
    finishing = _reach(END, pred)
    stuck = [n for n in graph.nodes if n not in finishing]
    if stuck:
        raise GraphBuildError(f"no path to END from nodes {stuck}: the run could never finish")


def _check_writes(graph: Draft, static: dict[str, list[str]], joins: list[Join]) -> None:
    """Nodes that may run in the same step must not both write a field that has no reducer."""
    reducers = graph.schema.reducers
    join_targets = {t for _, t in joins}
    nodes = graph.nodes
    step_succ: dict[str, set[str]] = defaultdict(set)
    for source, targets in static.items():
        step_succ[source].update(targets)
    for branch in graph.branches:
        step_succ[branch.source].update(branch.targets)
    step_succ = {k: {t for t in v if t != END and t not in join_targets} for k, v in step_succ.items()}

    def plain(name: str) -> set[str]:
        return {f for f in (nodes[name].writes or ()) if f not in reducers}

    for branch in graph.branches:  # a fan-out router may send several tasks to one node at once
        if branch.multi:
            for target in branch.targets:
                if target in nodes and plain(target):
                    raise GraphBuildError(
                        f"node {target!r} may run several times in one step (fan-out from {branch.source!r}) "
                        f"but writes {sorted(plain(target))} without a reducer")
    limit = len(nodes) + 1
    for source in [START, *nodes]:
        pairs = _concurrent_pairs(source, static, graph.branches, set(nodes) - join_targets)
        layers = {t: _layers(t, step_succ, limit) for pair in pairs for t in pair}
        for left, right in sorted(pairs):
            _compare(layers[left], layers[right], plain)


def _concurrent_pairs(source: str, static: dict[str, list[str]], branches: Sequence[Branch],
                      runnable: set[str]) -> set[tuple[str, str]]:
    """Pairs of successors of ``source`` that can start in the same step.

    Plain-edge targets run together; each branch adds one target (or, for a router that can return a list or
    Sends, several) alongside them. Targets of one single-choice router exclude each other.
    """
    groups = [[t] for t in static.get(source, []) if t in runnable]
    for branch in branches:
        if branch.source != source:
            continue
        targets = [t for t in branch.targets if t in runnable]
        groups.append(targets)
    pairs: set[tuple[str, str]] = set()
    for gi, group in enumerate(groups):
        for other in groups[gi + 1:]:
            pairs.update((a, b) if a < b else (b, a) for a in group for b in other if a != b)
    for branch in branches:
        if branch.source == source and branch.multi:
            targets = [t for t in branch.targets if t in runnable]
            pairs.update((a, b) for a in targets for b in targets if a < b)
    return pairs


def _layers(start: str, succ: dict[str, set[str]], limit: int) -> list[set[str]]:
    layers, current = [], {start}
    for _ in range(limit):
        if not current:
            break
        layers.append(current)
        current = set().union(*(succ.get(n, set()) for n in current))
    return layers


def _compare(left: list[set[str]], right: list[set[str]], plain: Callable[[str], set[str]]) -> None:
    for depth in range(min(len(left), len(right))):
        for a in sorted(left[depth]):
            for b in sorted(right[depth]):
                if a == b:
                    continue
                both = plain(a) & plain(b)
                if both:
                    raise GraphBuildError(
                        f"nodes {a!r} and {b!r} can run in the same step and both write {sorted(both)}, "
                        f"which has no reducer; declare one, e.g. Annotated[list[str], append]")
