"""The package's public surface: sorted __all__, every name resolves, the docstring example runs."""

from __future__ import annotations

import contextlib
import io
import sys
import textwrap
import types

import ragforge.graph as graph


def test_all_is_sorted_and_resolves() -> None:
    assert graph.__all__ == sorted(graph.__all__)
    for name in graph.__all__:
        assert getattr(graph, name) is not None, name


def test_docstring_example_runs() -> None:
    doc = graph.__doc__ or ""
    block = doc.split("\n\n", 1)[1].split("\n\nPieces:")[0]
    module = types.ModuleType("graph_doc_example")  # the TypedDict needs a real module to resolve annotations
    sys.modules[module.__name__] = module
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(textwrap.dedent(block), "<docstring>", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    assert out.getvalue().strip() == "{'question': 'why?', 'notes': ['thinking about why?']}"
