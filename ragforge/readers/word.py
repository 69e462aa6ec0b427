"""Word files (.docx) via python-docx: paragraphs and tables in document order, headings as heading paths.

A paragraph is a heading when its style is Title or "Heading N" or it carries an outline level (Word's
own test for the navigation pane). Each table row becomes one line of its cells joined by `` | `` (a cell
merged across columns is written once). Headers, footers, footnotes and comments are left out. Word
files have no stored page numbers (pages are laid out when shown), so sections follow the headings.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from ragforge.readers._builder import TextBuilder
from ragforge.readers._io import read_bytes, require_text
from ragforge.readers._zip import DAMAGE, damaged, open_zip
from ragforge.types import Document

KIND = "Word document"
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_OUTLINE = "./w:pPr/w:outlineLvl/@w:val"


def _errors() -> tuple[type[BaseException], ...]:
    """What python-docx raises on a damaged file: its own errors and the generic ones."""
    from docx.exceptions import PythonDocxError
    from docx.opc.exceptions import OpcError
    from docx.oxml.exceptions import XmlchemyError

    return (PythonDocxError, OpcError, XmlchemyError, *DAMAGE)


def heading_level(paragraph: Any) -> int | None:
    """0 for Title, N for "Heading N" or outline level N-1, else None (body text)."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    if match:
        return int(match.group(1))
    for element in (paragraph._p, style.element if style is not None else None):
        levels = element.xpath(_OUTLINE) if element is not None else []
        if levels and levels[0].isdigit() and int(levels[0]) < 9:  # 9 means "body text"
            return int(levels[0]) + 1
    return None


def table_rows(table: Any) -> list[str]:
    """Each row's cell texts joined by `` | `` (trailing empty cells dropped); a merged cell (the same cell
    again) is written once."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _build(document: Any, builder: TextBuilder) -> None:
    from docx.table import Table

    for block in document.iter_inner_content():
        if builder.truncated:
            return
        if isinstance(block, Table):
            builder.add("\n".join(table_rows(block)))
            continue
        level = heading_level(block)
        if level is not None and block.text.strip():
            builder.heading(level, block.text)
        else:
            builder.add(block.text)


def read_docx(path: Path, source: str) -> Document:
    """Read a .docx file. The title is the document property, else the first heading, else the file stem."""
    import docx

    data = read_bytes(path, source)
    open_zip(data, source, KIND).close()
    builder = TextBuilder(source)
    try:
        document = docx.Document(io.BytesIO(data))
        _build(document, builder)
        title = (document.core_properties.title or "").strip()
    except _errors() as exc:
        raise damaged(source, KIND, exc) from exc
    text = builder.text
    require_text(text, source)
    sections = builder.heading_sections()
    first_heading = next((s.heading_path[0] for s in sections if s.heading_path), "")
    return Document(source=source, text=text, file_type="docx", title=title or first_heading or Path(path).stem,
                    sections=sections, metadata=builder.metadata())
