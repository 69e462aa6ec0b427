"""Assembling a Document's text block by block (paragraphs, table rows, slides, messages) with its sections.

Readers of structured formats do not have one text to point into; they build it here and record, as they
go, where each heading or page (slide, sheet, message, chapter) starts. The text is capped at
``MAX_CHARS``: past it the reader stops, and the document's metadata says ``truncated``.
"""

from __future__ import annotations

from ragforge.readers._io import heading_sections, logger
from ragforge.types import Document, Section

MAX_CHARS = 5_000_000  # characters kept from one file (about 1,000 pages of prose)


class TextBuilder:
    """Blocks joined by blank lines, with headings (for heading paths) or marks (for page-like sections)."""

    def __init__(self, source: str, max_chars: int | None = None) -> None:
        self.source = source
        self.max_chars = MAX_CHARS if max_chars is None else max_chars
        self.truncated = False
        self._parts: list[str] = []
        self._length = 0
        self._headings: list[tuple[int, int, str]] = []
        self._marks: list[tuple[int, int | None, tuple[str, ...]]] = []
        self._pending: tuple[int | None, tuple[str, ...]] | None = None

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def add(self, block: str, gap: str = "\n\n") -> int | None:
        """Append ``block`` (trailing whitespace dropped) after ``gap``; its start offset, or None when the
        block is blank or the text is full."""
        block = block.rstrip()
        if not block.strip() or self.truncated:
            return None
        sep = gap if self._length else ""
        room = self.max_chars - self._length - len(sep)
        if room <= 0:
            self._truncate()
            return None
        if len(block) > room:
            block = block[:room]
            self._truncate()
        self._parts.append(sep)
        self._length += len(sep)
        start = self._length
        if self._pending is not None:
            self._marks.append((start, *self._pending))
            self._pending = None
        self._parts.append(block)
        self._length += len(block)
        return start

    def heading(self, level: int, title: str) -> None:
        """A heading line; ``heading_sections`` nests the blocks after it under ``title``."""
        title = " ".join(title.split())
        start = self.add(title)
        if start is not None:
            self._headings.append((start, level, title))

    def mark(self, *, page: int | None = None, heading_path: tuple[str, ...] = ()) -> None:
        """Start a new section (a slide, a sheet, a message) at the next block added."""
        self._pending = (page, tuple(" ".join(t.split()) for t in heading_path if t.strip()))

    def add_document(self, doc: Document, prefix: tuple[str, ...] = (), intro: str = "") -> None:
        """Append another document's text with its sections (pages kept, heading paths under ``prefix``),
        after an ``intro`` paragraph (e.g. ``Attachment: NAME``) that joins its first section."""
        self._pending = None
        lead = intro + "\n\n" if intro else ""
        start = self.add(lead + doc.text)
        if start is None:
            return
        for index, section in enumerate(doc.section_spans()):
            at = start if index == 0 else start + len(lead) + section.start
            if at < self._length:
                self._marks.append((at, section.page, prefix + section.heading_path))

    def heading_sections(self) -> tuple[Section, ...]:
        """Sections from the recorded headings (each with its heading path), covering the text."""
        return heading_sections(self.text, self._headings)

    def marked_sections(self) -> tuple[Section, ...]:
        """Sections from the marks: each runs to the next mark; text before the first is a section too."""
        marks: dict[int, tuple[int | None, tuple[str, ...]]] = {}
        for start, page, path in self._marks:
            marks[start] = (page, path)  # a later mark at the same place wins (an empty slide's mark)
        starts = sorted(marks)
        sections = []
        if not starts or starts[0] > 0:
            sections.append(Section(start=0, end=starts[0] if starts else self._length))
        for index, start in enumerate(starts):
            end = starts[index + 1] if index + 1 < len(starts) else self._length
            page, path = marks[start]
            sections.append(Section(start=start, end=end, page=page, heading_path=path))
        return tuple(sections)

    def metadata(self) -> dict[str, object]:
        return {"truncated": True} if self.truncated else {}

    def _truncate(self) -> None:
        if not self.truncated:
            self.truncated = True
            logger.warning("%s: text cut at %d characters; the rest of the file is not indexed", self.source,
                           self.max_chars)
