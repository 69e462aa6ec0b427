"""Plain vs engine on part of an answer evaluation's questions, paired, from its result folder.

    .venv/bin/python scripts/answers_subset.py eval/results/answers-squad-qwen2.5-coder-1.5b \\
        eval/answers-squad-ids.txt --skip 80

Takes the ids of the list after the first ``--skip`` (e.g. the questions added to a list after its first part
was answered, so never seen while a setting was tuned) and prints F1, false refusals and refusal on
unanswerable questions for both systems with paired bootstrap 95% intervals (5,000 resamples, seed 0), then
the engine's citation precision. Reads ``results.json`` and ``baseline-plain/results.json``; no model runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _paired(rng: np.random.Generator, name: str, a: list[float], b: list[float]) -> dict | None:
    if not a:
        return None
    diff = np.asarray(b, float) - np.asarray(a, float)
    boots = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(5000)]
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"metric": name, "plain": float(np.mean(a)), "engine": float(np.mean(b)), "difference": float(diff.mean()),
            "ci": [float(low), float(high)], "n": len(a)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("ids", type=Path)
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N ids of the list")
    args = parser.parse_args(argv)
    ids = [line.strip() for line in args.ids.read_text().splitlines() if line.strip()][args.skip:]
    engine = {q["id"]: q for q in json.loads((args.folder / "results.json").read_text())["per_question"]}
    plain = {q["id"]: q for q in json.loads((args.folder / "baseline-plain" / "results.json").read_text())
             ["per_question"]}
    answerable = [i for i in ids if engine[i]["answerable"]]
    unanswerable = [i for i in ids if not engine[i]["answerable"]]
    rng = np.random.default_rng(0)
    rows = [r for r in (
        _paired(rng, "F1", [plain[i]["scores"]["F1"] for i in answerable],
                [engine[i]["scores"]["F1"] for i in answerable]),
        _paired(rng, "false refusals", [plain[i]["refused"] for i in answerable],
                [engine[i]["refused"] for i in answerable]),
        _paired(rng, "refusal on unanswerable", [plain[i]["refused"] for i in unanswerable],
                [engine[i]["refused"] for i in unanswerable])) if r]
    cited = [engine[i]["scores"]["citation_precision"] for i in ids
             if engine[i]["scores"].get("citation_precision") is not None]
    print(f"{len(ids)} questions ({len(answerable)} answerable, {len(unanswerable)} unanswerable)")
    print("| metric | plain | engine | engine - plain [95% CI] | n |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['metric']} | {r['plain']:.3f} | {r['engine']:.3f} | {r['difference']:+.3f} "
              f"[{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}] | {r['n']} |")
    figures = {"questions": len(ids), "rows": rows, "citation_precision": float(np.mean(cited)) if cited else None,
               "citations": len(cited)}
    print(f"citation precision (engine): {figures['citation_precision']:.3f} (n={len(cited)})" if cited else
          "citation precision (engine): none")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
