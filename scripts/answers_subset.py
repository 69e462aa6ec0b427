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

from ragforge.eval.stats import paired_difference


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
    pairs = (("F1", [plain[i]["scores"]["F1"] for i in answerable], [engine[i]["scores"]["F1"] for i in answerable]),
             ("false refusals", [plain[i]["refused"] for i in answerable], [engine[i]["refused"] for i in answerable]),
             ("refusal on unanswerable", [plain[i]["refused"] for i in unanswerable],
              [engine[i]["refused"] for i in unanswerable]))
    # plain is a, engine is b; paired bootstrap 95% interval of the difference (5,000 resamples, seed 0)
    rows = [{"metric": name, **paired_difference(a, b, resamples=5000, seed=0)} for name, a, b in pairs if a]
    cited = [engine[i]["scores"]["citation_precision"] for i in ids
             if engine[i]["scores"].get("citation_precision") is not None]
    print(f"{len(ids)} questions ({len(answerable)} answerable, {len(unanswerable)} unanswerable)")
    print("| metric | plain | engine | engine - plain [95% CI] | n |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['metric']} | {r['mean_a']:.3f} | {r['mean_b']:.3f} | {r['difference']:+.3f} "
              f"[{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}] | {r['n']} |")
    figures = {"questions": len(ids), "rows": rows, "citation_precision": float(np.mean(cited)) if cited else None,
               "citations": len(cited)}
    print(f"citation precision (engine): {figures['citation_precision']:.3f} (n={len(cited)})" if cited else
          "citation precision (engine): none")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
