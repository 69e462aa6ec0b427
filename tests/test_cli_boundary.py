"""The CLI boundary: every command, given bad options or a bad environment, ends with a usage message or one
line ``Error: ...`` and never a traceback; eval never writes into the user's index; index/info options."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragforge.cli import main
from ragforge.cli._common import error_line

CORPUS = [{"_id": "d1", "title": "Zebra", "text": "Stripes on the savanna."},
          {"_id": "d2", "title": "", "text": "An otter swims in the river and eats fish."}]


@pytest.fixture()
def world(tmp_path: Path) -> dict[str, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The lighthouse keeper logged the storm at midnight.\n")
    (docs / "b.md").write_text("# B\n\nTomatoes like warm soil.\n")
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in CORPUS))
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "zebra"}) + "\n")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    (tmp_path / "garbage.jsonl").write_bytes(b"\xff\xfe not json {{{\n")
    (tmp_path / "a-file").write_text("not a folder\n")
    idx = tmp_path / "idx"
    assert CliRunner().invoke(main, ["index", str(docs), "--index", str(idx), "--model", "hashing:64",
                                     "-q"]).exit_code == 0
    return {"docs": docs, "idx": idx, "beir": beir, "garbage": tmp_path / "garbage.jsonl",
            "file": tmp_path / "a-file", "tmp": tmp_path}


def _bad_runs(w: dict[str, Path]) -> list[tuple[list[str], dict[str, str]]]:
    docs, idx, tmp = str(w["docs"]), str(w["idx"]), w["tmp"]
    return [
        (["index", "/no/such/folder"], {}),
        (["index", docs, "--index", idx, "--max-file-mb", "0"], {}),
        (["index", docs, "--index", idx, "--max-file-mb", "-3"], {}),
        (["index", docs, "--index", idx, "--lock-timeout", "-1"], {}),
        (["index", docs, "--index", idx, "--model", "hashing:abc"], {}),
        (["index", docs, "--index", idx, "--model", "hashing:0"], {}),
        (["index", docs, "--index", str(tmp / "new"), "--model", "/no/such/model/dir"], {}),
        (["index", docs, "--index", str(w["file"]), "--model", "hashing:64"], {}),
        (["index", docs, "--index", docs, "--model", "hashing:64"], {}),
        (["index", docs, "--index", idx, "--model", "hashing:32"], {}),
        (["index", docs, "--index", str(tmp / "globs"), "--model", "hashing:64", "--include", "[", "--include",
          "**/**[!"], {}),
        (["index", docs], {"RAGFORGE_HOME": str(w["file"])}),
        (["index", docs], {"RAGFORGE_INDEX": str(w["file"])}),
        (["query", "storm"], {"RAGFORGE_INDEX": str(tmp / "nothing")}),
        (["query", "storm"], {"RAGFORGE_INDEX": str(w["file"])}),
        (["query", "storm"], {"RAGFORGE_HOME": str(w["file"])}),
        (["query", "storm", "--index", idx, "-k", "0"], {}),
        (["query", "storm", "--index", idx, "--mode", "psychic"], {}),
        (["query", "storm", "--index", idx, "--rerank", "/no/such/reranker"], {}),
        (["query", "storm", "--index", idx, "--path", "[", "--type", "\x00"], {}),
        (["info", "--index", str(w["file"])], {}),
        (["info", "--index", str(tmp / "nothing")], {}),
        (["ask", "why?", "--index", idx, "--host", "http://127.0.0.1:9"], {}),
        (["ask", "why?", "--index", idx, "--host", "not a url at all"], {}),
        (["ask", "why?", "--index", idx, "-k", "0"], {}),
        (["ask", "why?"], {"RAGFORGE_INDEX": str(tmp / "nothing")}),
        (["eval", "retrieval", "--dataset", "/no/such/set"], {}),
        (["eval", "retrieval", "--dataset", str(w["garbage"]), "--model", "hashing:64"], {}),
        (["eval", "retrieval", "--dataset", str(w["beir"]), "--model", "hashing:64", "--index", idx], {}),
        (["eval", "retrieval", "--dataset", str(w["beir"]), "--model", "hashing:64", "--limit", "-2"], {}),
        (["eval", "answers", "--dataset", str(w["garbage"]), "--llm", "x", "--model", "hashing:64"], {}),
        (["eval", "answers", "--dataset", str(w["beir"]), "--llm", "x", "--host", "http://127.0.0.1:9",
          "--model", "hashing:64"], {}),
    ]


def test_bad_options_and_environments_never_give_a_traceback(world, monkeypatch) -> None:
    runs = _bad_runs(world)
    commands = {tuple(args[:2]) if args[0] == "eval" else (args[0],) for args, _ in runs}
    assert commands == {("index",), ("query",), ("info",), ("ask",), ("eval", "retrieval"), ("eval", "answers")}
    for args, env in runs:
        for key in ("RAGFORGE_INDEX", "RAGFORGE_HOME"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(main, args)
        shown = f"{args} {env}: {result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), shown + repr(result.exception)
        assert "Traceback" not in result.output, shown
        assert result.exit_code in (0, 1, 2), shown
        if result.exit_code == 1:
            errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
            assert len(errors) == 1 and len(errors[0]) < 600, shown
    assert (world["idx"] / "manifest.json").exists()  # none of it harmed the index
    assert not list(world["docs"].glob("manifest.json"))


def test_error_line_is_one_line_for_foreign_errors() -> None:
    import sqlite3

    from pydantic import BaseModel, ValidationError

    class Settings(BaseModel):
        size: int

    try:
        Settings(size="big")
    except ValidationError as exc:
        assert error_line(exc).startswith("invalid setting size:")
    assert error_line(sqlite3.DatabaseError("database disk image is malformed")).count("\n") == 0
    assert error_line(FileNotFoundError(2, "No such file", "/x")) == "/x: No such file"
    assert error_line(RuntimeError("Error in faiss::read_index\nat line 3\n  more")) == \
        "unexpected RuntimeError: Error in faiss::read_index at line 3 more (RAGFORGE_DEBUG=1 shows the traceback)"


def test_eval_never_writes_into_the_users_index(world, monkeypatch) -> None:
    before = sorted((p.name, p.stat().st_mtime_ns) for p in world["idx"].iterdir())
    monkeypatch.setenv("RAGFORGE_INDEX", str(world["idx"]))
    result = CliRunner().invoke(main, ["eval", "retrieval", "--dataset", str(world["beir"]), "--model",
                                       "hashing:64", "-q"])
    assert result.exit_code == 0, result.output
    assert "index_dir" not in result.stdout or str(world["idx"]) not in result.stdout
    refused = CliRunner().invoke(main, ["eval", "retrieval", "--dataset", str(world["beir"]), "--model",
                                        "hashing:64", "--index", str(world["idx"]), "-q"])
    assert refused.exit_code == 1 and "mirrors the folder" in refused.stderr
    assert sorted((p.name, p.stat().st_mtime_ns) for p in world["idx"].iterdir()) == before
    info = CliRunner().invoke(main, ["info", "--index", str(world["idx"]), "--json"])
    assert json.loads(info.stdout)["files"] == 2


def test_an_index_cannot_be_the_folder_it_indexes(world) -> None:
    result = CliRunner().invoke(main, ["index", str(world["docs"]), "--index", str(world["docs"]), "-q"])
    assert result.exit_code == 1 and "would be the folder it indexes" in result.stderr
    assert sorted(p.name for p in world["docs"].iterdir()) == ["a.txt", "b.md"]
    inside = world["docs"] / "idx"
    first = CliRunner().invoke(main, ["index", str(world["docs"]), "--index", str(inside), "--model",
                                      "hashing:64", "-q"])
    again = CliRunner().invoke(main, ["index", str(world["docs"]), "--index", str(inside), "-q"])
    assert first.exit_code == 0 and again.exit_code == 0
    assert "unchanged 2" in again.stdout and "skipped idx: index" in again.stdout


def test_index_reports_as_json_and_lists_every_skipped_file(world) -> None:
    docs = world["docs"]
    for i in range(25):
        (docs / f"empty{i:02d}.txt").write_text("  \n")
    os.mkfifo(docs / "pipe.txt")
    plain = CliRunner().invoke(main, ["index", str(docs), "--index", str(world["idx"]), "-q"])
    assert plain.exit_code == 0 and "... and 6 more skipped (--show-skipped" in plain.stdout
    every = CliRunner().invoke(main, ["index", str(docs), "--index", str(world["idx"]), "-q", "--show-skipped"])
    assert every.stdout.count("  skipped ") == 26 and "skipped pipe.txt: not_regular" in every.stdout
    data = json.loads(CliRunner().invoke(main, ["index", str(docs), "--index", str(world["idx"]),
                                                "--json"]).stdout)
    assert len(data["skipped"]) == 26 and data["unchanged"] == 2
    assert {"source": "pipe.txt", "reason": "not_regular",
            "detail": "a FIFO (named pipe), not a regular file"} in data["skipped"]


def test_info_prints_readable_text_with_the_folder_it_mirrors(world) -> None:
    text = CliRunner().invoke(main, ["info", "--index", str(world["idx"])])
    assert text.exit_code == 0
    lines = dict(line.split(None, 1) for line in text.stdout.splitlines())
    assert lines["mirrors"] == str(world["docs"].resolve())
    assert lines["files"] == "2" and lines["model"].startswith("hashing:64 (hashing-64, dimension 64")
    assert "{" not in text.stdout
    data = json.loads(CliRunner().invoke(main, ["info", "--index", str(world["idx"]), "--json"]).stdout)
    assert data["root"] == str(world["docs"].resolve()) and data["chunks"] >= 2


@pytest.mark.slow
def test_a_query_with_bytes_that_are_not_utf8_works_with_the_default_model(tmp_path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Café au lait is coffee with hot milk.\n")
    assert CliRunner().invoke(main, ["index", str(docs), "--index", str(tmp_path / "idx"), "-q"]).exit_code == 0
    query = os.fsdecode(b"caf\xe9 au lait")  # what Python makes of a Latin-1 byte on the command line
    result = CliRunner().invoke(main, ["query", query, "--index", str(tmp_path / "idx"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["source"] == "a.txt"
