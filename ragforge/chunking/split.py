"""Model-free text splitting: paragraphs, sentences and words as ``(start, end)`` character spans.

Spans are trimmed (no leading or trailing whitespace) and point into the text given, so
``text[start:end]`` is always the piece itself.
"""

from __future__ import annotations

import re

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
# A sentence ends at . ! ? (or …) plus any closing quotes/brackets, followed by whitespace; a line that
# starts a Markdown list item, heading, quote or table row also starts a new sentence.
_SENTENCE_BREAK = re.compile(
    r"[.!?\u2026][\"'\u201d\u2019)\]]*(\s+)"
    r"|(\n)(?=[ \t]*(?:[#>|*+\-]|\d{1,3}[.)])\s)"
    r"|:(\n)"
)
_WORD = re.compile(r"\S+")


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _split(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for match in pattern.finditer(text, start, end):
        group = match.lastindex or 0  # the separator is the last group that matched, else the whole match
        span = _trimmed(text, pos, match.start(group))
        if span:
            spans.append(span)
        pos = match.end()
    span = _trimmed(text, pos, end)
    if span:
        spans.append(span)
    return spans


def split_paragraphs(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the paragraphs (separated by blank lines) in ``text[start:end]``."""
    return _split(text, _PARAGRAPH_BREAK, start, len(text) if end is None else end)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the sentences in ``text[start:end]``; never joins across a paragraph break.

    Sentence ends are found by punctuation followed by whitespace, so abbreviations such as "e.g."
    may end a sentence early; that costs a little context, never text.
    """
    spans: list[tuple[int, int]] = []
    for p_start, p_end in split_paragraphs(text, start, end):
        spans.extend(_split(text, _SENTENCE_BREAK, p_start, p_end))
    return spans


def split_words(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the whitespace-separated words in ``text[start:end]``."""
    return [m.span() for m in _WORD.finditer(text, start, len(text) if end is None else end)]
