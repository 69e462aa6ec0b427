"""GraphSpec: what ``compile()`` produces. An immutable value that the runner, the run state and the Mermaid
renderer read; nothing changes it after compile().

    spec.nodes["search"].convention      # CallStyle.STATE / POSITIONAL / KEYWORD (+ the ctx parameter name)
    spec.topology.static["search"]       # plain-edge targets
    spec.topology.branches["grade"]      # conditional edges (Branch: router, mapping, targets)
    spec.topology.joins                  # ((frozenset of sources), target) barriers
    spec.reducers                        # field -> reducer
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .nodes import Branch, NodeSpec
from .state import Reducer, StateSchema

__all__ = ["GraphSpec", "Join", "Topology"]

Join = tuple[frozenset[str], str]  # (sources, target): target runs once every source has run


@dataclass(frozen=True, slots=True)
class Topology:
    """The validated wiring, indexed by source node (START included).

    ``order``: node -> its position (tasks of one step run and merge in this order); ``static``: plain-edge
    targets; ``branches``: conditional edges; ``joins``: barriers, and ``joins_from`` the joins each node feeds;
    ``successors``: every node a node can lead to (for checks and drawings); ``plain``: for a node whose only
    way on is plain edges (no branch, no join), its next nodes in ``order``, END left out.
    """

    order: Mapping[str, int]
    static: Mapping[str, tuple[str, ...]]
    branches: Mapping[str, tuple[Branch, ...]]
    joins: tuple[Join, ...]
    joins_from: Mapping[str, tuple[int, ...]]
    successors: Mapping[str, frozenset[str]]
    plain: Mapping[str, tuple[str, ...]]

    def is_join_target(self, node: str) -> bool:
        return any(target == node for _, target in self.joins)


@dataclass(frozen=True, slots=True)
class GraphSpec:
    """A compiled graph's definition: the name, the state schema, the nodes (each with its call convention and
    policies), the wiring and the interrupt points."""

    name: str
    schema: StateSchema
    nodes: Mapping[str, NodeSpec]
    topology: Topology
    interrupt_before: frozenset[str] = frozenset()
    interrupt_after: frozenset[str] = frozenset()

    @property
    def reducers(self) -> Mapping[str, Reducer]:
        """State field -> the reducer that merges its updates (fields without one are replaced)."""
        return self.schema.reducers
