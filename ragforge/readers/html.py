"""HTML files via the standard library's ``html.parser``: visible text, the ``<title>``, heading sections.

Content of script, style, noscript, template, svg and head elements is skipped (the ``<title>`` is kept as
the document title), and so is a page's boilerplate: ``<nav>``, ``<aside>``, ``<footer>``, and a ``<header>``
outside ``<article>``, ``<main>`` and ``<section>`` (a page that is nothing but boilerplate is read whole).
Block elements end a line; headings and paragraphs end a paragraph. Whitespace is
collapsed outside ``<pre>``. Each ``<h1>``..``<h6>`` starts a section whose heading path is built like
Markdown's.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from ragforge.readers._io import decode_text, heading_sections, read_bytes, require_text
from ragforge.types import Document

SKIP = frozenset({"script", "style", "noscript", "template", "head", "svg"})
BOILERPLATE = frozenset({"nav", "aside", "footer"})  # and a <header> outside CONTENT
CONTENT = frozenset({"article", "main", "section"})
HEADINGS = {f"h{n}": n for n in range(1, 7)}
PARAGRAPH = frozenset({"p", "pre", "blockquote", "table", "ul", "ol", "dl", "figure", "hr", *HEADINGS})
BLOCK = frozenset({
    "address", "article", "aside", "br", "dd", "details", "div", "dt", "fieldset", "figcaption", "footer",
    "form", "header", "li", "main", "nav", "section", "summary", "tr", "caption", "body", "html",
})
CELL = frozenset({"td", "th"})
_WS = re.compile(r"\s+")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


class _Extractor(HTMLParser):
    def __init__(self, keep_boilerplate: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.keep_boilerplate = keep_boilerplate
        self._content = 0  # open <article>/<main>/<section> elements
        self.parts: list[str] = []
        self.length = 0
        self.title_parts: list[str] = []
        self.headings: list[list] = []  # [offset, level, text]
        self._skip: list[str] = []
        self._in_title = False
        self._pre = 0
        self._break = 0
        self._space = False
        self._heading: list | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "title" and not self.title_parts and all(t == "head" for t in self._skip):
            self._in_title = True  # the first <title> of the page, not an <svg>'s
        elif tag == "body" and "head" in self._skip:  # an unclosed <head>
            self._skip = [t for t in self._skip if t != "head"]
        if tag in SKIP or self._boilerplate(tag):
            self._skip.append(tag)
        elif not self._skip:
            self._content += tag in CONTENT
            self._boundary(tag)
            if tag == "pre":
                self._pre += 1
            if tag in HEADINGS:
                self._heading = [None, HEADINGS[tag], []]

    def _boilerplate(self, tag: str) -> bool:
        if self.keep_boilerplate:
            return False
        return tag in BOILERPLATE or (tag == "header" and not self._content)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if not self._skip and tag not in SKIP:
            self._boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self._skip:
            while self._skip and self._skip.pop() != tag:
                pass
            return
        if tag in SKIP or self._skip:
            return
        if tag in CONTENT and self._content:
            self._content -= 1
        self._boundary(tag)
        if tag == "pre" and self._pre:
            self._pre -= 1
        if tag in HEADINGS and self._heading is not None:
            offset, level, words = self._heading
            if offset is not None:
                self.headings.append([offset, level, _WS.sub(" ", "".join(words)).strip()])
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
            return
        if self._skip:
            return
        text = data if self._pre else _WS.sub(" ", data)
        if not self._pre and text.startswith(" "):
            self._space = True
        stripped = text if self._pre else text.strip()
        if not stripped:
            return
        self._write(stripped)
        self._space = not self._pre and text.endswith(" ")

    def _boundary(self, tag: str) -> None:
        if tag in PARAGRAPH:
            self._break = 2
        elif tag in BLOCK:
            self._break = max(self._break, 1)
        elif tag in CELL:
            self._space = True

    def _write(self, text: str) -> None:
        if self.length:
            sep = "\n" * self._break if self._break else (" " if self._space else "")
            self.parts.append(sep)
            self.length += len(sep)
        self._break, self._space = 0, False
        if self._heading is not None:
            if self._heading[0] is None:
                self._heading[0] = self.length
            self._heading[2].append(text)
        self.parts.append(text)
        self.length += len(text)


def extract_html(raw: str, *, keep_boilerplate: bool = False) -> tuple[str, str, list[tuple[int, int, str]]]:
    """The visible text of an HTML page, its ``<title>`` ("" if none) and its headings as
    ``(offset, level, text)``; used by the HTML reader and by readers of formats made of HTML (EPUB, e-mail).
    Navigation, asides, footers and the page header are left out unless ``keep_boilerplate``, or unless
    they are all the page holds."""
    parser = _Extractor(keep_boilerplate)
    parser.feed(raw)
    parser.close()
    if not keep_boilerplate and not "".join(parser.parts).strip():
        return extract_html(raw, keep_boilerplate=True)
    title = _WS.sub(" ", "".join(parser.title_parts)).strip()
    return "".join(parser.parts), title, [(h[0], h[1], h[2]) for h in parser.headings]


def html_charset(data: bytes) -> str | None:
    """The encoding a ``<meta charset>`` near the top declares, if any."""
    declared = _CHARSET.search(data[:4096])
    return declared.group(1).decode("ascii") if declared else None


def read_html(path: Path, source: str) -> Document:
    """Read an HTML file. The title is ``<title>``, else the first heading, else the file stem."""
    data = read_bytes(path, source)
    raw, meta = decode_text(data, source, html_charset(data))
    text, title, headings = extract_html(raw)
    require_text(text, source)
    if not title:
        title = next((h[2] for h in headings if h[2]), "") or Path(path).stem
    return Document(
        source=source,
        text=text,
        file_type="html",
        title=title,
        sections=heading_sections(text, headings),
        metadata=meta,
    )
