"""One FAISS index per scope (a user, or the shared film reviews), loaded when first used.

An index is loaded from its file only if it holds exactly SQLite's ids and was built by the same embedder;
otherwise it is rebuilt from the vectors stored in SQLite. Isolation is structural: a user's search cannot
even see another user's vectors.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from memory.index import IndexConfig, IndexFiles, VectorIndex

log = logging.getLogger(__name__)


class ScopeIndexes:
    """The loaded indexes by scope; `read` runs a query on a reader connection."""

    def __init__(self, files: IndexFiles, config: IndexConfig, read: Callable[..., Any]) -> None:
        self.files = files
        self.config = config
        self._read = read
        self._loaded: dict[str, VectorIndex] = {}
        self._lock = threading.Lock()  # one load per scope, and no load racing a drop

    def get(self, scope: str) -> VectorIndex:
        """The scope's index: from its file if it agrees with SQLite, else rebuilt from stored vectors."""
        with self._lock:
            if scope not in self._loaded:
                self._loaded[scope] = self._read(self._load, scope)
            return self._loaded[scope]

    def _load(self, conn: sqlite3.Connection, scope: str) -> VectorIndex:
        rows = conn.execute("SELECT id FROM memories WHERE user = ? ORDER BY id", (scope,)).fetchall()
        ids = np.array([r["id"] for r in rows], dtype=np.int64)
        index = self.files.load_checked(scope, ids, self.config)
        if index is not None:
            return index
        index = VectorIndex(self.files.dim, self.config)
        # The vectors are read only for a rebuild (1.5 GB at 1M memories).
        sql = "SELECT id, embedding FROM memories WHERE user = ? ORDER BY id"
        rows = conn.execute(sql, (scope,)).fetchall()
        if rows:
            log.info("rebuilding the index for %r from %d stored vectors", scope, len(rows))
            vectors = np.vstack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows])
            index.add(np.array([r["id"] for r in rows], dtype=np.int64), vectors)
        index.dirty = True
        return index

    def clear(self) -> None:
        """Forget every loaded index (a rolled-back transaction may have changed them); reloaded on use."""
        with self._lock:
            self._loaded.clear()

    def drop(self, scope: str) -> None:
        """Remove a scope's index, in memory and on disk (everything of that scope was deleted)."""
        with self._lock:
            self._loaded.pop(scope, None)
            self.files.path(scope).unlink(missing_ok=True)

    def save(self, scope: str | None = None) -> None:
        """Write changed indexes (or only `scope`'s) to disk: a cache, so losing them only costs a rebuild."""
        if not self.files.persist:
            return
        with self._lock:
            loaded = dict(self._loaded)
        for name, index in loaded.items():
            if index.dirty and scope in (None, name):
                index.save(self.files.path(name))
        self.files.write_manifest()

    def verify(self, conn: sqlite3.Connection) -> dict[str, dict[str, int | bool]]:
        """For every scope: rows in SQLite, vectors in its index, and whether they hold the same ids."""
        report: dict[str, dict[str, int | bool]] = {}
        for (scope,) in conn.execute("SELECT DISTINCT user FROM memories").fetchall():
            ids = [r[0] for r in conn.execute("SELECT id FROM memories WHERE user = ?", (scope,)).fetchall()]
            held = self.get(scope).ids()
            report[scope] = {
                "rows": len(ids),
                "vectors": len(held),
                "consistent": sorted(ids) == sorted(held.tolist()),
            }
        return report
