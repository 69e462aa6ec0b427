"""The answer gold sets, read from the real files in ../shared/data and from small malformed ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragforge.errors import DatasetError
from ragforge.eval.answer_loaders import load_answer_dataset, load_squad

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.exists(), reason="shared evaluation data not present")


@needs_data
def test_squad_dev_shape() -> None:
    ds = load_answer_dataset(DATA / "squad-dev" / "dev-v1.1.json")
    assert ds.kind == "squad" and len(ds.examples) == 10570 and len(ds.passages) == 2067
    first = ds.examples[0]
    assert first.question == "Which NFL team represented the AFC at Super Bowl 50?"
    assert first.answers == ("Denver Broncos",) and first.evidence == (("Super_Bowl_50/0", None),)
    assert ds.passages[0].source == "Super_Bowl_50/0" and ds.passages[0].title == "Super Bowl 50"


@needs_data
def test_clapnq_has_both_halves_and_evenly_spread_limit() -> None:
    ds = load_answer_dataset(DATA / "clapnq-dev")
    assert len(ds.examples) == 600 and sum(e.answerable for e in ds.examples) == 300
    assert len(ds.passages) == 597  # three passages are shared by two questions
    unanswerable = next(e for e in ds.examples if not e.answerable)
    assert unanswerable.answers == () and unanswerable.evidence == ()
    picked = ds.select(10)
    assert len(picked) == 10 and {e.answerable for e in picked} == {True, False}
    sources = {p.source for p in ds.passages}
    assert all(src in sources for e in ds.examples for src, _ in e.evidence)


@needs_data
def test_financebench_pages_are_one_based_pdf_pages() -> None:
    ds = load_answer_dataset(DATA / "financebench-sample")
    assert ds.kind == "financebench" and len(ds.examples) == 14 and ds.folder is not None
    amcor = ds.examples[0]
    assert amcor.evidence == (("AMCOR_2023Q4_EARNINGS.pdf", 12),)  # evidence_page_num 11, 0-based
    assert amcor.answers == ("AMCOR's Adj. EBITDA was $2,018mn in FY 2023",)
    pdfs = {p.name for p in ds.folder.iterdir()}
    assert all(src in pdfs for e in ds.examples for src, _ in e.evidence)


def test_malformed_and_unknown_files_raise_dataset_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": "1.1"}))
    with pytest.raises(DatasetError, match="not a SQuAD"):
        load_squad(bad)
    bad.write_text("{not json")
    with pytest.raises(DatasetError, match="cannot read"):
        load_squad(bad)
    with pytest.raises(DatasetError, match="not a SQuAD v1.1 JSON file, a ClapNQ folder"):
        load_answer_dataset(tmp_path)
    (tmp_path / "clapnq_dev_answerable.jsonl").write_text('{"id": 1, "input": "q"}\n')
    with pytest.raises(DatasetError, match="malformed ClapNQ"):
        load_answer_dataset(tmp_path)


@needs_data
def test_select_only_ids_keeps_dataset_order_and_rejects_unknown_ids() -> None:
    ds = load_answer_dataset(DATA / "clapnq-dev")
    wanted = [ds.examples[500].id, ds.examples[3].id, ds.examples[42].id]
    picked = ds.select(None, only=frozenset(wanted))
    assert [e.id for e in picked] == [ds.examples[i].id for i in (3, 42, 500)]
    assert [e.id for e in ds.select(None, exclude=frozenset(wanted[:1]), only=frozenset(wanted))] == \
        [ds.examples[3].id, ds.examples[42].id]
    with pytest.raises(DatasetError, match="not in"):
        ds.select(None, only=frozenset({"no-such-question"}))


SAMPLE = Path(__file__).resolve().parents[2] / "corpora" / "sample"


def test_own_gold_questions_on_a_folder_of_documents() -> None:
    ds = load_answer_dataset(SAMPLE / "questions.jsonl")
    assert (ds.kind, ds.name, len(ds.examples), ds.folder, ds.exclude) == (
        "gold", "sample", 63, SAMPLE, ("questions.jsonl",))
    assert sum(not e.answerable and not e.answers and not e.evidence for e in ds.examples) == 19
    first = ds.examples[0]
    assert first.answers == ("every four weeks",) and first.answerable
    assert first.evidence == (("manuals/kettlewick_k2_manual.pdf", 3),)  # a 1-based page, as the index has it
    assert all((SAMPLE / source).is_file() for e in ds.examples for source, _ in e.evidence)


def test_own_gold_questions_answerable_or_not_and_bad_records(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "question": "When?", "answer": ["1889", "in 1889"], "relevant": "./notes/tower.md"},
        {"id": "u", "question": "Who?", "answerable": False},
        {"question": "Why?"},  # neither answer nor relevant: unanswerable; the id is its line
    ]))
    ds = load_answer_dataset(gold)
    a, u, why = ds.examples
    assert (a.answers, a.answerable, a.evidence) == (("1889", "in 1889"), True, (("notes/tower.md", None),))
    assert (u.answerable, u.answers, why.id, why.answerable) == (False, (), "3", False)
    for record, message in [
        ({"question": "When?", "relevant": ["a.md"]}, "needs its 'answer'"),
        ({"question": " "}, "'question' is missing or empty"),
        ({"question": "When?", "answer": ""}, "'answer' must be a non-empty string"),
        ({"question": "When?", "answer": "x", "answerable": "yes"}, "'answerable' must be true or false"),
        ({"question": "When?", "answer": "x", "relevant": [3]}, "'relevant' must be a list of file paths"),
    ]:
        gold.write_text(json.dumps(record))
        with pytest.raises(DatasetError, match=re.escape(message)):
            load_answer_dataset(gold)
    gold.write_text(json.dumps({"id": "x", "question": "A?"}) + "\n" + json.dumps({"id": "x", "question": "B?"}))
    with pytest.raises(DatasetError, match="duplicate id 'x'"):
        load_answer_dataset(gold)
    gold.write_text("")
    with pytest.raises(DatasetError, match="no questions"):
        load_answer_dataset(gold)
