"""What the retrieval and answer harnesses share: the index they run on, versions, commands, output files."""

from __future__ import annotations

import importlib.util
import platform
import shlex
import sqlite3
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..config import DEFAULT_MODEL, IndexConfig
from ..retrieval.index import Index

Progress = Callable[[int, int, str], None]


class EvalIndex:
    """Open (creating if needed) the given index dir, or a temporary one removed afterwards.

    ``with EvalIndex(dir, model, config) as (index, where)``: ``where`` is the dir to record, ``None`` for a
    temporary one.
    """

    def __init__(self, index_dir: Path | str | None, model: str, config: IndexConfig | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="ragforge-eval-") if index_dir is None else None
        self.path = Path(self._tmp.name) / "index" if self._tmp else Path(index_dir)  # type: ignore[arg-type]
        self.model, self.config = model, config or IndexConfig(model=model)
        self.index: Index | None = None

    def __enter__(self) -> tuple[Index, str | None]:
        self.index = Index.open(self.path, model=self.model, create=True, config=self.config)
        return self.index, None if self._tmp else str(self.path)

    def __exit__(self, *exc: object) -> None:
        if self.index is not None:
            self.index.close()
        if self._tmp is not None:
            self._tmp.cleanup()


def versions() -> dict[str, str]:
    """Versions of Python, SQLite and the libraries that decide a figure, for results.json."""
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for dist in ("ragforge", "numpy", "faiss-cpu", "sentence-transformers", "torch", "transformers", "ollama"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def command_line(parts: list[str], *, model: str, index_dir: Any, limit: int | None, out_dir: Any) -> str:
    """The ``ragforge eval ...`` command that re-runs an evaluation: ``parts`` plus the shared options."""
    parts = list(parts)
    if model != DEFAULT_MODEL:
        parts += ["--model", model]
    if index_dir is not None:
        parts += ["--index", str(index_dir)]
    if limit:
        parts += ["--limit", str(limit)]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    return shlex.join(parts)


NO_PLOT = "No plot: matplotlib is not installed (`pip install 'ragforge[eval]'` adds it)."


def write_outputs(result: BaseModel, out_dir: Path | str, *, plot_name: str,
                  plot: Callable[[Any, Path], Any], render: Callable[..., str]) -> dict[str, Path]:
    """Write results.json, report.md and the PNG plot of an eval result into ``out_dir``; return the paths.

    The plot needs matplotlib (the ``[eval]`` extra); without it the report says how to get one and the
    returned paths have no ``"plot"``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "report": out / "report.md", "plot": out / plot_name}
    paths["json"].write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if draw(plot, result, paths["plot"]):
        report = render(result, plot=paths["plot"].name)
    else:
        del paths["plot"]
        report = render(result, plot=None).rstrip("\n") + f"\n\n{NO_PLOT}\n"
    paths["report"].write_text(report, encoding="utf-8")
    return paths


def plots_available() -> bool:
    """Whether eval reports can draw their PNG plots (matplotlib, the ``[eval]`` extra, is installed)."""
    return importlib.util.find_spec("matplotlib") is not None


def draw(plot: Callable[[Any, Path], Any], result: BaseModel, path: Path) -> bool:
    """Draw ``plot`` into ``path``; False (nothing drawn) when matplotlib is not installed."""
    try:
        plot(result, path)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "matplotlib":
            raise
        return False
    return True
