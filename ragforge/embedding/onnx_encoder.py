"""A sentence-transformers model run by ONNX Runtime and ``tokenizers``: no torch, no transformers.

The transformer is an ONNX export (``onnx_export.py``); tokenising, pooling and normalising are done here as
the model's own ``modules.json`` and pooling config say. :func:`pipeline_of` reads those files and refuses
what this encoder cannot reproduce (a Dense layer, an unknown pooling mode), so such a model stays on torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.errors import EmbeddingError

_PLAIN = ("Transformer", "Pooling", "Normalize")
_POOLING_KEYS = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens",
                 "max": "pooling_mode_max_tokens", "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens"}
_OTHER_POOLING_KEYS = ("pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


class NotExportable(EmbeddingError):
    """This model cannot run on the ONNX query path (queries stay on torch)."""


def _json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotExportable(f"{file.name} is unreadable ({exc})") from exc


def pipeline_of(folder: Path) -> dict[str, Any]:
    """``{"pooling": MODE, "normalize": bool, "max_seq_length": int}`` from the model's own config files."""
    modules = _json(folder / "modules.json")
    if not isinstance(modules, list) or not modules:
        raise NotExportable("modules.json lists no modules")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules if isinstance(m, dict)]
    unknown = sorted(set(kinds) - set(_PLAIN))
    if unknown or kinds[0] != "Transformer" or kinds.count("Pooling") != 1:
        detail = f"{', '.join(unknown)} module" if unknown else f"modules {kinds}"
        raise NotExportable(f"its {detail} (only Transformer -> Pooling [-> Normalize] is supported)")
    pooling_dir = next(m.get("path", "") for m in modules if str(m.get("type", "")).endswith("Pooling"))
    bert = folder / "sentence_bert_config.json"
    max_len = (_json(bert) if bert.is_file() else {}).get("max_seq_length")
    if not isinstance(max_len, int):
        raise NotExportable("sentence_bert_config.json gives no max_seq_length")
    return {"pooling": _pooling_mode(_json(folder / pooling_dir / "config.json")),
            "normalize": "Normalize" in kinds, "max_seq_length": max_len}


def _pooling_mode(config: Any) -> str:
    if not isinstance(config, dict):
        raise NotExportable("the pooling config is not a JSON object")
    mode = config.get("pooling_mode")  # newer sentence-transformers write the mode by name
    if isinstance(mode, str):
        modes = [mode]
    else:
        modes = [name for name, key in _POOLING_KEYS.items() if config.get(key)]
        modes += [key for key in _OTHER_POOLING_KEYS if config.get(key)]
    if len(modes) != 1 or modes[0] not in _POOLING_KEYS:
        raise NotExportable(f"its pooling {modes or 'none'} (one of {', '.join(_POOLING_KEYS)} is supported)")
    return modes[0]


def pool(tokens: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Token vectors ``(batch, seq, dim)`` and the attention mask ``(batch, seq)`` -> ``(batch, dim)``."""
    if mode == "cls":
        return tokens[:, 0]
    weights = mask[..., None].astype(np.float32)
    if mode == "max":
        return np.where(weights > 0, tokens, -1e9).max(axis=1)
    sums = (tokens * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    return sums / (np.sqrt(counts) if mode == "mean_sqrt_len_tokens" else counts)


class OnnxEncoder:
    """Texts -> sentence vectors with an exported transformer, the saved tokenizer and numpy pooling."""

    def __init__(self, model_file: Path, tokenizer_file: Path, pipeline: dict[str, Any], *,
                 optimised: bool = False, per_text: bool = False, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its warnings about unused initialisers are noise
        if optimised:  # fused and saved at export time: loading it again is then only a memory map
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self.inputs = [node.name for node in self.session.get_inputs()]
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(max_length=int(pipeline["max_seq_length"]))
        self.tokenizer.enable_padding()
        self.pooling = str(pipeline["pooling"])
        self.normalize = bool(pipeline["normalize"])
        self.per_text = per_text

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``. With ``per_text`` (a dynamically quantised model, whose activation scales
        depend on the whole batch, padding included) each text runs alone: its vector then does not depend
        on its neighbours, and no time goes to padding."""
        if self.per_text and len(texts) > 1:
            return np.concatenate([self._run([text]) for text in texts])
        return self._run(texts)

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        columns = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
                   "token_type_ids": [e.type_ids for e in encodings]}
        feed = {name: np.asarray(columns[name], dtype=np.int64) for name in self.inputs}
        tokens = self.session.run(None, feed)[0]
        vectors = pool(tokens, np.asarray(columns["attention_mask"]), self.pooling)
        if self.normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors.astype(np.float32, copy=False)
