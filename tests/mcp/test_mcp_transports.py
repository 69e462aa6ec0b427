"""`ragforge mcp` as a client starts it: a subprocess over stdio, and over streamable HTTP on loopback."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ragforge.cli import main

CLI = [sys.executable, "-c", "from ragforge.cli import main; main()"]


def _search_over(client_target: Any) -> tuple[list[str], Any]:
    from mcp import Client

    async def talk() -> tuple[list[str], Any]:
        async with Client(client_target, read_timeout_seconds=60) as client:
            names = sorted(tool.name for tool in (await client.list_tools()).tools)
            found = await client.call_tool("search", {"query": "Larkspur Cafe in Fenwick", "k": 1})
            return names, found

    return asyncio.run(talk())


def test_stdio_round_trip_in_a_subprocess(sample_index_path: Path):
    from mcp import StdioServerParameters

    params = StdioServerParameters(command=CLI[0], args=[*CLI[1:], "mcp", "--index", str(sample_index_path)],
                                   env=dict(os.environ))
    names, found = _search_over(params)
    assert names == ["get_document", "get_passage", "list_sources", "search"]
    (hit,) = found.structured_content["result"]
    assert hit["source"] == "outdoors/saturday_ride.eml" and "Larkspur" in hit["text"]


def test_ask_over_stdio_with_an_ollama_model(sample_index_path: Path):
    from mcp import Client, StdioServerParameters

    from ragforge.testing import OllamaStub

    def reply(body: dict) -> str:
        prompt = next(m["content"] for m in body["messages"] if m["role"] == "user" and "Context:" in m["content"])
        number = int(re.search(r"\[(\d+)\] \(kitchen/sourdough_club\.mbox", prompt).group(1))
        return f"On 12 April at the village hall [{number}]."

    async def ask(params: StdioServerParameters) -> Any:
        async with Client(params, read_timeout_seconds=60) as client:
            return await client.call_tool("ask", {"question": "When is the sourdough club's spring bake-off?"})

    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat(reply)
        args = [*CLI[1:], "mcp", "--index", str(sample_index_path), "--llm", "llama3.2"]
        found = asyncio.run(ask(StdioServerParameters(command=CLI[0], args=args,
                                                      env={**os.environ, "OLLAMA_HOST": stub.host})))
    answer = found.structured_content
    assert not found.is_error and answer["refused"] is False and answer["answer"].startswith("On 12 April")
    assert [(c["source"], c["verified"]) for c in answer["citations"]] == [("kitchen/sourdough_club.mbox", True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not listen on port {port} within {seconds} s")


def test_streamable_http_on_loopback(sample_index_path: Path):
    port = _free_port()
    process = subprocess.Popen([*CLI, "mcp", "--index", str(sample_index_path), "--http", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(port, process)
        names, found = _search_over(f"http://127.0.0.1:{port}/mcp")
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert "search" in names and found.structured_content["result"][0]["source"] == "outdoors/saturday_ride.eml"


def test_serving_does_not_import_torch(tmp_path: Path):
    """An index of the default model opens and answers lexical searches and listings without torch."""
    code = (
        "import asyncio, sys, ragforge\n"
        "from mcp import Client\n"
        "from ragforge.mcp import build_server\n"
        f"index = ragforge.open_index({str(tmp_path / 'idx')!r}, create=True)\n"
        "async def main():\n"
        "    async with Client(build_server(index)) as client:\n"
        "        await client.list_tools()\n"
        "        await client.call_tool('list_sources', {})\n"
        "        await client.call_tool('search', {'query': 'kettle', 'mode': 'lexical'})\n"
        "asyncio.run(main())\n"
        "print(','.join(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_cli_errors_before_serving_are_one_line(tmp_path: Path):
    missing = CliRunner().invoke(main, ["mcp", "--index", str(tmp_path / "none")])
    assert missing.exit_code == 1 and missing.output.startswith("Error: ") and "Traceback" not in missing.output
    help_text = CliRunner().invoke(main, ["mcp", "--help"]).output
    assert "--http PORT" in help_text and "--llm SPEC" in help_text and "127.0.0.1" in help_text
