"""The contracts can fail: each catches a deliberately broken implementation (the test methods are called
directly, with the broken object as the fixture value)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragforge.embedding import HashingEmbedder
from ragforge.graph import MemoryCheckpointer
from ragforge.llm import ChatResult, StreamResult
from ragforge.readers import read_markdown
from ragforge.testing import ScriptedChatModel
from ragforge.testing.contracts import (
    ChatModelContract,
    CheckpointerContract,
    EmbedderContract,
    ReaderContract,
)
from ragforge.types import Document, Section

SAMPLE = Path(__file__).resolve().parents[2] / "corpora" / "sample"


class Unnormalised(HashingEmbedder):
    def embed_documents(self, texts: Any) -> np.ndarray:
        return super().embed_documents(texts) * 2


class Reordering(HashingEmbedder):
    def embed_documents(self, texts: Any) -> np.ndarray:
        return super().embed_documents(sorted(texts))


class Leaky(HashingEmbedder):
    def embed_documents(self, texts: Any) -> np.ndarray:
        raise ValueError("boom\nwith a traceback-like second line")


def test_the_embedder_contract_catches_broken_embedders() -> None:
    contract = EmbedderContract()
    with pytest.raises(AssertionError):
        contract.test_documents_are_normalised_float32_rows(Unnormalised(32))
    with pytest.raises(AssertionError):
        contract.test_batches_keep_the_input_order(Reordering(32, batch_size=2))
    with pytest.raises(ValueError):  # pytest.raises(RagforgeError) lets a foreign error through: the test fails
        contract.test_failures_are_ragforge_errors(Leaky(32))


class Stuttering(ScriptedChatModel):
    """Its stream repeats the first piece: chat and stream disagree."""

    def stream(self, messages: Any, **kwargs: Any) -> StreamResult:
        text = self.chat(messages).text

        def pieces() -> Any:
            yield text[:3]
            yield text
            return ChatResult(text=text)

        return StreamResult(pieces())


def test_the_chat_model_contract_catches_a_stream_that_disagrees() -> None:
    model = Stuttering()
    with pytest.raises(AssertionError):
        ChatModelContract().test_chat_and_stream_agree(model, model.add)


def read_with_a_gap(path: Path, source: str) -> Document:
    doc = read_markdown(path, source)
    return doc.model_copy(update={"sections": (Section(start=0, end=1), Section(start=2, end=len(doc.text)))})


def read_carelessly(path: Path, source: str) -> Document:
    return read_markdown(path, source) if path.stat().st_size > 100 else Document(source=source, text="",
                                                                                 file_type="markdown")


def test_the_reader_contract_catches_gaps_and_empty_documents(tmp_path: Path) -> None:
    contract, sample = ReaderContract(), next(SAMPLE.rglob("*.md"))
    with pytest.raises(AssertionError):
        contract.test_reads_a_document_whose_sections_tile_its_text(read_with_a_gap, sample)
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        contract.test_damaged_bytes_give_a_document_or_a_reader_error(read_carelessly, sample, tmp_path)


class Aliasing(MemoryCheckpointer):
    """Hands out the stored checkpoint itself, not a copy."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[str, list[dict[str, Any]]] = {}

    def put(self, thread_id: str, checkpoint: dict[str, Any]) -> None:
        super().put(thread_id, checkpoint)
        self.kept.setdefault(thread_id, []).append(checkpoint)

    def get(self, thread_id: str) -> dict[str, Any] | None:
        return self.kept[thread_id][-1] if thread_id in self.kept else None


def test_the_checkpointer_contract_catches_aliasing() -> None:
    with pytest.raises(AssertionError):
        CheckpointerContract().test_what_comes_out_is_a_copy(Aliasing())
