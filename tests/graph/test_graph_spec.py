"""compile() freezes a GraphSpec; call conventions are named; the graph modules import each other acyclically."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Annotated, Literal, TypedDict

import pytest

from ragforge.graph import END, START, CallStyle, GraphSpec, RunContext, StateGraph, append

GRAPH_DIR = Path(__file__).resolve().parents[2] / "ragforge" / "graph"


class S(TypedDict, total=False):
    log: Annotated[list[str], append]
    n: int


def plain(state: S) -> dict:
    return {"log": ["plain"]}


def positional(state: S, run: RunContext) -> dict:  # two required parameters: ctx goes second
    return {"log": [f"positional@{run.node}"]}


def keyword(state: S, *, context: RunContext) -> dict:
    return {"log": [f"keyword@{context.step}"]}


def only_positional(state: S, ctx: RunContext, /) -> dict:
    return {"log": ["only_positional"]}


def route(state: S) -> Literal["again", "stop"]:
    return "stop" if len(state["log"]) > 3 else "again"


def _builder() -> StateGraph:
    graph = StateGraph(S, name="shapes").add_sequence(plain, positional, keyword, only_positional)
    graph.add_edge(START, "plain").add_conditional_edges("only_positional", route, {"again": "plain", "stop": END})
    return graph


def test_compile_produces_a_frozen_spec_with_named_conventions() -> None:
    app = _builder().compile(interrupt_after=["keyword"])
    spec = app.spec
    assert isinstance(spec, GraphSpec) and spec.name == "shapes"
    styles = {name: node.convention.style for name, node in spec.nodes.items()}
    assert styles == {"plain": CallStyle.STATE, "positional": CallStyle.POSITIONAL, "keyword": CallStyle.KEYWORD,
                      "only_positional": CallStyle.POSITIONAL}
    assert spec.nodes["keyword"].convention.ctx_name == "context"
    named_ctx = StateGraph(S).add_node("n", lambda state, ctx: {}).add_edge(START, "n").add_edge("n", END).compile()
    assert named_ctx.spec.nodes["n"].convention.ctx_name == "ctx"  # a parameter named ctx is passed by name
    assert spec.topology.static["plain"] == ("positional",)
    assert spec.topology.plain["plain"] == ("positional",) and "only_positional" not in spec.topology.plain
    (branch,) = spec.topology.branches["only_positional"]
    assert dict(branch.mapping) == {"again": "plain", "stop": END} and branch.targets == ("plain", END)
    assert set(spec.reducers) == {"log"} and spec.interrupt_after == frozenset({"keyword"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.nodes["plain"].timeout = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.nodes["new"] = spec.nodes["plain"]  # type: ignore[index]
    with pytest.raises(TypeError):
        spec.topology.static["plain"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        branch.mapping["x"] = "plain"  # type: ignore[index]


def test_the_builder_can_change_after_compile_without_touching_the_compiled_graph() -> None:
    builder = _builder()
    app = builder.compile()
    before = app.to_mermaid()
    builder.add_node("late", plain).add_edge("late", END)
    assert "late" not in app.spec.nodes and app.to_mermaid() == before
    assert app.invoke({"log": []})["log"] == ["plain", "positional@positional", "keyword@2", "only_positional"]


def _imports(path: Path) -> set[str]:
    """Sibling graph modules a module imports, including those only under TYPE_CHECKING or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("ragforge.graph."):
                found.add(node.module.split(".")[2])
    return found


def test_graph_modules_import_each_other_without_cycles() -> None:
    deps = {p.stem: _imports(p) for p in GRAPH_DIR.glob("*.py") if p.stem != "__init__"}
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", f"import cycle: {' -> '.join(path + [module])}"
        state[module] = "open"
        for dep in sorted(deps[module]):
            visit(dep, path + [module])
        state[module] = "done"
        order.append(module)

    for module in sorted(deps):
        visit(module, [])
    assert order.index("spec") < order.index("validate") < order.index("builder")
    for reader in ("runner", "runstate", "mermaid"):
        assert "spec" in deps[reader] and not deps[reader] & {"builder", "compiled", "validate"}
    assert not deps["validate"] & {"builder", "compiled"} and not deps["spec"] & {"builder", "compiled", "validate"}
