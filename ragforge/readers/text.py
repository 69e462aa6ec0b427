"""Plain text files (.txt, .text, .rst): one section covering the whole text."""

from __future__ import annotations

from pathlib import Path

from ragforge.readers._io import decode_text, read_bytes, require_text
from ragforge.types import Document, Section


def read_text(path: Path, source: str) -> Document:
    """Read a plain text file. The title is the file stem."""
    text, meta = decode_text(read_bytes(path, source), source)
    require_text(text, source)
    return Document(
        source=source,
        text=text,
        file_type="text",
        title=Path(path).stem,
        sections=(Section(start=0, end=len(text)),),
        metadata=meta,
    )
