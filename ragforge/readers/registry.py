"""The reader registry: file suffix -> reader function, asked at run time by ``read_file`` and the walk.

    from ragforge.readers import register_reader

    def read_rtf(path: Path, source: str) -> Document: ...
    register_reader([".rtf"], read_rtf)

A separate package can add a reader through the ``ragforge.readers`` entry-point group (the entry point's
name is the suffix, its value the reader function). A reader is ``(path, source) -> Document`` and raises
``ReaderError(reason=...)`` for a file it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ragforge._registry import Registry
from ragforge.errors import ConfigError, UnsupportedFormatError
from ragforge.readers.epub import read_epub
from ragforge.readers.html import read_html
from ragforge.readers.mail import read_eml, read_mbox
from ragforge.readers.markdown import read_markdown
from ragforge.readers.notebook import read_notebook
from ragforge.readers.pdf import read_pdf
from ragforge.readers.sheets import read_csv, read_xlsx
from ragforge.readers.slides import read_pptx
from ragforge.readers.text import read_text
from ragforge.readers.word import read_docx
from ragforge.types import Document

Reader = Callable[[Path, str], Document]


def _suffix(name: str) -> str:
    name = name.strip().lower()
    return name if name.startswith(".") else "." + name


_READERS: Registry[Reader] = Registry("ragforge.readers", "reader", normalise=_suffix)


def register_reader(suffixes: str | Iterable[str], reader: Reader) -> None:
    """Read files with these suffixes (``".rtf"`` or ``"rtf"``, any case) with ``reader``; replaces any
    earlier reader of the same suffix. The folder walk picks the new suffixes up at once."""
    if not callable(reader):
        raise ConfigError(f"a reader must be callable as reader(path, source), not {type(reader).__name__}")
    for suffix in [suffixes] if isinstance(suffixes, str) else list(suffixes):
        _READERS.register(suffix, reader)


def unregister_reader(suffixes: str | Iterable[str]) -> None:
    """Forget the readers of these suffixes (files with them are then skipped as unsupported)."""
    for suffix in [suffixes] if isinstance(suffixes, str) else list(suffixes):
        _READERS.unregister(suffix)


def supported_suffixes() -> frozenset[str]:
    """Every suffix with a reader, now (built-ins, registrations and plug-ins)."""
    return _READERS.names()


register_reader([".txt", ".text", ".rst"], read_text)  # .rst read as plain text: no reStructuredText parsing
register_reader([".md", ".markdown"], read_markdown)
register_reader(".pdf", read_pdf)
register_reader([".html", ".htm"], read_html)
register_reader(".docx", read_docx)
register_reader(".pptx", read_pptx)
register_reader([".xlsx", ".xlsm"], read_xlsx)
register_reader([".csv", ".tsv"], read_csv)
register_reader(".epub", read_epub)
register_reader(".eml", read_eml)
register_reader(".mbox", read_mbox)
register_reader(".ipynb", read_notebook)


def reader_for(path: Path | str) -> Reader | None:
    """The reader for this path's suffix (case-insensitive), or None when the format is not supported."""
    suffix = Path(path).suffix
    return _READERS.get(suffix) if suffix else None


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
