"""PDF files via pypdf: one section per page (pages are 1-based), pages joined with a blank line.

pypdf raises many kinds of exceptions on damaged files; they are caught here and re-raised as
``ReaderError`` with reason ``corrupt`` or ``encrypted``. A page whose text cannot be extracted is
skipped with a warning; the other pages are kept with their real page numbers.
"""

from __future__ import annotations

import io
from itertools import pairwise
from pathlib import Path
from typing import Any

from ragforge.errors import ReaderError
from ragforge.readers._io import logger, normalize_newlines, read_bytes
from ragforge.types import Document, Section

PAGE_SEPARATOR = "\n\n"


def _open(data: bytes, source: str) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    if not data.strip():
        raise ReaderError(f"{source}: empty file", path=source, reason="empty")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _decrypt(reader, source)
        len(reader.pages)  # forces the page tree to be parsed
    except ReaderError:
        raise
    except DependencyError as exc:
        raise ReaderError(f"{source}: AES-encrypted PDF; `pip install cryptography` lets ragforge read it "
                          f"({exc})", path=source, reason="encrypted") from exc
    except FileNotDecryptedError as exc:
        raise ReaderError(f"{source}: encrypted PDF ({exc})", path=source, reason="encrypted") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError,
            RecursionError, OSError, UnicodeError, ZeroDivisionError) as exc:
        raise ReaderError(f"{source}: damaged PDF ({type(exc).__name__}: {exc})", path=source,
                          reason="corrupt") from exc
    return reader


def _decrypt(reader: Any, source: str) -> None:
    from pypdf import PasswordType

    try:
        result = reader.decrypt("")
    except NotImplementedError as exc:  # an encryption scheme pypdf does not implement
        raise ReaderError(f"{source}: unsupported PDF encryption ({exc})", path=source,
                          reason="encrypted") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise ReaderError(f"{source}: encrypted PDF needs a password", path=source, reason="encrypted")
    if len(reader.pages):
        reader.pages[0].get_contents()  # AES without the cryptography package raises DependencyError here


def _page_texts(reader: Any, source: str) -> list[tuple[int, str]]:
    from pypdf.errors import DependencyError

    pages: list[tuple[int, str]] = []
    for number in range(1, len(reader.pages) + 1):
        try:
            text = reader.pages[number - 1].extract_text() or ""
        except DependencyError as exc:  # AES needs the cryptography package; the file itself is fine
            raise ReaderError(f"{source}: AES-encrypted PDF; `pip install cryptography` lets ragforge read it "
                              f"({exc})", path=source, reason="encrypted") from exc
        except Exception as exc:  # noqa: BLE001 - pypdf raises anything on a bad page; skip just that page
            logger.warning("%s: page %d skipped, text extraction failed (%s: %s)", source, number,
                           type(exc).__name__, exc)
            continue
        pages.append((number, normalize_newlines(text).replace("\x00", "").rstrip()))
    return pages


def _title(reader: Any, path: Path) -> str:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - a damaged info dictionary only costs us the title
        title = None
    return title.strip() if isinstance(title, str) and title.strip() else Path(path).stem


def read_pdf(path: Path, source: str) -> Document:
    """Read a PDF. The title is the metadata title, else the file stem."""
    reader = _open(read_bytes(path, source), source)
    if len(reader.pages) == 0:
        raise ReaderError(f"{source}: PDF has no pages", path=source, reason="corrupt")
    pages = _page_texts(reader, source)
    if not pages:
        raise ReaderError(f"{source}: no page could be read", path=source, reason="corrupt")
    if not any(text.strip() for _, text in pages):
        raise ReaderError(f"{source}: no extractable text (scanned images?)", path=source, reason="empty")
    parts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for number, text in pages:
        if parts:
            parts.append(PAGE_SEPARATOR)
            offset += len(PAGE_SEPARATOR)
        parts.append(text)
        sections.append(Section(start=offset, end=offset + len(text), page=number))
        offset += len(text)
    meta: dict[str, Any] = {"pages": len(reader.pages)}
    skipped = len(reader.pages) - len(pages)
    if skipped:
        meta["skipped_pages"] = [n for n in range(1, len(reader.pages) + 1) if n not in dict(pages)]
    text = "".join(parts)
    # Each page's section runs up to the next page's start, so the sections cover the text with no gaps.
    sections = [
        Section(start=sec.start, end=nxt.start, page=sec.page) for sec, nxt in pairwise(sections)
    ] + [sections[-1]]
    return Document(
        source=source,
        text=text,
        file_type="pdf",
        title=_title(reader, path),
        sections=tuple(sections),
        metadata=meta,
    )
