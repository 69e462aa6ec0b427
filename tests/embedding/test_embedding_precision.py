"""Precision detection from CPU flags, what it does to model ids, and the pieces of the ONNX path that need no model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragforge.embedding import SentenceTransformerEmbedder, make_embedder
from ragforge.embedding.onnx_cache import fingerprint, model_files
from ragforge.embedding.onnx_encoder import NotExportable, pipeline_of, pool
from ragforge.embedding.precision import cpu_flags, reported_flags, resolve_precision
from ragforge.errors import ConfigError

INTEL_AMX = ("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 "
             "amx_bf16 amx_tile amx_int8\n\nprocessor\t: 1\nflags\t\t: fpu\n")
AMD_BF16 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
OLD_XEON = "processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 bf16\n"


def _cpuinfo(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "cpuinfo"
    file.write_text(text)
    return file


@pytest.mark.parametrize("text, expected", [(INTEL_AMX, "bf16"), (AMD_BF16, "bf16"), (OLD_XEON, "fp32"),
                                            (ARM, "fp32")])
def test_auto_picks_bf16_only_where_the_cpu_has_amx_or_avx512_bf16(tmp_path: Path, text: str,
                                                                    expected: str) -> None:
    flags = cpu_flags(_cpuinfo(tmp_path, text))
    assert resolve_precision("auto", flags) == expected
    for explicit in ("fp32", "bf16", "int8"):
        assert resolve_precision(explicit, flags) == explicit  # an explicit choice is never overridden


def test_flags_come_from_the_first_cpu_and_an_unreadable_file_means_none(tmp_path: Path) -> None:
    flags = cpu_flags(_cpuinfo(tmp_path, INTEL_AMX))
    assert {"amx_bf16", "amx_int8", "avx512_bf16"} <= flags and "fpu" in flags
    assert reported_flags(flags) == ["amx_bf16", "amx_int8", "amx_tile", "avx512_bf16", "avx512_vnni", "avx512f",
                                     "avx2"]
    assert cpu_flags(tmp_path / "missing") == frozenset()
    assert resolve_precision("auto", frozenset()) == "fp32"
    assert resolve_precision("AUTO", cpu_flags(_cpuinfo(tmp_path, AMD_BF16)), device="cuda") == "fp32"
    with pytest.raises(ConfigError, match="unknown precision 'fp8'"):
        resolve_precision("fp8", flags)


def test_precision_changes_the_model_id_only_for_int8() -> None:
    fp32 = SentenceTransformerEmbedder(precision="fp32")
    bf16 = SentenceTransformerEmbedder(precision="bf16")
    int8 = SentenceTransformerEmbedder(precision="int8")
    assert fp32.model_id == bf16.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert int8.model_id == "sentence-transformers/all-MiniLM-L6-v2+int8"
    assert bf16.settings["precision"] == "bf16" and bf16.settings["requested_precision"] == "bf16"
    auto = SentenceTransformerEmbedder()
    assert auto.settings["precision"] == resolve_precision("auto", cpu_flags())
    assert set(auto.settings["cpu_flags"]) <= cpu_flags()
    assert auto._model is None  # deciding costs no model load
    with pytest.raises(ConfigError, match="query backend"):
        SentenceTransformerEmbedder(query_backend="tpu")


def _model_folder(root: Path, modules: list[dict], pooling: dict, max_len: int | None = 128) -> Path:
    root.mkdir(parents=True)
    (root / "modules.json").write_text(json.dumps(modules))
    (root / "1_Pooling").mkdir()
    (root / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    if max_len is not None:
        (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_len}))
    (root / "model.safetensors").write_bytes(b"weights")
    (root / "README.md").write_text("docs are not part of the model")
    return root


PLAIN = [{"path": "", "type": "sentence_transformers.models.Transformer"},
         {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
         {"path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]


def test_pooling_and_normalisation_are_read_from_the_models_own_config(tmp_path: Path) -> None:
    mean = _model_folder(tmp_path / "mean", PLAIN, {"pooling_mode_mean_tokens": True})
    assert pipeline_of(mean) == {"pooling": "mean", "normalize": True, "max_seq_length": 128}
    cls = _model_folder(tmp_path / "cls", PLAIN[:2], {"pooling_mode": "cls"})
    assert pipeline_of(cls) == {"pooling": "cls", "normalize": False, "max_seq_length": 128}
    dense = _model_folder(tmp_path / "dense", [*PLAIN[:2], {"path": "2_Dense", "type": "x.models.Dense"}],
                          {"pooling_mode_mean_tokens": True})
    with pytest.raises(NotExportable, match="Dense"):
        pipeline_of(dense)
    weighted = _model_folder(tmp_path / "wm", PLAIN, {"pooling_mode_weightedmean_tokens": True})
    with pytest.raises(NotExportable, match="weightedmean"):
        pipeline_of(weighted)
    two = _model_folder(tmp_path / "two", PLAIN, {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True})
    with pytest.raises(NotExportable, match="pooling"):
        pipeline_of(two)
    no_length = _model_folder(tmp_path / "nolen", PLAIN, {"pooling_mode_mean_tokens": True}, max_len=None)
    with pytest.raises(NotExportable, match="max_seq_length"):
        pipeline_of(no_length)


def test_pooling_modes_match_hand_computed_values() -> None:
    tokens = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)  # last token is padding
    mask = np.array([[1, 1, 0]])
    assert pool(tokens, mask, "cls").tolist() == [[1.0, 2.0]]
    assert pool(tokens, mask, "mean").tolist() == [[2.0, 3.0]]
    assert pool(tokens, mask, "max").tolist() == [[3.0, 4.0]]
    assert np.allclose(pool(tokens, mask, "mean_sqrt_len_tokens"), [[4.0 / np.sqrt(2), 6.0 / np.sqrt(2)]])


def test_the_cache_key_follows_the_model_files_and_is_memoised(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m", PLAIN, {"pooling_mode_mean_tokens": True})
    root = tmp_path / "cache"
    names = [p.relative_to(folder).as_posix() for p in model_files(folder)]
    assert names == ["1_Pooling/config.json", "model.safetensors", "modules.json", "sentence_bert_config.json"]
    key = fingerprint(folder, root)
    memo = json.loads((root / "file-hashes.json").read_text())
    assert len(memo) == 4
    assert fingerprint(folder, root) == key  # unchanged files: same key
    (folder / "README.md").write_text("edited docs")
    assert fingerprint(folder, root) == key  # documentation is not the model
    (folder / "model.safetensors").write_bytes(b"other weights")
    assert fingerprint(folder, root) != key
    assert fingerprint(folder, tmp_path / "fresh-cache") == fingerprint(folder, root)  # memo or not, same key


def test_make_embedder_passes_the_precision_to_sentence_transformers_only() -> None:
    assert make_embedder(precision="int8").model_id.endswith("+int8")
    assert make_embedder("all-MiniLM-L6-v2", precision="fp32").precision == "fp32"
    assert make_embedder("hashing:32", precision="auto").model_id == "hashing-32"
    assert make_embedder("hashing-64").model_id == "hashing-64"  # the older spelling still works
    with pytest.raises(ConfigError, match="applies to sentence-transformers"):
        make_embedder("hashing:32", precision="int8")
