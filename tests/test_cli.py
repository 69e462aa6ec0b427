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


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cite_block(body: dict, source: str) -> int:
    import re

    prompt = next(m["content"] for m in body["messages"] if m["role"] == "user" and "Context:" in m["content"])
    return int(re.search(rf"\[(\d+)\] \({re.escape(source)}", prompt).group(1))


def test_ask_answers_with_citations_through_ollama(folder: Path, tmp_path: Path) -> None:
    from ragforge.testing import OllamaStub

    runner = CliRunner()
    index = tmp_path / "idx"
    assert _index(runner, folder, index).exit_code == 0

    def reply(body: dict) -> str:
        n = _cite_block(body, "alpha.md")
        return json.dumps({"answer": f"The keeper logged it at midnight [{n}].",
                           "citations": [{"n": n, "quote": "logged the storm at midnight"}]})

    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat(reply)
        result = runner.invoke(main, ["ask", "When did the lighthouse keeper log the storm?", "--index",
                                      str(index), "--host", stub.host, "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["refused"] is False and "midnight" in answer["text"]
    assert answer["citations"][0]["source"] == "alpha.md" and answer["citations"][0]["verified"] is True


def test_ask_with_ollama_down_says_what_to_start(folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    index = tmp_path / "idx"
    assert _index(runner, folder, index).exit_code == 0
    result = runner.invoke(main, ["ask", "storm?", "--index", str(index), "--host",
                                  f"http://127.0.0.1:{_closed_port()}"])
    assert result.exit_code == 1
    assert "ollama serve" in result.output and "Traceback" not in result.output


def _tiny_beir(root: Path) -> Path:
    root.mkdir()
    docs = {"d1": "Aspirin reduces the risk of heart attack.", "d2": "Vitamin C does not cure the common cold.",
            "d3": "Regular exercise lowers blood pressure."}
    (root / "corpus.jsonl").write_text("\n".join(json.dumps({"_id": k, "title": "", "text": v})
                                                 for k, v in docs.items()) + "\n")
    (root / "queries.jsonl").write_text("\n".join(json.dumps({"_id": q, "text": t}) for q, t in
                                                  [("q1", "aspirin heart attack"), ("q2", "exercise blood pressure")]))
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    return root


def test_eval_retrieval_writes_table_json_and_report(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["eval", "retrieval", "--dataset", str(_tiny_beir(tmp_path / "beir")),
                                  "--model", "hashing:256", "--index", str(tmp_path / "idx"), "--mode", "lexical",
                                  "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "nDCG@10" in result.output and "lexical" in result.output
    data = json.loads((out / "results.json").read_text())
    assert (out / "report.md").exists()
    assert "lexical" in json.dumps(data)
    assert 'nDCG@10": 1.0' in json.dumps(data)  # both queries find their one relevant document first


def _tiny_squad(tmp_path: Path) -> Path:
    squad = {"version": "1.1", "data": [{"title": "T", "paragraphs": [{
        "context": "The Eiffel Tower opened in 1889 in Paris.",
        "qas": [{"id": "a", "question": "When did the Eiffel Tower open?",
                 "answers": [{"text": "1889", "answer_start": 27}]}]}]}]}
    dataset = tmp_path / "dev.json"
    dataset.write_text(json.dumps(squad))
    return dataset


def test_eval_answers_through_the_stub(tmp_path: Path) -> None:
    from ragforge.testing import OllamaStub

    dataset = _tiny_squad(tmp_path)
    runner = CliRunner()
    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat("1889 [1]", "1889")  # the engine, then the plain baseline
        result = runner.invoke(main, ["eval", "answers", "--dataset", str(dataset), "--llm", "llama3.2", "--host",
                                      stub.host, "--model", "hashing:256", "--index", str(tmp_path / "idx"),
                                      "--baseline", "plain", "--timeout", "30", "--out", str(tmp_path / "out"),
                                      "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "EM" in result.output
    assert data["metrics"]["EM"] == 1.0 and data["metrics"]["F1"] == 1.0  # "1889 [1]" -> "1889" after stripping
    assert data["metrics"]["hit@1"] == 1.0 and data["llm"] == "llama3.2" and data["settings"]["timeout"] == 30
    plain = json.loads((tmp_path / "out" / "baseline-plain" / "results.json").read_text())
    assert plain["settings"]["system"] == "plain" and plain["metrics"]["EM"] == 1.0
    printed = ("engine vs plain", "plain is better", "engine is better")
    assert any(text in result.output for text in printed)  # the paired comparison is printed


def test_eval_answers_on_own_documents_and_gold_questions(tmp_path: Path) -> None:
    """A .jsonl of gold questions in a folder of documents: the folder is indexed (not the gold file), the
    answerable question is scored with its file as evidence, the unanswerable one by its refusal."""
    from ragforge.testing import OllamaStub

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "tower.md").write_text("# Tower\n\nThe Eiffel Tower opened in 1889 in Paris.\n")
    (tmp_path / "docs" / "bridge.md").write_text("# Bridge\n\nThe Forth Bridge is painted red.\n")
    gold = tmp_path / "docs" / "questions.jsonl"
    gold.write_text(json.dumps({"id": "a", "question": "When did the Eiffel Tower open?", "answer": "1889",
                                "relevant": ["tower.md"]}) + "\n" +
                    json.dumps({"id": "u", "question": "Who painted the Forth Bridge?", "answerable": False}))
    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat("1889 [1]", "The documents do not say.")
        result = CliRunner().invoke(main, ["eval", "answers", "--dataset", str(gold), "--llm", "llama3.2",
                                           "--host", stub.host, "--model", "hashing:256", "--index",
                                           str(tmp_path / "idx"), "--timeout", "30", "--out", str(tmp_path / "out"),
                                           "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["name"] == "docs" and data["documents"] == 2  # the gold file itself is not a document
    assert data["metrics"]["EM"] == 1.0 and data["metrics"]["citation_precision"] == 1.0
    assert data["metrics"]["refusal_rate"] == 1.0 and data["metrics"]["false_refusal_rate"] == 0.0


def test_eval_answers_takes_engine_settings(tmp_path: Path) -> None:
    """``--set max_refusal_odds=0.03`` over Ollama's API: the answer "1889" with the refusal's first word
    "The" at 0.37 beside it, and " documents" at 0.9 after "The" (a one-token continuation), is refused."""
    from ragforge.testing import OllamaStub

    dataset = _tiny_squad(tmp_path)
    answer = {"content": "1889 [1]", "logprobs": [
        {"token": "1889", "logprob": -0.6, "top_logprobs": [{"token": "1889", "logprob": -0.6},
                                                            {"token": "The", "logprob": -1.0}]},
        {"token": " [1]", "logprob": -0.1, "top_logprobs": [{"token": " [1]", "logprob": -0.1}]}]}
    after_the = {"content": " documents", "logprobs": [
        {"token": " documents", "logprob": -0.1, "top_logprobs": [{"token": " documents", "logprob": -0.1}]}]}
    runner = CliRunner()
    args = ["eval", "answers", "--dataset", str(dataset), "--llm", "llama3.2", "--model", "hashing:256",
            "--index", str(tmp_path / "idx"), "--timeout", "30", "-q"]
    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat(answer, after_the)
        result = runner.invoke(main, [*args, "--host", stub.host, "--set", "max_refusal_odds=0.03",
                                      "--out", str(tmp_path / "out")])
        sent = stub.bodies()
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["settings"]["query"]["max_refusal_odds"] == 0.03
    assert "--set max_refusal_odds=0.03" in data["command"]  # the recorded command runs the same engine
    assert data["metrics"]["false_refusal_rate"] == 1.0 and data["metrics"]["llm_calls"] == 2.0
    assert sent[0]["top_logprobs"] == 10 and sent[1]["messages"][-1] == {"role": "assistant", "content": "The"}
    for bad, message in (("max_refusal_odds=2", "max_refusal_odds: Input should be less than or equal to 1"),
                         ("no_such=1", "no_such: Extra inputs are not permitted"), ("k", "'k' is not NAME=VALUE")):
        for command in (args, ["ask", "When?", "--index", str(tmp_path / "idx"), "--llm", "llama3.2"]):
            refused = runner.invoke(main, [*command, "--set", bad])
            assert refused.exit_code == 2 and message in refused.output and "Traceback" not in refused.output


def test_bad_files_are_skipped_with_their_reason_and_indexing_goes_on(folder: Path, tmp_path: Path) -> None:
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 not text \x00" * 20)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (folder / "empty.md").write_text("")
    result = _index(CliRunner(), folder, tmp_path / "idx")
    assert result.exit_code == 0, result.output
    assert "added 3" in result.output and "skipped 3" in result.output
    for line in ("skipped binary.txt: binary", "skipped broken.pdf: corrupt", "skipped empty.md: empty"):
        assert line in result.output
    assert "Traceback" not in result.output


def test_an_index_mirrors_one_folder_unless_retargeted(folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    index = tmp_path / "idx"
    assert _index(runner, folder, index).exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "delta.txt").write_text("Owls hunt at night.\n")
    refused = _index(runner, other, index)
    assert refused.exit_code == 1 and "--retarget" in refused.output and "3 files" in refused.output
    moved = _index(runner, other, index, "--retarget")
    assert moved.exit_code == 0 and "added 1" in moved.output and "removed 3" in moved.output


def test_index_and_query_with_an_ollama_embedding_model(folder: Path, tmp_path: Path, monkeypatch) -> None:
    from ragforge.testing import OllamaStub

    runner = CliRunner()
    index = tmp_path / "idx"
    with OllamaStub(models=["nomic-embed-text"]) as stub:
        monkeypatch.setenv("OLLAMA_HOST", stub.host)
        built = runner.invoke(main, ["index", str(folder), "--index", str(index), "--model",
                                     "ollama:nomic-embed-text", "-q"])
        assert built.exit_code == 0, built.output
        assert "added 3" in built.output
        result = runner.invoke(main, ["query", "espresso grind", "--index", str(index), "--mode", "dense",
                                      "--json"])
        assert result.exit_code == 0, result.output
        embedded = [text for body in stub.bodies("/api/embed") for text in body["input"]]
    assert len(json.loads(result.output)) == 3
    assert "espresso grind" in embedded  # the query went to Ollama's /api/embed, like the documents
    info = runner.invoke(main, ["info", "--index", str(index), "--json"])
    assert json.loads(info.output)["model_id"] == "ollama:nomic-embed-text"
