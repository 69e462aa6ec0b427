"""The shipped sample corpus: every file reads, PDFs keep their pages, gold answers are where they say."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ragforge.chunking import chunk_document, whitespace_tokens
from ragforge.config import WalkConfig
from ragforge.readers import read_file, walk

SAMPLE = Path(__file__).resolve().parents[2] / "corpora" / "sample"


@pytest.fixture(scope="module")
def docs():
    result = walk(SAMPLE, WalkConfig())
    assert result.skipped == []
    return {f.source: read_file(f.path, f.source) for f in result.files}


def test_corpus_shape(docs):
    assert 25 <= len(docs) <= 40
    kinds = Counter(d.file_type for d in docs.values())
    assert kinds["markdown"] >= 5 and kinds["text"] >= 5 and kinds["html"] >= 3 and kinds["pdf"] >= 2
    assert sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file()) < 2 * 1024 * 1024
    for doc in docs.values():
        assert doc.title and doc.text.strip()


def test_pdfs_have_pages(docs):
    pdfs = [d for d in docs.values() if d.file_type == "pdf"]
    for doc in pdfs:
        pages = [s.page for s in doc.sections]
        assert 2 <= len(pages) <= 4 and pages == list(range(1, len(pages) + 1))
        assert doc.title != Path(doc.source).stem  # the metadata title was read


def test_sample_pdfs_match_their_generator(tmp_path):
    import importlib.util

    script = SAMPLE.parents[1] / "scripts" / "make_sample_pdfs.py"
    spec = importlib.util.spec_from_file_location("make_sample_pdfs", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for relative, (title, pages) in module.DOCUMENTS.items():
        fresh = module.write_pdf(tmp_path / relative, title, pages)
        stale = f"{relative} differs from its generator: rerun scripts/make_sample_pdfs.py"
        assert fresh.read_bytes() == (SAMPLE / relative).read_bytes(), stale


def test_gold_questions(docs):
    lines = (SAMPLE / "questions.jsonl").read_text().splitlines()
    every = [json.loads(line) for line in lines if line.strip()]
    assert len({q["id"] for q in every}) == len(every)
    unanswerable = [q for q in every if q.get("answerable", True) is False]  # for `eval answers`' refusals
    assert len(unanswerable) >= 10 and all(set(q) == {"id", "question", "answerable"} for q in unanswerable)
    questions = [q for q in every if q not in unanswerable]
    assert len(questions) >= 20
    on_pdf_pages = 0
    for q in questions:
        assert set(q) <= {"id", "question", "relevant", "page", "answer"} and q["question"].endswith("?")
        for source in q["relevant"]:
            doc = docs[source]
            text = doc.text
            if "page" in q:
                section = next(s for s in doc.sections if s.page == q["page"])
                text = text[section.start:section.end]
                on_pdf_pages += 1
            assert q["answer"] in text, q["id"]
    assert on_pdf_pages >= 4


def test_corpus_chunks_keep_the_invariant(docs):
    for doc in docs.values():
        for chunk in chunk_document(doc, max_tokens=64, overlap_tokens=8, count_tokens=whitespace_tokens):
            assert doc.text[chunk.start:chunk.end] == chunk.text
            assert whitespace_tokens(chunk.text) <= 64
