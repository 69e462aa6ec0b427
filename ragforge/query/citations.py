"""Citation markers in an answer: parse ``[n]`` / ``[n, m]`` / ``[n-m]``, map them to the prompt's hits,
verify quotes against the chunk text, and compute spans in source coordinates.

* A number ``n`` names the n-th context block of the prompt (``hits[n - 1]``).
* Numbers that name no block are removed from the text and reported in ``dropped``.
* A quote is *verified* when it is a substring of the chunk's text after whitespace normalisation and
  case folding; its span is then ``chunk.start + offset`` in the source document's text. An unverified
  quote keeps the whole chunk as its span.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ragforge.types import Citation, Hit

MARKER = re.compile(r"\[\s*(\d+(?:\s*(?:,|-|–)\s*\d+)*)\s*\]")


def marker_numbers(body: str) -> list[int]:
    """``"1, 3-4"`` -> ``[1, 3, 4]`` (ranges expanded; at most 50 numbers per range)."""
    numbers: list[int] = []
    for part in body.split(","):
        part = part.strip()
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            low, high = int(bounds[0]), int(bounds[1])
            numbers.extend(range(low, min(high, low + 50) + 1))
        elif part.isdigit():
            numbers.append(int(part))
    return numbers


def cited_numbers(text: str) -> list[int]:
    """Every number cited in ``text``, in order of first appearance, without repeats."""
    seen: list[int] = []
    for match in MARKER.finditer(text):
        for n in marker_numbers(match.group(1)):
            if n not in seen:
                seen.append(n)
    return seen


def clean_markers(text: str, valid: Iterable[int]) -> tuple[str, list[int]]:
    """Remove unknown numbers from the markers; return the new text and the dropped numbers."""
    allowed = set(valid)
    dropped: list[int] = []

    def fix(match: re.Match[str]) -> str:
        numbers = marker_numbers(match.group(1))
        keep = [n for n in dict.fromkeys(numbers) if n in allowed]
        dropped.extend(n for n in numbers if n not in allowed and n not in dropped)
        return "[" + ", ".join(map(str, keep)) + "]" if keep else ""

    cleaned = MARKER.sub(fix, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), dropped


def _normalise(text: str) -> tuple[str, list[int]]:
    """Case-folded text with whitespace runs collapsed to one space, and each char's original offset."""
    out: list[str] = []
    index: list[int] = []
    in_space = False
    for i, char in enumerate(text):
        if char.isspace():
            if not in_space and out:
                out.append(" ")
                index.append(i)
            in_space = True
            continue
        in_space = False
        for folded in char.lower():
            out.append(folded)
            index.append(i)
    return "".join(out), index


def _strip_quote(quote: str) -> str:
    return quote.strip().strip("\"'“”‘’").strip().rstrip(".").strip()


def locate_quote(quote: str, text: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``text`` (whitespace- and case-insensitive), or None if absent."""
    needle, _ = _normalise(_strip_quote(quote))
    if not needle:
        return None
    hay, index = _normalise(text)
    pos = hay.find(needle)
    if pos < 0:
        return None
    return index[pos], index[pos + len(needle) - 1] + 1


@dataclass
class ResolvedCitations:
    text: str
    citations: list[Citation]
    dropped: list[int] = field(default_factory=list)


def make_citation(number: int, hit: Hit, quote: str = "") -> Citation:
    """A citation of ``hit`` as block ``number``; the quote is checked against the chunk's text."""
    chunk = hit.chunk
    span = locate_quote(quote, chunk.text) if quote else None
    if span is None:
        return Citation(number=number, chunk_id=chunk.id, source=chunk.source, page=chunk.page,
                        start=chunk.start, end=chunk.end, quote=quote.strip(), verified=False)
    start, end = span
    return Citation(number=number, chunk_id=chunk.id, source=chunk.source, page=chunk.page,
                    start=chunk.start + start, end=chunk.start + end, quote=chunk.text[start:end],
                    verified=True)


def resolve_citations(text: str, hits: Sequence[Hit], quotes: dict[int, list[str]] | None = None) -> ResolvedCitations:
    """Clean the markers of ``text`` against ``hits`` and build one citation per (number, quote).

    ``quotes`` maps block numbers to the spans the model quoted (structured replies); a number cited in
    the text without a quote still gets a citation (unverified, whole-chunk span). Quotes for numbers
    the text does not cite are ignored; quotes for unknown numbers are dropped like markers.
    """
    quotes = quotes or {}
    valid = range(1, len(hits) + 1)
    cleaned, dropped = clean_markers(text, valid)
    for n in quotes:
        if n not in valid and n not in dropped:
            dropped.append(n)
    citations: list[Citation] = []
    for n in cited_numbers(cleaned):
        given = [q for q in quotes.get(n, []) if q.strip()] or [""]
        for quote in dict.fromkeys(given):
            citations.append(make_citation(n, hits[n - 1], quote))
    return ResolvedCitations(text=cleaned, citations=citations, dropped=sorted(dropped))
