"""Shared reader plumbing: reading bytes with errors mapped to reasons, and text decoding."""

from __future__ import annotations

import codecs
import errno
import logging
import os
import stat
from pathlib import Path
from typing import BinaryIO

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


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: Path, source: str) -> BinaryIO:
    """Open a regular file for reading, never blocking: a FIFO, socket or device raises
    ``ReaderError(reason="not_regular")`` instead of hanging; OS errors map to vanished/unreadable."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)  # POSIX: opening a FIFO with no writer returns at once
    try:
        fd = os.open(path, os.O_RDONLY | nonblocking | getattr(os, "O_BINARY", 0))
    except FileNotFoundError as exc:
        if os.path.lexists(path):  # the name is there but its target is not: a dangling symlink
            raise ReaderError(f"{source}: broken symlink", path=source, reason="unreadable") from exc
        raise ReaderError(f"{source}: file vanished before it could be read", path=source,
                          reason="vanished") from exc
    except IsADirectoryError as exc:
        raise ReaderError(f"{source}: is a directory, not a file", path=source, reason="not_regular") from exc
    except PermissionError as exc:
        raise ReaderError(f"{source}: permission denied", path=source, reason="unreadable") from exc
    except OSError as exc:
        reasons = {errno.ELOOP: "symlink_loop", errno.ENXIO: "not_regular"}  # ENXIO: a socket
        raise ReaderError(f"{source}: cannot be opened ({exc.strerror or exc})", path=source,
                          reason=reasons.get(exc.errno or 0, "unreadable")) from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ReaderError(f"{source}: {file_kind(mode)}, not a regular file", path=source, reason="not_regular")
    if nonblocking:
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bytes(path: Path, source: str) -> bytes:
    """The bytes of a regular file; anything else, or an OS error, is a ``ReaderError`` with a reason."""
    with open_regular(path, source) as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise ReaderError(f"{source}: cannot be read ({exc.strerror or exc})", path=source,
                              reason="unreadable") from exc


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or a high share of control characters, in the first 8 KB."""
    head = data[:SNIFF_BYTES]
    if not head:
        return False
    if b"\x00" in head:
        return True
    return _control_ratio(head) > CONTROL_RATIO


def _control_ratio(head: bytes | str) -> float:
    codes = head if isinstance(head, bytes) else [ord(c) for c in head]
    controls = sum(1 for b in codes if (b < 32 and b not in _ALLOWED_CONTROLS) or b == 127)
    return controls / max(1, len(head))


def decode_text(data: bytes, source: str, declared: str | None = None) -> tuple[str, dict[str, str]]:
    """Decode bytes to text with newlines normalised to ``\\n``; never fails on text-like data.

    Order: a UTF-8/16/32 byte-order mark; UTF-16 without a BOM (recognised by its NUL-byte pattern);
    strict UTF-8; UTF-8 with a few bad bytes replaced (at most 1 in 1000 characters, and only when the
    file also holds valid multi-byte UTF-8); the ``declared`` encoding (e.g. an HTML ``<meta charset>``);
    cp1252; latin-1. Returns the text and metadata notes: ``encoding`` and, when anything but clean
    UTF-8 was used, ``encoding_note`` (also logged as a warning). Binary data raises
    ``ReaderError(reason="binary")``; a BOM followed by mostly undecodable bytes, ``reason="undecodable"``.
    """
    meta: dict[str, str] = {}
    codec = _unicode_codec(data)
    if codec is not None:
        text = data.decode(codec, errors="replace")
        meta["encoding"] = codec
        if _control_ratio(text[:SNIFF_BYTES]) > CONTROL_RATIO:
            raise ReaderError(f"{source}: looks like a binary file", path=source, reason="binary")
        bad = text.count("\ufffd")
        if bad > max(1, len(text) // 1000):
            raise ReaderError(f"{source}: looks like {codec} but {bad} characters cannot be decoded",
                              path=source, reason="undecodable")
        if bad:
            _note(meta, source, f"{bad} undecodable {codec} sequences replaced")
    else:
        if looks_binary(data):
            raise ReaderError(f"{source}: looks like a binary file", path=source, reason="binary")
        text = _decode_8bit(data, source, meta, declared)
    return normalize_newlines(text.lstrip("\ufeff")), meta


def _unicode_codec(data: bytes) -> str | None:
    """utf-16/utf-32 when the data starts with their BOM or looks like BOM-less UTF-16; else None."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    head = data[:SNIFF_BYTES - SNIFF_BYTES % 2]
    if len(head) >= 8 and b"\x00" in head:
        pairs = len(head) // 2
        odd_nuls, even_nuls = head[1::2].count(0), head[0::2].count(0)
        if odd_nuls > 0.4 * pairs and even_nuls == 0:
            return "utf-16-le"
        if even_nuls > 0.4 * pairs and odd_nuls == 0:
            return "utf-16-be"
    return None


def _decode_8bit(data: bytes, source: str, meta: dict[str, str], declared: str | None) -> str:
    try:
        meta["encoding"] = "utf-8"
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad <= max(1, len(text) // 1000) and any(ord(c) > 127 and c != "\ufffd" for c in text):
        _note(meta, source, f"not valid UTF-8; {bad} bad bytes replaced")
        return text
    for codec in (declared, "cp1252", "latin-1"):
        if not codec:
            continue
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        meta["encoding"] = codec
        _note(meta, source, f"not valid UTF-8; decoded as {codec}")
        return text
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _note(meta: dict[str, str], source: str, note: str) -> None:
    meta["encoding_note"] = note
    logger.warning("%s: %s", source, note)


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def require_text(text: str, source: str) -> None:
    """Raise ``ReaderError(reason="empty")`` when there is nothing but whitespace."""
    if not text.strip():
        raise ReaderError(f"{source}: no text", path=source, reason="empty")


def heading_sections(text: str, headings: list[tuple[int, int, str]]) -> tuple[Section, ...]:
    """Sections covering ``text``: a preamble (if any), then one per ``(offset, level, title)``.

    Each section's heading path holds the titles of the enclosing headings, outermost first. A heading
    with no text of its own that is directly followed by a deeper heading (``## Problems`` then
    ``### Split fruit``) does not get a section of its own: it opens the deeper heading's section, so no
    chunk is a bare heading.
    """
    sections: list[Section] = []
    if not headings or headings[0][0] > 0:
        sections.append(Section(start=0, end=headings[0][0] if headings else len(text)))
    stack: list[tuple[int, str]] = []
    pending: int | None = None  # start of a bare heading folded into the next section
    for index, (start, level, title) in enumerate(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = headings[index + 1][0] if index + 1 < len(headings) else len(text)
        section_start = start if pending is None else pending
        if index + 1 < len(headings) and headings[index + 1][1] > level and _bare_heading(text[start:end]):
            pending = section_start
            continue
        pending = None
        sections.append(Section(start=section_start, end=end, heading_path=tuple(t for _, t in stack if t)))
    return tuple(sections)


def _bare_heading(span: str) -> bool:
    """Whether a section's text is only its heading line (plus a setext underline)."""
    lines = [line.strip() for line in span.split("\n") if line.strip()]
    return len(lines) <= 1 or (len(lines) == 2 and set(lines[1]) <= {"=", "-"})
