"""The hostile scenarios of the reliability issue, each run through the real CLI in a fresh folder.

    .venv/bin/python scripts/hostile_cases.py                      # this checkout
    .venv/bin/python scripts/hostile_cases.py --ragforge ../main   # another checkout (e.g. before the fixes)

Each case prints PASS or FAIL with what was seen; the last line is one JSON object. Uses the hashing
embedder except row 15 (the default model, as in the issue).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TEXT = "The lighthouse keeper logged the storm at midnight and trimmed the lamp twice before dawn.\n"


class Runner:
    def __init__(self, ragforge: Path | None, work: Path) -> None:
        self.env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        if ragforge is not None:
            self.env["PYTHONPATH"] = str(ragforge.resolve())
        self.work = work

    def __call__(self, *args: str, timeout: float = 60, env: dict[str, str] | None = None) -> tuple[int, str]:
        cmd = [sys.executable, "-c", "from ragforge.cli import main; main()", *args]
        try:
            out = subprocess.run(cmd, cwd=self.work, env={**self.env, **(env or {})}, capture_output=True,
                                 timeout=timeout)
        except subprocess.TimeoutExpired:
            return -1, f"still running after {timeout:g} s (killed)"
        text = (out.stdout + out.stderr).decode("utf-8", "replace")
        return out.returncode, text

    def docs(self, n: int = 5, name: str = "docs") -> Path:
        folder = self.work / name
        folder.mkdir()
        for i in range(n):
            (folder / f"f{i:03d}.txt").write_text(f"note {i}: " + TEXT)
        return folder

    def index(self, folder: Path, *extra: str, idx: str = "idx") -> tuple[int, str]:
        return self("index", str(folder), "--index", idx, "--model", "hashing:64", "-q", *extra)

    def hits(self, query: str, idx: str = "idx", k: int = 50) -> list[str]:
        code, out = self("query", query, "--index", idx, "-k", str(k), "--json")
        return [h["text"] for h in _json_list(out)] if code == 0 else []


def _json_list(out: str) -> list:
    """The JSON list a --json command printed (a warning on stderr may follow it)."""
    return json.loads(out[out.index("["):out.rindex("]") + 1])


def clean(text: str) -> bool:
    return "Traceback" not in text


def case_fifo(r: Runner) -> tuple[bool, str]:
    folder = r.docs()
    os.mkfifo(folder / "x.txt")
    code, out = r.index(folder)
    return code == 0 and "not_regular" in out, f"exit {code}: {out.strip().splitlines()[-1][:120]}"


def case_non_utf8_name(r: Runner) -> tuple[bool, str]:
    folder = r.docs(2)
    with open(os.fsencode(str(folder)) + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"cafe au lait with hot milk\n")
    code, out = r.index(folder)
    hits = r.hits("cafe lait")
    return code == 0 and "added 3" in out and bool(hits), f"exit {code}, {len(hits)} hits: {out.splitlines()[0][:90]}"


def case_emptied(r: Runner) -> tuple[bool, str]:
    folder = r.docs(2)
    (folder / "gone.txt").write_text("Walruses rest on the ice floe.\n")
    (folder / "bin.txt").write_text("Kestrels hover before they dive.\n")
    r.index(folder)
    (folder / "gone.txt").write_bytes(b"")
    (folder / "bin.txt").write_bytes(b"\x00\x01\x02 binary" * 30)
    r.index(folder)
    stale = [t for t in r.hits("walruses kestrels") if "Walrus" in t or "Kestrel" in t]
    return not stale, f"{len(stale)} chunks of text that no longer exists still returned"


def case_edits_during_sync(r: Runner) -> tuple[bool, str]:
    folder = r.docs(400)
    meddler = subprocess.Popen([sys.executable, "-c", f"""
import os, time, pathlib
folder = pathlib.Path({str(folder)!r})
time.sleep(0.3)
for i in range(0, 400, 3):
    p = folder / f"f{{i:03d}}.txt"
    if i % 9 == 0: p.unlink(missing_ok=True)
    elif i % 9 == 3: p.write_bytes(b"\\x00binary" * 50)
    else: p.write_text("edited " * (i % 13 + 1))
"""])
    r.index(folder)
    meddler.wait()
    r.index(folder)
    r.index(folder, idx="clean")
    files = [json.loads(r("info", "--index", i, "--json")[1])["files"] for i in ("idx", "clean")]
    return files[0] == files[1], f"{files[0]} files indexed, a clean index of the folder has {files[1]}"


def case_queries_during_syncs(r: Runner) -> tuple[bool, str]:
    folder = r.docs(300)
    r.index(folder)
    loop = subprocess.Popen([sys.executable, "-c", """
import subprocess, sys, time
ok = bad = 0
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for mode in ("dense", "lexical"):
        out = subprocess.run([sys.executable, "-c", "from ragforge.cli import main; main()", "query", "storm",
                              "--index", "idx", "--mode", mode], capture_output=True)
        ok += out.returncode == 0
        bad += out.returncode != 0
print(ok, bad)
""", "12"], cwd=r.work, env=r.env, stdout=subprocess.PIPE, text=True)
    rounds, started = 0, time.monotonic()
    while time.monotonic() - started < 12:
        rounds += 1
        for i in range(0, 300, 2):
            (folder / f"f{i:03d}.txt").write_text(f"round {rounds} file {i} " + TEXT * (1 + (i + rounds) % 4))
        r.index(folder)
    ok, bad = map(int, loop.communicate()[0].split())
    return bad == 0, f"{bad} of {ok + bad} queries failed during {rounds} syncs"


def _damaged(r: Runner, damage: Callable[[Path], None]) -> tuple[bool, str]:
    folder = r.docs()
    r.index(folder)
    expected = r.hits("lighthouse storm")
    damage(r.work / "idx")
    code, out = r("query", "lighthouse storm", "--index", "idx", "-k", "50", "--json")
    if code == 0:
        same = [h["text"] for h in _json_list(out)] == expected
        return same and clean(out), "same results" if same else "exit 0 with DIFFERENT results"
    last = out.strip().splitlines()[-1]
    return clean(out) and "--rebuild" in last, f"exit {code}: {last[:110]}"


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(idx: Path) -> None:
        with sqlite3.connect(idx / "ragforge.sqlite") as conn:
            conn.executescript(statement)
    return damage


def _vectors(edit: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(idx: Path) -> None:
        file = next(idx.glob("vectors-*.faiss"))
        file.write_bytes(edit(file.read_bytes()))
    return damage


def _other_faiss(idx: Path) -> None:
    work = idx.parent
    other = work / "other"
    other.mkdir()
    for i in range(5):
        (other / f"f{i:03d}.txt").write_text(f"entirely different words {i} about nothing\n")
    subprocess.run([sys.executable, "-c", "from ragforge.cli import main; main()", "index", str(other),
                    "--index", str(work / "other-idx"), "--model", "hashing:64", "-q"], cwd=work,
                   capture_output=True, check=True)
    shutil.copy(next((work / "other-idx").glob("vectors-*.faiss")), next(idx.glob("vectors-*.faiss")))


def _manifest_metric(idx: Path) -> None:
    data = json.loads((idx / "manifest.json").read_text())
    data["metric"] = "cosine"
    (idx / "manifest.json").write_text(json.dumps(data))


def _page(idx: Path) -> None:
    file = idx / "ragforge.sqlite"
    data = bytearray(file.read_bytes())
    data[4096 * 2:4096 * 3] = bytes(b ^ 0x5A for b in data[4096 * 2:4096 * 3])
    file.write_bytes(bytes(data))


def case_rebuild_keeps_model(r: Runner) -> tuple[bool, str]:
    folder = r.docs()
    r("index", str(folder), "--index", "idx", "--model", "hashing:256", "-q")
    code, out = r("index", str(folder), "--index", "idx", "--rebuild", "-q")
    model = json.loads(r("info", "--index", "idx", "--json")[1]).get("model")
    ok = code == 0 and model == "hashing:256" and "5 from cache" in out
    return ok, f"model after --rebuild: {model}; {out[:100]}"


def case_eval_into_user_index(r: Runner) -> tuple[bool, str]:
    folder = r.docs(50)
    r.index(folder, idx="myidx")
    beir = r.work / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": f"d{i}", "text": f"doc {i}"}) + "\n"
                                               for i in range(20)))
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "doc 3"}) + "\n")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td3\t1\n")
    r("eval", "retrieval", "--dataset", str(beir), "--model", "hashing:64", "-q", env={"RAGFORGE_INDEX": "myidx"})
    files = json.loads(r("info", "--index", "myidx", "--json")[1])["files"]
    return files == 50, f"the user's index holds {files} files after the eval (50 before)"


def case_index_inside_folder(r: Runner) -> tuple[bool, str]:
    folder = r.docs(20)
    code, out = r("index", str(folder), "--index", str(folder), "--model", "hashing:64", "-q")
    refused = code == 1 and "folder it indexes" in out
    return refused and clean(out), f"exit {code}: {out.strip().splitlines()[-1][:110]}"


def case_symlink_out(r: Runner) -> tuple[bool, str]:
    folder = r.docs(2)
    (folder / "host.txt").symlink_to("/etc/hostname")
    code, out = r.index(folder)
    return "added 2" in out and "outside_link" in out, f"exit {code}: {out.splitlines()[0][:100]}"


def case_max_file_mb_zero(r: Runner) -> tuple[bool, str]:
    code, out = r.index(r.docs(1), "--max-file-mb", "0")
    return code != 0 and clean(out), f"exit {code}: {out.strip().splitlines()[-1][:110]}"


def case_bad_utf8_query(r: Runner) -> tuple[bool, str]:
    folder = r.docs(2)
    r("index", str(folder), "--index", "idx", "-q", timeout=300)
    code, out = r("query", os.fsdecode(b"caf\xe9 lighthouse"), "--index", "idx", timeout=300)
    return code == 0 and clean(out), f"exit {code}: {out.strip().splitlines()[0][:110]}"


CASES: list[tuple[str, str, Callable[[Runner], tuple[bool, str]]]] = [
    ("1", "a FIFO named x.txt in the folder", case_fifo),
    ("2", "a file name that is not UTF-8", case_non_utf8_name),
    ("3", "a file emptied, another overwritten with binary", case_emptied),
    ("4", "files deleted/modified/made binary during a sync, then a second sync", case_edits_during_sync),
    ("5-6", "`ragforge query` in a loop while syncs run", case_queries_during_syncs),
    ("7a", "SQLite truncated to 0 bytes", lambda r: _damaged(r, lambda i: (i / "ragforge.sqlite").write_bytes(b""))),
    ("7b", "the chunks table dropped", lambda r: _damaged(r, _sql("DROP TABLE chunks"))),
    ("7c", "a malformed SQLite page", lambda r: _damaged(r, _page)),
    ("8a", "20 KB of the vector file garbled", lambda r: _damaged(r, _vectors(
        lambda d: d[:100] + bytes(b ^ 0x5A for b in d[100:20_100]) + d[20_100:]))),
    ("8b", "another index's .faiss (same ids) copied in", lambda r: _damaged(r, _other_faiss)),
    ("8c", "manifest metric: cosine", lambda r: _damaged(r, _manifest_metric)),
    ("9", "a truncated .faiss", lambda r: _damaged(r, _vectors(lambda d: d[: len(d) // 2]))),
    ("10", "--rebuild of a hashing:256 index", case_rebuild_keeps_model),
    ("11", "RAGFORGE_INDEX=myidx ragforge eval retrieval ...", case_eval_into_user_index),
    ("12", "ragforge index docs --index docs", case_index_inside_folder),
    ("13", "a symlink to /etc/hostname inside the folder", case_symlink_out),
    ("14", "--max-file-mb 0", case_max_file_mb_zero),
    ("15", "a query with a byte that is not UTF-8, default model", case_bad_utf8_query),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ragforge", type=Path, default=None, help="a ragforge checkout to run (default: this one)")
    parser.add_argument("--only", nargs="*", default=None, help="row numbers to run")
    args = parser.parse_args()
    results = {}
    for row, title, case in CASES:
        if args.only and row not in args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="ragforge-hostile-") as tmp:
            started = time.perf_counter()
            try:
                ok, seen = case(Runner(args.ragforge, Path(tmp)))
            except Exception as exc:  # noqa: BLE001 - a case that breaks the harness is a failure to report
                ok, seen = False, f"{type(exc).__name__}: {exc}"
            seconds = time.perf_counter() - started
        results[row] = {"ok": ok, "seen": seen, "seconds": round(seconds, 1)}
        print(f"{row:>4}  {'PASS' if ok else 'FAIL'}  {title:<62} {seen}", flush=True)
    print(json.dumps({"passed": sum(r["ok"] for r in results.values()), "cases": len(results), "results": results}))


if __name__ == "__main__":
    main()
