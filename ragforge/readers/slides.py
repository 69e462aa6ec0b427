"""PowerPoint files (.pptx) via python-pptx: one section per slide (``page`` is the slide number, the heading
path is the slide's title), with the speaker notes after the slide's text.

A slide's text is its title, then every text box, placeholder and table (inside groups too) in the order
the slide stores them, then ``Notes:`` and the notes. Slides with no text give no section.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragforge.readers._builder import TextBuilder
from ragforge.readers._io import read_bytes, require_text
from ragforge.readers._zip import DAMAGE, damaged, open_zip
from ragforge.types import Document

KIND = "PowerPoint file"


def _errors() -> tuple[type[BaseException], ...]:
    """What python-pptx raises on a damaged file: its own errors and the generic ones."""
    from pptx.exc import PythonPptxError

    return (PythonPptxError, *DAMAGE)


def _shape_texts(shapes: Any, skip: Any = None) -> Iterator[str]:
    for shape in shapes:
        if skip is not None and shape.shape_id == skip:
            continue
        if getattr(shape, "shapes", None) is not None:  # a group
            yield from _shape_texts(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [" | ".join(" ".join(c.text.split()) for c in row.cells) for row in shape.table.rows]
            yield "\n".join(r.rstrip(" |") for r in rows if r.strip(" |"))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield shape.text_frame.text


def slide_text(slide: Any) -> tuple[str, str]:
    """The slide's title ("" if none) and its whole text: title, shapes, then the notes."""
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
    blocks = [title] + list(_shape_texts(slide.shapes, title_shape.shape_id if title_shape is not None else None))
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        notes = frame.text.strip() if frame is not None else ""
        if notes:
            blocks.append("Notes: " + notes)
    return title, "\n\n".join(b.strip() for b in blocks if b and b.strip())


def read_pptx(path: Path, source: str) -> Document:
    """Read a .pptx file. The title is the document property, else the first slide's title, else the stem."""
    from pptx import Presentation

    data = read_bytes(path, source)
    open_zip(data, source, KIND).close()
    builder = TextBuilder(source)
    titles = []
    try:
        presentation = Presentation(io.BytesIO(data))
        for number, slide in enumerate(presentation.slides, start=1):
            title, text = slide_text(slide)
            titles.append(title)
            builder.mark(page=number, heading_path=(title,))
            builder.add(text)
            if builder.truncated:
                break
        doc_title = (presentation.core_properties.title or "").strip()
    except _errors() as exc:
        raise damaged(source, KIND, exc) from exc
    text = builder.text
    require_text(text, source)
    title = doc_title or next((t for t in titles if t), "") or Path(path).stem
    metadata = {"pages": len(titles), **builder.metadata()}
    return Document(source=source, text=text, file_type="pptx", title=title,
                    sections=builder.marked_sections(), metadata=metadata)
