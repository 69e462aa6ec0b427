"""Run traces: one record per step and per node run, with nested events; JSON Lines, a tree, Mermaid."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from .state import jsonable

__all__ = ["NodeRecord", "StepRecord", "Trace"]


@dataclass(slots=True)
class NodeRecord:
    """One node run. Times are seconds since the run started (``time.perf_counter`` based)."""

    step: int
    node: str
    start: float
    duration: float
    update: dict[str, Any] | None
    error: str | None = None
    retries: int = 0
    failures: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    input: Any = None
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"type": "node", "step": self.step, "node": self.node, "start": self.start,
                "duration": self.duration, "update": jsonable(self.update), "error": self.error,
                "retries": self.retries, "failures": self.failures, "events": jsonable(self.events),
                "input": jsonable(self.input), "interrupted": self.interrupted}


@dataclass(slots=True)
class StepRecord:
    """One superstep: the diff of the state it started from, its node runs, and the merged update."""

    step: int
    start: float
    duration: float
    input_diff: dict[str, Any]
    nodes: list[NodeRecord]
    update: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "step", "step": self.step, "start": self.start, "duration": self.duration,
                "nodes": [r.node for r in self.nodes], "input_diff": jsonable(self.input_diff),
                "update": jsonable(self.update)}


@dataclass
class Trace:
    """Everything a run did. ``status`` is "running", "done", "interrupted" or "failed"."""

    run_id: str
    graph: str
    thread_id: str | None
    started_at: float
    duration: float = 0.0
    status: str = "running"
    steps: list[StepRecord] = field(default_factory=list)
    error: str | None = None

    @property
    def records(self) -> list[NodeRecord]:
        """Every node run, in step order then task order."""
        return [r for s in self.steps for r in s.nodes]

    @property
    def path(self) -> list[list[str]]:
        """The nodes each step ran."""
        return [[r.node for r in s.nodes] for s in self.steps]

    def to_dicts(self) -> list[dict[str, Any]]:
        """A "run" header, then per step a "step" line followed by its "node" lines, then an "end" line."""
        lines: list[dict[str, Any]] = [{"type": "run", "run_id": self.run_id, "graph": self.graph,
                                        "thread_id": self.thread_id, "started_at": self.started_at}]
        for step in self.steps:
            lines.append(step.to_dict())
            lines.extend(r.to_dict() for r in step.nodes)
        lines.append({"type": "end", "status": self.status, "duration": self.duration, "error": self.error,
                      "steps": len(self.steps)})
        return lines

    def to_jsonl(self) -> str:
        return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in self.to_dicts())

    def write_jsonl(self, path: str | Path, *, append: bool = True) -> Path:
        """Write (by default append) this trace as JSON Lines; returns the path."""
        target = Path(path)
        with target.open("a" if append else "w", encoding="utf-8") as fh:
            fh.write(self.to_jsonl())
        return target

    def tree(self) -> str:
        """A terminal tree view of the run."""
        out = [f"run {self.run_id[:8]} {self.graph!r} {self.status}: {len(self.steps)} steps, "
               f"{self.duration * 1e3:.2f} ms" + (f"  error: {self.error}" if self.error else "")]
        for si, step in enumerate(self.steps):
            last_step = si == len(self.steps) - 1
            out.append(f"{'└─' if last_step else '├─'} step {step.step}  {step.duration * 1e3:.2f} ms")
            pad = "   " if last_step else "│  "
            for ni, rec in enumerate(step.nodes):
                last = ni == len(step.nodes) - 1
                out.append(f"{pad}{'└─' if last else '├─'} {_node_line(rec)}")
                inner = pad + ("   " if last else "│  ")
                for ei, ev in enumerate(rec.events):
                    branch = "└─" if ei == len(rec.events) - 1 else "├─"
                    out.append(f"{inner}{branch} {_event_line(ev)}")
        return "\n".join(out)

    def to_mermaid(self) -> str:
        """The run's path as a left-to-right Mermaid flowchart (one box per step)."""
        lines = ["flowchart LR"]
        for step in self.steps:
            names = ", ".join(r.node for r in step.nodes)
            mark = " ✗" if any(r.error for r in step.nodes) else ""
            lines.append(f'    s{step.step}["{step.step}: {names}{mark}"]')
        for a, b in pairwise(self.steps):
            lines.append(f"    s{a.step} --> s{b.step}")
        return "\n".join(lines) + "\n"


def _node_line(rec: NodeRecord) -> str:
    text = f"{rec.node}  {rec.duration * 1e3:.2f} ms"
    if rec.update:
        text += f"  -> {', '.join(rec.update)}"
    if rec.retries:
        text += f"  retries={rec.retries}"
    if rec.interrupted:
        text += "  [interrupted]"
    if rec.error:
        text += f"  ERROR {rec.error}"
    return text


def _event_line(event: dict[str, Any]) -> str:
    kind = event.get("type", "event")
    rest = " ".join(f"{k}={v!r}" for k, v in event.items() if k not in ("type", "t"))
    return f"{kind} {rest}".strip()
