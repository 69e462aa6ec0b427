"""E-mail: single messages (.eml) and mailboxes (.mbox) with the standard library's ``email`` parser.

Each message is a section headed by its subject: the From, To, Cc, Date and Subject lines, then the body
(the plain-text part, else the HTML part through the HTML reader's extractor). Attachments are read by the
reader registered for their suffix (a PDF attachment keeps its pages, a Word one its headings) and follow
the message under the heading ``Attachment: NAME``; a forwarded message (message/rfc822) is read as a
message. An attachment that cannot be read is left out and named in ``metadata["skipped_attachments"]``.
Limits: ``MAX_MESSAGES`` per mailbox, ``MAX_ATTACHMENTS`` per message, ``MAX_ATTACHMENT_BYTES`` each, and
messages nested at most ``MAX_DEPTH`` deep. Mailboxes are split on ``From `` lines (mboxo/mboxrd) from the
bytes already read: ``mailbox.mbox`` would open the user's file for writing.
"""

from __future__ import annotations

import re
import tempfile
from contextvars import ContextVar
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ragforge.errors import ReaderError
from ragforge.readers._builder import TextBuilder
from ragforge.readers._io import decode_text, logger, looks_binary, read_bytes, require_text
from ragforge.readers.html import extract_html
from ragforge.types import Document

MAX_MESSAGES = 10_000
MAX_ATTACHMENTS = 50
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_DEPTH = 3
HEADERS = ("From", "To", "Cc", "Date", "Subject")
_ESCAPED_FROM = re.compile(rb"^>+From ")
_SAFE_NAME = re.compile(r"[^\w.\- ]+")
_depth: ContextVar[int] = ContextVar("ragforge_mail_depth", default=0)
# What the email package may raise on a message it cannot make sense of (it is lenient, but not always)
_MAIL_DAMAGE = (LookupError, ValueError, TypeError, AttributeError, AssertionError, UnicodeError)


def _check_bytes(data: bytes, source: str) -> None:
    if not data.strip():
        raise ReaderError(f"{source}: empty file", path=source, reason="empty")
    if looks_binary(data):
        raise ReaderError(f"{source}: looks like a binary file, not e-mail", path=source, reason="binary")


def _parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError, AttributeError, LookupError):  # a malformed header
        value = None
    return " ".join(str(value).split()) if value is not None else ""


def _text_of(part: Any) -> str:
    """A text part's content as str; HTML is reduced to its visible text."""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError, AttributeError):  # an unknown charset, a bad encoding
        payload = part.get_payload(decode=True) or b""
        content, _ = decode_text(payload, "part") if not looks_binary(payload) else ("", {})
    if not isinstance(content, str):
        return ""
    return extract_html(content)[0] if part.get_content_type() == "text/html" else content


def _leaves(message: Any) -> list[Any]:
    """Leaf parts and forwarded messages, in order (forwarded messages are not opened here)."""
    found = []
    for part in message.iter_parts():
        if part.get_content_type() == "message/rfc822" or not part.is_multipart():
            found.append(part)
        else:
            found.extend(_leaves(part))
    return found


class _MessageReader:
    def __init__(self, builder: TextBuilder, source: str) -> None:
        self.builder = builder
        self.source = source
        self.skipped: list[dict[str, str]] = []

    def add(self, message: EmailMessage, prefix: tuple[str, ...] = (), depth: int = 0) -> str:
        """Add one message (and its attachments); returns its subject."""
        subject = _header(message, "Subject")
        path = prefix + (subject or "(no subject)",)
        self.builder.mark(heading_path=path)
        self.builder.add("\n".join(f"{name}: {_header(message, name)}" for name in HEADERS
                                   if _header(message, name)))
        body = message.get_body(preferencelist=("plain", "html")) if message.is_multipart() else message
        if body is not None and body.get_content_maintype() == "text":
            self.builder.add(_text_of(body).strip())
        if message.is_multipart():
            attachments = [p for p in _leaves(message) if p is not body and not self._inline_text(p)]
            for part in attachments[:MAX_ATTACHMENTS]:
                self._attachment(part, path, depth)
            for part in attachments[MAX_ATTACHMENTS:]:
                self._skip(part.get_filename() or part.get_content_type(), "too_many")
        return subject

    @staticmethod
    def _inline_text(part: Any) -> bool:
        return part.get_content_maintype() == "text" and not part.get_filename() \
            and part.get_content_disposition() != "attachment"

    def _attachment(self, part: Any, path: tuple[str, ...], depth: int) -> None:
        name = part.get_filename() or ("message.eml" if part.get_content_type() == "message/rfc822" else "")
        if self.builder.truncated or not name:
            return
        if depth + _depth.get() >= MAX_DEPTH:
            self._skip(name, "nested_too_deep")
            return
        if part.get_content_type() == "message/rfc822":
            inner = part.get_content()
            if isinstance(inner, EmailMessage):
                self.add(inner, path + (f"Forwarded: {name}",), depth + 1)
            return
        payload = part.get_payload(decode=True) or b""
        if len(payload) > MAX_ATTACHMENT_BYTES:
            self._skip(name, "too_large")
            return
        try:
            doc = _read_attachment(name, payload, f"{self.source}/{name}")
        except ReaderError as exc:
            self._skip(name, exc.reason)
            return
        for inner in doc.metadata.get("skipped_attachments", []):  # from an attached .eml or .mbox
            self.skipped.append({"name": f"{name}/{inner['name']}", "reason": inner["reason"]})
        self.builder.add_document(doc, path + (f"Attachment: {name}",), intro=f"Attachment: {name}")

    def _skip(self, name: str, reason: str) -> None:
        self.skipped.append({"name": name, "reason": reason})
        logger.warning("%s: attachment %s left out (%s)", self.source, name, reason)


def _read_attachment(name: str, payload: bytes, source: str) -> Document:
    """Read an attachment with the reader registered for its suffix, from a private temporary file."""
    from ragforge.readers.registry import reader_for  # the registry imports this module

    safe = _SAFE_NAME.sub("_", Path(name).name).strip(" .") or "attachment"
    reader = reader_for(safe)
    if reader is None:
        raise ReaderError(f"{source}: no reader for {Path(safe).suffix or 'files without a suffix'!r}",
                          path=source, reason="unsupported")
    token = _depth.set(_depth.get() + 1)
    try:
        with tempfile.TemporaryDirectory(prefix="ragforge-mail-") as folder:
            file = Path(folder) / safe
            file.write_bytes(payload)
            return reader(file, source)
    finally:
        _depth.reset(token)


def _document(builder: TextBuilder, reader: _MessageReader, source: str, title: str,
              extra: dict[str, Any]) -> Document:
    text = builder.text
    require_text(text, source)
    metadata: dict[str, Any] = {**extra, **builder.metadata()}
    if reader.skipped:
        metadata["skipped_attachments"] = reader.skipped
    return Document(source=source, text=text, file_type="email", title=title,
                    sections=builder.marked_sections(), metadata=metadata)


def read_eml(path: Path, source: str) -> Document:
    """Read one message (.eml). The title is its subject, else the file stem."""
    data = read_bytes(path, source)
    _check_bytes(data, source)
    builder = TextBuilder(source)
    reader = _MessageReader(builder, source)
    try:
        subject = reader.add(_parse(data))
    except _MAIL_DAMAGE as exc:
        raise ReaderError(f"{source}: damaged message ({type(exc).__name__}: {exc})", path=source,
                          reason="corrupt") from exc
    return _document(builder, reader, source, subject or Path(path).stem, {})


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox file: each starts after a ``From `` line; ``>From `` lines are unescaped."""
    messages: list[bytes] = []
    current: list[bytes] | None = None
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From "):
            if current is not None:
                messages.append(b"".join(current))
            current = []
        elif current is not None:
            current.append(line[1:] if _ESCAPED_FROM.match(line) else line)
    if current is not None:
        messages.append(b"".join(current))
    return messages


def read_mbox(path: Path, source: str) -> Document:
    """Read a mailbox (.mbox): one section per message. The title is the file stem."""
    data = read_bytes(path, source)
    _check_bytes(data, source)
    messages = split_mbox(data)
    if not messages:
        raise ReaderError(f"{source}: not an mbox file (no line starts with 'From ')", path=source,
                          reason="corrupt")
    builder = TextBuilder(source)
    reader = _MessageReader(builder, source)
    damaged = 0
    for raw in messages[:MAX_MESSAGES]:
        try:
            reader.add(_parse(raw))
        except _MAIL_DAMAGE as exc:  # one bad message does not cost the mailbox
            damaged += 1
            logger.warning("%s: a message was left out (%s: %s)", source, type(exc).__name__, exc)
        if builder.truncated:
            break
    extra: dict[str, Any] = {"messages": len(messages)}
    if damaged:
        extra["damaged_messages"] = damaged
    if len(messages) > MAX_MESSAGES:
        extra["truncated_messages"] = len(messages) - MAX_MESSAGES
        logger.warning("%s: only the first %d of %d messages are indexed", source, MAX_MESSAGES, len(messages))
    return _document(builder, reader, source, Path(path).stem, extra)
