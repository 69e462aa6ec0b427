"""Answer evaluation results: per-question records, the terminal table, results.json, report.md and a plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .stats import Comparison, compare

PLOT_NAME = "answers.png"
# metric -> (what it is averaged over, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "EM": ("answerable questions", True),
    "F1": ("answerable questions", True),
    "hit@1": ("answerable questions with evidence", True),
    "hit@k": ("answerable questions with evidence", True),
    "citation_precision": ("answers with citations", True),
    "quote_verified": ("answers with citations", True),
    "refusal_rate": ("unanswerable questions", True),
    "false_refusal_rate": ("answerable questions", False),
    "faithfulness": ("judged answers", True),
    "llm_calls": ("questions", False),
    "generated_tokens": ("questions", False),
    "seconds": ("questions", False),
}


class QuestionResult(BaseModel):
    """One question: what the engine said and how it scored (None: the metric does not apply)."""

    id: str
    question: str
    answerable: bool
    gold: list[str] = Field(default_factory=list)
    prediction: str = ""
    refused: bool = False
    citations: list[tuple[str, int | None]] = Field(default_factory=list)  # (source, page) cited
    quotes: list[str] = Field(default_factory=list)  # each citation's quoted span
    repairs: list[dict[str, Any]] = Field(default_factory=list)  # citation numbers the engine corrected
    retrieved: list[tuple[str, int | None]] = Field(default_factory=list)  # (source, page) in the prompt
    dropped_citations: list[int] = Field(default_factory=list)
    scores: dict[str, float | None] = Field(default_factory=dict)
    judge_claims: list[dict[str, Any]] = Field(default_factory=list)
    seconds: float = 0.0
    confidence: float | None = None  # the answer's mean token probability, when the model reported it
    error: str | None = None
    trace: list[dict[str, Any]] = Field(default_factory=list)  # the engine's decisions, node by node
    answer: Any = Field(default=None, exclude=True)  # the Answer itself, for the judge (not written out)


class AnswerEvalResult(BaseModel):
    dataset: str
    name: str
    kind: str
    llm: str
    judge: str | None = None
    questions: int
    answerable: int
    unanswerable: int
    documents: int
    k: int
    metrics: dict[str, float | None]
    ci: dict[str, tuple[float, float]] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)  # questions each metric was averaged over
    settings: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    per_question: list[QuestionResult] = Field(default_factory=list)
    comparisons: list[Comparison] = Field(default_factory=list)
    command: str | None = None
    note: str | None = None  # e.g. "recorded against the Ollama stub: shape only"

    def per_query(self, metric: str) -> dict[str, float]:
        """``{question id: value}`` of one metric, for the questions it applies to."""
        return {q.id: v for q in self.per_question if (v := q.scores.get(metric)) is not None}

    def rows(self) -> list[list[str]]:
        rows = [["metric", "value", "95% CI", "n", "over"]]
        for name, (over, _) in METRICS.items():
            value = self.metrics.get(name)
            if value is None:
                continue
            low, high = self.ci.get(name, (value, value))
            rows.append([name, f"{value:.3f}", f"[{low:.3f}, {high:.3f}]", str(self.counts.get(name, 0)), over])
        return rows

    def table(self) -> str:
        """A fixed-width terminal table: one row per metric with its 95% bootstrap interval."""
        rows = self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        head = f"{self.name}: {self.questions} questions ({self.answerable} answerable), llm={self.llm}"
        head += f", judge={self.judge}" if self.judge else ""
        lines = [head, *lines]
        lines += [c.verdict + f"  [{c.metric} diff {c.difference:+.3f}, 95% CI {c.ci_low:+.3f}..{c.ci_high:+.3f}]"
                  for c in self.comparisons]
        return "\n".join(lines)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def write(self, out_dir: Path | str) -> dict[str, Path]:
        """Write results.json, report.md and the PNG plot into ``out_dir``; returns their paths."""
        from .common import write_outputs

        return write_outputs(self, out_dir, plot_name=PLOT_NAME, plot=plot_answers, render=render_markdown)


def load_result(path: Path | str) -> AnswerEvalResult:
    """A result from its ``results.json`` (or the folder holding it)."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    return AnswerEvalResult.model_validate_json(file.read_text(encoding="utf-8"))


def compare_results(a: AnswerEvalResult, b: AnswerEvalResult, *, names: tuple[str, str] = ("a", "b"),
                    metrics: tuple[str, ...] = ("F1", "EM", "citation_precision", "refusal_rate"),
                    resamples: int = 2000) -> list[Comparison]:
    """Paired comparisons of two runs over the questions both scored (bootstrap CI + randomisation test)."""
    out = []
    for metric in metrics:
        pa, pb = a.per_query(metric), b.per_query(metric)
        if set(pa) & set(pb):
            out.append(compare(pa, pb, metric=metric, names=names, resamples=resamples,
                               higher_is_better=METRICS.get(metric, ('', True))[1]))
    return out


def render_markdown(result: AnswerEvalResult, *, plot: str | None = PLOT_NAME) -> str:
    lines = [f"# Answer evaluation: {result.name}", ""]
    if result.note:
        lines += [f"> {result.note}", ""]
    if result.command:
        lines += ["Command:", "", "```", result.command, "```", ""]
    lines += [f"{result.questions} questions ({result.answerable} answerable, {result.unanswerable} unanswerable), "
              f"{result.documents} documents, answer model `{result.llm}`, judge "
              f"{'`' + result.judge + '`' if result.judge else 'none'}, {result.k} passages per prompt. "
              "Means with 95% bootstrap intervals (questions resampled).", "",
              "| metric | value | 95% CI | n | averaged over |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in result.rows()[1:]]
    lines.append("")
    if result.comparisons:
        lines += ["## Paired comparisons", "", "| metric | b vs a | a | b | diff | 95% CI | p | verdict |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {c.metric} | {c.b} vs {c.a} | {c.mean_a:.3f} | {c.mean_b:.3f} | {c.difference:+.3f} | "
                  f"{c.ci_low:+.3f}..{c.ci_high:+.3f} | {c.p_value:.4f} | {c.verdict} |" for c in result.comparisons]
        lines.append("")
    if plot:
        lines += [f"![metrics with 95% intervals]({plot})", ""]
    lines += ["## Examples", ""]
    for q in result.per_question[:10]:
        gold = q.gold[0] if q.gold else "(unanswerable)"
        lines.append(f"- **{q.question}** gold: {gold!r}; answer: {q.prediction[:200]!r}"
                     f"{' (refused)' if q.refused else ''}; F1 {q.scores.get('F1')}")
    lines += ["", "## Settings", "", "```json", json.dumps(result.settings, indent=2, default=str), "```", "",
              "## Timings (seconds)", "", "```json", json.dumps(result.timings, indent=2), "```", "",
              "## Versions", ""] + [f"- {k}: {v}" for k, v in sorted(result.versions.items())] + [""]
    return "\n".join(lines)


def plot_answers(result: AnswerEvalResult, path: Path) -> Path:
    """Horizontal bars: each metric with its 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in METRICS if result.metrics.get(n) is not None]
    values = [result.metrics[n] or 0.0 for n in names]
    lows = [v - result.ci.get(n, (v, v))[0] for n, v in zip(names, values, strict=True)]
    highs = [result.ci.get(n, (v, v))[1] - v for n, v in zip(names, values, strict=True)]
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(3, len(names)) + 1))
    ax.barh(names, values, xerr=[lows, highs], capsize=3, color="#4c72b0")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(f"{result.name}: {result.questions} questions, llm {result.llm}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
