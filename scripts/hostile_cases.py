"""The hostile scenarios of the reliability issue, each run through the real CLI in a fresh folder.

    .venv/bin/python scripts/hostile_cases.py                      # this checkout
    .venv/bin/python scripts/hostile_cases.py --ragforge ../main   # another checkout (e.g. before the fixes)

Each case prints PASS or FAIL with what was seen; the last line is one JSON object. Uses the hashing
embedder except row 15 (the default model, as in the issue).

The cases that end with an index of a folder (1-6 and 16, a kill -9 mid-sync) also build a clean index of
the folder as it ends and compare the two: the same files rows, the same chunk rows (ids, sources, offsets,
text hashes), the same exact vectors in the embedding cache, a vector file that loads without a rebuild and
holds exactly the chunk rowids (flat: the same vector for every chunk id), the same FTS5 matches, and the same
dense and lexical results (scores and chunks; among chunks tied at the k-th score, which made the cut is
arbitrary). ``--vectors ivf-pq`` runs them on trained ivf-pq indexes (``min_train`` 256, and
``--pad`` background files so that every index trains).
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
WORDS = ["gull", "anchor", "reef", "lantern", "pier", "kelp", "buoy", "fog", "dune", "otter", "heron", "brine"]
QUERIES = ["storm", "lighthouse keeper midnight", "cafe lait", "edited", "round 3 file", "harbour tide gull",
           "binary", "note 7"]

# Dumps what an index holds, for the comparison with a clean build of the same folder (run in a subprocess so
# that --ragforge picks the checkout). Prints one JSON object.
DUMP = """
import hashlib, json, logging, sys
import numpy as np
from ragforge.retrieval.index import Index
from ragforge.store import ann, load
warnings = []
class Catch(logging.Handler):
    def emit(self, record): warnings.append(record.getMessage())
logging.getLogger("ragforge").addHandler(Catch(level=logging.WARNING))
out = {}
with Index.open(sys.argv[1]) as index:
    store = index.store
    conn = store._conn
    out["files"] = sorted(conn.execute("SELECT source, size, content_hash, file_type FROM files").fetchall())
    rows = conn.execute("SELECT rowid, id, source, ordinal, char_start, char_end, page, heading_path, file_type, "
                        "text_hash FROM chunks").fetchall()
    id_of = {r[0]: r[1] for r in rows}
    out["chunks"] = sorted(list(r[1:]) for r in rows)
    m = store.manifest
    ids, exact, lacking = load.exact_rows(conn, m.model_id, m.dimension)
    out["lacking_cached_vector"] = lacking
    out["exact"] = {id_of[int(i)]: hashlib.sha256(np.asarray(v, np.float32).tobytes()).hexdigest()
                    for i, v in zip(ids, exact)}
    vindex = store._index
    held = sorted(int(i) for i in ann.ids_of(vindex))
    out["vector_ids_are_rowids"] = held == sorted(id_of)
    out["form"] = ann.form(vindex)
    out["nprobe"] = int(vindex.nprobe) if out["form"] == "ivf-pq" else None
    out["nprobe_default"] = ann.default_nprobe(vindex.nlist) if out["form"] == "ivf-pq" else None
    if out["form"] == "flat":
        fids, fvecs = ann.stored(vindex)
        out["flat"] = {id_of[int(i)]: [round(float(x), 5) for x in v] for i, v in zip(fids, fvecs)}
    queries = json.loads(sys.argv[2])
    out["fts"] = {q: sorted(id_of[r] for (r,) in conn.execute(
        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?", ('"' + q.split()[0] + '"',))) for q in queries}
    out["search"] = {q + " / " + mode: [(h.chunk.id, round(h.score, 4)) for h in index.search(q, k=10, mode=mode)]
                     for q in queries for mode in ("dense", "lexical")}
out["warnings"] = warnings
print(json.dumps(out))
"""


class Runner:
    def __init__(self, ragforge: Path | None, work: Path, vectors: str = "flat", pad: int = 0) -> None:
        self.env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        if ragforge is not None:
            self.env["PYTHONPATH"] = str(ragforge.resolve())
        self.work = work
        self.vectors = ["--vectors", vectors] + (["--vector-option", "min_train=256"] if vectors == "ivf-pq" else [])
        self.pad = pad

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
        if self.pad:  # background files, so that an ivf-pq index holds enough vectors to train
            (folder / "pad").mkdir()
            for i in range(self.pad):
                (folder / "pad" / f"p{i:04d}.txt").write_text(f"background {i} {WORDS[i % len(WORDS)]} "
                                                               f"{WORDS[(i * 7) % len(WORDS)]} harbour tide\n")
        return folder

    def index(self, folder: Path, *extra: str, idx: str = "idx") -> tuple[int, str]:
        return self("index", str(folder), "--index", idx, "--model", "hashing:64", "-q", *self.vectors, *extra)

    def hits(self, query: str, idx: str = "idx", k: int = 50) -> list[str]:
        code, out = self("query", query, "--index", idx, "-k", str(k), "--json")
        return [h["text"] for h in _json_list(out)] if code == 0 else []


def _json_list(out: str) -> list:
    """The JSON list a --json command printed (a warning on stderr may follow it)."""
    return json.loads(out[out.index("["):out.rindex("]") + 1])


def clean(text: str) -> bool:
    return "Traceback" not in text


def case_fifo(r: Runner) -> tuple[bool, str, Path]:
    folder = r.docs()
    os.mkfifo(folder / "x.txt")
    code, out = r.index(folder)
    return code == 0 and "not_regular" in out, f"exit {code}: {out.strip().splitlines()[-1][:120]}", folder


def case_non_utf8_name(r: Runner) -> tuple[bool, str, Path]:
    folder = r.docs(2)
    with open(os.fsencode(str(folder)) + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"cafe au lait with hot milk\n")
    code, out = r.index(folder)
    hits = r.hits("cafe lait")
    ok = code == 0 and f"added {3 + r.pad}" in out and bool(hits)
    return ok, f"exit {code}, {len(hits)} hits: {out.splitlines()[0][:90]}", folder


def case_emptied(r: Runner) -> tuple[bool, str, Path]:
    folder = r.docs(2)
    (folder / "gone.txt").write_text("Walruses rest on the ice floe.\n")
    (folder / "bin.txt").write_text("Kestrels hover before they dive.\n")
    r.index(folder)
    (folder / "gone.txt").write_bytes(b"")
    (folder / "bin.txt").write_bytes(b"\x00\x01\x02 binary" * 30)
    r.index(folder)
    stale = [t for t in r.hits("walruses kestrels") if "Walrus" in t or "Kestrel" in t]
    return not stale, f"{len(stale)} chunks of text that no longer exists still returned", folder


def case_edits_during_sync(r: Runner) -> tuple[bool, str, Path]:
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
    return files[0] == files[1], f"{files[0]} files indexed, a clean index of the folder has {files[1]}", folder


def case_queries_during_syncs(r: Runner) -> tuple[bool, str, Path]:
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
    return bad == 0 and ok > 0, f"{bad} of {ok + bad} queries failed during {rounds} syncs", folder


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

def same_ranking(got: list, want: list) -> bool:
    """The same scores in the same order and, at each score, the same chunks; among chunks tied at the last
    score of the top k, which ones made the cut is arbitrary (FAISS and FTS5 break ties by insertion order, and
    an index that lived through edits inserted its rows in another order than a clean build)."""
    if [score for _, score in got] != [score for _, score in want]:
        return False
    if not got:
        return True
    last = got[-1][1]
    groups: dict[float, tuple[set, set]] = {}
    for (a, score), (b, _) in zip(got, want, strict=True):
        if score != last:
            pair = groups.setdefault(score, (set(), set()))
            pair[0].add(a)
            pair[1].add(b)
    return all(a == b for a, b in groups.values())


def same_as_clean(r: Runner, folder: Path, idx: str = "idx") -> tuple[bool, str]:
    """Build a clean index of ``folder`` as it is now and compare it with ``idx``: (same, what differs)."""
    clean_idx = f"clean-{idx}"
    shutil.rmtree(r.work / clean_idx, ignore_errors=True)
    code, out = r.index(folder, idx=clean_idx)
    if code != 0:
        return False, f"the clean build failed: {out.strip()[-120:]}"
    dumps = []
    for name in (idx, clean_idx):
        run = subprocess.run([sys.executable, "-c", DUMP, name, json.dumps(QUERIES)], cwd=r.work, env=r.env,
                             capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            return False, f"{name} cannot be read: {run.stderr.strip().splitlines()[-1][:120]}"
        dumps.append(json.loads(run.stdout))
    got, want = dumps
    problems = [key for key in ("files", "chunks", "exact", "fts", "form", "lacking_cached_vector")
                if got[key] != want[key]]
    if not got["vector_ids_are_rowids"]:
        problems.append("vector ids != chunk rowids")
    if got["warnings"]:
        problems.append(f"warnings on open: {got['warnings'][0][:60]}")
    if got["form"] == "flat":
        problems += ["flat vectors"] if got["flat"] != want["flat"] else []
        problems += ["search results"] if any(not same_ranking(got["search"][q], want["search"][q])
                                              for q in got["search"]) else []
    else:  # ivf-pq: trained at another moment on another sample, so dense rankings may differ; lexical may not
        problems += ["nprobe"] if got["nprobe"] != got["nprobe_default"] else []
        lexical = [q for q in got["search"] if q.endswith("/ lexical")]
        problems += ["lexical results"] if any(not same_ranking(got["search"][q], want["search"][q])
                                               for q in lexical) else []
    seen = (f"same as a clean build ({len(got['files'])} files, {len(got['chunks'])} chunks, {got['form']})"
            if not problems else f"differs from a clean build: {', '.join(problems)}")
    return not problems, seen


def _and_clean(check: Callable[[Runner], tuple[bool, str, Path]]) -> Callable[[Runner], tuple[bool, str]]:
    def run(r: Runner) -> tuple[bool, str]:
        ok, seen, folder = check(r)
        same, compared = same_as_clean(r, folder)
        return ok and same, f"{seen}; {compared}"
    return run


def case_kill_mid_sync(r: Runner) -> tuple[bool, str]:
    """kill -9 a sync of 1,400 changed, deleted and renamed files at several moments; after each kill the last
    commit answers queries, and the next sync converges on what a clean build gives."""
    folder = r.docs(1400)
    r.index(folder)
    seen = []
    for round_, delay in enumerate((0.5, 0.7, 0.9)):
        for i in range(round_, 1400):
            path = folder / f"f{i:03d}.txt"
            if not path.exists():
                continue
            if i % 7 == 0:
                path.unlink()
            elif i % 7 == 1:
                path.rename(folder / f"moved-{round_}-{i}.txt")
            else:
                path.write_text(f"kill round {round_} file {i} " + TEXT * (1 + i % 3))
        sync = subprocess.Popen([sys.executable, "-c", "from ragforge.cli import main; main()", "index", str(folder),
                                 "--index", "idx", "--model", "hashing:64", "-q", *r.vectors], cwd=r.work, env=r.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        killed = sync.poll() is None
        if killed:
            os.kill(sync.pid, 9)
        sync.wait()
        code, out = r("query", "storm", "--index", "idx")
        if code != 0 or not clean(out):
            return False, f"after the kill at {delay} s a query failed: {out.strip()[-120:]}"
        seen.append(f"{'killed' if killed else 'finished before'} at {delay} s")
    code, out = r.index(folder)
    again = r.index(folder)[1]
    ok = code == 0 and "changed 0" in again and "added 0" in again and "removed 0" in again
    same, compared = same_as_clean(r, folder)
    summary = again.strip().splitlines()[0][:60]
    return ok and same, f"{', '.join(seen)}; the next sync then a no-op ({summary}); {compared}"


CASES: list[tuple[str, str, Callable[[Runner], tuple[bool, str]]]] = [
    ("1", "a FIFO named x.txt in the folder", _and_clean(case_fifo)),
    ("2", "a file name that is not UTF-8", _and_clean(case_non_utf8_name)),
    ("3", "a file emptied, another overwritten with binary", _and_clean(case_emptied)),
    ("4", "files deleted/modified/made binary during a sync, then a second sync", _and_clean(case_edits_during_sync)),
    ("5-6", "`ragforge query` in a loop while syncs run", _and_clean(case_queries_during_syncs)),
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
    ("16", "kill -9 mid-sync (3 moments), then a sync", case_kill_mid_sync),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ragforge", type=Path, default=None, help="a ragforge checkout to run (default: this one)")
    parser.add_argument("--only", nargs="*", default=None, help="row numbers to run")
    parser.add_argument("--vectors", default="flat", choices=("flat", "ivf-pq", "hnsw"), help="the indexes' form")
    parser.add_argument("--pad", type=int, default=None, help="background files in every case's folder "
                        "(default: 0; 300 with --vectors ivf-pq, so that every index trains)")
    args = parser.parse_args()
    pad = args.pad if args.pad is not None else (300 if args.vectors == "ivf-pq" else 0)
    results = {}
    for row, title, case in CASES:
        if args.only and row not in args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="ragforge-hostile-") as tmp:
            started = time.perf_counter()
            try:
                ok, seen = case(Runner(args.ragforge, Path(tmp), args.vectors, pad))
            except Exception as exc:  # noqa: BLE001 - a case that breaks the harness is a failure to report
                ok, seen = False, f"{type(exc).__name__}: {exc}"
            seconds = time.perf_counter() - started
        results[row] = {"ok": ok, "seen": seen, "seconds": round(seconds, 1)}
        print(f"{row:>4}  {'PASS' if ok else 'FAIL'}  {title:<62} {seen}", flush=True)
    print(json.dumps({"vectors": args.vectors, "pad": pad, "passed": sum(r["ok"] for r in results.values()),
                      "cases": len(results), "results": results}))


if __name__ == "__main__":
    main()
