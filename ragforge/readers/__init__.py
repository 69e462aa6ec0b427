"""Readers: path -> Document, one module per format, a registry by suffix, and folder walking.

    walk(folder, WalkConfig) -> WalkResult(files=[FileEntry], skipped=[Skipped])
    register_reader([".rtf"], read_rtf)           the walk and read_file ask the registry at run time
    built in: .txt .text .rst .md .markdown .pdf .html .htm .docx .pptx .xlsx .xlsm .csv .tsv .epub .eml
              .mbox .ipynb (Office files through python-docx, python-pptx and openpyxl, imported on use)
    read_file(path, source) -> Document          raises ReaderError(reason=...) on bad input

Warnings (a skipped PDF page, a non-UTF-8 text file) go to the ``ragforge.readers`` logger.
"""

from __future__ import annotations

from ragforge.readers._io import decode_text, looks_binary
from ragforge.readers.epub import read_epub
from ragforge.readers.html import read_html
from ragforge.readers.mail import read_eml, read_mbox
from ragforge.readers.markdown import read_markdown
from ragforge.readers.notebook import read_notebook
from ragforge.readers.pdf import read_pdf
from ragforge.readers.registry import (
    read_file,
    reader_for,
    register_reader,
    supported_suffixes,
    unregister_reader,
)
from ragforge.readers.sheets import read_csv, read_xlsx
from ragforge.readers.slides import read_pptx
from ragforge.readers.text import read_text
from ragforge.readers.walk import FileEntry, Skipped, WalkResult, glob_match, walk
from ragforge.readers.word import read_docx

__all__ = [
    "FileEntry",
    "Skipped",
    "WalkResult",
    "decode_text",
    "glob_match",
    "looks_binary",
    "read_csv",
    "read_docx",
    "read_eml",
    "read_epub",
    "read_file",
    "read_html",
    "read_markdown",
    "read_mbox",
    "read_notebook",
    "read_pdf",
    "read_pptx",
    "read_text",
    "read_xlsx",
    "reader_for",
    "register_reader",
    "supported_suffixes",
    "unregister_reader",
    "walk",
]
