"""Replay an answer evaluation's plain answers through the current query engine, without a model run.

    .venv/bin/python scripts/answers_replay.py eval/results/answers-squad-qwen2.5-coder-1.5b \\
        --index /work/evals/idx-squad [--agree FOLDER]

With the default answer settings (``answer_style="short"``, ``answer_format="text"``) the engine's one
answer call is the plain prompt, so at temperature 0 its draft is the plain baseline's answer. This script
gives each recorded plain answer to the engine as a scripted model's reply and scores what the engine
returns (its refusal policy, citation repair and quotes, at today's code), paired against the plain answers
with bootstrap 95% intervals (5,000 resamples, seed 0). A change to the refusal policy is measured in
seconds this way; the figures of record still come from a real run (``ragforge eval answers``).

Not replayed: a rewrite round (``max_rewrites=0`` here; its second answer would need the model) and grading
calls (none with a calibrated embedder). ``--agree FOLDER`` compares the replay's refusals with a real
engine run's (its ``results.json``): they agree when the engine's draft was the plain answer.
Reads ``baseline-plain/results.json`` (or ``results.json`` of a plain-only folder); the index must be the
one the evaluation used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ragforge.eval.answer_loaders import load_answer_dataset
from ragforge.eval.answers import score_answer
from ragforge.eval.stats import paired_difference
from ragforge.query import QueryConfig, QueryEngine
from ragforge.retrieval.index import Index
from ragforge.testing.chat import ScriptedChatModel


def _plain_results(folder: Path) -> dict:
    nested = folder / "baseline-plain" / "results.json"
    return json.loads((nested if nested.exists() else folder / "results.json").read_text())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="an answer evaluation's result folder")
    parser.add_argument("--index", type=Path, required=True, help="the index the evaluation used")
    parser.add_argument("--agree", type=Path, help="a real engine run's folder to compare refusals with")
    args = parser.parse_args(argv)
    plain = _plain_results(args.folder)
    data = load_answer_dataset(plain["dataset"])
    examples = {e.id: e for e in data.examples}
    real = ({q["id"]: q for q in json.loads((args.agree / "results.json").read_text())["per_question"]}
            if args.agree else {})
    config = QueryConfig(k=plain["k"], max_rewrites=0)
    rows, changed, agree = [], [], []
    with Index.open(args.index) as index:
        for q in plain["per_question"]:
            engine = QueryEngine(index, llm=ScriptedChatModel([q["prediction"]]), config=config)
            answer = engine.query(q["question"])
            scores = score_answer(examples[q["id"]], answer, plain["k"])
            rows.append((q, answer, scores))
            if answer.refused != q["refused"]:
                changed.append(f"  {'refused' if answer.refused else 'returned'}: {q['prediction'][:60]!r} "
                               f"(F1 {q['scores'].get('F1')}) to {q['question'][:70]!r}")
            if q["id"] in real:
                agree.append(real[q["id"]]["refused"] == answer.refused)
    answerable = [(q, a, s) for q, a, s in rows if q["answerable"]]
    unanswerable = [(q, a, s) for q, a, s in rows if not q["answerable"]]
    pairs = (("F1", [q["scores"]["F1"] or 0.0 for q, _, _ in answerable], [s["F1"] or 0.0 for _, _, s in answerable]),
             ("false refusals", [float(q["refused"]) for q, _, _ in answerable],
              [float(a.refused) for _, a, _ in answerable]),
             ("refusal on unanswerable", [float(q["refused"]) for q, _, _ in unanswerable],
              [float(a.refused) for _, a, _ in unanswerable]))
    # plain is a, the replayed engine b; paired bootstrap 95% interval of the difference (5,000 resamples, seed 0)
    table = [{"metric": name, **paired_difference(a, b, resamples=5000, seed=0)} for name, a, b in pairs if a]
    cited = [float(s["citation_precision"] or 0.0) for _, _, s in rows if s.get("citation_precision") is not None]
    print(f"{plain['name']}: {len(rows)} plain answers replayed through the engine "
          f"({len(answerable)} answerable, {len(unanswerable)} unanswerable)")
    print("| metric | plain | engine (replay) | engine - plain [95% CI] | n |\n|---|---|---|---|---|")
    for r in table:
        print(f"| {r['metric']} | {r['mean_a']:.3f} | {r['mean_b']:.3f} | {r['difference']:+.3f} "
              f"[{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}] | {r['n']} |")
    precision = float(np.mean(cited)) if cited else None
    print(f"citation precision (engine): {'-' if precision is None else f'{precision:.3f}'} over {len(cited)}")
    print(f"refusals that differ from the plain answer's: {len(changed)}", *changed, sep="\n")
    if agree:
        print(f"agreement with the real engine run {args.agree}: {sum(agree)} of {len(agree)} refusals")
    figures = {"questions": len(rows), "rows": table, "citation_precision": precision,
               "agree": [sum(agree), len(agree)] if agree else None}
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
