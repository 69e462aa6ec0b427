"""The CLI through click's runner: every command has help, and index/query/info work end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragforge.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "corpora" / "sample"


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))


def test_every_command_has_help_text() -> None:
    runner = CliRunner()
    for path, cmd in _commands(main):
        assert cmd.help and cmd.help.strip(), f"{' '.join(path)} has no help text"
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "alpha.md").write_text("# Alpha\n\nThe lighthouse keeper logged the storm at midnight.\n")
    (docs / "beta.txt").write_text("Tomatoes grow best in warm, well-drained soil with full sun.\n")
    (docs / "gamma.html").write_text("<html><head><title>Gamma</title></head><body><p>Espresso needs a fine grind."
                                     "</p><script>var x = 1;</script></body></html>")
    return docs


def _index(runner: CliRunner, folder: Path, index: Path, *extra: str):
    return runner.invoke(main, ["index", str(folder), "--index", str(index), "--model", "hashing:256", "-q", *extra])


def test_index_query_info_and_incremental_resync(folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    index = tmp_path / "idx"
    first = _index(runner, folder, index)
    assert first.exit_code == 0, first.output
    assert "added 3" in first.output

    result = runner.invoke(main, ["query", "storm lighthouse", "--index", str(index), "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert hits[0]["source"] == "alpha.md"
    assert hits[0]["rank"] == 1 and len(hits) == 2

    text = runner.invoke(main, ["query", "espresso grind", "--index", str(index), "--mode", "lexical"])
    assert text.exit_code == 0 and "[1] gamma.html" in text.output

    filtered = runner.invoke(main, ["query", "storm", "--index", str(index), "--type", "text", "--json"])
    assert {hit["source"] for hit in json.loads(filtered.output)} == {"beta.txt"}

    (folder / "beta.txt").write_text("Peppers like heat.\n")
    (folder / "gamma.html").unlink()
    second = _index(runner, folder, index)
    assert second.exit_code == 0, second.output
    assert "changed 1" in second.output and "removed 1" in second.output and "unchanged 1" in second.output

    info = runner.invoke(main, ["info", "--index", str(index), "--json"])
    assert info.exit_code == 0, info.output
    data = json.loads(info.output)
    assert data["files"] == 2 and data["model_id"] == "hashing-256"


def test_errors_are_one_line_messages_not_tracebacks(folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["query", "x", "--index", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert "Error:" in missing.output and "ragforge index" in missing.output
    assert "Traceback" not in missing.output

    index = tmp_path / "idx"
    assert _index(runner, folder, index).exit_code == 0
    other = runner.invoke(main, ["index", str(folder), "--index", str(index), "--model", "hashing:64", "-q"])
    assert other.exit_code == 1
    assert "--rebuild" in other.output
    rebuilt = _index(runner, folder, index, "--rebuild")
    assert rebuilt.exit_code == 0 and "added 3" in rebuilt.output


def test_sample_corpus_indexes_without_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    docs = tmp_path / "sample"
    shutil.copytree(SAMPLE, docs)
    result = _index(runner, docs, tmp_path / "idx")
    assert result.exit_code == 0, result.output
    assert "skipped 0" in result.output
