"""FAISS indexes keyed by SQLite rowid, one per user (plus one for shared seeds); always rebuildable."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)


class VectorIndex:
    """Exact inner-product search over normalised vectors (so scores are cosines), ids = memory rowids."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.dirty = False

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors (n x dim float32, normalised) under the given ids."""
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
            self.dirty = True

    def remove(self, ids: list[int]) -> None:
        """Drop vectors by id (missing ids are ignored)."""
        if ids:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]
            self.dirty = True

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest ids with their cosine similarity, best first."""
        if k <= 0 or len(self) == 0:
            return []
        scores, ids = self._index.search(vector.reshape(1, -1).astype(np.float32), min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def ids(self) -> np.ndarray:
        """Every id held, in insertion order."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half an index."""
        tmp = path.with_suffix(".tmp")
        faiss.write_index(self._index, str(tmp))
        tmp.replace(path)
        self.dirty = False

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorIndex | None:
        """Read an index file; None when it is missing, unreadable or of another dimension."""
        if not path.is_file():
            return None
        try:
            raw = faiss.read_index(str(path))
        except RuntimeError as exc:
            log.warning("index file %s is unreadable (%s); it will be rebuilt", path, exc)
            return None
        if raw.d != dim or not isinstance(raw, faiss.IndexIDMap2):
            log.warning("index file %s does not fit this embedder; it will be rebuilt", path)
            return None
        index = cls(dim)
        index._index = raw
        return index


class IndexFiles:
    """Where each scope's index lives, and the manifest naming the embedder they were built with."""

    def __init__(self, directory: Path, embedder_name: str, dim: int) -> None:
        self.directory = directory
        self.embedder_name = embedder_name
        self.dim = dim
        directory.mkdir(parents=True, exist_ok=True)
        self._manifest = directory / "manifest.json"

    def path(self, scope: str) -> Path:
        """File for one scope; hashed so no user name can escape the directory."""
        return self.directory / (hashlib.sha256(scope.encode()).hexdigest()[:24] + ".faiss")

    def matches_embedder(self) -> bool:
        """True when the files on disk were built by the same embedder (else all are stale)."""
        try:
            data = json.loads(self._manifest.read_text())
        except (OSError, ValueError):
            return False
        return bool(data.get("embedder") == self.embedder_name and data.get("dim") == self.dim)

    def write_manifest(self) -> None:
        """Record which embedder the index files belong to."""
        self._manifest.write_text(json.dumps({"embedder": self.embedder_name, "dim": self.dim}))

    def load_checked(self, scope: str, expected_ids: np.ndarray) -> VectorIndex | None:
        """The scope's index if it holds exactly `expected_ids` (SQLite's truth), else None."""
        if not self.matches_embedder():
            return None
        index = VectorIndex.load(self.path(scope), self.dim)
        if index is None:
            return None
        if len(index) != len(expected_ids) or not np.array_equal(np.sort(index.ids()), np.sort(expected_ids)):
            log.warning("index for scope %r disagrees with the database; rebuilding it", scope)
            return None
        return index
