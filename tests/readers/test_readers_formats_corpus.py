"""The sample corpus's files of the newer formats: one of each kind, and the generated ones match their script."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

from ragforge.readers import read_file

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "corpora" / "sample"
KINDS = {".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".csv": "csv", ".epub": "epub", ".eml": "email",
         ".mbox": "email", ".ipynb": "notebook"}


def generator():
    spec = importlib.util.spec_from_file_location("make_sample_formats", ROOT / "scripts" / "make_sample_formats.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_file_of_each_new_kind_with_gold_questions():
    files = [p for p in SAMPLE.rglob("*") if p.suffix in KINDS]
    assert Counter(p.suffix for p in files) == Counter(list(KINDS))
    questions = [json.loads(line) for line in (SAMPLE / "questions.jsonl").read_text().splitlines() if line]
    questions = [q for q in questions if q.get("answerable", True)]
    asked = {source for q in questions for source in q["relevant"]}
    for path in files:
        doc = read_file(path, path.relative_to(SAMPLE).as_posix())
        assert doc.file_type == KINDS[path.suffix]
        assert doc.title != path.stem or path.suffix in (".csv", ".mbox")  # those have no title of their own
        assert len(doc.sections) >= 1 and doc.source in asked, doc.source


def test_slides_questions_point_at_slides():
    deck = read_file(SAMPLE / "astronomy" / "night_sky_workshop.pptx", "deck.pptx")
    assert [s.page for s in deck.sections] == [1, 2, 3, 4]


def test_generated_files_match_their_generator(tmp_path):
    module = generator()
    for path in module.write_all(tmp_path):
        relative = path.relative_to(tmp_path)
        fresh, committed = read_file(path, "x"), read_file(SAMPLE / relative, "x")
        stale = f"{relative} differs from its generator: rerun scripts/make_sample_formats.py"
        assert (fresh.text, fresh.sections, fresh.title) == (committed.text, committed.sections, committed.title), stale
