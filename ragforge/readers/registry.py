"""The reader registry: file suffix -> reader function, and ``read_file``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ragforge.errors import UnsupportedFormatError
from ragforge.readers.html import read_html
from ragforge.readers.markdown import read_markdown
from ragforge.readers.pdf import read_pdf
from ragforge.readers.text import read_text
from ragforge.types import Document

Reader = Callable[[Path, str], Document]

READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".text": read_text,
    ".rst": read_text,  # read as plain text: no reStructuredText parsing
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".pdf": read_pdf,
    ".html": read_html,
    ".htm": read_html,
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(READERS)


def reader_for(path: Path | str) -> Reader | None:
    """The reader for this path's suffix (case-insensitive), or None when the format is not supported."""
    return READERS.get(Path(path).suffix.lower())


def read_file(path: Path | str, source: str | None = None) -> Document:
    """Read one file into a Document. ``source`` defaults to the path as given (POSIX form).

    Raises ``ReaderError`` (``.reason`` one of binary, empty, corrupt, encrypted, undecodable, unreadable,
    vanished) or ``UnsupportedFormatError`` (reason ``unsupported``).
    """
    path = Path(path)
    source = source if source is not None else path.as_posix()
    reader = reader_for(path)
    if reader is None:
        raise UnsupportedFormatError(f"{source}: no reader for {path.suffix or 'files without a suffix'!r}",
                                     path=source, reason="unsupported")
    return reader(path, source)
