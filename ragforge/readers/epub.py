"""E-books (.epub) with the standard library: the chapters in reading order (the OPF spine), each read by
the HTML reader's extractor, one section per chapter heading.

A chapter's headings give its sections their heading paths, as in an HTML file; text before a chapter's
first heading is headed by the chapter's title (its ``<title>``, else "Chapter N"). Books with DRM (any
encrypted resource other than an obfuscated font) are skipped as ``encrypted``.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from ragforge.errors import ReaderError
from ragforge.readers._builder import TextBuilder
from ragforge.readers._io import decode_text, heading_sections, read_bytes, require_text
from ragforge.readers._zip import open_zip, read_member
from ragforge.readers.html import extract_html, html_charset
from ragforge.types import Document, Section

KIND = "EPUB book"
CONTAINER = "META-INF/container.xml"
ENCRYPTION = "META-INF/encryption.xml"
HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
FONT_OBFUSCATION = frozenset({"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"})


def _xml(data: bytes, name: str, source: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ReaderError(f"{source}: damaged {KIND} ({name}: {exc})", path=source, reason="corrupt") from exc


def _package_path(archive: zipfile.ZipFile, source: str) -> str:
    """Where the OPF package document is: container.xml's rootfile, else the only .opf in the book."""
    if CONTAINER in archive.namelist():
        rootfile = _xml(read_member(archive, CONTAINER, source, KIND), CONTAINER, source).find(".//{*}rootfile")
        if rootfile is not None and rootfile.get("full-path"):
            return str(rootfile.get("full-path"))
    candidates = [n for n in archive.namelist() if n.lower().endswith(".opf")]
    if len(candidates) != 1:
        raise ReaderError(f"{source}: damaged {KIND} (no package document: {CONTAINER} is missing or "
                          f"names none)", path=source, reason="corrupt")
    return candidates[0]


def _check_drm(archive: zipfile.ZipFile, source: str) -> None:
    if ENCRYPTION not in archive.namelist():
        return
    root = _xml(read_member(archive, ENCRYPTION, source, KIND), ENCRYPTION, source)
    methods = {m.get("Algorithm", "") for m in root.iter() if m.tag.endswith("EncryptionMethod")}
    if methods - FONT_OBFUSCATION:
        raise ReaderError(f"{source}: {KIND} with DRM (encrypted content); it cannot be indexed", path=source,
                          reason="encrypted")


def spine(archive: zipfile.ZipFile, source: str) -> tuple[str, list[str]]:
    """The book's title ("" if none) and the archive paths of its HTML chapters in reading order."""
    opf_path = _package_path(archive, source)
    opf = _xml(read_member(archive, opf_path, source, KIND), opf_path, source)
    title_el = opf.find(".//{*}metadata/{*}title")
    base = posixpath.dirname(opf_path)
    items = {}
    for item in opf.iterfind(".//{*}manifest/{*}item"):
        href, media = item.get("href"), (item.get("media-type") or "").lower()
        if item.get("id") and href and media in HTML_TYPES:
            items[item.get("id")] = posixpath.normpath(posixpath.join(base, unquote(href)))
    chapters = [items[ref.get("idref")] for ref in opf.iterfind(".//{*}spine/{*}itemref")
                if ref.get("idref") in items]
    if not chapters:
        raise ReaderError(f"{source}: damaged {KIND} (its spine lists no chapters)", path=source, reason="corrupt")
    title = " ".join((title_el.text or "").split()) if title_el is not None else ""
    return title, list(dict.fromkeys(chapters))


def chapter_document(data: bytes, name: str, number: int, source: str) -> Document:
    """One chapter as a Document whose sections follow its headings (the first headed by its title)."""
    raw, _ = decode_text(data, f"{source}:{name}", html_charset(data))
    text, title, headings = extract_html(raw)
    label = title or f"Chapter {number}"
    sections = tuple(s if s.heading_path else Section(start=s.start, end=s.end, heading_path=(label,))
                     for s in heading_sections(text, headings))
    return Document(source=f"{source}:{name}", text=text, file_type="html", title=label, sections=sections)


def read_epub(path: Path, source: str) -> Document:
    """Read an .epub book. The title is the book's dc:title, else the file stem."""
    archive = open_zip(read_bytes(path, source), source, KIND)
    with archive:
        _check_drm(archive, source)
        title, chapters = spine(archive, source)
        builder = TextBuilder(source)
        for number, name in enumerate(chapters, start=1):
            if name not in archive.namelist():
                continue  # a spine entry with no file: the rest of the book is still readable
            try:
                chapter = chapter_document(read_member(archive, name, source, KIND), name, number, source)
            except ReaderError as exc:
                if exc.reason != "binary":
                    raise
                continue
            builder.add_document(chapter)
            if builder.truncated:
                break
    text = builder.text
    require_text(text, source)
    return Document(source=source, text=text, file_type="epub", title=title or Path(path).stem,
                    sections=builder.marked_sections(), metadata={"chapters": len(chapters), **builder.metadata()})
