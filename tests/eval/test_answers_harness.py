"""The answer-eval loop on tiny gold sets with scripted replies; every figure is checked by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragforge.errors import LLMConnectionError
from ragforge.eval.answer_report import load_result
from ragforge.eval.answers import run_answer_eval
from ragforge.llm import Message
from ragforge.query import QueryConfig
from ragforge.testing.chat import ScriptedChatModel
from ragforge.testing.ollama_stub import OllamaStub

TOWER = "The Eiffel Tower opened in 1889. It is 330 metres tall."
FRUIT = "Bananas are yellow. They are rich in potassium."


def squad_file(tmp_path: Path) -> Path:
    def para(context: str, qas: list[tuple[str, str, list[str]]]) -> dict:
        return {"context": context, "qas": [{"id": i, "question": q, "answers": [
            {"answer_start": context.find(a), "text": a} for a in answers]} for i, q, answers in qas]}

    data = {"version": "1.1", "data": [
        {"title": "Towers", "paragraphs": [para(TOWER, [("q1", "When did the Eiffel Tower open?", ["1889", "in 1889"]),
                                                         ("q2", "How tall is the Eiffel Tower?", ["330 metres"])])]},
        {"title": "Fruit", "paragraphs": [para(FRUIT, [("q3", "What colour are bananas?", ["yellow"]),
                                                        ("q4", "What are bananas rich in?", ["potassium"])])]},
    ]}
    path = tmp_path / "dev-v1.1.json"
    path.write_text(json.dumps(data))
    return path


def _context(messages: list[Message]) -> str:
    return next(m.content for m in messages if m.role == "user" and "Context:" in m.content)


def _n(messages: list[Message], source: str) -> int:
    return int(re.search(r"\[(\d+)\] \(" + re.escape(source), _context(messages)).group(1))


def scripted_model(script: dict[str, object]) -> ScriptedChatModel:
    """Replies by question: a rewrite request gets the question back; an answer request gets ``script[q]``."""
    def reply(messages: list[Message]) -> str:
        first = next(m.content for m in messages if m.role == "user")
        if "Write ONE better search query" in first:
            return re.search(r"Question: (.*)", first).group(1)
        question = re.search(r"Question: (.*)", _context(messages)).group(1).strip()
        made = script[question]
        return made(messages) if callable(made) else made  # type: ignore[operator]
    return ScriptedChatModel([reply], repeat_last=True)


SCRIPT = {
    # right answer, right block
    "When did the Eiffel Tower open?": lambda m: f"1889 [{_n(m, 'Towers/0')}]",
    # right answer citing a right and a wrong block: the engine keeps the block that holds the words
    "How tall is the Eiffel Tower?": lambda m: f"330 metres [{_n(m, 'Towers/0')}, {_n(m, 'Fruit/0')}]",
    # refusal of an answerable question
    "What colour are bananas?": "The documents do not say.",
    # right answer, WRONG block only: repaired to the passage that holds it
    "What are bananas rich in?": lambda m: f"Potassium [{_n(m, 'Towers/0')}]",
}


def test_squad_loop_figures_by_hand(tmp_path: Path) -> None:
    result = run_answer_eval(squad_file(tmp_path), llm=scripted_model(SCRIPT), model="hashing:256",
                             out_dir=tmp_path / "out", resamples=200)
    by_id = {q.id: q for q in result.per_question}
    assert result.questions == 4 and result.answerable == 4 and result.documents == 2
    assert [by_id[q].scores["EM"] for q in ("q1", "q2", "q3", "q4")] == [1.0, 1.0, 0.0, 1.0]
    assert result.metrics["EM"] == pytest.approx(0.75) and result.metrics["F1"] == pytest.approx(0.75)
    assert result.metrics["false_refusal_rate"] == pytest.approx(0.25)  # q3 refused
    # every citation points at the gold passage after repair (q1, q2, q4; q3 refused: no citations)
    assert result.metrics["citation_precision"] == 1.0 and result.counts["citation_precision"] == 3
    assert result.metrics["quote_verified"] == 1.0  # the engine's quotes are spans of the passage
    assert by_id["q4"].repairs[0]["reason"].startswith("the words stand in passage")
    assert result.metrics["llm_calls"] == 1.0 and result.metrics["generated_tokens"] == 0.0  # scripted: no usage
    assert result.metrics["hit@k"] == 1.0 and result.metrics["hit@1"] == 1.0
    assert result.metrics["refusal_rate"] is None  # no unanswerable questions
    assert by_id["q3"].refused and by_id["q4"].prediction.startswith("Potassium [")
    assert [e["node"] for e in by_id["q1"].trace if e["type"] == "node"][-1] == "finish"
    low, high = result.ci["EM"]
    assert 0.0 <= low <= 0.75 <= high <= 1.0

    files = {p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".journal-")}
    assert files == {"results.json", "report.md", "answers.png"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| EM | 0.750 |" in report and "answers.png" in report
    assert load_result(tmp_path / "out").metrics == result.metrics
    assert re.search(r"^EM\s+0\.750\s+\[", result.table(), re.M)


def test_the_plain_baseline_runs_beside_the_engine_on_the_same_questions(tmp_path: Path) -> None:
    """Both ask the same first prompt; the engine adds the checks: it cites, and refuses what no passage holds."""
    replies = {"When did the Eiffel Tower open?": "1889", "How tall is the Eiffel Tower?": "330 metres",
               "What colour are bananas?": "Purple.", "What are bananas rich in?": "Potassium"}
    prompts: list[str] = []

    def reply(messages: list[Message]) -> str:
        prompts.append(messages[0].content + messages[-1].content)
        return replies[re.search(r"Question: (.*)", messages[-1].content).group(1).strip()]

    llm = ScriptedChatModel([reply], repeat_last=True)
    result = run_answer_eval(squad_file(tmp_path), llm=llm, model="hashing:256", baseline="plain",
                             out_dir=tmp_path / "out", resamples=200)
    base = load_result(tmp_path / "out" / "baseline-plain")
    assert base.settings["system"] == "plain" and result.settings["system"] == "engine"
    assert [q.id for q in base.per_question] == [q.id for q in result.per_question]
    assert prompts[:4] == prompts[4:]  # the same passages and the same prompt, question by question
    assert base.metrics["EM"] == result.metrics["EM"] == 0.75
    assert base.metrics["false_refusal_rate"] == 0.0 and result.metrics["false_refusal_rate"] == 0.25  # "Purple"
    f1 = next(c for c in result.comparisons if c.metric == "F1")
    assert (f1.a, f1.b) == ("plain", "engine") and f1.difference == 0.0
    assert base.per_question[0].citations == [] and result.per_question[0].citations == [("Towers/0", None)]
    assert base.metrics["llm_calls"] == result.metrics["llm_calls"] == 1.0
    assert "--baseline plain" in (result.command or "")


def clapnq_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "clapnq"
    folder.mkdir()

    def row(i: str, q: str, title: str, text: str, answer: str) -> str:
        return json.dumps({"id": i, "input": q, "passages": [{"title": title, "text": text, "sentences": []}],
                           "output": [{"answer": answer, "selected_sentences": [], "meta": {}}]})

    (folder / "clapnq_dev_answerable.jsonl").write_text("\n".join([
        row("a1", "when did the eiffel tower open", "Eiffel Tower", TOWER, "The Eiffel Tower opened in 1889."),
        row("a2", "what are bananas rich in", "Banana", FRUIT, "Bananas are rich in potassium.")]) + "\n")
    (folder / "clapnq_dev_unanswerable.jsonl").write_text("\n".join([
        row("u1", "who designed the eiffel tower", "Eiffel Tower", TOWER, ""),
        row("u2", "where are bananas sold", "Banana", FRUIT, "")]) + "\n")
    return folder


def test_clapnq_refusals_and_judge(tmp_path: Path) -> None:
    tower = "Eiffel Tower #"
    script = {
        "when did the eiffel tower open": lambda m: f"It opened in 1889 [{_n(m, tower)}].",
        "what are bananas rich in": lambda m: f"Bananas are rich in potassium [{_n(m, 'Banana #')}].",
        "who designed the eiffel tower": "The documents do not say.",
        # a hallucination the deterministic checks cannot catch: every word is in the passage, which is about
        # bananas (not "how much do bananas cost": the kind check refuses an answer without a price)
        "where are bananas sold": lambda m: f"Bananas are yellow [{_n(m, 'Banana #')}].",
    }
    judge = ScriptedChatModel([json.dumps({"claims": [{"claim": "x", "supported": True},
                                                      {"claim": "y", "supported": False}]})], repeat_last=True)
    result = run_answer_eval(clapnq_folder(tmp_path), llm=scripted_model(script), judge=judge,
                             model="hashing:256", resamples=200)
    assert (result.answerable, result.unanswerable) == (2, 2)
    assert result.metrics["refusal_rate"] == 0.5 and result.metrics["false_refusal_rate"] == 0.0
    # F1 a1: pred [it, opened, in, 1889] vs [eiffel, tower, opened, in, 1889]: 3 common -> P 3/4 R 3/5 = 2/3
    # F1 a2: pred [bananas, are, rich, in, potassium] = gold tokens -> 1.0
    assert result.metrics["F1"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert result.metrics["faithfulness"] == 0.5 and result.counts["faithfulness"] == 3  # 3 answered
    assert result.judge == "scripted" and len(judge.calls) == 3


def test_the_loop_over_http_against_the_ollama_stub(tmp_path: Path) -> None:
    def reply(body: dict) -> str:
        messages = [Message(**m) for m in body["messages"]]
        if "Write ONE better search query" in messages[-1].content:
            return "query"
        question = re.search(r"Question: (.*)", _context(messages)).group(1).strip()
        made = SCRIPT[question]
        return made(messages) if callable(made) else made

    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat(*[reply] * 40)
        full = run_answer_eval(squad_file(tmp_path), llm="llama3.2", host=stub.host, model="hashing:256",
                               out_dir=tmp_path / "a", resamples=200)
        part = run_answer_eval(squad_file(tmp_path), llm="llama3.2", host=stub.host, model="hashing:256",
                               limit=2, baseline=tmp_path / "a", out_dir=tmp_path / "b", resamples=200)
    # the same four scripted replies (right, a wrong block beside the right one, refusal, wrong block) over HTTP
    assert full.llm == "llama3.2" and full.metrics["EM"] == pytest.approx(0.75)
    assert full.metrics["citation_precision"] == 1.0
    assert full.metrics["false_refusal_rate"] == pytest.approx(0.25)
    assert [q.id for q in part.per_question] == ["q1", "q3"]  # spread evenly over the four
    assert part.metrics["EM"] == 0.5 and "--limit 2" in (part.command or "")
    assert {c.metric for c in part.comparisons} >= {"EM", "F1"}
    same = [c for c in part.comparisons if c.metric != "seconds"]  # same replies, same scores
    assert same and all(c.difference == 0 and not c.significant for c in same)
    assert "## Paired comparisons" in (tmp_path / "b" / "report.md").read_text()


def test_ollama_down_stops_the_run_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(LLMConnectionError, match="ollama serve"):
        run_answer_eval(squad_file(tmp_path), llm=ScriptedChatModel([LLMConnectionError("start `ollama serve`")]),
                        model="hashing:256")


def test_a_run_killed_halfway_resumes_from_its_journal(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_answer_eval(squad_file(tmp_path), llm=scripted_model(SCRIPT), model="hashing:256", limit=2,
                            out_dir=out, resamples=200)
    (journal,) = out.glob(".journal-engine-*.jsonl")
    lines = journal.read_text().splitlines()
    journal.write_text(lines[0] + "\n" + lines[1][:40])  # the second record cut off by a kill
    llm = ScriptedChatModel([SCRIPT["What colour are bananas?"]])  # one reply: only q3 is asked again
    again = run_answer_eval(squad_file(tmp_path), llm=llm, model="hashing:256", limit=2, out_dir=out,
                            resamples=200)
    assert [q.id for q in again.per_question] == ["q1", "q3"] and len(llm.calls) == 1
    assert again.per_question[0].prediction == first.per_question[0].prediction
    other = run_answer_eval(squad_file(tmp_path), llm=scripted_model(SCRIPT), model="hashing:256", limit=2,
                            out_dir=out, resamples=200, config=QueryConfig(k=2))
    assert len(list(out.glob(".journal-engine-*.jsonl"))) == 2 and other.k == 2  # other settings, own journal


def test_questions_a_setting_was_tuned_on_can_be_left_out(tmp_path: Path) -> None:
    result = run_answer_eval(squad_file(tmp_path), llm=scripted_model(SCRIPT), model="hashing:256", limit=2,
                             exclude_ids={"q1", "q2"}, exclude_file="tuned.txt", resamples=200)
    assert [q.id for q in result.per_question] == ["q3", "q4"]
    assert result.settings["excluded_ids"] == 2 and "--exclude-ids tuned.txt" in (result.command or "")
