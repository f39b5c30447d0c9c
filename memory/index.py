"""FAISS indexes keyed by SQLite rowid, one per user (plus one for shared seeds); always rebuildable.

An exact search reads every vector, which at 100k-1M vectors costs more than the rest of a turn
(bench/RESULTS.md, "Exact FAISS search"). So a small index is exact (IndexFlatIP) and past `exact_limit`
vectors it becomes an inverted file (IndexIVFFlat): k-means cells, and a query reads only the cells nearest
to it. IVF rather than HNSW because it deletes for real (forgetting removes the vector from the file, where
HNSW could only hide it), it builds much faster on two cores (bench/RESULTS.md, "IVF, not HNSW"), and
needs no tuning beyond the cell count.
Its recall against exact search is measured in bench/turn_overhead.py.

These are index internals (how fast a search is, and how close to exact), not what recall looks for: that
is memory/recall.py's RecallConfig. Each index has a lock, so recall can search on a reader thread while the
writer adds to it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexConfig:
    """How a scope's vector index is built and searched; the defaults are the product's."""

    # Below this many vectors exact search is cheap (bench/RESULTS.md, turn overhead); above it the
    # approximate index takes over.
    exact_limit: int = 20_000
    # Cells = cells_per_root * sqrt(n) at training time. A query reads the cells nearest to it, as many as
    # hold about `scan` vectors and at least `min_probe`: a steady search time, and ~98-99% of the exact top
    # found at 100k-1M vectors (bench/RESULTS.md); smaller indexes are read more thoroughly for the same time.
    cells_per_root: int = 2
    scan: int = 8192
    min_probe: int = 16
    # The cells are re-trained (the index rebuilt) once it holds this many times what they were trained on.
    regrow: int = 4
    train_points_per_cell: int = 40
    kmeans_iterations: int = 10


@contextmanager
def _omp_threads(n: int) -> Iterator[None]:
    """Run faiss with n OpenMP threads in this thread (one for a query, every core to build)."""
    # One query on 2 threads was slower than on 1 when the cores are busy (the threads wait for each
    # other); bulk building wants every core.
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _copy(pointer: object, count: int) -> np.ndarray:
    """A numpy copy of `count` items at a faiss C++ pointer (its type gives the dtype)."""
    return np.array(faiss.rev_swig_ptr(pointer, count), copy=True)


class VectorIndex:
    """Inner-product search over normalised vectors (so scores are cosines), ids = memory rowids.

    Exact up to `config.exact_limit` vectors, approximate (IVF) above it, and exact again once removals
    bring it under half the limit. Every change marks it `dirty` (to be saved). Thread-safe.
    """

    def __init__(self, dim: int, config: IndexConfig | None = None) -> None:
        self.dim = dim
        self.config = config or IndexConfig()
        self._index: faiss.IndexIDMap2 | faiss.IndexIVFFlat = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._lock = threading.RLock()  # faiss objects are not safe to search while another thread adds
        self.dirty = False

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def approximate(self) -> bool:
        """True when searches go through IVF cells rather than every vector."""
        return isinstance(self._index, faiss.IndexIVFFlat)

    def describe(self) -> str:
        """What kind of index this is, for logs and benchmarks."""
        if isinstance(self._index, faiss.IndexIVFFlat):
            return f"IVF, {self._index.nlist} cells"
        return "exact (flat)"

    @property
    def trained_for(self) -> int:
        """The size the IVF cells were trained for (0 when exact)."""
        if not isinstance(self._index, faiss.IndexIVFFlat):
            return 0
        return int((self._index.nlist / self.config.cells_per_root) ** 2)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors (n x dim float32, normalised) under the given ids."""
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        limit, regrow = self.config.exact_limit, self.config.regrow
        with self._lock:
            total = len(self) + len(ids)
            if total > limit and (not self.approximate or total > regrow * self.trained_for):
                held_ids, held = self._contents()
                self._build(np.concatenate([held_ids, ids]), np.vstack([held, vectors]))
            else:
                with _omp_threads(1):
                    self._index.add_with_ids(vectors, ids)
            self.dirty = True

    def remove(self, ids: list[int]) -> None:
        """Drop vectors by id (missing ids are ignored): gone from memory and, once saved, from the file."""
        if not ids:
            return
        with self._lock:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]
            if self.approximate and len(self) < self.config.exact_limit // 2:
                self._build(*self._contents())
            self.dirty = True

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest ids with their cosine similarity, best first."""
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        with self._lock:
            if k <= 0 or len(self) == 0:
                return []
            if isinstance(self._index, faiss.IndexIVFFlat):
                cells, scan = self._index.nlist, self.config.scan
                self._index.nprobe = min(cells, max(self.config.min_probe, -(-scan * cells // len(self))))
            with _omp_threads(1):
                scores, ids = self._index.search(query, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def ids(self) -> np.ndarray:
        """Every id held (exact: in insertion order; approximate: cell by cell)."""
        with self._lock:
            return self._contents(vectors=False)[0]

    def _contents(self, *, vectors: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) held, read back from faiss (the vectors only when asked for)."""
        empty = np.zeros((0, self.dim), dtype=np.float32)
        index = self._index
        if isinstance(index, faiss.IndexIVFFlat):
            lists = index.invlists
            assert lists is not None
            id_parts, vector_parts = [np.zeros(0, dtype=np.int64)], [empty]
            for cell in range(index.nlist):
                size = lists.list_size(cell)
                if size:
                    id_parts.append(_copy(lists.get_ids(cell), size).astype(np.int64))
                    if vectors:  # IVFFlat codes are the float32 vectors, as bytes
                        codes = _copy(lists.get_codes(cell), size * self.dim * 4)
                        vector_parts.append(codes.view(np.float32).reshape(size, self.dim))
            return np.concatenate(id_parts), np.vstack(vector_parts)
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        if not vectors:
            return ids, empty
        flat = faiss.downcast_index(index.index)
        assert isinstance(flat, faiss.IndexFlat)
        return ids, _copy(flat.get_xb(), len(ids) * self.dim).reshape(len(ids), self.dim)

    def _build(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the faiss index by one fit for len(ids) vectors, holding exactly these."""
        n, config = len(ids), self.config
        if n <= config.exact_limit:
            exact = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            exact.add_with_ids(vectors, ids)
            self._index = exact
            return
        cells = max(1, min(int(config.cells_per_root * np.sqrt(n)), n // config.train_points_per_cell))
        log.info("building an approximate index: %d vectors in %d cells", n, cells)
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, cells, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.niter = config.kmeans_iterations
        ivf.cp.max_points_per_centroid = config.train_points_per_cell
        points = min(n, config.train_points_per_cell * cells)
        sample = np.random.default_rng(n).choice(n, points, replace=False)
        with _omp_threads(len(os.sched_getaffinity(0))):
            ivf.train(vectors[np.sort(sample)])
            ivf.add_with_ids(vectors, ids)
        self._index = ivf

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half an index."""
        tmp = path.with_suffix(".tmp")
        with self._lock:
            faiss.write_index(self._index, str(tmp))
            self.dirty = False
        tmp.chmod(0o600)  # owner only, like the database
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, dim: int, config: IndexConfig | None = None) -> VectorIndex | None:
        """Read an index file; None when it is missing, unreadable or of another dimension or kind."""
        if not path.is_file():
            return None
        try:
            raw = faiss.read_index(str(path))
        except RuntimeError as exc:
            log.warning("index file %s is unreadable (%s); it will be rebuilt", path, exc)
            return None
        if not isinstance(raw, faiss.IndexIDMap2 | faiss.IndexIVFFlat) or raw.d != dim:
            log.warning("index file %s does not fit this embedder; it will be rebuilt", path)
            return None
        index = cls(dim, config)
        index._index = raw
        return index


class IndexFiles:
    """Where each scope's index lives, and the manifest naming the embedder they were built with."""

    def __init__(self, directory: Path, embedder_name: str, dim: int, *, persist: bool = True) -> None:
        self.directory = directory
        self.embedder_name = embedder_name
        self.dim = dim
        self.persist = persist  # False: indexes live in memory only (an encrypted store)
        self._manifest = directory / "manifest.json"
        if persist:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # inside the private data dir
        elif directory.is_dir():  # left from before the store was encrypted: vectors in the clear
            for stale in directory.iterdir():
                stale.unlink()
            directory.rmdir()

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

    def load_checked(self, scope: str, expected_ids: np.ndarray, config: IndexConfig) -> VectorIndex | None:
        """The scope's index if it holds exactly `expected_ids` (SQLite's truth), else None."""
        if not self.persist or not self.matches_embedder():
            return None
        index = VectorIndex.load(self.path(scope), self.dim, config)
        if index is None:
            return None
        if len(index) != len(expected_ids) or not np.array_equal(np.sort(index.ids()), np.sort(expected_ids)):
            log.warning("index for scope %r disagrees with the database; rebuilding it", scope)
            return None
        return index
