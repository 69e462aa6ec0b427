"""Readers: path -> Document, one module per format, a registry by suffix, and folder walking.

    walk(folder, WalkConfig) -> WalkResult(files=[FileEntry], skipped=[Skipped])
    register_reader([".rtf"], read_rtf)           the walk and read_file ask the registry at run time
    read_file(path, source) -> Document          raises ReaderError(reason=...) on bad input

Warnings (a skipped PDF page, a non-UTF-8 text file) go to the ``ragforge.readers`` logger.
"""

from __future__ import annotations

from ragforge.readers._io import decode_text, looks_binary
from ragforge.readers.html import read_html
from ragforge.readers.markdown import read_markdown
from ragforge.readers.pdf import read_pdf
from ragforge.readers.registry import (
    read_file,
    reader_for,
    register_reader,
    supported_suffixes,
    unregister_reader,
)
from ragforge.readers.text import read_text
from ragforge.readers.walk import FileEntry, Skipped, WalkResult, glob_match, walk

__all__ = [
    "FileEntry",
    "Skipped",
    "WalkResult",
    "decode_text",
    "glob_match",
    "looks_binary",
    "read_file",
    "read_html",
    "read_markdown",
    "read_pdf",
    "read_text",
    "reader_for",
    "register_reader",
    "supported_suffixes",
    "unregister_reader",
    "walk",
]
