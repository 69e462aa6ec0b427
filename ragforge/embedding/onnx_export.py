"""Export a loaded sentence-transformers model to ONNX, check it against torch, and quantise it to int8.

Runs where torch is loaded anyway (index time). The transformer is traced with eager attention (plain matrix
products, which ONNX Runtime fuses), from an example batch with padding so the attention mask is a real input
of the graph. The export is accepted only if it reproduces the model's own fp32 vectors on :data:`PROBES`
(cosine >= :data:`AGREEMENT`); the int8 variant is quantised from it and its agreement recorded.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ragforge.embedding.onnx_encoder import NotExportable, OnnxEncoder, pipeline_of

AGREEMENT = 0.9999  # fp32 export vs the model's own fp32 vectors
INT8_FLOOR = 0.9  # an int8 variant further than this from fp32 is broken, not merely quantised
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
PROBES = (
    "How do I descale the kettle, and how often?",
    "Café au lait: ÉTÉ, naïve façade & résumé — 42 °C?!",
    "a",
    "Tomatoes prefer slightly acidic soil, pH 6.2 to 6.8; lime raises it. " * 40,  # longer than the window
)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """The smallest row-wise cosine between two stacks of vectors."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float((a * b).sum(axis=1).min())


def export_fp32(model: Any, folder: Path, target: Path) -> dict[str, Any]:
    """Write ``model.onnx`` and ``tokenizer.json`` into ``target``; return what ``export.json`` records."""
    pipeline = pipeline_of(folder)
    transformer = model[0]
    tokenizer = getattr(transformer, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise NotExportable("its tokenizer has no fast (tokenizers) version")
    names = [name for name in INPUT_NAMES if name in getattr(tokenizer, "model_input_names", INPUT_NAMES[:2])]
    _save_tokenizer(backend, target / "tokenizer.json")
    _trace(transformer.auto_model, tokenizer, names, target / "traced.onnx")
    _optimise(target / "traced.onnx", target / "model.onnx")
    (target / "traced.onnx").unlink()
    encoder = OnnxEncoder(target / "model.onnx", target / "tokenizer.json", pipeline, optimised=True)
    reference = model.encode(list(PROBES), convert_to_numpy=True, show_progress_bar=False)
    got = encoder.encode(list(PROBES))
    score = agreement(reference, got)
    if score < AGREEMENT:
        raise NotExportable(f"its ONNX export disagrees with torch (cosine {score:.6f} < {AGREEMENT})")
    fp32 = {"model": "model.onnx", "files": ["model.onnx", "model.onnx.data"], "optimised": True,
            "agreement": score, "probe": got[0].tolist()}
    return {"pipeline": pipeline, "inputs": names, "reference": reference[:1].tolist(), "variants": {"fp32": fp32}}


def _optimise(source: Path, target: Path) -> None:
    """Fuse the graph for CPU once (ONNX Runtime's extended level) and save it with its weights beside it
    (``<target>.data``), which a later session maps instead of parsing: a cold start loads it in ~0.1 s."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                     f"{target.name}.data")
    options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    try:
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise NotExportable(f"ONNX Runtime could not load the export ({type(exc).__name__}: {exc})") from exc


def _save_tokenizer(backend: Any, file: Path) -> None:
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.no_truncation()  # the encoder sets the model's own window and pads per batch
    copy.no_padding()
    copy.save(str(file))


def _trace(auto_model: Any, tokenizer: Any, names: list[str], file: Path) -> None:
    import torch

    class Transformer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

    example = tokenizer(list(PROBES[:3]), padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "token_embeddings"]}
    previous = getattr(auto_model.config, "_attn_implementation", None)
    switch = getattr(auto_model, "set_attn_implementation", None)
    try:
        if switch is not None and previous not in (None, "eager"):
            switch("eager")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python-side shape checks
            torch.onnx.export(Transformer().eval(), tuple(example[name] for name in names), str(file),
                              dynamo=False, input_names=names, output_names=["token_embeddings"],
                              dynamic_axes=axes, opset_version=17, do_constant_folding=True)
    except NotExportable:
        raise
    except Exception as exc:
        raise NotExportable(f"torch.onnx.export failed ({type(exc).__name__}: {exc})") from exc
    finally:
        if switch is not None and previous not in (None, "eager"):
            switch(previous)


def quantise_int8(folder: Path, meta: dict[str, Any], out: Path) -> dict[str, Any]:
    """Quantise ``folder/model.onnx`` into ``out`` (int8 weights, dynamic, per channel); return its record.

    Per-channel scales keep the vectors close to fp32 (min cosine ~0.99 on SciFact abstracts, against ~0.88
    with one scale per tensor)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise NotExportable(f"onnxruntime's quantisation needs the onnx package ({exc})") from exc
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its advice to pre-process the model first is noise here
    try:
        quantize_dynamic(str(folder / "model.onnx"), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": 1})  # FLOAT: the fused ops have no inferred types
    except Exception as exc:
        raise NotExportable(f"int8 quantisation failed ({type(exc).__name__}: {exc})") from exc
    finally:
        quiet.setLevel(level)
    encoder = OnnxEncoder(out, folder / "tokenizer.json", meta["pipeline"], per_text=True)
    probe = encoder.encode([PROBES[0]])
    score = agreement(np.asarray(meta["reference"], dtype=np.float32), probe)
    if score < INT8_FLOOR:
        raise NotExportable(f"its int8 model is too far from fp32 (cosine {score:.4f})")
    return {"optimised": False, "per_text": True, "agreement": score, "probe": probe[0].tolist()}
