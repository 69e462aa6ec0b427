"""Paired comparison of two retrieval runs (results.json written by ``ragforge eval retrieval``).

    .venv/bin/python scripts/compare_runs.py A/results.json:hybrid B/results.json:hybrid [--metric nDCG@10]

Prints both means, the bootstrap 95% CI of the difference (B - A) and the randomisation-test p-value;
B is only called better when the difference is significant.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ragforge.eval.stats import compare


def _load(spec: str, metric: str) -> tuple[str, dict[str, float]]:
    path, _, mode = spec.rpartition(":")
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return f"{Path(path).parent.name}:{mode}", data["modes"][mode]["per_query"][metric]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", help="PATH/results.json:MODE")
    p.add_argument("b", help="PATH/results.json:MODE")
    p.add_argument("--metric", default="nDCG@10")
    p.add_argument("--resamples", type=int, default=10000)
    args = p.parse_args(argv)
    name_a, a = _load(args.a, args.metric)
    name_b, b = _load(args.b, args.metric)
    c = compare(a, b, metric=args.metric, names=(name_a, name_b), resamples=args.resamples)
    print(f"{args.metric}: {name_a} {c.mean_a:.4f}  {name_b} {c.mean_b:.4f}  diff {c.difference:+.4f} "
          f"95% CI {c.ci_low:+.4f}..{c.ci_high:+.4f}  p={c.p_value:.4f}  queries={c.queries}")
    print(c.verdict)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
