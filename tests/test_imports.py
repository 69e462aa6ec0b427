"""The import rule of ARCHITECTURE.md, checked by reading every module's imports (top-level and lazy)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ragforge"

# A module may import only from layers of a lower rank. Rank-2 modules are siblings: no imports between them.
RANK = {
    "errors": 0, "types": 0, "config": 0,
    "_ollama": 1, "_http": 1, "retry": 1, "_registry": 1, "_lazy": 1,
    "readers": 2, "chunking": 2, "embedding": 2, "llm": 2, "graph": 2,
    "store": 3,
    "ingest": 4,
    "retrieval": 5,
    "query": 6,
    "eval": 7,
    "cli": 8, "mcp": 8,
    "testing": 9,
}
FOUNDATION_ALLOWED_WITHIN = {("types", "errors"), ("config", "errors"), ("config", "types"),
                             ("cli", "mcp")}  # the `ragforge mcp` command starts the MCP shell


def _layer(module: str) -> str:
    return module.split(".")[1] if module.startswith("ragforge.") else ""


def _imports(path: Path) -> list[tuple[str, int]]:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    package = parts if path.name == "__init__.py" else parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((name, node.lineno))
    return [(name, line) for name, line in found if name == "ragforge" or name.startswith("ragforge.")]


def test_every_import_respects_the_layering() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.as_posix() == "__init__.py":
            continue  # the public facade re-exports lazily from every layer
        own = rel.parts[0].removesuffix(".py")
        assert own in RANK, f"{rel}: new top-level module; give it a rank in tests/test_imports.py"
        for target, line in _imports(path):
            layer = _layer(target)
            if layer in ("", own):
                continue
            ok = RANK[layer] < RANK[own] or (own, layer) in FOUNDATION_ALLOWED_WITHIN
            if own == "graph":
                ok = layer in ("errors", "retry")  # graph/ knows nothing of RAG
            if not ok:
                problems.append(f"ragforge/{rel}:{line} imports {target}")
    assert not problems, "layering violations:\n" + "\n".join(problems)


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from ragforge.cli import main\n"
        "result = CliRunner().invoke(main, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "names = ('torch', 'faiss', 'sentence_transformers', 'transformers', 'numpy')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"ragforge --help imported: {out.stdout.strip()}"


def test_import_ragforge_is_light() -> None:
    code = ("import sys, ragforge\n"
            "print(','.join(m for m in ('torch', 'faiss', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _public_names(module: str) -> set[str]:
    import importlib

    loaded = importlib.import_module(module)
    names = getattr(loaded, "__all__", None)
    return set(names) if names is not None else {n for n in vars(loaded) if not n.startswith("_")}


def test_the_cli_goes_through_the_public_api() -> None:
    """ragforge/cli/* imports only names a package (or a top-level module) lists in ``__all__``: never a module
    inside a subpackage, never a private one."""
    problems = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level or not (node.module or "").startswith("ragforge"):
                continue
            module = node.module or ""
            if module.startswith("ragforge.cli"):
                continue
            parts = module.split(".")
            private = any(part.startswith("_") for part in parts)
            nested = len(parts) > 2 and (PACKAGE / parts[1]).is_dir()
            unlisted = {alias.name for alias in node.names} - _public_names(module)
            if private or nested or unlisted:
                problems.append(f"cli/{path.name}:{node.lineno} from {module} import {sorted(unlisted) or '...'}")
    assert not problems, "the CLI reaches past the public API:\n" + "\n".join(problems)
