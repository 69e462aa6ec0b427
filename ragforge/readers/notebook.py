"""Jupyter notebooks (.ipynb) with ``json``: markdown cells as written, code cells in fenced blocks.

The notebook becomes one Markdown text, so its sections follow the markdown cells' headings exactly as a
Markdown file's do (a ``#`` comment inside a code cell is not a heading: it is inside a fence). Outputs
are left out: they are often large, binary (images) or noise for search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ragforge.errors import ReaderError
from ragforge.readers._builder import TextBuilder
from ragforge.readers._io import decode_text, read_bytes, require_text
from ragforge.readers.markdown import markdown_sections, parse_headings
from ragforge.types import Document


def _cell_source(cell: Any) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _fence(code: str, language: str) -> str:
    """A fence longer than any run of backticks in the code, so the code cannot close it."""
    longest = max((len(run) for run in code.split("\n") if set(run.strip()) == {"`"}), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


def _load(path: Path, source: str) -> dict[str, Any]:
    text, _ = decode_text(read_bytes(path, source), source)
    require_text(text, source)
    try:
        notebook = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ReaderError(f"{source}: damaged notebook (not valid JSON: {exc})", path=source,
                          reason="corrupt") from exc
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ReaderError(f"{source}: not a Jupyter notebook (no list of cells)", path=source, reason="corrupt")
    return notebook


def _language(notebook: dict[str, Any]) -> str:
    given = notebook.get("metadata")
    meta: dict[str, Any] = given if isinstance(given, dict) else {}
    for key in ("language_info", "kernelspec"):
        info = meta.get(key)
        name = info.get("name" if key == "language_info" else "language") if isinstance(info, dict) else None
        if isinstance(name, str) and name.isidentifier():
            return name
    return ""


def read_notebook(path: Path, source: str) -> Document:
    """Read a .ipynb notebook. The title is the first heading of a markdown cell, else the file stem."""
    notebook = _load(path, source)
    language = _language(notebook)
    builder = TextBuilder(source)
    cells = 0
    for cell in notebook["cells"]:
        code = _cell_source(cell).strip("\n")
        if not code.strip():
            continue
        kind = cell.get("cell_type")
        builder.add(_fence(code, language) if kind == "code" else code)
        cells += 1
        if builder.truncated:
            break
    text = builder.text
    require_text(text, source)
    headings = parse_headings(text)
    title = next((t for _, level, t in headings if level == 1 and t), None) or Path(path).stem
    return Document(source=source, text=text, file_type="notebook", title=title,
                    sections=markdown_sections(text), metadata={"cells": cells, **builder.metadata()})
