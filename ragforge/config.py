"""Settings as validated value objects (``extra="forbid"``), never module globals.

The data directory is ``$RAGFORGE_HOME`` or ``~/.ragforge``; the default index lives in it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DEFAULT_MODEL", "ChunkingConfig", "IndexConfig", "VectorConfig", "WalkConfig", "data_dir",
           "default_index_path"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChunkingConfig(_Settings):
    """How documents are cut into chunks. Sizes are in the embedding model's tokens.

    ``max_tokens=None`` means: fit the model's maximum sequence length (less its special tokens).
    """

    max_tokens: int | None = Field(default=None, gt=8)
    overlap_tokens: int = Field(default=32, ge=0)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingConfig:
        if self.max_tokens is not None and self.overlap_tokens >= self.max_tokens:
            raise ValueError("overlap_tokens must be smaller than max_tokens")
        return self


class WalkConfig(_Settings):
    """Which files of a folder are indexed."""

    include: tuple[str, ...] = ()  # globs on the POSIX path relative to the folder; empty = every supported file
    exclude: tuple[str, ...] = ()
    include_hidden: bool = False
    follow_symlinks: bool = True  # symlinks whose target stays inside the folder
    follow_links_outside: bool = False  # also symlinks that leave it (CLI: --follow-links)
    max_file_bytes: int = Field(default=50 * 1024 * 1024, gt=0)


class VectorConfig(_Settings):
    """How the dense vectors are indexed (recorded in the manifest; change it with ``--rebuild``).

    - ``flat``: exact search; every vector in RAM (4 x dimension bytes each).
    - ``ivf-pq``: FAISS ``IndexIVFPQ``, m bytes a vector. Exact (flat) until the index holds ``min_train``
      vectors, then trained on a sample of them, and trained again once it has grown ``retrain_factor``
      times since. The ``rerank`` x k best candidates are scored again with the exact vectors of the
      embedding cache (on disk, in SQLite), so the ranking is exact among the candidates.
    - ``hnsw``: FAISS ``IndexHNSWFlat``: the fastest queries, more RAM than flat; a deletion rebuilds the graph.

    ``None`` means: chosen from the corpus size when the index is trained (see :mod:`ragforge.store.ann`).
    """

    kind: Literal["flat", "ivf-pq", "hnsw"] = "flat"
    nlist: int | None = Field(default=None, ge=1)  # IVF cells
    m: int | None = Field(default=None, ge=1)  # PQ sub-quantizers: bytes per vector (must divide the dimension)
    nprobe: int | None = Field(default=None, ge=1)  # cells searched per query
    train_size: int | None = Field(default=None, ge=256)  # vectors sampled to train on
    min_train: int = Field(default=4096, ge=256)
    retrain_factor: float = Field(default=4.0, gt=1.0)
    # ivf-pq: rerank x k candidates re-scored exactly. 50 measured: Recall@10 0.999 at 1M synthetic vectors,
    # where 10 gave 0.79 (near-tie neighbours that 48-byte codes cannot order; eval/results/bench_vectors.md)
    rerank: int = Field(default=50, ge=1)
    hnsw_m: int = Field(default=32, ge=4)
    ef_search: int = Field(default=64, ge=1)


class IndexConfig(_Settings):
    """What an index is built with. Recorded in its manifest; reopening checks it."""

    model: str = DEFAULT_MODEL  # any sentence-transformers name or local path, "hashing:DIM", "ollama:NAME"
    metric: Literal["ip", "l2"] = "ip"  # ip = cosine on normalised vectors
    chunking: ChunkingConfig = ChunkingConfig()
    batch_size: int = Field(default=32, gt=0)
    # sentence-transformers models: "auto" (bf16 on a CPU with AMX/AVX512-BF16, else fp32), "fp32", "bf16" or
    # "int8" (its own model id); None = the embedder's default (auto)
    precision: Literal["auto", "fp32", "bf16", "int8"] | None = None
    vectors: VectorConfig = VectorConfig()


def data_dir() -> Path:
    """Where ragforge keeps its default index and caches: ``$RAGFORGE_HOME`` or ``~/.ragforge``."""
    home = os.environ.get("RAGFORGE_HOME")
    return Path(home).expanduser() if home else Path.home() / ".ragforge"


def default_index_path() -> Path:
    return data_dir() / "index"
