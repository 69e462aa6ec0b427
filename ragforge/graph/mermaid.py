"""Mermaid rendering of a compiled graph's spec (and of the nodes a run visited)."""

from __future__ import annotations

import re

from .nodes import END, START
from .spec import GraphSpec
from .trace import Trace

__all__ = ["render"]


def _id(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _label(name: str) -> str:
    return name.replace('"', "#quot;")


def render(spec: GraphSpec, trace: Trace | None = None) -> str:
    """``flowchart TD``: plain edges ``-->``, conditional edges ``-.->|key|``, joins ``a & b --> c``."""
    topo = spec.topology
    lines = ["flowchart TD", f"    {_id(START)}([START])"]
    for name, node in spec.nodes.items():
        label = _label(name)
        shape = f'{{{{"{label}"}}}}' if node.join or topo.is_join_target(name) else f'["{label}"]'
        lines.append(f"    {_id(name)}{shape}")
    lines.append(f"    {_id(END)}([END])")
    for source in [START, *spec.nodes]:
        for target in topo.static.get(source, ()):
            lines.append(f"    {_id(source)} --> {_id(target)}")
        for branch in topo.branches.get(source, ()):
            for target in branch.targets:
                keys = [str(k) for k, t in branch.mapping.items() if t == target]
                label = _label(" / ".join(keys)) if keys != [target] else ""
                arrow = f'-.->|"{label}"|' if label else "-.->"
                lines.append(f"    {_id(source)} {arrow} {_id(target)}")
    for sources, target in topo.joins:
        ordered = sorted(sources, key=lambda n: topo.order.get(n, -1))
        lines.append(f"    {' & '.join(_id(s) for s in ordered)} --> {_id(target)}")
    if trace is not None:
        visited = sorted({r.node for r in trace.records}, key=lambda n: topo.order.get(n, -1))
        lines.append("    classDef visited fill:#d3f9d8,stroke:#2b8a3e")
        failed = sorted({r.node for r in trace.records if r.error})
        if visited:
            lines.append(f"    class {','.join(_id(n) for n in visited)} visited")
        if failed:
            lines.append("    classDef failed fill:#ffe3e3,stroke:#c92a2a")
            lines.append(f"    class {','.join(_id(n) for n in failed)} failed")
    return "\n".join(lines) + "\n"
