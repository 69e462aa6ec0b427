"""The model-free splitters: spans are trimmed and point into the text."""

from __future__ import annotations

from ragforge.chunking import split_paragraphs, split_sentences, split_words

TEXT = ("  First sentence. Second one!  Third?\n\n"
        "New paragraph (with \"quotes.\") Here: a list:\n- item one\n- item two\n\n\n")


def pieces(spans, text=TEXT):
    for start, end in spans:
        assert text[start:end] == text[start:end].strip() != ""
    return [text[s:e] for s, e in spans]


def test_paragraphs():
    assert pieces(split_paragraphs(TEXT)) == [
        "First sentence. Second one!  Third?",
        "New paragraph (with \"quotes.\") Here: a list:\n- item one\n- item two",
    ]


def test_sentences():
    assert pieces(split_sentences(TEXT)) == [
        "First sentence.", "Second one!", "Third?",
        "New paragraph (with \"quotes.\")", "Here: a list:", "- item one", "- item two",
    ]


def test_sentences_in_a_range():
    start = TEXT.index("Second")
    end = TEXT.index("Third") + len("Third?")
    assert pieces(split_sentences(TEXT, start, end)) == ["Second one!", "Third?"]


def test_hard_wrapped_lines_stay_one_sentence():
    text = "This sentence is wrapped\nacross two lines. Next."
    assert pieces(split_sentences(text), text) == ["This sentence is wrapped\nacross two lines.", "Next."]


def test_words():
    assert pieces(split_words("  a bb\tccc\n"), "  a bb\tccc\n") == ["a", "bb", "ccc"]
    assert split_words("   ") == []
