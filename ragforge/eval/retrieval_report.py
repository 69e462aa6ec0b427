"""Retrieval evaluation results: value objects, the terminal table, results.json, report.md and a plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .stats import Comparison

HEADLINE = ("nDCG@10", "Recall@100", "MRR@10")
PLOT_NAME = "retrieval.png"


class ModeResult(BaseModel):
    """One search mode over the dataset's queries."""

    mode: str
    metrics: dict[str, float]  # mean over queries, e.g. {"nDCG@10": 0.65}
    ci: dict[str, tuple[float, float]] = Field(default_factory=dict)  # 95% bootstrap interval per metric
    per_query: dict[str, dict[str, float]] = Field(default_factory=dict)  # headline metric -> {qid: value}
    latency_ms: dict[str, float] = Field(default_factory=dict)  # p50, p95, mean per query (search only)
    stage_seconds: dict[str, float] = Field(default_factory=dict)  # embed, dense, lexical, fusion, rerank
    queries: int = 0


class RetrievalEvalResult(BaseModel):
    dataset: str
    name: str
    split: str
    documents: int
    queries: int
    k_values: tuple[int, ...]
    settings: dict[str, Any]
    versions: dict[str, str]
    timings: dict[str, float]  # seconds: load, index (sync), and total
    modes: dict[str, ModeResult]
    comparisons: list[Comparison] = Field(default_factory=list)
    command: str | None = None

    def headline(self) -> tuple[str, ...]:
        """The table's metrics: nDCG@10, Recall@100, MRR@10 when those cut-offs were computed."""
        return tuple(m for m in HEADLINE if any(m in r.metrics for r in self.modes.values()))

    def table(self) -> str:
        """A fixed-width terminal table: one row per mode, headline metrics with 95% CIs and latency."""
        cols = self.headline()
        header = ["mode", *cols, "p50 ms", "p95 ms"]
        rows = [header]
        for mode, r in self.modes.items():
            cells = [mode]
            for m in cols:
                low, high = r.ci.get(m, (r.metrics.get(m, 0.0),) * 2)
                cells.append(f"{r.metrics.get(m, 0.0):.3f} [{low:.3f}, {high:.3f}]")
            cells += [f"{r.latency_ms.get('p50', 0.0):.1f}", f"{r.latency_ms.get('p95', 0.0):.1f}"]
            rows.append(cells)
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines += [c.verdict + f"  [{c.metric} diff {c.difference:+.3f}, 95% CI "
                  f"{c.ci_low:+.3f}..{c.ci_high:+.3f}]" for c in self.comparisons]
        return "\n".join(lines)

    def markdown_table(self) -> str:
        cols = self.headline()
        out = ["| mode | " + " | ".join(f"{m} (95% CI)" for m in cols) + " | p50 ms | p95 ms |",
               "|---" * (len(cols) + 3) + "|"]
        for mode, r in self.modes.items():
            cells = []
            for m in cols:
                low, high = r.ci.get(m, (0.0, 0.0))
                cells.append(f"{r.metrics.get(m, 0.0):.3f} ({low:.3f}-{high:.3f})")
            lat = r.latency_ms
            latency = f" | {lat.get('p50', 0):.1f} | {lat.get('p95', 0):.1f} |"
            out.append(f"| {mode} | " + " | ".join(cells) + latency)
        return "\n".join(out)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def write(self, out_dir: Path | str) -> dict[str, Path]:
        """Write results.json, report.md and the PNG plot into ``out_dir``; returns their paths."""
        from .common import write_outputs

        return write_outputs(self, out_dir, plot_name=PLOT_NAME, plot=plot_retrieval, render=render_markdown)


def render_markdown(result: RetrievalEvalResult, *, plot: str | None = PLOT_NAME) -> str:
    lines = [f"# Retrieval evaluation: {result.name} ({result.split})", ""]
    if result.command:
        lines += ["Command:", "", "```", result.command, "```", ""]
    lines += [
        f"{result.queries} queries, {result.documents} documents. Figures are means over queries with 95% "
        "bootstrap intervals (queries resampled); latency is per query, search only.", "",
        result.markdown_table(), "",
    ]
    if result.comparisons:
        lines += ["## Paired comparisons (bootstrap CI of the difference, randomisation test)", "",
                  "| metric | b vs a | a | b | diff | 95% CI | p | verdict |", "|---" * 8 + "|"]
        for c in result.comparisons:
            lines.append(f"| {c.metric} | {c.b} vs {c.a} | {c.mean_a:.3f} | {c.mean_b:.3f} "
                         f"| {c.difference:+.3f} | {c.ci_low:+.3f}..{c.ci_high:+.3f} | {c.p_value:.4f} "
                         f"| {c.verdict} |")
        lines.append("")
    lines += ["## All metrics", "", _all_metrics(result), ""]
    if plot:
        lines += [f"![metrics vs k and per-query nDCG@10]({plot})", ""]
    lines += ["## Settings", "", "```json", json.dumps(result.settings, indent=2, default=str), "```", "",
              "## Timings (seconds)", "", "```json", json.dumps(result.timings, indent=2), "```", "",
              "Per-mode stage seconds (summed over queries):", ""]
    lines += [f"- {mode}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.stage_seconds.items())
              for mode, r in result.modes.items()]
    lines += ["", "## Versions", ""] + [f"- {k}: {v}" for k, v in sorted(result.versions.items())] + [""]
    return "\n".join(lines)


def _all_metrics(result: RetrievalEvalResult) -> str:
    names = sorted({m for r in result.modes.values() for m in r.metrics}, key=_metric_key)
    out = ["| metric | " + " | ".join(result.modes) + " |", "|---" * (len(result.modes) + 1) + "|"]
    for name in names:
        values = " | ".join(f"{r.metrics.get(name, 0.0):.4f}" for r in result.modes.values())
        out.append(f"| {name} | {values} |")
    return "\n".join(out)


def _metric_key(name: str) -> tuple[str, int]:
    base, _, k = name.partition("@")
    return (base, int(k) if k.isdigit() else 0)


def plot_retrieval(result: RetrievalEvalResult, path: Path) -> Path:
    """Two panels: nDCG@k and Recall@k against k per mode, and the per-query nDCG@10 distribution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    ks = sorted(result.k_values)
    for i, (mode, r) in enumerate(result.modes.items()):
        for metric, style in (("nDCG", "-o"), ("Recall", "--s")):
            values = [r.metrics.get(f"{metric}@{k}", float("nan")) for k in ks]
            left.plot(ks, values, style, color=f"C{i}", label=f"{mode} {metric}", markersize=4)
    left.set_xscale("log")
    left.set_xlabel("k")
    left.set_ylabel("score")
    left.set_title("nDCG@k and Recall@k")
    left.legend(fontsize=7)
    key = "nDCG@10" if any("nDCG@10" in r.per_query for r in result.modes.values()) else None
    data = [list(r.per_query.get(key, {}).values()) if key else [] for r in result.modes.values()]
    if any(data):
        right.boxplot(data, showmeans=True)
        right.set_xticks(range(1, len(data) + 1), list(result.modes))
        right.set_title("per-query nDCG@10 (mean = triangle)")
    fig.suptitle(f"{result.name} ({result.split}): {result.queries} queries")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
