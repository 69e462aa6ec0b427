"""Zip containers (.docx, .pptx, .xlsx, .epub) opened with limits, so a zip bomb is refused, not unpacked.

The limits are checked against the central directory before anything is decompressed. Python's ``zipfile``
never returns more bytes for a member than the directory declares (and fails the CRC check when a member
holds more), so the declared sizes bound what any library reading the archive can unpack.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from ragforge.errors import ReaderError

MAX_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # all members together, as declared
MAX_RATIO = 200  # unpacked / packed for any member over RATIO_FLOOR bytes; real documents stay under ~30
RATIO_FLOOR = 1024 * 1024
# What python-docx, python-pptx and openpyxl raise on a damaged package (lxml's XMLSyntaxError is a
# SyntaxError); a reader turns any of them into ReaderError(reason="corrupt") with ``damaged``.
DAMAGE: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, KeyError, ValueError, TypeError, AttributeError,
    IndexError, OSError, SyntaxError, EOFError, NotImplementedError, RecursionError)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def open_zip(data: bytes, source: str, kind: str) -> zipfile.ZipFile:
    """The archive in ``data``, checked against the limits; ``kind`` (e.g. "Word document") is for messages.

    Raises ``ReaderError``: ``empty`` for no bytes, ``encrypted`` for a password-protected Office file
    (an OLE container holding an EncryptedPackage stream) or zip, ``corrupt`` for anything that is not a
    sound zip or that unpacks to more than the limits allow.
    """
    if not data.strip():
        raise ReaderError(f"{source}: empty file", path=source, reason="empty")
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise ReaderError(f"{source}: password-protected {kind}; save an unprotected copy to index it",
                              path=source, reason="encrypted")
        raise ReaderError(f"{source}: an old binary Office file renamed as a {kind}; save it in the new "
                          f"format (File > Save As) to index it", path=source, reason="corrupt")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise ReaderError(f"{source}: damaged {kind} (not a readable zip: {exc})", path=source,
                          reason="corrupt") from exc
    _check_limits(members, source, kind)
    if any(member.flag_bits & 0x1 for member in members):  # zip-level encryption
        raise ReaderError(f"{source}: {kind} with password-protected parts; it cannot be indexed",
                          path=source, reason="encrypted")
    return archive


def _check_limits(members: list[zipfile.ZipInfo], source: str, kind: str) -> None:
    if len(members) > MAX_MEMBERS:
        raise ReaderError(f"{source}: {kind} holds {len(members)} parts (more than {MAX_MEMBERS}); "
                          f"refused as a possible zip bomb", path=source, reason="corrupt")
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED_BYTES:
        raise ReaderError(f"{source}: {kind} would unpack to {total} bytes (more than {MAX_UNPACKED_BYTES}); "
                          f"refused as a possible zip bomb", path=source, reason="corrupt")
    for member in members:
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(1, member.compress_size):
            raise ReaderError(f"{source}: {member.filename} in this {kind} is compressed "
                              f"{member.file_size // max(1, member.compress_size)}:1; refused as a possible "
                              f"zip bomb", path=source, reason="corrupt")


def read_member(archive: zipfile.ZipFile, name: str, source: str, kind: str) -> bytes:
    """One member's bytes; a missing or damaged member is ``ReaderError(reason="corrupt")``."""
    try:
        return archive.read(name)
    except KeyError as exc:
        raise ReaderError(f"{source}: damaged {kind} ({name} is missing)", path=source,
                          reason="corrupt") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError, EOFError,
            NotImplementedError) as exc:
        raise ReaderError(f"{source}: damaged {kind} ({name}: {exc})", path=source, reason="corrupt") from exc


def damaged(source: str, kind: str, exc: BaseException) -> ReaderError:
    """The ReaderError for a package a library failed on (raise it ``from exc``)."""
    return ReaderError(f"{source}: damaged {kind} ({type(exc).__name__}: {exc})", path=source, reason="corrupt")
