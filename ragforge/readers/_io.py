"""Shared reader plumbing: reading bytes with errors mapped to reasons, and text decoding."""

from __future__ import annotations

import codecs
import logging
import os
from pathlib import Path

from ragforge.errors import ReaderError
from ragforge.types import Section

logger = logging.getLogger("ragforge.readers")

SNIFF_BYTES = 8192
CONTROL_RATIO = 0.10  # more control characters than this in the first 8 KB means "binary"
_ALLOWED_CONTROLS = frozenset(b"\t\n\r\f\v\b\x1b")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: FF FE 00 00 starts with the UTF-16 LE BOM
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_bytes(path: Path, source: str) -> bytes:
    """The file's bytes; OS errors become ``ReaderError`` with reason vanished/unreadable."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        if os.path.lexists(path):  # the name is there but its target is not: a dangling symlink
            raise ReaderError(f"{source}: broken symlink", path=source, reason="unreadable") from exc
        raise ReaderError(f"{source}: file vanished before it could be read", path=source,
                          reason="vanished") from exc
    except IsADirectoryError as exc:
        raise ReaderError(f"{source}: is a directory, not a file", path=source, reason="unreadable") from exc
    except PermissionError as exc:
        raise ReaderError(f"{source}: permission denied", path=source, reason="unreadable") from exc
    except OSError as exc:
        raise ReaderError(f"{source}: cannot be read ({exc})", path=source, reason="unreadable") from exc


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or a high share of control characters, in the first 8 KB."""
    head = data[:SNIFF_BYTES]
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if (b < 32 and b not in _ALLOWED_CONTROLS) or b == 127)
    return controls / len(head) > CONTROL_RATIO


def decode_text(data: bytes, source: str) -> tuple[str, dict[str, str]]:
    """Decode bytes to text with newlines normalised to ``\\n``; never fails on valid-looking text.

    Order: UTF-8 (BOM stripped), UTF-16/32 by BOM, then cp1252, then latin-1. Returns the text and
    metadata notes (``encoding`` and, for a fallback, ``encoding_note``). Binary data raises
    ``ReaderError(reason="binary")``.
    """
    meta: dict[str, str] = {}
    text: str | None = None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise ReaderError(f"{source}: has a {codec} byte-order mark but is not valid {codec}",
                                  path=source, reason="undecodable") from exc
            meta["encoding"] = codec
            break
    if text is None:
        if looks_binary(data):
            raise ReaderError(f"{source}: looks like a binary file", path=source, reason="binary")
        text = _decode_8bit(data, source, meta)
    text = text.lstrip("\ufeff")
    return normalize_newlines(text), meta


def _decode_8bit(data: bytes, source: str, meta: dict[str, str]) -> str:
    try:
        text = data.decode("utf-8-sig")
        meta["encoding"] = "utf-8"
        return text
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
        meta["encoding"] = "cp1252"
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        meta["encoding"] = "latin-1"
    meta["encoding_note"] = f"not valid UTF-8; decoded as {meta['encoding']}"
    logger.warning("%s: not valid UTF-8, decoded as %s", source, meta["encoding"])
    return text


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def require_text(text: str, source: str) -> None:
    """Raise ``ReaderError(reason="empty")`` when there is nothing but whitespace."""
    if not text.strip():
        raise ReaderError(f"{source}: no text", path=source, reason="empty")


def heading_sections(length: int, headings: list[tuple[int, int, str]]) -> tuple[Section, ...]:
    """Sections covering ``[0, length)``: a preamble (if any), then one per ``(offset, level, title)``.

    Each section's heading path holds the titles of the enclosing headings, outermost first.
    """
    sections: list[Section] = []
    if not headings or headings[0][0] > 0:
        sections.append(Section(start=0, end=headings[0][0] if headings else length))
    stack: list[tuple[int, str]] = []
    for index, (start, level, title) in enumerate(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = headings[index + 1][0] if index + 1 < len(headings) else length
        sections.append(Section(start=start, end=end, heading_path=tuple(t for _, t in stack if t)))
    return tuple(sections)
