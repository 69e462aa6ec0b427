"""The README's runnable Python examples run as written (those that need no Ollama server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)


def _block(marker: str) -> str:
    found = [block for block in _python_blocks() if marker in block]
    assert len(found) == 1, f"expected one README python block containing {marker!r}"
    return found[0]


def _run(code: str, cwd: Path) -> str:
    (cwd / "corpora").symlink_to(ROOT / "corpora")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.slow
def test_python_quick_start(tmp_path: Path) -> None:
    out = _run(_block("ragforge.open_index(\"idx\", create=True)"), tmp_path)
    assert "added 38" in out
    assert "gardening/tomatoes.md" in out.splitlines()[1]  # first hit of the tomato question
    assert "manuals/kettlewick_k2_manual.pdf" in out


def test_graph_example(tmp_path: Path) -> None:
    out = _run(_block("from ragforge.graph import"), tmp_path)
    assert "approve" in out and "flowchart" in out


def test_links_to_docs_resolve_and_docs_examples_parse() -> None:
    import ast

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target, anchor in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#([\w-]+))?\)", text):
            assert (page.parent / target).is_file(), f"{page.name} links to a missing {target}"
            headings = re.findall(r"^#+ (.+)$", (page.parent / target).read_text(encoding="utf-8"), flags=re.M)
            slugs = {re.sub(r"[^\w -]", "", h).strip().lower().replace(" ", "-") for h in headings}
            assert not anchor or anchor in slugs, f"{page.name} links to a missing #{anchor} in {target}"
        for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
            ast.parse(block)  # most need a model server; docs/query.md's worked example runs in tests/query
    assert (ROOT / "docs" / "architecture.md").is_file()
