"""What every command shares: the error boundary, the --index option, progress bars, text output."""

from __future__ import annotations

import functools
import os
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ragforge.config import default_index_path
from ragforge.errors import RagforgeError

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from ragforge.query import QueryConfig

MODES = ("dense", "lexical", "hybrid")


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The CLI's error boundary: every error becomes one line ``Error: ...`` and exit status 1, never a
    traceback (``RAGFORGE_DEBUG=1`` shows it). Click's own usage errors and exits pass through."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:  # the boundary: whatever it is, one line
            if os.environ.get("RAGFORGE_DEBUG"):
                raise
            raise click.ClickException(error_line(exc)) from exc

    return wrapper


def error_line(exc: BaseException) -> str:
    """One line that says what went wrong, for any exception."""
    from pydantic import ValidationError

    if isinstance(exc, RagforgeError):
        text = str(exc)
    elif isinstance(exc, ValidationError):
        first: Mapping[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())) or exc.title
        text = f"invalid setting {where}: {first.get('msg', exc)}"
    elif isinstance(exc, OSError):
        name = f"{exc.filename}: " if exc.filename else ""
        text = f"{name}{exc.strerror or exc}"
    elif type(exc).__module__.startswith("sqlite3"):
        text = f"the index database failed ({exc}); if it persists, rebuild the index with --rebuild"
    elif isinstance(exc, MemoryError):
        text = "out of memory; try a smaller batch or fewer files at once"
    else:
        text = f"unexpected {type(exc).__name__}: {exc} (RAGFORGE_DEBUG=1 shows the traceback)"
    return " ".join(text.split()) or type(exc).__name__


def index_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--index",
        "index_path",
        type=click.Path(path_type=Path),
        envvar="RAGFORGE_INDEX",
        default=None,
        help="Index directory (default: $RAGFORGE_INDEX, else $RAGFORGE_HOME/index, else ~/.ragforge/index).",
    )(fn)


LLM_SPEC_HELP = ("an Ollama model name (qwen2.5-coder:1.5b), gguf:PATH (a GGUF file run in-process by "
                 "llama.cpp) or openai:NAME@URL (an OpenAI-compatible server)")


def llm_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--llm, --small-llm, --host and --timeout, spelled the same in every command that asks a model."""
    options = [
        click.option("--llm", "llm_model", default="llama3.2", show_default=True,
                     help=f"The answer model: {LLM_SPEC_HELP}."),
        click.option("--small-llm", default=None, help="A smaller model for routing, rewriting and grading "
                     "(same spellings; default: the answer model)."),
        click.option("--host", default=None,
                     help="Ollama server (default: $OLLAMA_HOST or http://127.0.0.1:11434)."),
        click.option("--timeout", type=click.FloatRange(min=1), default=300.0, show_default=True,
                     help="Seconds allowed for each model call, retries included (CPU-only machines are slow)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def lock_timeout_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--lock-timeout", type=click.FloatRange(min=0), default=10.0, show_default=True,
                        metavar="SECONDS", help="How long to wait for another process writing the index.")(fn)


def eval_index_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--index for eval commands: no environment default, so an eval never writes into the user's index."""
    return click.option(
        "--index", "index_path", type=click.Path(path_type=Path), default=None,
        help="Index directory to build and reuse for this gold set (default: a temporary index, removed after; "
             "$RAGFORGE_INDEX is not used). An index that mirrors a folder is refused.")(fn)


def resolve_index(path: Path | None) -> Path:
    return path if path is not None else default_index_path()


class Progress:
    """A click progress bar fed by the API's ``progress(done, total, label)`` callback."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self._bar: Any = None
        self._done = 0
        self._total = 0

    def __call__(self, done: int, total: int, item: str = "") -> None:
        if not self.enabled or total <= 0:
            return
        if self._bar is not None and (total != self._total or done < self._done):
            self.close()  # a new phase (e.g. indexing, then each retrieval mode) starts a new bar
        if self._bar is None:
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()
            self._done, self._total = 0, total
        self._bar.update(max(0, done - self._done))
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def hit_json(hit: Any) -> dict[str, Any]:
    chunk = hit.chunk
    return {"rank": hit.rank, "score": hit.score, "scores": hit.scores, "source": chunk.source,
            "page": chunk.page, "heading": list(chunk.heading_path), "start": chunk.start, "end": chunk.end,
            "chunk_id": chunk.id, "text": chunk.text}


def shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def indent(text: str) -> str:
    width = max(40, min(110, int(os.environ.get("COLUMNS", "100"))))
    return textwrap.fill(text, width=width, initial_indent="    ", subsequent_indent="    ")


engine_settings_option = click.option(
    "--set", "settings", multiple=True, metavar="NAME=VALUE",
    help="An engine setting (a QueryConfig field), e.g. --set max_refusal_odds=0.03; repeatable.")


def query_config(settings: tuple[str, ...], **base: Any) -> QueryConfig:
    """A QueryConfig from ``base`` and ``NAME=VALUE`` pairs (values read as JSON when they parse: numbers, true,
    null), which win over ``base``."""
    import json

    from pydantic import ValidationError

    from ragforge.query import QueryConfig as Config

    values: dict[str, Any] = dict(base)
    for item in settings:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        try:
            values[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[name.strip()] = raw
    try:
        return Config(**values)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "?"
        raise click.BadParameter(f"{where}: {problem['msg']}", param_hint="--set") from None
