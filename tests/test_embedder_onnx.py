"""The ONNX Runtime embedder: sentence-transformers' vectors, a safely cached export, a torch fallback."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.config import Settings
from memory.embed_base import MAX_TOKENS, model_dir
from memory.embedder import SentenceTransformerEmbedder, load_embedder, open_embedder
from memory.onnx_embed import OnnxEmbedder, OnnxUnavailable, read_pipeline

LONG = " ".join(f"Theodore wrote letter number {i} for a stranger, and it moved them." for i in range(60))
TEXTS = [
    "",
    "   ",
    "hi",
    "Do you remember what I told you about my sister's wedding in June?",
    "Ich liebe den Film — 日本語のテキスト, café, naïve, emoji 🎬🙂",
    "UPPER case and lower case and MiXeD",
    LONG,
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache dir, so the session exports once."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def onnx(onnx_cache: Path) -> OnnxEmbedder:
    """The ONNX embedder, exported into the session's cache dir."""
    embedder = OnnxEmbedder(cache_dir=onnx_cache)
    assert embedder.export_seconds is not None  # a fresh dir: it exported
    return embedder


@pytest.fixture(scope="session")
def reference() -> Any:
    """sentence-transformers itself on torch: what the vectors must equal."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir(None), device="cpu")
    model.max_seq_length = MAX_TOKENS  # the length both runtimes embed (memory/embed_base.py)
    return model


def torch_vectors(reference: Any, texts: list[str]) -> np.ndarray:
    return np.asarray(reference.encode(texts, normalize_embeddings=True, show_progress_bar=False))


def test_vectors_equal_sentence_transformers(onnx: OnnxEmbedder, reference: Any) -> None:
    got, want = onnx.embed(TEXTS), torch_vectors(reference, TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (got * want).sum(axis=1).min() >= 0.99999


def test_tokens_are_truncated_like_sentence_transformers(onnx: OnnxEmbedder, reference: Any) -> None:
    ours = [e.ids for e in onnx._tokenize(TEXTS)]
    theirs = reference.preprocess(TEXTS)
    mask = theirs["attention_mask"].numpy()
    assert ours == [row[m == 1].tolist() for row, m in zip(theirs["input_ids"].numpy(), mask, strict=True)]
    assert ours == [onnx._tokenize([t])[0].ids for t in TEXTS]  # one text takes another path
    assert len(onnx._tokenize([LONG.replace("60", "6")])[0].ids) == MAX_TOKENS  # LONG runs past the limit


def test_a_batch_of_different_lengths_equals_one_by_one(onnx: OnnxEmbedder, onnx_cache: Path) -> None:
    texts = [f"{t} ({i})" for i in range(3) for t in TEXTS]  # 21 texts: several runs, sorted by length
    batch = onnx.embed(texts)
    # A second embedder (empty cache of recent texts) loads the same file without exporting again.
    again = OnnxEmbedder(cache_dir=onnx_cache)
    assert again.export_seconds is None and again.file == onnx.file
    one_by_one = np.stack([again.embed([t])[0] for t in texts])
    assert (batch * one_by_one).sum(axis=1).min() >= 0.99999
    assert sorted(p.name for p in onnx.file.parent.iterdir()) == ["model.onnx"]  # no temp files left


def test_a_corrupt_cached_model_is_exported_again(
    onnx: OnnxEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = tmp_path / onnx.file.parent.name / "model.onnx"
    file.parent.mkdir()
    good = onnx.file.read_bytes()
    file.write_bytes(good[: len(good) // 2])  # as a disk, a copy or a rogue writer might leave it
    with caplog.at_level(logging.WARNING):
        fresh = OnnxEmbedder(cache_dir=tmp_path)
    assert fresh.file == file and fresh.export_seconds is not None
    assert any("exporting it again" in r.getMessage() for r in caplog.records)
    assert (fresh.embed(TEXTS[2:4]) * onnx.embed(TEXTS[2:4])).sum(axis=1).min() >= 0.99999
    assert OnnxEmbedder(cache_dir=tmp_path).export_seconds is None  # and the repaired file is reused


def test_a_model_with_another_pipeline_is_refused(tmp_path: Path) -> None:
    bundled = Path(model_dir(None))
    for name in ("modules.json", "sentence_bert_config.json", "config.json", "1_Pooling/config.json"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text((bundled / name).read_text())
    assert (read_pipeline(tmp_path).max_length, read_pipeline(tmp_path).dim) == (256, 384)
    pooling = json.loads((tmp_path / "1_Pooling/config.json").read_text())
    pooling["pooling_mode_cls_token"] = True
    (tmp_path / "1_Pooling/config.json").write_text(json.dumps(pooling))
    with pytest.raises(OnnxUnavailable, match="pool"):
        read_pipeline(tmp_path)


def test_without_onnxruntime_it_falls_back_to_torch(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, onnx: OnnxEmbedder
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    with caplog.at_level(logging.WARNING, logger="memory.embedder"):
        embedder = open_embedder(runtime="auto")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    # Same name and size: an index built with one runtime is kept by the other.
    assert (embedder.name, embedder.dim) == (onnx.name, onnx.dim) == ("all-MiniLM-L6-v2", 384)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "\n" not in warned[0] and "onnxruntime" in warned[0]
    assert (embedder.embed(TEXTS[3:5]) * onnx.embed(TEXTS[3:5])).sum(axis=1).min() >= 0.99999
    with pytest.raises(OnnxUnavailable):
        open_embedder(runtime="onnx")


def test_the_runtime_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMANTHA_EMBEDDER", "torch")  # read by Settings, not behind its back
    runtime = Settings(backend="echo", seeds_dir="").embedder
    assert runtime == "torch"
    assert isinstance(load_embedder.__wrapped__(None, runtime), SentenceTransformerEmbedder)
    with pytest.raises(ValueError, match="embedder runtime 'gpu'"):
        open_embedder(runtime="gpu")
