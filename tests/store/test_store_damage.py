"""The damage matrix: each kind of damage to an index folder gives, through the real CLI, either the same
results as before (repaired from the embedding cache, or harmless) or a one-line error that names the fix;
never a traceback, never silently different results. After the fix the results are the same again."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragforge.cli import main

QUERIES = [("lighthouse storm", "hybrid"), ("espresso grind crema", "dense"), ("glaciers valleys", "lexical")]
TEXTS = {
    "alpha.md": "# Alpha\n\nThe lighthouse keeper logged the storm at midnight and trimmed the lamp.\n",
    "beta.txt": "Espresso needs a fine grind, a firm tamp and water just below boiling for crema.\n",
    "gamma.txt": "Glaciers carve valleys slowly, dragging boulders and leaving moraines behind.\n",
    "delta.md": "# Delta\n\nTomatoes grow best in warm soil with full sun and steady watering.\n",
    "sub/eps.txt": "Quartz clocks keep time with a crystal that vibrates when a current runs.\n",
}
SAME, ERROR = "same", "error"


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(idx: Path) -> None:
        conn = sqlite3.connect(idx / "ragforge.sqlite")
        conn.executescript(statement)
        conn.close()
    return damage


def _bytes(name: str, edit: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(idx: Path) -> None:
        file = idx / name if name != "VECTORS" else next(idx.glob("vectors-*.faiss"))
        file.write_bytes(edit(file.read_bytes()))
    return damage


def _manifest(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(idx: Path) -> None:
        data = json.loads((idx / "manifest.json").read_text())
        edit(data)
        (idx / "manifest.json").write_text(json.dumps(data, indent=2))
    return damage


def _remove(pattern: str) -> Callable[[Path], None]:
    def damage(idx: Path) -> None:
        for file in idx.glob(pattern):
            file.unlink()
    return damage


def _replace_with_dir(pattern: str) -> Callable[[Path], None]:
    def damage(idx: Path) -> None:
        file = next(idx.glob(pattern))
        file.unlink()
        file.mkdir()
    return damage


def _garble(start: int, size: int) -> Callable[[bytes], bytes]:
    return lambda data: data[:start] + bytes((b ^ 0x5A) for b in data[start:start + size]) + data[start + size:]


def _other_index(idx: Path) -> None:
    """A vector file from another index with the same ids (and dimension), copied over this one's."""
    other = idx.parent / "other-docs"
    for rel in TEXTS:
        (other / rel).parent.mkdir(parents=True, exist_ok=True)
        (other / rel).write_text(f"entirely different words number {len(rel)} about {rel}\n")
    assert CliRunner().invoke(main, ["index", str(other), "--index", str(idx.parent / "other-idx"),
                                     "--model", "hashing:64", "-q"]).exit_code == 0
    target = next(idx.glob("vectors-*.faiss"))
    shutil.copy(next((idx.parent / "other-idx").glob("vectors-*.faiss")), target)


def _both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def damage(idx: Path) -> None:
        for step in steps:
            step(idx)
    return damage


def _junk_files(idx: Path) -> None:
    (idx / "vectors-999999.faiss").write_bytes(b"junk")
    (idx / ".vectors-000003.faiss.tmp-42").write_bytes(b"junk")


DAMAGE: dict[str, tuple[Callable[[Path], None], set[str]]] = {
    "manifest deleted": (_remove("manifest.json"), {ERROR}),
    "manifest empty": (_bytes("manifest.json", lambda d: b""), {ERROR}),
    "manifest not JSON": (_bytes("manifest.json", lambda d: d[: len(d) // 2]), {ERROR}),
    "manifest metric cosine": (_manifest(lambda m: m.update(metric="cosine")), {ERROR}),
    "manifest metric l2": (_manifest(lambda m: m.update(metric="l2")), {ERROR}),
    "manifest dimension": (_manifest(lambda m: m.update(dimension=32)), {ERROR}),
    "manifest model": (_manifest(lambda m: m.update(model="hashing:32", model_id="hashing-32")), {ERROR}),
    "manifest format '1'": (_manifest(lambda m: m.update(format_version="1")), {ERROR}),
    "manifest format 1": (_manifest(lambda m: m.update(format_version=1)), {ERROR}),
    "manifest extra key": (_manifest(lambda m: m.update(note="edited")), {ERROR}),
    "manifest is a folder": (_replace_with_dir("manifest.json"), {ERROR}),
    "database deleted": (_remove("ragforge.sqlite"), {ERROR}),
    "database emptied": (_bytes("ragforge.sqlite", lambda d: b""), {ERROR}),
    "database cut in half": (_bytes("ragforge.sqlite", lambda d: d[: len(d) // 2]), {ERROR}),
    "database header garbled": (_bytes("ragforge.sqlite", _garble(0, 100)), {ERROR}),
    "database page garbled": (_bytes("ragforge.sqlite", _garble(4096 * 3, 4096)), {ERROR, SAME}),
    "table chunks dropped": (_sql("DROP TABLE chunks"), {ERROR}),
    "table meta dropped": (_sql("DROP TABLE meta"), {ERROR}),
    "table chunks_fts dropped": (_sql("DROP TABLE chunks_fts"), {ERROR}),
    "a chunk row deleted": (_sql("DELETE FROM chunks WHERE rowid = 2"), {ERROR}),
    "a chunk's text altered": (_sql("UPDATE chunks SET text = 'tampered text' WHERE rowid = 2"), {ERROR}),
    "vector file name deleted": (_sql("DELETE FROM meta WHERE key = 'vectors_file'"), {SAME}),
    "vector checksum altered": (_sql("UPDATE meta SET value = 'x' WHERE key = 'vectors_sha256'"), {SAME}),
    "manifest record deleted": (_sql("DELETE FROM meta WHERE key = 'manifest'"), {ERROR}),
    "embedding cache emptied": (_sql("DELETE FROM embeddings"), {SAME}),
    "vector file deleted": (_remove("vectors-*.faiss"), {SAME}),
    "vector file emptied": (_bytes("VECTORS", lambda d: b""), {SAME}),
    "vector file truncated": (_bytes("VECTORS", lambda d: d[: len(d) // 2]), {SAME}),
    "vector file garbled": (_bytes("VECTORS", _garble(200, 20_000)), {SAME}),
    "vector file of another index": (_other_index, {SAME}),
    "vector file is a folder": (_replace_with_dir("vectors-*.faiss"), {SAME}),
    "vector file garbled, cache emptied": (_both(_bytes("VECTORS", _garble(200, 20_000)),
                                                 _sql("DELETE FROM embeddings")), {ERROR}),
    "stray and temporary vector files": (_junk_files, {SAME}),
    "WAL file of junk": (lambda idx: (idx / "ragforge.sqlite-wal").write_bytes(b"\x00junk" * 500), {SAME}),
    "lock files of junk": (lambda idx: [(idx / n).write_bytes(b"\xff\x00") for n in ("write.lock", "write.owner")],
                           {SAME}),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, list]:
    root = tmp_path_factory.mktemp("damage")
    docs = root / "docs"
    for rel, text in TEXTS.items():
        (docs / rel).parent.mkdir(parents=True, exist_ok=True)
        (docs / rel).write_text(text)
    result = CliRunner().invoke(main, ["index", str(docs), "--index", str(root / "template"), "--model",
                                       "hashing:64", "-q"])
    assert result.exit_code == 0, result.output
    return docs, root / "template", _answers(root / "template")


def _query(idx: Path, text: str, mode: str):
    return CliRunner().invoke(main, ["query", text, "--index", str(idx), "-k", "50", "--mode", mode, "--json"])


def _answers(idx: Path) -> list:
    out = []
    for text, mode in QUERIES:
        result = _query(idx, text, mode)
        assert result.exit_code == 0, result.output
        out.append([(h["chunk_id"], h["source"], h["text"], round(h["score"], 5)) for h in json.loads(result.stdout)])
    return out


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_the_matrix_has_at_least_25_kinds() -> None:
    assert len(DAMAGE) >= 25


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damage_gives_the_same_results_or_one_line_that_names_the_fix(built, tmp_path, kind) -> None:
    docs, template, expected = built
    idx = tmp_path / "idx"
    shutil.copytree(template, idx)
    damage, outcomes = DAMAGE[kind]
    damage(idx)
    results = [_query(idx, text, mode) for text, mode in QUERIES]
    for result in results:
        assert "Traceback" not in result.output and (result.exception is None
                                                     or isinstance(result.exception, SystemExit)), result.output
    if all(r.exit_code == 0 for r in results):
        assert SAME in outcomes, f"{kind}: expected an error, got results"
        assert _answers(idx) == expected, f"{kind}: silently different results"
        synced = CliRunner().invoke(main, ["index", str(docs), "--index", str(idx), "-q"])
        assert synced.exit_code == 0, synced.output
    else:
        assert ERROR in outcomes, f"{kind}: unexpected error {results[0].output}"
        line = _one_line_error(next(r for r in results if r.exit_code))
        assert "--rebuild" in line, line
        rebuilt = CliRunner().invoke(main, ["index", str(docs), "--index", str(idx), "--rebuild", "-q"])
        assert rebuilt.exit_code == 0, rebuilt.output
    assert _answers(idx) == expected, f"{kind}: results differ after the fix"
    assert sorted(p.name for p in idx.glob("vectors-*")) == [next(template.glob("vectors-*")).name] or \
        len(list(idx.glob("vectors-*"))) == 1
