"""Framework overhead of ragforge.graph, against calling the same node functions directly.

    .venv/bin/python scripts/bench_graph.py [--runs 50] [--repeats 200] [--save]

Shapes: a 10-node linear graph and a 3-way fan-out (START -> a, b, c -> END) of no-op nodes, with a TypedDict
state, plus the linear graph with a pydantic state and with nodes that write one field. Overhead per run =
(graph time - direct time) / runs; per node step = overhead per run / node steps in a run. Best of
``--repeats`` short batches of ``--runs`` runs: on a shared machine the fastest short batch is the one least
disturbed by other work, so the figure is stable where a few long batches were not. The last line printed
is a JSON object (per_step_overhead_us and per_run_overhead_us are the 10-node linear TypedDict figures).
``--save`` also writes eval/results/bench_graph.{txt,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any, TypedDict

from pydantic import BaseModel

from ragforge.graph import END, START, StateGraph

TARGET_US = 50.0
ROOT = Path(__file__).resolve().parent.parent


class TState(TypedDict, total=False):
    n: int


class MState(BaseModel):
    n: int = 0


def noop(state: Any) -> dict:
    return {}


def bump_dict(state: Any) -> dict:
    return {"n": state.get("n", 0) + 1}


def bump_model(state: Any) -> dict:
    return {"n": state.n + 1}


def linear(schema: type, fn: Callable[[Any], dict], length: int = 10):
    graph = StateGraph(schema, name="linear")
    names = [f"n{i}" for i in range(length)]
    for name in names:
        graph.add_node(name, fn)
    graph.add_edge(START, names[0])
    for left, right in pairwise(names):
        graph.add_edge(left, right)
    return graph.add_edge(names[-1], END).compile(), [fn] * length


def fanout(schema: type, fn: Callable[[Any], dict], width: int = 3):
    graph = StateGraph(schema, name="fanout")
    for i in range(width):
        graph.add_node(f"b{i}", fn).add_edge(START, f"b{i}").add_edge(f"b{i}", END)
    return graph.compile(), [fn] * width


def direct(fns: list[Callable[[Any], dict]], state: Any) -> Any:
    for fn in fns:
        update = fn(state)
        if update:
            state = {**state, **update} if isinstance(state, dict) else state.model_copy(update=update)
    return state


def best(fn: Callable[[], Any], runs: int, repeats: int) -> float:
    """Best (lowest) seconds per call over ``repeats`` batches of ``runs`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(runs):
            fn()
        times.append((time.perf_counter() - start) / runs)
    return min(times)


def measure(label: str, app: Any, fns: list[Callable[[Any], dict]], make_input: Callable[[], Any], runs: int,
            repeats: int) -> dict[str, Any]:
    app.invoke(make_input())  # warm up (thread pool, caches)
    graph_s = best(lambda: app.invoke(make_input()), runs, repeats)
    direct_s = best(lambda: direct(fns, make_input()), runs, repeats)
    per_run = (graph_s - direct_s) * 1e6
    return {"shape": label, "node_steps": len(fns), "graph_us": graph_s * 1e6, "direct_us": direct_s * 1e6,
            "per_run_overhead_us": per_run, "per_step_overhead_us": per_run / len(fns)}


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'shape':<40} {'steps':>5} {'graph/run':>11} {'direct/run':>11} {'overhead/run':>13} {'per step':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['shape']:<40} {r['node_steps']:>5} {r['graph_us']:>9.1f}us {r['direct_us']:>9.1f}us "
                     f"{r['per_run_overhead_us']:>11.1f}us {r['per_step_overhead_us']:>7.1f}us")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="graph runs per timing batch")
    parser.add_argument("--repeats", type=int, default=200, help="timing batches; the best is kept")
    parser.add_argument("--save", action="store_true", help="write eval/results/bench_graph.{txt,md}")
    args = parser.parse_args(argv)
    runs, reps = args.runs, args.repeats
    rows = [
        measure("linear-10 no-op (TypedDict)", *linear(TState, noop), lambda: {"n": 0}, runs, reps),
        measure("fan-out-3 no-op (TypedDict, threads)", *fanout(TState, noop), lambda: {"n": 0}, runs, reps),
        measure("linear-10 one-field update (TypedDict)", *linear(TState, bump_dict), lambda: {"n": 0}, runs, reps),
        measure("linear-10 one-field update (pydantic)", *linear(MState, bump_model), lambda: MState(), runs, reps),
    ]
    head, fan = rows[0], rows[1]
    summary = {
        "per_step_overhead_us": round(head["per_step_overhead_us"], 2),
        "per_run_overhead_us": round(head["per_run_overhead_us"], 2),
        "fanout_per_step_overhead_us": round(fan["per_step_overhead_us"], 2),
        "fanout_per_run_overhead_us": round(fan["per_run_overhead_us"], 2),
        "target_per_step_us": TARGET_US,
        "meets_target": head["per_step_overhead_us"] < TARGET_US,
        "rows": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
        "runs": runs, "repeats": reps, "python": platform.python_version(),
    }
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    summary["load_average"] = load
    text = (f"ragforge.graph framework overhead (python {platform.python_version()}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs, load average {load}; best of {reps} x {runs} runs)\n\n{table(rows)}\n\n"
            f"linear-10 per node step: {head['per_step_overhead_us']:.1f} us (target < {TARGET_US:.0f} us: "
            f"{'met' if summary['meets_target'] else 'NOT met'})\n")
    print(text)
    print(json.dumps(summary))
    if args.save:
        out = ROOT / "eval" / "results"
        out.mkdir(parents=True, exist_ok=True)
        cmd = "HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_graph.py " + " ".join(argv or sys.argv[1:])
        (out / "bench_graph.txt").write_text(f"$ {cmd.strip()}\n{text}\n{json.dumps(summary)}\n")
        (out / "bench_graph.md").write_text(
            f"# ragforge.graph overhead benchmark\n\nCommand: `{cmd.strip()}`\n\n```\n{table(rows)}\n```\n\n"
            f"Per node step (10-node linear, no-op nodes): **{head['per_step_overhead_us']:.1f} us** "
            f"(target < {TARGET_US:.0f} us). Fan-out of 3 (threads): {fan['per_step_overhead_us']:.1f} us per "
            f"node step.\n\nMachine: {os.cpu_count()} CPUs, load average {load} while it ran (a shared machine: "
            f"figures vary with load; the ratio to the target is what matters).\n")
    return summary


if __name__ == "__main__":
    main()
