"""The benchmark script runs (tiny sizes) and ends with the JSON line the README quotes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_script_prints_a_json_last_line() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_graph.py"), "--runs", "20", "--repeats", "1"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"per_step_overhead_us", "per_run_overhead_us"} <= set(last)
    assert last["per_step_overhead_us"] > 0 and len(last["rows"]) == 4
