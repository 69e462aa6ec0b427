from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragforge.errors import DatasetError
from ragforge.eval.retrieval_loaders import load_beir, load_dataset, load_jsonl_gold, load_qrels


def _beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        json.dumps({"_id": "d1", "title": "Cats", "text": "Cats purr."}) + "\n"
        + json.dumps({"_id": "d2", "title": "", "text": "Dogs bark."}) + "\n", encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "purring"}) + "\n" + json.dumps({"_id": "q2", "text": "x"}) + "\n",
        encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t0\n")
    return folder


def test_load_beir(tmp_path: Path):
    ds = load_beir(_beir(tmp_path / "tiny"))
    assert ds.name == "tiny" and ds.split == "test"
    assert ds.qrels == {"q1": {"d1": 1}, "q2": {"d2": 0}}
    assert ds.scored_queries == ["q1"]  # q2 has no relevant document
    docs = list(ds.documents())
    assert [d.source for d in docs] == ["d1", "d2"]
    assert docs[0].text == "Cats\n\nCats purr." and docs[0].title == "Cats"
    assert docs[1].text == "Dogs bark." and docs[0].file_type == "corpus"
    assert [d.source for d in ds.documents(limit=1)] == ["d1"]
    assert load_dataset(tmp_path / "tiny").queries["q1"].text == "purring"


def test_beir_errors_name_the_problem(tmp_path: Path):
    folder = _beir(tmp_path / "tiny")
    with pytest.raises(DatasetError, match="split 'dev'.*found: \\['test'\\]"):
        load_beir(folder, split="dev")
    (folder / "queries.jsonl").unlink()
    with pytest.raises(DatasetError, match="queries.jsonl is missing"):
        load_beir(folder)
    bad = tmp_path / "bad.tsv"
    bad.write_text("q1\td1\n")
    with pytest.raises(DatasetError, match="bad.tsv:1"):
        load_qrels(bad)


def test_load_real_scifact_qrels_shape():
    folder = Path(__file__).resolve().parents[3] / "shared" / "data" / "scifact"
    if not folder.is_dir():
        pytest.skip("shared SciFact data not present")
    ds = load_beir(folder)
    assert len(ds.scored_queries) == 300
    assert sum(len(v) for v in ds.qrels.values()) == 339


def test_jsonl_gold(tmp_path: Path):
    gold = tmp_path / "questions.jsonl"
    gold.write_text(
        json.dumps({"id": "a", "question": "How?", "relevant": ["docs/guide.md"], "page": 2, "answer": "So."})
        + "\n\n" + json.dumps({"question": "Why?", "relevant": "./notes.txt"}) + "\n"
        + json.dumps({"id": "u", "question": "Who?", "answerable": False}) + "\n", encoding="utf-8")
    ds = load_jsonl_gold(gold)  # the unanswerable question (for eval answers) has nothing to retrieve: left out
    assert ds.qrels == {"a": {"docs/guide.md": 1}, "3": {"notes.txt": 1}}
    assert ds.queries["a"].page == 2 and ds.queries["a"].answer == "So."
    assert ds.corpus_folder == tmp_path and ds.exclude == ("questions.jsonl",)
    assert list(ds.documents()) == []
    assert load_dataset(gold).scored_queries == ["3", "a"]


@pytest.mark.parametrize("line,match", [
    ('{"question": "", "relevant": ["a"]}', "question"),
    ('{"question": "q", "relevant": []}', "relevant"),
    ("not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
])
def test_jsonl_gold_errors(tmp_path: Path, line: str, match: str):
    gold = tmp_path / "g.jsonl"
    gold.write_text(line + "\n")
    with pytest.raises(DatasetError, match=match):
        load_jsonl_gold(gold)


def test_unknown_dataset_path(tmp_path: Path):
    with pytest.raises(DatasetError):
        load_dataset(tmp_path / "nothing.txt")
