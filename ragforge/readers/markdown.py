"""Markdown files: one section per heading, each with its heading path (e.g. ``("Guide", "Install")``).

ATX headings (``#`` .. ``######``) and single-line setext headings (underlined with ``===``/``---``) are
recognised; headings inside fenced code blocks (``` or ~~~) and YAML front matter are ignored. The text is
kept as written, so offsets point into the raw Markdown.
"""

from __future__ import annotations

import re
from pathlib import Path

from ragforge.readers._io import decode_text, heading_sections, read_bytes, require_text
from ragforge.types import Document, Section

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(r"^(?: {4}|\t| {0,3}(?:[>*+\-]|\d{1,9}[.)])(?:\s|$))")


def _front_matter_end(lines: list[str]) -> int:
    """Number of lines taken by YAML front matter (``---`` ... ``---``/``...``) at the top, else 0."""
    if lines and lines[0].rstrip() == "---":
        for index in range(1, len(lines)):
            if lines[index].rstrip() in ("---", "..."):
                return index + 1
    return 0


def _closes(fence: str, marker: str, line: str) -> bool:
    """A closing fence: the same character, at least as long, and nothing else on the line."""
    return marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip().lstrip(fence[0])


def parse_headings(text: str) -> list[tuple[int, int, str]]:
    """``(offset, level, title)`` of every heading outside fenced code blocks and front matter, in order.

    ATX headings (``#`` .. ``######``) and setext headings (a paragraph line underlined with ``===`` for
    level 1 or ``---`` for level 2) are recognised.
    """
    headings: list[tuple[int, int, str]] = []
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    fence: str | None = None
    prose = False  # the previous line is paragraph text that a setext underline could turn into a heading
    for index in range(_front_matter_end(lines), len(lines)):
        line = lines[index]
        fence_match = _FENCE.match(line)
        if fence is not None:
            if fence_match and _closes(fence, fence_match.group(1), line):
                fence = None
            prose = False
        elif fence_match:
            fence, prose = fence_match.group(1), False
        elif (match := _ATX.match(line)) is not None:
            headings.append((offsets[index], len(match.group(1)), (match.group(2) or "").strip()))
            prose = False
        elif prose and (setext := _SETEXT.match(line)) is not None:
            level = 1 if setext.group(1)[0] == "=" else 2
            headings.append((offsets[index - 1], level, lines[index - 1].strip()))
            prose = False
        else:
            prose = bool(line.strip()) and not _NOT_PARAGRAPH.match(line) and \
                not (index > 0 and lines[index - 1].strip() and not _NOT_PARAGRAPH.match(lines[index - 1]))
    return headings


def markdown_sections(text: str) -> tuple[Section, ...]:
    """Sections that cover ``text``: a preamble (if any) then one per heading, heading line included."""
    return heading_sections(text, parse_headings(text))


def read_markdown(path: Path, source: str) -> Document:
    """Read a Markdown file. The title is the first heading's text, else the file stem."""
    text, meta = decode_text(read_bytes(path, source), source)
    require_text(text, source)
    headings = parse_headings(text)
    first_h1 = next((t for _, level, t in headings if level == 1 and t), None)
    title = first_h1 or next((t for _, _, t in headings if t), None) or Path(path).stem
    return Document(
        source=source,
        text=text,
        file_type="markdown",
        title=title,
        sections=markdown_sections(text),
        metadata=meta,
    )
