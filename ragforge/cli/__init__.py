"""The ``ragforge`` command: a thin shell over the Python API, one module per command group.

Each command parses its options, calls one API function and prints. Imports of the API happen inside the
commands so ``ragforge --help`` never loads torch or FAISS. A :class:`RagforgeError` becomes a one-line
message and exit status 1; never a traceback.
"""

from __future__ import annotations

import logging
import os

import click

from ragforge.cli.answer import ask_cmd
from ragforge.cli.chat import chat_cmd
from ragforge.cli.evals import eval_group
from ragforge.cli.index import index_cmd, info_cmd
from ragforge.cli.mcp import mcp_cmd
from ragforge.cli.search import query_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ragforge")
def main() -> None:
    """ragforge: index your documents locally, search them, and ask questions with local models.

    \b
    ragforge index ./docs           build or update the index (only changes cost time)
    ragforge query "..."            ranked passages with citations, no LLM needed
    ragforge ask "..."              a grounded answer from an Ollama model
    ragforge chat                   questions and follow-ups in a conversation
    ragforge eval retrieval ...     nDCG@10 / Recall@k / MRR on a gold set
    ragforge mcp                    serve the index to MCP clients (Claude Desktop, Claude Code, ...)
    """
    # Our own progress bars speak for the CLI; the model loader's weight-loading bar would only be noise.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # A damaged PDF is reported once, in the sync summary with its reason; pypdf's own log lines would repeat it.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


for _command in (index_cmd, query_cmd, info_cmd, ask_cmd, eval_group):
    main.add_command(_command)
main.add_command(mcp_cmd)
main.add_command(chat_cmd)

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    main()
