"""Record the answer-eval harness against the Ollama stub: the *shape* of a run, not a model's quality.

No Ollama server exists where this was recorded, so the "model" is the OllamaStub answering with a
deterministic extractive rule: the sentence of the first context passage that shares most words with the
question, cited as [1] with that sentence as the quote, or the refusal sentence when it shares less than
a third of the question's content words. EM/F1/refusal figures therefore describe this rule; hit@k is the
real retrieval of the gold passage/page by the index (all-MiniLM-L6-v2, hybrid search).

    .venv/bin/python scripts/record_answer_eval_stub.py squad 100
    .venv/bin/python scripts/record_answer_eval_stub.py clapnq 100
    .venv/bin/python scripts/record_answer_eval_stub.py financebench
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from ragforge.eval.answers import run_answer_eval
from ragforge.query.grounding import best_sentence, content_words
from ragforge.testing.ollama_stub import OllamaStub

DATA = Path("../shared/data")  # run from the project root
DATASETS = {"squad": DATA / "squad-dev" / "dev-v1.1.json", "clapnq": DATA / "clapnq-dev",
            "financebench": DATA / "financebench-sample"}
NOTE = ("Recorded against the Ollama stub (scripts/record_answer_eval_stub.py), not a language model: the stub "
        "answers with the first passage's sentence that shares most words with the question, or refuses when it "
        "shares under a third. EM/F1/refusal figures describe that rule; hit@k is the index's real retrieval.")


def extractive_reply(body: dict) -> str:
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    if "Write ONE better search query" in user:
        return re.search(r"Question: (.*)", user).group(1)
    question = re.search(r"Question: (.*)", user).group(1)
    # the label is "(source, p. N)"; ClapNQ sources end with "#hash8" and their titles may hold parentheses
    first = (re.search(r"\[1\] \(.*? #[0-9a-f]{8}\) (.*?)(?:\n\n\[2\] |\n\nQuestion: )", user, re.S)
             or re.search(r"\[1\] \([^)]*\) (.*?)(?:\n\n\[2\] |\n\nQuestion: )", user, re.S))
    sentence, share = best_sentence(question, first.group(1) if first else "")
    if not sentence or share < 1 / 3 or not content_words(question):
        return json.dumps({"answer": "The documents do not say.", "citations": []})
    return json.dumps({"answer": f"{sentence} [1]", "citations": [{"n": 1, "quote": sentence}]})


def main(name: str, limit: int | None) -> None:
    out = Path("eval/results") / f"answers-stub-{name}"
    index_dir = Path("/tmp") / f"ragforge-answers-{name}-index"
    with OllamaStub(models=["stub-extractive"]) as stub:
        stub.script_chat(*[extractive_reply] * 10_000)
        result = run_answer_eval(DATASETS[name], llm="stub-extractive", host=stub.host, limit=limit, out_dir=out,
                                 index_dir=index_dir, note=NOTE)
    print(result.table())
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
